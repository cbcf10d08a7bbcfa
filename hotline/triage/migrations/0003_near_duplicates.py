# Near-duplicate index (LSH keys, per-order state) and the nightly pass's pairs.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('triage', '0002_appeal_kind'),
        ('workorders', '0021_supervision_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='NearDupState',
            fields=[
                ('order', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='neardup', serialize=False, to='workorders.workorder', verbose_name='工单')),
                ('version', models.PositiveSmallIntegerField(verbose_name='格式版本')),
            ],
            options={
                'verbose_name': '相似文本索引状态',
                'verbose_name_plural': '相似文本索引状态',
            },
        ),
        migrations.CreateModel(
            name='NearDupKey',
            fields=[
                ('pk', models.CompositePrimaryKey('key', 'order', blank=True, editable=False, primary_key=True, serialize=False)),
                ('key', models.BigIntegerField(verbose_name='键')),
                ('order', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workorders.workorder', verbose_name='工单')),
            ],
            options={
                'verbose_name': '相似文本索引键',
                'verbose_name_plural': '相似文本索引键',
            },
        ),
        migrations.CreateModel(
            name='NearDuplicate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('jaccard', models.FloatField(verbose_name='相似度')),
                ('found_on', models.DateField(help_text="the day of orders the nightly pass looked at (center's time)", verbose_name='比对日期')),
                ('found_at', models.DateTimeField(auto_now_add=True, verbose_name='发现时间')),
                ('order', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='near_duplicates', to='workorders.workorder', verbose_name='工单')),
                ('similar_to', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='near_duplicated_by', to='workorders.workorder', verbose_name='相似工单')),
            ],
            options={
                'verbose_name': '疑似重复工单',
                'verbose_name_plural': '疑似重复工单',
                'ordering': ['-found_at', '-id'],
                'constraints': [models.UniqueConstraint(fields=('order', 'similar_to'), name='triage_near_duplicate_pair'), models.CheckConstraint(condition=models.Q(('order', models.F('similar_to')), _negated=True), name='triage_near_duplicate_not_self')],
            },
        ),
    ]
