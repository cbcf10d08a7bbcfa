"""The database table of the "shared" cache (settings.CACHES) that holds the portal's rate-limit
counters when there is no Redis: created with the schema so ``hotline migrate`` is the only step."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):

    dependencies = [
        ("portal", "0001_citizen_rating"),
    ]

    operations = [
        migrations.RunPython(create_cache_table, migrations.RunPython.noop, elidable=True),
    ]
