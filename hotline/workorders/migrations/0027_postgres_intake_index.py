"""The operators' intake queue's partial index, under a name of its own (PostgreSQL only).

Migration 0014 meant to build it as ``wo_received_idx``, but that name was already the model's
index on (received_at, id), and ``CREATE INDEX IF NOT EXISTS`` saw the name and built nothing. The
queue then read every 已登记 order through ``wo_status_received_idx`` and sorted them for one page:
the planner counts on almost none (orders stay minutes), but a backlog of a few thousand — the
10M mixed load's portal and API registrations — cost 132 ms a page. This one holds only 已登记
orders, in the queue's order, so a page reads its first rows and stops.
"""

from django.db import migrations

from hotline.workorders.migrations._postgres import postgres_indexes

INDEXES = (
    ("wo_intake_idx", "ON workorders_workorder (handle_deadline, received_at, id) WHERE status = 'received'"),
)


class Migration(migrations.Migration):
    dependencies = [("workorders", "0026_assignment_order_open")]

    operations = [postgres_indexes(INDEXES)]
