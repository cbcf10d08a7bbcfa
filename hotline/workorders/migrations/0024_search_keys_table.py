"""The character index's keys move to a table of their own, written only when an order's text or
units change (hotline.workorders.textindex; issue #16).

0019 indexed the keys as an expression over the order's row, so every update of the row that was
not HOT re-computed and re-inserted them all: the SLA sweep's overdue stamps, reminder counts and
every state change paid for a hundred-odd GIN keys of text that had not changed (5k orders: 3,000
overdue stamps 1.7 s with that index, 0.4 s without; at 10M the sweep took 50 s, the first after a
day down 89 s). Now ``workorders_ordersearchkeys`` holds each order's keys, a GIN index reads them,
and triggers on the order table keep them: written with the order, rewritten when title, content,
``masked_text`` or ``search_units`` change, deleted with it, emptied when it is truncated.

PostgreSQL only (SQLite searches by its plain query). In order: the table and its triggers, the
keys of every order in one INSERT … SELECT, then the GIN index (built once over all rows, not
grown row by row), then the old expression index goes. The triggers' lock on the order table
blocks its writes until the migration commits: at 10M orders the keys take about 60–110 µs an
order and the index build some minutes more — plan it like 0019 (``maintenance_work_mem``,
docs/deployment.md). Reversing builds the expression index again (as long) and drops the table.
"""

from django.db import migrations

from hotline.workorders import textindex


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in (textindex.CREATE_TABLE, textindex.CREATE_TRIGGERS, textindex.fill(), textindex.CREATE_INDEX,
                f"ANALYZE {textindex.TABLE}", textindex.DROP_EXPRESSION_INDEX):
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in (textindex.CREATE_EXPRESSION_INDEX, textindex.DROP_TRIGGERS, textindex.DROP_TABLE):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("workorders", "0023_postgres_callback_due_index")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
