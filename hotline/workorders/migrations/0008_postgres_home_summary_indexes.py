"""Indexes for the home page's counts (PostgreSQL), so they read the open orders only.

Every count of ``queries.summary_for`` is of open orders; without these it was a parallel scan of
the whole orders table (5M orders: 1.5–3.9 s), growing with the closed history.

* ``wo_open_summary_idx``: the open orders by lead unit, state and deadline, covering the columns
  the counts and the visibility door read. The center-wide and operator counts are one
  index-only scan of it; a unit's led orders are one range of it.
* ``wo_open_id_idx``: the open orders by id. A unit's co-handled (or earlier) orders are found
  from its assignments, most of them of closed orders; probing this small index leaves those
  closed orders unread.
* ``asg_unit_other_idx``: a unit's assignments other than its active lead ones (co-handling, and
  those ended by a return). Its active lead assignments are of orders it leads, already counted
  from the first index; reading them here would read the unit's whole history.

SQLite keeps the model's indexes only; docs/performance.md has the figures.
"""

from django.db import migrations

from hotline.workorders.migrations._postgres import postgres_indexes

# Every state but closed and merged (workflow.OPEN), spelled out: a migration must not change
# when the code's constants do.
OPEN_STATUSES = ("awaiting_callback", "awaiting_dispatch", "dispatched", "handling", "received", "replied",
                 "return_requested", "suspended")
_open = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
INDEXES = (
    ("wo_open_summary_idx",
     f"ON workorders_workorder (lead_unit_id, status, handle_deadline) INCLUDE (id, registered_by_id) "
     f"WHERE status IN ({_open})"),
    ("wo_open_id_idx",
     f"ON workorders_workorder (id) INCLUDE (lead_unit_id, status, handle_deadline) WHERE status IN ({_open})"),
    ("asg_unit_other_idx",
     "ON workorders_assignment (unit_id, order_id) WHERE NOT (active AND role = 'lead')"),
)


class Migration(migrations.Migration):
    dependencies = [("workorders", "0007_postgres_month_cover_dispatched")]

    operations = [postgres_indexes(INDEXES)]
