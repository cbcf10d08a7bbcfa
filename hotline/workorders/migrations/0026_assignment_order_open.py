"""Each assignment knows whether its order is open (``Assignment.order_open``), and a unit's views
of its open orders start from the unit's assignments of open orders only (PostgreSQL indexes).

A unit's assignments outlive its orders' handling: an active co-handling assignment stays active
after the order closes, and a returned one stays with the unit. The home counts' second arm (the
orders a unit co-handles or held before a return) and the inbox's co-handling half read every one
of the unit's such assignments and looked each order up among the open ones: 13,251 look-ups for
住建局 at 10M orders (about 37 ms), most of them of closed orders, growing with the history. With
the flag in the indexes' condition they read the unit's assignments of open orders only.

The column is added with ``false`` (no table rewrite, PostgreSQL stores the default), the
assignments of open orders are then set (the few; a closed order's assignment is the many), and
the field's default becomes ``true``: an assignment is only ever made by a dispatch, of an open
order. ``actions._record`` keeps it from then on.

The old indexes are dropped after the new ones are built. Backwards builds them again. Note that
PostgreSQL may not use an index built right after such an UPDATE while a transaction older than the
index is still open anywhere on the server (``pg_index.indcheckxmin``): a long report or a bulk
load delays it, it never returns wrong rows.
"""

from django.db import migrations, models

# workflow.OPEN, spelled out: a migration must not change when the code's constants do.
OPEN_STATUSES = ("awaiting_callback", "awaiting_dispatch", "dispatched", "handling", "received", "replied",
                 "return_requested", "suspended")

NEW_INDEXES = (
    ("asg_unit_other_open_idx",
     "ON workorders_assignment (unit_id, order_id) WHERE order_open AND NOT (active AND role = 'lead')"),
    ("asg_unit_co_open_idx",
     "ON workorders_assignment (unit_id, order_id) INCLUDE (signed_at) WHERE order_open AND active AND role = 'co'"),
)
OLD_INDEXES = (
    ("asg_unit_other_idx", "ON workorders_assignment (unit_id, order_id) WHERE NOT (active AND role = 'lead')"),
    ("asg_unit_co_cover_idx",
     "ON workorders_assignment (unit_id, order_id) INCLUDE (signed_at) WHERE active AND role = 'co'"),
)


def mark_open(apps, schema_editor):
    marks = ", ".join(["%s"] * len(OPEN_STATUSES))
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("UPDATE workorders_assignment SET order_open = TRUE WHERE order_id IN "
                       f"(SELECT id FROM workorders_workorder WHERE status IN ({marks}))", list(OPEN_STATUSES))


def swap_indexes(build, drop):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, definition in build:
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {definition}")
        for name, _ in drop:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        # The planner's statistics know nothing of the new column until the next auto-analyze;
        # until then it would not see how few rows the new indexes hold.
        schema_editor.execute("ANALYZE workorders_assignment")
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("workorders", "0025_event_order_no_own_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="assignment",
            name="order_open",
            field=models.BooleanField(default=False, editable=False, verbose_name="工单在办"),
        ),
        migrations.RunPython(mark_open, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="assignment",
            name="order_open",
            field=models.BooleanField(default=True, editable=False, verbose_name="工单在办"),
        ),
        migrations.RunPython(swap_indexes(NEW_INDEXES, OLD_INDEXES), swap_indexes(OLD_INDEXES, NEW_INDEXES),
                             elidable=False),
    ]
