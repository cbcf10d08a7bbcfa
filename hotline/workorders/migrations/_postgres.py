"""Indexes only PostgreSQL gets: the operation the ``000N_postgres_*`` migrations share.

Each is ``(name, definition)``, the definition being the rest of ``CREATE INDEX name …``
(``ON table (…) [INCLUDE (…)] [WHERE …]``). SQLite keeps the model's indexes only. Not a
migration itself: the loader skips modules whose name starts with "_".
"""

from django.db import migrations


def postgres_indexes(indexes: tuple[tuple[str, str], ...]) -> migrations.RunPython:
    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, definition in indexes:
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {definition}")

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, _ in indexes:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")

    return migrations.RunPython(forwards, backwards, elidable=False)
