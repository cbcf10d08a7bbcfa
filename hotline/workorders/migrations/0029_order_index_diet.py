"""Fewer index entries per order row: two unit indexes go, the mostly-NULL foreign keys get partial ones.

Every insert of an order and every update that is not HOT (the SLA sweep's overdue stamp, the
automatic 催办's count) adds an entry to each index of the orders table whose condition the row
meets. A plain btree holds NULLs too, so the indexes of ``upstream_platform`` (a local order has
none: 93 %), ``merged_into``, ``repeat_of`` and ``kb_article`` (set on a few orders) took an entry
for every row to answer lookups that only ever ask for a value: the merged or repeat orders of an
order, an article's usage count, and the checks of PROTECT and SET_NULL when a platform, order or
article is deleted. Each is now built ``WHERE … IS NOT NULL`` under a name of its own; a lookup
``= value`` implies it, so the planner uses it as before. Both databases (SQLite has partial
indexes); the FK constraints stay — Django's AlterField would drop and re-add each one,
re-validating every row.

Two of the four indexes that lead with the lead unit go: ``wo_unit_status_deadline_idx`` (the
model's, every order by unit, state and deadline) and ``wo_unit_open_deadline_idx`` (0004, a unit's
open orders by deadline, PostgreSQL). The unit inbox and the home counts were their only readers,
and each of those reads is a range of ``wo_open_summary_idx`` (0008: the open orders by unit, state
and deadline, with the id) at the same cost in EXPLAIN ANALYZE on 1M orders; a held order's row had
an entry in all three. ``wo_unit_deadline_idx`` stays (the search by unit sorted by deadline).
Measured, one line per index, in docs/performance.md, "工单表的索引瘦身".
"""

import django.db.models.deletion
from django.db import migrations, models

# (field, Django's name of its old index, the new partial index)
FKS = (
    ("upstream_platform", "workorders_workorder_upstream_platform_id_65f172a7", "wo_upstream_platform_idx"),
    ("merged_into", "workorders_workorder_merged_into_id_ee7b8da0", "wo_merged_into_idx"),
    ("repeat_of", "workorders_workorder_repeat_of_id_2150c415", "wo_repeat_of_idx"),
    ("kb_article", "workorders_workorder_kb_article_id_1cc95a30", "wo_kb_article_idx"),
)
TABLE = "workorders_workorder"
# 0004's definition, spelled out for the way back.
UNIT_OPEN_DEADLINE = ("wo_unit_open_deadline_idx",
                      "ON workorders_workorder (lead_unit_id, handle_deadline, id) WHERE status IN ('received', "
                      "'awaiting_dispatch', 'dispatched', 'handling', 'return_requested', 'suspended', 'replied')")


def partial_fk_indexes(apps, schema_editor):
    # The new one first: a lookup never runs without an index.
    for field, old, new in FKS:
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{new}" ON "{TABLE}" ("{field}_id") '
                              f'WHERE "{field}_id" IS NOT NULL')
        schema_editor.execute(f'DROP INDEX IF EXISTS "{old}"')


def full_fk_indexes(apps, schema_editor):
    for field, old, new in FKS:
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{old}" ON "{TABLE}" ("{field}_id")')
        schema_editor.execute(f'DROP INDEX IF EXISTS "{new}"')


def drop_unit_open_deadline(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {UNIT_OPEN_DEADLINE[0]}")


def build_unit_open_deadline(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {UNIT_OPEN_DEADLINE[0]} {UNIT_OPEN_DEADLINE[1]}")


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0004_sla_auto_remind"),
        ("directory", "0001_initial"),
        ("workorders", "0028_postgres_month_cover_flags"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="workorder",
                    name="upstream_platform",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.PROTECT,
                                            to="directory.upstreamplatform", verbose_name="上级平台"),
                ),
                migrations.AlterField(
                    model_name="workorder",
                    name="merged_into",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.PROTECT,
                                            related_name="merged_orders", to="workorders.workorder",
                                            verbose_name="并入工单"),
                ),
                migrations.AlterField(
                    model_name="workorder",
                    name="repeat_of",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.PROTECT,
                                            related_name="repeat_orders", to="workorders.workorder",
                                            verbose_name="重办原工单"),
                ),
                migrations.AlterField(
                    model_name="workorder",
                    name="kb_article",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.SET_NULL,
                                            related_name="answered_orders", to="catalog.knowledgearticle",
                                            verbose_name="知识库条目"),
                ),
                migrations.AddIndex(
                    model_name="workorder",
                    index=models.Index(condition=models.Q(("upstream_platform__isnull", False)),
                                       fields=["upstream_platform"], name="wo_upstream_platform_idx"),
                ),
                migrations.AddIndex(
                    model_name="workorder",
                    index=models.Index(condition=models.Q(("merged_into__isnull", False)), fields=["merged_into"],
                                       name="wo_merged_into_idx"),
                ),
                migrations.AddIndex(
                    model_name="workorder",
                    index=models.Index(condition=models.Q(("repeat_of__isnull", False)), fields=["repeat_of"],
                                       name="wo_repeat_of_idx"),
                ),
                migrations.AddIndex(
                    model_name="workorder",
                    index=models.Index(condition=models.Q(("kb_article__isnull", False)), fields=["kb_article"],
                                       name="wo_kb_article_idx"),
                ),
            ],
            database_operations=[migrations.RunPython(partial_fk_indexes, full_fk_indexes)],
        ),
        migrations.RemoveIndex(model_name="workorder", name="wo_unit_status_deadline_idx"),
        migrations.RunPython(drop_unit_open_deadline, build_unit_open_deadline, elidable=False),
    ]
