"""A covering index for the inbox's co-handling half (PostgreSQL), from EXPLAIN ANALYZE at 10M orders.

A unit's active co-handling assignments stay active after their orders close: at 10M orders 住建局
has 3,690, of which 658 are open. Placing them in the inbox's sections read every one of those
assignment rows and every order row (about 18,000 pages, 25–45 ms). ``asg_unit_co_cover_idx`` holds
the unit's active co-handling assignments with their sign-for time, so the query reads indexes
only: this one, then ``0008``'s ``wo_open_id_idx`` (open orders by id, with state and deadline),
which tells a closed order apart without reading it.

SQLite keeps the model's indexes only; docs/performance.md has the figures.
"""

from django.db import migrations

from hotline.workorders.migrations._postgres import postgres_indexes

INDEXES = (
    ("asg_unit_co_cover_idx",
     "ON workorders_assignment (unit_id, order_id) INCLUDE (signed_at) WHERE active AND role = 'co'"),
)


class Migration(migrations.Migration):
    dependencies = [("workorders", "0008_postgres_home_summary_indexes")]

    operations = [postgres_indexes(INDEXES)]
