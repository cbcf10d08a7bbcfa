"""Indexes for the paged work queues (PostgreSQL), chosen from EXPLAIN ANALYZE at millions of orders.

* ``wo_replied_idx``: replies awaiting review in their order (partial: ``status = 'replied'``); the
  queue's first page and its capped count read a few dozen index entries instead of sorting every
  replied order.
* ``req_pending_idx``: pending requests of a kind, oldest first (partial: pending only).
* ``asg_lead_withdrawn_idx``: a unit's lead assignments whose reply was written and withdrawn
  (sent back or reworked, not yet answered again). The inbox's "sent back" section starts from it
  and reads the last event of those few orders only, instead of every order the unit handles.

SQLite keeps the model's indexes only; docs/performance.md has the figures.
"""

from django.db import migrations

from hotline.workorders.migrations._postgres import postgres_indexes

INDEXES = (
    ("wo_replied_idx", "ON workorders_workorder (replied_at, id) WHERE status = 'replied'"),
    ("req_pending_idx", "ON workorders_request (kind, requested_at, id) WHERE state = 'pending'"),
    ("asg_lead_withdrawn_idx",
     "ON workorders_assignment (unit_id, order_id) "
     "WHERE active AND role = 'lead' AND replied_at IS NULL AND reply_public > ''"),
)


class Migration(migrations.Migration):
    dependencies = [("workorders", "0005_sweep_index")]

    operations = [postgres_indexes(INDEXES)]
