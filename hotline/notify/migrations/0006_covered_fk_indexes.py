"""Foreign keys whose single-column index a composite index already starts with lose it.

A notification's ``recipient`` (``notif_recipient_idx``: recipient, created_at) and ``event``
(``notif_once_per_event``: event, recipient, where there is an event — a condition every
``event_id = …`` or ``IN (…)`` implies), an outbox row's ``event`` (``delivery_once_per_event``)
and ``order`` (``delivery_order_idx``). A sweep's catch-up writes tens of thousands of these rows;
each wrote one or two index entries more than its queries need. Backwards recreates them.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notify', '0005_hotspot_alert_kind'),
        ('workorders', '0025_event_order_no_own_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='delivery',
            name='event',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workorders.event', verbose_name='工单日志'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='order',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workorders.workorder', verbose_name='工单'),
        ),
        migrations.AlterField(
            model_name='notification',
            name='event',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workorders.event', verbose_name='工单日志'),
        ),
        migrations.AlterField(
            model_name='notification',
            name='recipient',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to=settings.AUTH_USER_MODEL, verbose_name='接收人'),
        ),
    ]
