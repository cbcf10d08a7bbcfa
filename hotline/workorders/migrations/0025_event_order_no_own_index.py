"""An event's order has no index of its own: ``event_order_at_idx`` (order, at) starts with it.

Every query by order (an order's timeline, its last events, the cascade when an order is
deleted) can use the composite; the single-column index was one more index entry for every event
written, at random places in a large index (an order's events arrive over days), for nothing.
Forwards drops it (quick); backwards recreates it (at 10M orders, tens of millions of events: a
few minutes).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('workorders', '0024_search_keys_table'),
    ]

    operations = [
        migrations.AlterField(
            model_name='event',
            name='order',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='workorders.workorder', verbose_name='工单'),
        ),
    ]
