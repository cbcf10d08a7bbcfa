"""Chinese substring search on PostgreSQL: pg_trgm GIN indexes on the title and the content.

The search form's ``q`` is ``title LIKE '%q%' OR content LIKE '%q%'``; a trigram GIN index answers
that for patterns of three characters or more (pg_trgm treats each CJK character as a word
character, so trigrams of Chinese text work). docs/performance.md has the measurements and what
happens with one- and two-character queries. SQLite has no such index and keeps the plain scan.
"""

from django.db import migrations

INDEXES = (
    ("wo_title_trgm_idx", "title"),
    ("wo_content_trgm_idx", "content"),
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON workorders_workorder USING gin ({column} gin_trgm_ops)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("workorders", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
