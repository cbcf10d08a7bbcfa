# The review of the nightly pass's near-duplicate pairs: state, who and when; the queue's partial index.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('triage', '0005_month_hot_problems'),
        ('workorders', '0021_supervision_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='nearduplicate',
            name='reviewed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='核实时间'),
        ),
        migrations.AddField(
            model_name='nearduplicate',
            name='reviewed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='核实人'),
        ),
        migrations.AddField(
            model_name='nearduplicate',
            name='state',
            field=models.CharField(choices=[('pending', '待核实'), ('dismissed', '不是重复'), ('linked', '已标为重办')], default='pending', max_length=10, verbose_name='核实结果'),
        ),
        migrations.AddIndex(
            model_name='nearduplicate',
            index=models.Index(condition=models.Q(('state', 'pending')), fields=['-found_on', '-id'], name='triage_near_dup_pending_idx'),
        ),
        migrations.AddConstraint(
            model_name='nearduplicate',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('reviewed_at__isnull', True), ('reviewed_by__isnull', True), ('state', 'pending')), models.Q(models.Q(('state', 'pending'), _negated=True), ('reviewed_at__isnull', False)), _connector='OR'), name='triage_near_duplicate_reviewed'),
        ),
    ]
