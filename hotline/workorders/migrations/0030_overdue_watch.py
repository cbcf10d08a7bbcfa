"""The SLA sweep stops rewriting order rows: the overdue stamp and the 催办 count leave the order.

An order's overdue stamp (``overdue_at``) and its 催办 count (``reminder_count``) were columns of
the order, so each stamp and each automatic 催办 rewrote the order's row. The table is wide and
has about thirty indexes; a rewritten row is a new row version with an entry in each of them, and
after a day down at 10M orders (113k stamps, notices and 催办) that was most of the catch-up's
database time. Both facts were already on the timeline (the ``overdue`` event, the ``Reminder``
rows with their ``remind`` events), so the columns go. What the stamp's partial index
``wo_sweep_idx`` gave the sweep (the open orders not yet stamped, by deadline) is now a narrow
table of its own, ``OverdueWatch``, kept by the actions; ``wo_chased_deadline_idx`` (open orders
with ``reminder_count > 0`` or supervised) goes with the count, and the supervisor's 已催仍超期
list reads the overdue orders by deadline, each kept if it has a reminder.

On PostgreSQL the two covering indexes of the month (0028) carried ``overdue_at``, which no count
reads any more: they are built again without it under new names before the column is dropped
(dropping a column drops every index that holds it). The watch list is filled from the orders as
they stand: held by a unit, with a deadline, ``overdue_at`` empty. Back, the columns are filled
from the timeline (the first ``overdue`` event, the number of 催办).
"""

import django.db.models.deletion
from django.db import migrations, models

from hotline.workorders.migrations._postgres import swap_covering_indexes

HELD = "('dispatched', 'handling', 'return_requested', 'replied')"
# The order's status choices as this migration saw them.
STATUSES = [("received", "已登记"), ("awaiting_dispatch", "待派单"), ("dispatched", "待签收"), ("handling", "办理中"),
            ("return_requested", "退单审核中"), ("suspended", "承诺办理（挂起）"), ("replied", "待审核"),
            ("awaiting_callback", "待回访"), ("closed", "已办结"), ("merged", "已并单")]

MONTH_OLD = ("id", "lead_unit_id", "appeal_type_id", "upstream_platform_id", "category_id", "source",
             "disposition", "status", "handle_deadline", "replied_at", "satisfaction", "callback_solved",
             "callback_at", "rework_count", "overdue_at", "excluded_from_assessment", "dispatched_at",
             "is_repeat", "callback_unreachable", "kb_article_id")
ASSESS_OLD = ("number", "handle_deadline", "status", "source", "callback_at", "satisfaction", "callback_solved",
              "rework_count", "overdue_at", "excluded_from_assessment", "callback_unreachable")

# (new name, old name, key, new columns, old columns)
COVERS = (
    ("wo_month_cover4_idx", "wo_month_cover3_idx", "received_at",
     tuple(c for c in MONTH_OLD if c != "overdue_at"), MONTH_OLD),
    ("wo_assess_cover3_idx", "wo_assess_cover2_idx", "id",
     tuple(c for c in ASSESS_OLD if c != "overdue_at"), ASSESS_OLD),
)


def fill_watch(apps, schema_editor):
    schema_editor.execute(
        "INSERT INTO workorders_overduewatch (order_id, handle_deadline, status) SELECT id, handle_deadline, status "
        f"FROM workorders_workorder WHERE status IN {HELD} AND handle_deadline IS NOT NULL AND overdue_at IS NULL")


def columns_from_timeline(apps, schema_editor):
    schema_editor.execute(
        "UPDATE workorders_workorder SET overdue_at = (SELECT MIN(e.at) FROM workorders_event e "
        "WHERE e.order_id = workorders_workorder.id AND e.action = 'overdue') "
        "WHERE id IN (SELECT order_id FROM workorders_event WHERE action = 'overdue')")
    schema_editor.execute(
        "UPDATE workorders_workorder SET reminder_count = (SELECT COUNT(*) FROM workorders_reminder r "
        "WHERE r.order_id = workorders_workorder.id AND r.kind = 'reminder') "
        "WHERE id IN (SELECT order_id FROM workorders_reminder WHERE kind = 'reminder')")


class Migration(migrations.Migration):

    dependencies = [("workorders", "0029_order_index_diet")]

    operations = [
        migrations.CreateModel(
            name="OverdueWatch",
            fields=[
                ("order", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                               related_name="+", serialize=False, to="workorders.workorder",
                                               verbose_name="工单")),
                ("handle_deadline", models.DateTimeField(verbose_name="办理时限")),
                ("status", models.CharField(choices=STATUSES, max_length=20, verbose_name="状态")),
            ],
            options={
                "verbose_name": "超期巡检待查工单",
                "verbose_name_plural": "超期巡检待查工单",
                "indexes": [models.Index(fields=["handle_deadline", "order"], name="watch_deadline_idx")],
            },
        ),
        migrations.RunPython(fill_watch, columns_from_timeline, elidable=False),
        swap_covering_indexes(COVERS),
        migrations.RemoveIndex(model_name="workorder", name="wo_sweep_idx"),
        migrations.RemoveIndex(model_name="workorder", name="wo_chased_deadline_idx"),
        migrations.RemoveField(model_name="workorder", name="overdue_at"),
        migrations.RemoveField(model_name="workorder", name="reminder_count"),
    ]
