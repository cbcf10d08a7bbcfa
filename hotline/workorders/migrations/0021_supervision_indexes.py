"""Partial indexes for the supervisor's page (``/supervision/``): the upstream orders still owed a
report, the open orders already chased, and the failed 督办 — each list starts from the few rows
that can match instead of walking every upstream or overdue order (docs/performance.md, "督办页和回访").
Plain CREATE INDEX: at 10M orders each reads the table once (the conditions keep the
indexes themselves small).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('workorders', '0020_search_keys_restorable'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='reminder',
            index=models.Index(condition=models.Q(('failed', True), ('kind', 'supervision')), fields=['respond_by', 'id'], name='reminder_failed_idx'),
        ),
        migrations.AddIndex(
            model_name='workorder',
            index=models.Index(condition=models.Q(('reported_back_at__isnull', True), ('upstream_platform__isnull', False), models.Q(('status', 'merged'), _negated=True)), fields=['upstream_deadline', 'id'], name='wo_upstream_owed_idx'),
        ),
        migrations.AddIndex(
            model_name='workorder',
            index=models.Index(condition=models.Q(('status__in', ['dispatched', 'handling', 'return_requested', 'replied']), models.Q(('reminder_count__gt', 0), ('supervised', True), _connector='OR')), fields=['handle_deadline', 'id'], name='wo_chased_deadline_idx'),
        ),
    ]
