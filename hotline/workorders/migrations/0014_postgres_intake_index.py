"""The operators' intake queue (已登记 orders to take in) in its own order, PostgreSQL only.

``wo_received_idx`` is partial (``status = 'received'``): orders stay there minutes, not months, so
the index holds a handful of rows however long the history grows, and the queue's page and capped
count read only those. SQLite keeps the model's indexes only.

It never took effect: the model's index on (received_at, id) already had that name, so ``IF NOT
EXISTS`` built nothing. Migration 0027 builds it as ``wo_intake_idx``.
"""

from django.db import migrations

from hotline.workorders.migrations._postgres import postgres_indexes

INDEXES = (
    ("wo_received_idx", "ON workorders_workorder (handle_deadline, received_at, id) WHERE status = 'received'"),
)


class Migration(migrations.Migration):
    dependencies = [("workorders", "0013_masked_text")]

    operations = [postgres_indexes(INDEXES)]
