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


def swap_covering_indexes(indexes: tuple[tuple[str, str, str, tuple[str, ...], tuple[str, ...]], ...]
                          ) -> migrations.RunPython:
    """Covering indexes of the orders rebuilt with other INCLUDE columns under new names: each is
    ``(new name, old name, key, new columns, old columns)``. The new one is built before the old is
    dropped, so the statistics never run without a covering index; backwards the other way round."""
    def swap(schema_editor, *, forwards: bool):
        if schema_editor.connection.vendor != "postgresql":
            return
        for new, old, key, columns, old_columns in indexes:
            make, drop, include = (new, old, columns) if forwards else (old, new, old_columns)
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {make} ON workorders_workorder ({key}) "
                                  f"INCLUDE ({', '.join(include)})")
            schema_editor.execute(f"DROP INDEX IF EXISTS {drop}")

    return migrations.RunPython(lambda apps, schema_editor: swap(schema_editor, forwards=True),
                                lambda apps, schema_editor: swap(schema_editor, forwards=False), elidable=False)
