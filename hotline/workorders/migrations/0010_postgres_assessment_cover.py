"""Orders by id with the columns the monthly assessment reads (PostgreSQL).

The assessment joins the month's lead assignments (1.8M-order month: ~620,000) to their orders
by key (``hotline.lib.planner.joins_by_key``). Through the primary key each lookup reads the
order's heap row — wide, with the appeal's text; through this index it is index-only, and the
month's orders are a contiguous range of ids, so the lookups walk a few thousand index pages
instead of the month's gigabyte of rows. 10M orders: the join 1.8 s → 1.3 s per worker, the
index 981 MB, built in 14 s. SQLite keeps the model's indexes only.
"""

from django.db import migrations

from hotline.workorders.migrations._postgres import postgres_indexes

COVERED = ("number", "handle_deadline", "status", "source", "callback_at", "satisfaction", "callback_solved",
           "rework_count", "overdue_at", "excluded_from_assessment")
INDEXES = (("wo_assess_cover_idx", f"ON workorders_workorder (id) INCLUDE ({', '.join(COVERED)})"),)


class Migration(migrations.Migration):
    dependencies = [("workorders", "0009_postgres_inbox_co_index")]

    operations = [postgres_indexes(INDEXES)]
