"""The two covering indexes carry the columns the month's counts gained since (PostgreSQL).

``is_repeat`` (重复诉求率) and ``callback_unreachable`` (回访无法联系) joined the center's counts
and the unit figures on 12-04, ``kb_article_id`` is the knowledge base's direct-answer count: none
was in ``wo_month_cover2_idx`` or ``wo_assess_cover_idx``, so every pass over a month's orders (the
tables, the previous month, the same month last year, the unit figures' join by key) read the
orders' heap rows — wide, with the appeal's text — instead of the index alone, and the planner often
chose to read the whole table. Built under new names, then the old ones dropped, so the statistics
never run without a covering index. SQLite keeps the model's indexes only. Measured in
docs/performance.md, "月度构建：覆盖索引补上三列、单位指标分两半".
"""

from django.db import migrations

from hotline.workorders.migrations._postgres import swap_covering_indexes

MONTH_OLD = ("id", "lead_unit_id", "appeal_type_id", "upstream_platform_id", "category_id", "source",
             "disposition", "status", "handle_deadline", "replied_at", "satisfaction", "callback_solved",
             "callback_at", "rework_count", "overdue_at", "excluded_from_assessment", "dispatched_at")
ASSESS_OLD = ("number", "handle_deadline", "status", "source", "callback_at", "satisfaction", "callback_solved",
              "rework_count", "overdue_at", "excluded_from_assessment")
MONTH = (*MONTH_OLD, "is_repeat", "callback_unreachable", "kb_article_id")
ASSESS = (*ASSESS_OLD, "callback_unreachable")

# (new name, old name, key, new columns, old columns)
INDEXES = (
    ("wo_month_cover3_idx", "wo_month_cover2_idx", "received_at", MONTH, MONTH_OLD),
    ("wo_assess_cover2_idx", "wo_assess_cover_idx", "id", ASSESS, ASSESS_OLD),
)


class Migration(migrations.Migration):
    dependencies = [("workorders", "0027_postgres_intake_index")]

    operations = [swap_covering_indexes(INDEXES)]
