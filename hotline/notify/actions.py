"""The writers of notify's rows besides the emission and the worker: reading and retrying."""

from __future__ import annotations

from django.db import transaction

from hotline.accounts.access import audit
from hotline.lib import clock
from hotline.notify.models import Delivery, Notification


def mark_read(user, ids) -> int:
    """Mark the user's own notifications ``ids`` read; others' ids are ignored."""
    return (Notification.objects.for_user(user).unread().filter(pk__in=list(ids))
            .update(read_at=clock.now()))


def mark_all_read(user) -> int:
    return Notification.objects.for_user(user).unread().update(read_at=clock.now())


class RetryError(Exception):
    pass


def retry(delivery: Delivery | int, *, acting_user) -> Delivery:
    """Put a failed message back in the queue (a person decided to send it again), audited."""
    from hotline.notify.tasks import wake_worker

    pk = delivery.pk if isinstance(delivery, Delivery) else delivery
    with transaction.atomic():
        row = Delivery.objects.select_for_update().filter(pk=pk).first()
        if row is None:
            raise RetryError("消息不存在")
        if row.status != Delivery.Status.FAILED:
            raise RetryError("只有发送失败的消息可以重试")
        row.status, row.next_attempt_at, row.attempts = Delivery.Status.PENDING, clock.now(), 0
        row.save(update_fields=["status", "next_attempt_at", "attempts"])
        audit(acting_user, "config", obj=row, what="重试发送消息", channel=row.channel, address=row.masked_address)
        wake_worker()
    return row
