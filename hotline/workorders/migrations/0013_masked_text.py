"""What a unit's text search reads: ``WorkOrder.masked_text``, title and content with identities
masked (hidden on a confidential order), "" when masking changes neither.

Adding the column writes nothing (a constant default). The backfill reads every order once, in
id order, and writes only those whose text names someone (hotline.accounts.access.unit_search_text);
run it again after changing what masking covers (``hotline remask``). PostgreSQL gets a trigram GIN
index like the title's and the content's (0002), partial on the rows that have a masked text: the
others are searched in their own columns, and keep no index entry here to maintain.
"""

from django.db import migrations, models

from hotline.workorders.migrations._postgres import postgres_indexes

BATCH = 2000


def backfill(apps, schema_editor):
    from hotline.workorders.remask import remask

    remask(apps.get_model("workorders", "WorkOrder").objects.using(schema_editor.connection.alias), batch=BATCH)


class Migration(migrations.Migration):

    dependencies = [
        ("workorders", "0012_requests_end_with_assignment"),
    ]

    operations = [
        migrations.AddField(
            model_name="workorder",
            name="masked_text",
            field=models.TextField(blank=True, db_default="", default="", editable=False, verbose_name="单位检索文本"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=False),
        postgres_indexes((
            ("wo_masked_text_trgm_idx",
             "ON workorders_workorder USING gin (masked_text gin_trgm_ops) WHERE masked_text <> ''"),
        )),
    ]
