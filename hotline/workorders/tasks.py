"""Background work on orders: the SLA sweep and near-due notices, and the scheduler's lock.

Every task here is idempotent, because a task can run twice: the database worker leaves a task
``RUNNING`` when its process is killed, and ``requeue_stale`` puts it back in the queue after a
timeout even if a slow worker is in fact still on it. The rule each task follows: lock the order
rows, then (in a new statement, so it sees what a concurrent run committed before releasing the
lock) look for the fact it is about to write, and write it only if it is missing — in one
transaction with the lock.

Tasks are enqueued through the configured ``TASKS`` backend. With the default database backend
(django-tasks-db) on PostgreSQL, enqueueing inside the order's transaction makes the order and
its task commit together (a transactional outbox); ``enqueue_after_commit`` does that, and falls
back to ``transaction.on_commit`` for a backend that lives outside the database.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache
from django.db import connections, router, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from hotline.lib import clock
from hotline.lib.heap import collect_only_new
from hotline.lib.parallel import side_by_side
from hotline.lib.planner import planner_without
from hotline.workorders import actions
from hotline.workorders.models import Assignment, Event, OverdueWatch, Reminder
from hotline.workorders.workflow import UNIT_HOLDS

logger = logging.getLogger(__name__)

# Orders per batch (one transaction, its locks held until it commits). A catch-up pays per batch
# for a dozen statements, notify's lookups and a commit: at 1,000 rather than 500 it spent about a
# sixth less Python and a tenth less server CPU per stamp (1M bench, docs/performance.md), and a
# person acting on one of the batch's orders waits a few tenths of a second at most.
BATCH_SIZE = 1000
# The statuses of the partial index ``wo_open_deadline_idx``: a query that filters on exactly
# these lets PostgreSQL (and SQLite) read only open orders by deadline.
SWEPT_STATUSES = sorted(s.value for s in UNIT_HOLDS)
# Key of the PostgreSQL advisory lock that serialises schedulers (any constant; "12345" in hex).
SCHEDULER_LOCK_KEY = 0x12345


def _parse_at(at: str | dt.datetime | None) -> dt.datetime:
    if at is None:
        return clock.now()
    if isinstance(at, str):
        at = dt.datetime.fromisoformat(at)
    return clock.local(at)


def near_due_window() -> dt.timedelta:
    return dt.timedelta(hours=settings.HOTLINE["NEAR_DUE_HOURS"])


# ---------------------------------------------------------------------------------------------
# Finding work on the watch list (OverdueWatch)


def _keyset_batches(qs, batch_size: int) -> Iterator[list[int]]:
    """Ids of ``qs`` in (handle_deadline, id) order, ``batch_size`` at a time.

    Keyset pagination rather than OFFSET: each batch resumes after the last key, so an order the
    batch could not stamp (its status changed meanwhile) is never read again in this sweep. The
    extra ``handle_deadline >= last`` is implied by the OR, but spelled out it is what lets the
    database start the index range at the last key instead of filtering from the beginning.

    Planned without bitmap scans: a batch is then read in deadline order from ``watch_deadline_idx`` and
    the reading stops after ``batch_size`` candidates. A bitmap scan reads the whole rest of the
    range for every batch, and the planner, expecting a few thousand orders in a day's near-due
    window where there are tens of thousands, also ANDed in the status index (every open order):
    at 10M the near-due pass's candidate query took 0.1–0.9 s per batch, a third of a catch-up's
    statement time (docs/benchmarks.md, "还没做的"). And without hashed subplans: expecting the
    whole window, the planner would read every automatic 催办 joined to every active assignment
    into a hash table for each batch (seen at 2M orders) to test the few hundred rows it reads.
    """
    last = None
    while True:
        page = qs
        if last is not None:
            deadline, pk = last
            page = page.filter(Q(handle_deadline__gte=deadline),
                               Q(handle_deadline__gt=deadline) | Q(handle_deadline=deadline, pk__gt=pk))
        with planner_without(qs.db, "bitmapscan", hashed_subplans=False):
            rows = list(page.order_by("handle_deadline", "pk").values_list("handle_deadline", "pk")[:batch_size])
        if not rows:
            return
        yield [pk for _, pk in rows]
        last = rows[-1]


def overdue_candidates(now: dt.datetime):
    """Orders on the watch list (held by a unit, not yet stamped overdue) past their deadline, as
    ``OverdueWatch`` rows (their primary key is the order's)."""
    return OverdueWatch.objects.filter(handle_deadline__lt=now)


def _in_near_due_window(now: dt.datetime, window: dt.timedelta):
    """Orders on the watch list whose deadline falls in [now, now + window). An order stamped
    overdue and later given a new deadline (returned, dispatched again) is not on it, so it is not
    warned again either: as before the list, when the stamp's column named the same index."""
    return OverdueWatch.objects.filter(handle_deadline__gte=now, handle_deadline__lt=now + window)


def _owed_notice(now: dt.datetime, window: dt.timedelta) -> Exists:
    """No near-due notice within one window."""
    return ~Exists(Event.objects.filter(order=OuterRef("order_id"), action="near_due", at__gte=now - window))


def _owed_auto_remind() -> Q:
    """Worked by a unit (dispatched, handling) and its active lead assignment not yet chased automatically."""
    issued = Reminder.objects.filter(automatic=True, assignment__order=OuterRef("order_id"), assignment__active=True)
    # The watch list's copy of the status: the candidates are read from its index alone, in
    # deadline order, and the reading stops after a batch (``_keyset_batches``). As a join or a
    # subquery on the orders, PostgreSQL would hash every order a unit works for each batch.
    return Q(~Exists(issued), status__in=sorted(actions.CHASED))


def near_due_candidates(now: dt.datetime):
    """Open orders entering the near-due window that had no near-due notice within one window.

    A unit hears at most once per window that an order is near due: an order whose deadline is
    extended past the window gets a new notice when the new deadline approaches; one extended by
    a few hours, still inside the window it was already warned about, does not.
    """
    window = near_due_window()
    return _in_near_due_window(now, window).filter(_owed_notice(now, window))


def auto_remind_candidates(now: dt.datetime):
    """Orders a unit works (dispatched, handling) entering the near-due window whose active lead
    assignment has had no automatic 催办 yet (the policy's switch is read per order when issuing)."""
    return _in_near_due_window(now, near_due_window()).filter(_owed_auto_remind())


def near_due_work(now: dt.datetime):
    """Orders in the near-due window owed a notice or an automatic 催办 (either candidate set): the
    near-due pass locks each batch once for both."""
    window = near_due_window()
    return _in_near_due_window(now, window).filter(Q(_owed_notice(now, window)) | _owed_auto_remind())


def unanswered_supervisions(now: dt.datetime):
    """督办 past ``respond_by`` with no written response and not yet found failed (the partial
    index ``reminder_awaiting_idx``), addressed to a unit that still holds the order: a unit whose
    assignment ended (return approved, redispatched) is not held to a 督办 it can no longer answer."""
    holds = Assignment.objects.filter(order=OuterRef("order_id"), unit=OuterRef("unit_id"), active=True)
    return (Reminder.objects.filter(kind=Reminder.Kind.SUPERVISION, responded_at__isnull=True, failed=False,
                                    respond_by__lt=now, unit__isnull=False)
            .filter(Exists(holds)))


# ---------------------------------------------------------------------------------------------
# The sweep


def sweep_overdue(now: dt.datetime, batch_size: int = BATCH_SIZE, *, live: bool = False) -> int:
    """Stamp every open order past its deadline; ``actions.mark_overdue`` locks and re-checks each batch.

    ``live``: a sweep as of the present stamps each batch with the time it holds the batch's locks
    (so a timeline stays in commit order); otherwise every batch is stamped ``now``."""
    stamped = 0
    for ids in _keyset_batches(overdue_candidates(now), batch_size):
        stamped += actions.mark_overdue(ids, at=None if live else now)
    return stamped


def _supervision_batches(now: dt.datetime, batch_size: int) -> Iterator[list[int]]:
    """Ids of the 督办 ``unanswered_supervisions`` finds, ``batch_size`` at a time by primary key."""
    last = 0
    while ids := list(unanswered_supervisions(now).filter(pk__gt=last).order_by("pk")
                      .values_list("pk", flat=True)[:batch_size]):
        yield ids
        last = ids[-1]


def sweep_supervisions(now: dt.datetime, batch_size: int = BATCH_SIZE, *, live: bool = False) -> int:
    """Mark 督办 unanswered past ``respond_by`` as failed (``actions.mark_supervision_failed``)."""
    return sum(actions.mark_supervision_failed(ids, at=None if live else now)
               for ids in _supervision_batches(now, batch_size))


# Connections a sweep works on at once: the catch-up's time is the server's and Python's CPU per
# stamp, and two cores are what the smallest deployment has (docs/performance.md, "巡检与停机后的补打").
SWEEP_CONNECTIONS = 2


class _SharedBatches:
    """The sweep's batches of all three passes, handed out one at a time to whichever connection
    asks next, the passes taken in turn.

    Each pass on a connection of its own left the cores idle at the end: after a day down the
    near-due pass (a notice and often a 催办 per order) has about twice the overdue pass's work,
    and the last half of its time ran alone. Handed out from one place, every connection works
    until the last batch. Each pass still finds its batches by keyset (each batch starts after the
    last key handed out, so no two connections get the same order), and each batch is still one
    ``actions`` call: one transaction that locks its orders in one statement in primary-key order.
    """

    def __init__(self, now: dt.datetime, batch_size: int, live: bool):
        at = None if live else now
        window = near_due_window()
        self._lock = threading.Lock()
        # (pass, its batches, what one batch does): the near-due pass first, the longest.
        self._passes = [
            ("near_due", _keyset_batches(near_due_work(now), batch_size),
             lambda ids: actions.near_due(ids, at=at, window=window)),
            ("overdue", _keyset_batches(overdue_candidates(now), batch_size),
             lambda ids: (actions.mark_overdue(ids, at=at),)),
            ("supervision_failed", _supervision_batches(now, batch_size),
             lambda ids: (actions.mark_supervision_failed(ids, at=at),)),
        ]
        self._turn = 0

    def _next(self):
        """The next batch and what to do with it, or None when every pass is done. The candidate
        query runs on the asking thread's connection, under the lock (a keyset resumes after the
        last batch handed out, whoever took it)."""
        with self._lock:
            while self._passes:
                self._turn %= len(self._passes)
                name, batches, work = self._passes[self._turn]
                ids = next(batches, None)
                if ids is None:
                    del self._passes[self._turn]
                    continue
                self._turn += 1
                return name, ids, work
            return None

    def work(self) -> Counter:
        """Take batches until none is left; what this connection wrote, by kind."""
        done = Counter()
        while (item := self._next()) is not None:
            name, ids, work = item
            counts = work(ids)
            if name == "near_due":
                done["near_due"] += counts[0]
                done["auto_remind"] += counts[1]
            else:
                done[name] += counts[0]
        return done


def run_sweep(at: str | dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> dict:
    """The sweep's three passes as of ``at`` (default: now, stamped live): the near-due notices and
    automatic 催办 (one lock of a batch for both), the overdue stamps, the failed 督办. On
    PostgreSQL, outside a transaction, ``SWEEP_CONNECTIONS`` connections work side by side, each
    taking the next batch of any pass (``_SharedBatches``): after a day down the catch-up is tens
    of thousands of stamps, and one connection keeps at most one core busy.

    Why they cannot deadlock, with each other or with a second sweep's: each batch is a
    transaction of its own whose contended locks are order rows, taken in one statement in
    primary-key order (``_lock_batch``, and the 督办 pass the same way), the one order every action
    follows, so no two transactions can each hold a row the other waits for. The 督办 pass then
    locks its reminders, which no other pass locks, each after its order. Everything else a batch
    writes is a row it holds or a new row of its own events (the notifications' and outbox rows'
    unique keys name the event), and the share locks its new rows' foreign keys take fall on orders
    it holds or on rows no pass locks (units, users, assignments). The overdue orders (deadline
    before ``now``) and the near-due ones (from ``now`` into the window) are disjoint, and two
    batches of one pass are disjoint (keyset); a 督办's order may be among either, and then one
    batch waits for the other's commit.
    """
    now, live = _parse_at(at), at is None
    shared = _SharedBatches(now, batch_size, live)
    # A full collection of the worker's objects stops every connection's thread at once (hotline.lib.heap).
    with collect_only_new():
        done = sum(side_by_side(*[shared.work] * SWEEP_CONNECTIONS, using="default"), Counter())
    result = {"at": now.isoformat(), "overdue": done["overdue"], "near_due": done["near_due"],
              "auto_remind": done["auto_remind"], "supervision_failed": done["supervision_failed"]}
    logger.info("SLA sweep %s", result)
    return result


@task()
def sla_sweep(at: str | None = None, slot: str | None = None) -> dict:
    """Stamp overdue orders, record near-due notices, issue the automatic near-due 催办 and mark
    督办 unanswered past their respond_by as failed, as of ``at`` (default: now).

    ``slot`` is the scheduler's key for the period this run belongs to; the sweep itself does not
    use it (it always sweeps up to now, so a late run catches up).
    """
    return run_sweep(at)


# ---------------------------------------------------------------------------------------------
# Enqueueing with the order's transaction


def enqueue_after_commit(task_obj, *args, **kwargs) -> None:
    """Enqueue so the task exists if and only if the current transaction commits.

    With the database backend on the default database the task row is written in the same
    transaction (nothing is lost if the process dies right after commit); any other backend gets
    the task after commit.
    """
    backend = task_obj.get_backend()
    if isinstance(backend, DatabaseBackend) and router.db_for_write(DBTaskResult) == "default":
        task_obj.enqueue(*args, **kwargs)
    else:
        transaction.on_commit(lambda: task_obj.enqueue(*args, **kwargs))


# ---------------------------------------------------------------------------------------------
# Scheduling (``hotline scheduler``) and recovery of tasks whose worker died


def slot_of(now: dt.datetime, every: dt.timedelta) -> dt.datetime:
    """The start of the period of length ``every`` that contains ``now`` (periods start at the epoch)."""
    seconds = int(every.total_seconds())
    epoch = int(now.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % seconds, tz=dt.UTC)


def _lock_scheduler(using: str) -> None:
    """Serialise schedulers for the rest of the transaction.

    PostgreSQL: a transaction-level advisory lock. SQLite: the settings open every transaction
    with BEGIN IMMEDIATE, which already holds the database's write lock; the no-op write below
    makes that true for a deferred transaction too.
    """
    with connections[using].cursor() as cursor:
        if connections[using].vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEDULER_LOCK_KEY])
        else:
            cursor.execute(f"UPDATE {DBTaskResult._meta.db_table} SET id = id WHERE 1 = 0")


def enqueue_once(task, *, ttl: int, **kwargs) -> bool:
    """Enqueue ``task(**kwargs)`` (one keyword: the period or day it is for) unless some scheduler
    already did; returns True if this call enqueued it.

    Any number of schedulers may call this. With the database backend the key is looked up among
    the queued tasks under a lock, in the transaction that enqueues. With a queue outside the
    database (Redis) the key is claimed in the shared cache with an atomic add, kept ``ttl`` seconds.
    """
    [(name, value)] = kwargs.items()
    backend = task.get_backend()
    if not isinstance(backend, DatabaseBackend):
        if not cache.add(f"hotline:{task.name}:{value}", 1, timeout=ttl):
            return False
        task.enqueue(**kwargs)
        return True
    using = router.db_for_write(DBTaskResult)
    with transaction.atomic(using=using):
        _lock_scheduler(using)
        done = DBTaskResult.objects.using(using).filter(
            task_path=task.module_path, backend_name=backend.alias, **{f"args_kwargs__kwargs__{name}": value},
        ).exists()
        if done:
            return False
        task.enqueue(**kwargs)
    return True


def schedule_sweep(now: dt.datetime | None = None, every: dt.timedelta = dt.timedelta(minutes=5)) -> bool:
    """Enqueue ``sla_sweep`` for the period containing ``now`` unless some scheduler already did
    (each period, ``slot``, once). Returns True if this call enqueued it."""
    slot = slot_of(now or timezone.now(), every).isoformat()
    return enqueue_once(sla_sweep, ttl=int(every.total_seconds()) * 4, slot=slot)


def requeue_stale(older_than: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Put back in the queue tasks still RUNNING after ``older_than``: their worker most likely died.

    django-tasks-db claims a task (status RUNNING) before running it and has no heartbeat, so a
    SIGKILLed or crashed worker leaves its task RUNNING forever. Choose ``older_than`` well above
    the longest task; a task requeued while a slow worker is still on it runs twice, which the
    idempotent tasks above absorb.
    """
    now = now or timezone.now()
    return (DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=now - older_than)
            .update(status=TaskResultStatus.READY, started_at=None))
