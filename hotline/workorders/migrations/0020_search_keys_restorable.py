"""``hotline_search_keys`` in one function that calls only built-in ones (same keys as 0019's).

pg_restore builds indexes with an empty search_path; 0019's first version called a second function
of ours, which is not found there, so a restored database lost the character index. Databases
migrated since get this version from 0019 already; this replaces the older one in place (the keys
are the same, so the index stays valid).
"""

from django.db import migrations

from hotline.workorders import textindex


def replace_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(textindex.CREATE_FUNCTION)


class Migration(migrations.Migration):

    dependencies = [
        ("workorders", "0019_search_keys"),
    ]

    operations = [migrations.RunPython(replace_function, migrations.RunPython.noop, elidable=False)]
