"""The character index (hotline.workorders.textindex): ``WorkOrder.search_units`` and, on
PostgreSQL, one GIN index of every order's characters, adjacent pairs and units.

The backfill writes each order's units from its assignments in one statement (the oldest
assignment first). The index is built after it; at 10 million orders expect some minutes for the
keys alone (about 60 µs an order) — ``maintenance_work_mem`` speeds the build (docs/deployment.md).
"""

from django.db import migrations, models

from hotline.workorders import textindex


def fill_search_units(connection) -> None:
    """Each order's units from its assignments, the oldest assignment first, in one statement."""
    if connection.vendor == "postgresql":
        units = "string_agg(unit_id::text, ' ' ORDER BY first_id)"
    else:
        units = "group_concat(unit_id, ' ')"  # SQLite: in the subquery's order
    with connection.cursor() as cursor:
        cursor.execute(f"""
            UPDATE workorders_workorder SET search_units = u.units
              FROM (SELECT order_id, {units} AS units
                      FROM (SELECT order_id, unit_id, MIN(id) AS first_id FROM workorders_assignment
                             GROUP BY order_id, unit_id ORDER BY order_id, first_id) a
                     GROUP BY order_id) u
             WHERE workorders_workorder.id = u.order_id""")


def backfill(apps, schema_editor):
    fill_search_units(schema_editor.connection)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(textindex.CREATE_FUNCTION)
    schema_editor.execute(textindex.CREATE_EXPRESSION_INDEX)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(textindex.DROP_EXPRESSION_INDEX)
    schema_editor.execute(textindex.DROP_FUNCTION)


class Migration(migrations.Migration):

    dependencies = [
        ("workorders", "0018_chase_loops"),
    ]

    operations = [
        migrations.AddField(
            model_name="workorder",
            name="search_units",
            field=models.TextField(blank=True, db_default="", default="", editable=False,
                                   verbose_name="检索用承办单位"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
