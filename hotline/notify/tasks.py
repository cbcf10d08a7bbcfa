"""The outbox's background tasks: ``deliver_due`` sends what is due; ``schedule_due`` (run by
``hotline scheduler`` at every tick) resolves messages of dead workers and wakes the worker
when retries fall due."""

from __future__ import annotations

from django_tasks import TaskResultStatus, task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from hotline.lib import clock
from hotline.notify import delivery
from hotline.notify.models import Delivery


@task()
def deliver_due() -> dict:
    """Send every due message of the outbox (claimed row by row, so any number of these run
    side by side without sending anything twice)."""
    return delivery.run()


def wake_worker() -> None:
    """Queue ``deliver_due`` so it exists if and only if the caller's transaction commits."""
    from hotline.workorders.tasks import enqueue_after_commit

    enqueue_after_commit(deliver_due)


def schedule_due() -> list:
    """Scheduler tick: resolve stale claims, then queue a ``deliver_due`` if messages are due and
    none is waiting in the queue. Returns what it queued (empty when idle)."""
    now = clock.now()
    delivery.recover_stale(now)
    due = Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now).exists()
    if not due:
        return []
    backend = deliver_due.get_backend()
    if isinstance(backend, DatabaseBackend) and DBTaskResult.objects.filter(
            task_path=deliver_due.module_path, status=TaskResultStatus.READY).exists():
        return []  # a waiting run will pick the due rows up
    return [deliver_due.enqueue()]
