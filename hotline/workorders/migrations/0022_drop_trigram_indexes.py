"""The character index (0019) serves every phrase; the three pg_trgm indexes (0002, 0013) go.

The character index holds every character and every adjacent pair of an order's title, content
and ``masked_text``; a phrase of three characters or more asks for all its adjacent pairs, which
narrows at least as well as its trigrams did, and ``queries.text_match`` still decides every row.
The trigram indexes were kept for the center's longer phrases only, and each costs on every write
of the order, not just on a change of its text: a status change or an SLA stamp is not a HOT
update (the status and the stamps are in other indexes), so every index of the row gets a new
entry — GIN entries for each trigram of the content among them. Measured on 1M orders
(docs/benchmarks.md, "单位检索：字符索引"), the trigram indexes were about half of what the text
indexes cost per INSERT and per UPDATE; at 10M the SLA sweep's UPDATE of a few hundred orders was
dominated by them. Reversing recreates them (at 10M, hours: plan it like 0019).
"""

from django.db import migrations

TRIGRAM_INDEXES = (
    ("wo_title_trgm_idx", "ON workorders_workorder USING gin (title gin_trgm_ops)"),
    ("wo_content_trgm_idx", "ON workorders_workorder USING gin (content gin_trgm_ops)"),
    ("wo_masked_text_trgm_idx", "ON workorders_workorder USING gin (masked_text gin_trgm_ops) WHERE masked_text <> ''"),
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in TRIGRAM_INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {definition}")


class Migration(migrations.Migration):
    dependencies = [("workorders", "0021_supervision_indexes")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
