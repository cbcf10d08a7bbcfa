"""Indexes for the console's lists at millions of orders (PostgreSQL), chosen from EXPLAIN ANALYZE.

* ``wo_unit_open_deadline_idx``: a unit's open orders by deadline (partial: open states only).
  The unit inbox reads its most urgent lead orders from it and stops after a page; starting from
  the unit's assignments read its whole history (assignments stay active after an order closes).
* ``wo_unit_deadline_idx``: every order of a lead unit by deadline, for the search page filtered
  by unit and sorted by deadline (keyset on (handle_deadline, id)).
* ``asg_unit_co_idx``: a unit's active co-handling assignments (partial), the inbox's other half;
  the model's (unit, active, order) index reads every lead assignment of the unit too.
* ``wo_awaiting_dispatch_idx``: the dispatch queue in its own order (partial, a few thousand rows).

docs/performance.md has the before/after figures. SQLite keeps the model's indexes only.
"""

from django.db import migrations

from hotline.workorders.migrations._postgres import postgres_indexes

INBOX_STATUSES = ("received", "awaiting_dispatch", "dispatched", "handling", "return_requested", "suspended",
                  "replied")
_open = ", ".join(f"'{s}'" for s in INBOX_STATUSES)
INDEXES = (
    ("wo_unit_open_deadline_idx",
     f"ON workorders_workorder (lead_unit_id, handle_deadline, id) WHERE status IN ({_open})"),
    ("wo_unit_deadline_idx", "ON workorders_workorder (lead_unit_id, handle_deadline, id)"),
    ("asg_unit_co_idx", "ON workorders_assignment (unit_id, order_id) WHERE active AND role = 'co'"),
    ("wo_awaiting_dispatch_idx",
     "ON workorders_workorder (handle_deadline, received_at) WHERE status = 'awaiting_dispatch'"),
)


class Migration(migrations.Migration):
    dependencies = [("workorders", "0003_postgres_month_indexes")]

    operations = [postgres_indexes(INDEXES)]
