"""The callback queue's index (PostgreSQL): orders awaiting callback by when they are due.

* ``wo_callback_due_idx``: ``COALESCE(next_callback_at, replied_at)``, the time an order is due for
  its callback (a retry from ``next_callback_at``, a first callback from the answer), NULLS FIRST
  then id: the key and order of ``queries.callback_queue``, so a page is the index's first entries.
  Partial: only orders awaiting callback. It includes ``next_callback_at`` (whether a retry is due
  yet) and ``registered_by_id`` (an operator's door), so the queue's capped count reads the index
  alone. Without it the page sorted every order awaiting callback, found by walking all open
  orders (1M orders: 17,521 of 100,494, 43,000 pages, 230 ms).

SQLite keeps the model's indexes only; docs/performance.md has the figures.
"""

from django.db import migrations

from hotline.workorders.migrations._postgres import postgres_indexes

INDEXES = (
    ("wo_callback_due_idx",
     "ON workorders_workorder ((COALESCE(next_callback_at, replied_at)) NULLS FIRST, id) "
     "INCLUDE (next_callback_at, registered_by_id) WHERE status = 'awaiting_callback'"),
)


class Migration(migrations.Migration):
    dependencies = [("workorders", "0022_drop_trigram_indexes")]

    operations = [postgres_indexes(INDEXES)]
