"""The SLA sweep's catch-up after a day of downtime, measured again and again on the same rows.

``hotline bench --only sweep`` times the catch-up once per load: the sweep writes its stamps and
the next run has nothing left to do. This module undoes what the catch-up wrote (its events,
reminders, notifications and outbox rows, the overdue stamps and failed 督办; the stamped orders
go back on the sweep's watch list)
so the same catch-up can be timed before and after a change, several times, on one database.
It also counts the SQL statements and their time, so a cost per stamped order can be split
into the database's part and Python's.

Run against a database a ``hotline bench --keep`` left behind (its name must contain "bench")::

    DATABASE_URL=postgres://…/hl_x_bench python -m hotline.bench.catchup --grow 40000 --supervisions 500
    DATABASE_URL=postgres://…/hl_x_bench python -m hotline.bench.catchup --repeat 3

``--grow`` adds orders received in the last weeks before the data's "now" (the bench's loader),
so a day's catch-up has thousands of orders to stamp; ``--supervisions`` adds 督办 whose
``respond_by`` falls inside that day. Both are done once; later runs only reset and measure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import statistics
import threading
import time
from collections import Counter

CATCH_UP = dt.timedelta(days=1)


def _setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")
    import django

    django.setup()
    from django.db import connection

    if "bench" not in connection.settings_dict["NAME"]:
        raise SystemExit("只在名字含 bench 的基准库上运行")


def instants():
    from hotline.bench.measure import data_now

    at = data_now() + dt.timedelta(minutes=5)
    return at, at + CATCH_UP


def grow(orders: int, days: int, supervisions: int, seed: int = 11) -> None:
    from django.db import connection

    from hotline.bench import load
    from hotline.bench.measure import data_now
    from hotline.workorders import tasks
    from hotline.workorders.models import Assignment, Reminder

    now = data_now()
    if orders:
        report = load.load(orders, start=now - dt.timedelta(days=days), end=now, now=now, seed=seed, rebuild=False)
        print(f"grew {report.orders:,} orders ({report.open_orders:,} open), {report.events:,} events")
    at, later = instants()
    # The sweep the server ran before it went down: the "present" is caught up.
    print("present sweep", tasks.run_sweep(at))
    if supervisions:
        leads = list(Assignment.objects.filter(active=True, role="lead", order__status__in=sorted(tasks.SWEPT_STATUSES))
                     .order_by("?").values_list("order_id", "unit_id", "pk")[:supervisions])
        span = (later - at) / max(len(leads), 1)
        Reminder.objects.bulk_create([
            Reminder(order_id=o, kind=Reminder.Kind.SUPERVISION, unit_id=u, at=at - dt.timedelta(days=2),
                     notice="基准：督办", respond_by=at + span * i, assignment_id=a)
            for i, (o, u, a) in enumerate(leads)])
        print(f"added {len(leads)} 督办 due before the catch-up")
    with connection.cursor() as cursor:
        for table in ("workorders_workorder", "workorders_event", "workorders_reminder"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def reset(later: dt.datetime) -> dict:
    """Undo what a sweep at ``later`` wrote (nothing else is written at that instant)."""
    from django.db import connection, transaction

    from hotline.notify.models import Delivery, Notification
    from hotline.workorders.models import Event, OverdueWatch, Reminder, WorkOrder

    with transaction.atomic():
        events = Event.objects.filter(at=later, actor_role="system",
                                      action__in=["overdue", "near_due", "remind", "supervision_failed"])
        Notification.objects.filter(event__in=events).delete()
        Delivery.objects.filter(event__in=events).delete()
        stamped = WorkOrder.objects.filter(pk__in=events.filter(action="overdue").values("order_id"))
        OverdueWatch.objects.bulk_create([OverdueWatch(order_id=pk, handle_deadline=deadline, status=status)
                                          for pk, deadline, status in stamped.values_list("pk", "handle_deadline",
                                                                                          "status")])
        undone = {"overdue": stamped.count(),
                  "reminders": Reminder.objects.filter(at=later, automatic=True).delete()[0],
                  "events": events.delete()[0],
                  "failed": Reminder.objects.filter(failed_at=later).update(failed=False, failed_at=None)}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("workorders_overduewatch", "workorders_event", "workorders_reminder",
                          "notify_notification", "notify_delivery"):
                cursor.execute(f"VACUUM (ANALYZE) {table}")
    return undone


class _Statements:
    """Counts and times every SQL statement, by its first words (from every thread the sweep runs
    in: its connections work side by side, each in a thread of its own)."""

    def __init__(self):
        self.count = Counter()
        self.seconds = Counter()
        self.lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = " ".join(sql.split()[:3])[:40]
            with self.lock:
                self.count[key] += 1
                self.seconds[key] += time.perf_counter() - t


class _timed_connections:
    """Times each connection's share of ``run_sweep`` (``tasks._SharedBatches.work``, one call per
    connection: each takes the next batch of any pass until none is left)."""

    def __init__(self, module, statements: _Statements):
        self.owner, self.seconds, self.statements, self.counted, self.done = module._SharedBatches, {}, statements, {}, {}
        self.numbers = itertools.count(1)  # next() is atomic: the connections' threads start at once
        self.saved = original = self.owner.work
        self.owner.work = self._wrap(original)

    def _wrap(self, fn):
        timer = self

        def run(shared):
            from django.db import connection

            name = f"connection {next(timer.numbers)}"
            counted = 0

            def count(execute, sql, params, many, context):
                nonlocal counted
                counted += 1
                return timer.statements(execute, sql, params, many, context)

            t = time.perf_counter()
            try:
                # The connection of the thread the share runs in.
                with connection.execute_wrapper(count):
                    done = fn(shared)
            finally:
                timer.seconds[name] = time.perf_counter() - t
                timer.counted[name] = counted
            timer.done[name] = dict(done)
            return done
        return run

    def restore(self):
        self.owner.work = self.saved


def measure(repeat: int, batch_size: int | None, profile: str = "") -> None:
    from hotline.lib import clock
    from hotline.notify.models import Delivery, Notification
    from hotline.workorders import tasks

    _, later = instants()
    size = batch_size or tasks.BATCH_SIZE
    times = []
    for n in range(repeat):
        undone = reset(later)
        if n == 0:
            print("reset", undone)
        before = (Notification.objects.count(), Delivery.objects.count())
        stmts = _Statements()
        passes = _timed_connections(tasks, stmts)
        t = time.perf_counter()
        if profile and n == 0:
            import cProfile

            prof = cProfile.Profile()
            result = prof.runcall(tasks.run_sweep, later, size)
            prof.dump_stats(profile)
        else:
            result = tasks.run_sweep(later, size)
        seconds = time.perf_counter() - t
        passes.restore()
        stamped = result["overdue"] + result["near_due"] + result["auto_remind"] + result["supervision_failed"]
        if not stamped:
            # A sweep already ran at or after that instant on this database: there is no catch-up to time.
            raise SystemExit(f"{clock.local(later):%Y-%m-%d %H:%M} 这一刻没有要补打的（这个库上已经巡检过这一刻或更晚），没有可计时的补打")
        notes = Notification.objects.count() - before[0], Delivery.objects.count() - before[1]
        sql = sum(stmts.seconds.values())  # summed over the connections: may exceed the time
        batches = sum(-(-result[k] // size) for k in ("overdue", "near_due", "auto_remind", "supervision_failed"))
        times.append(seconds)
        print(f"run {n + 1}: {seconds:.2f} s, {result}, notifications {notes[0]:,}, outbox {notes[1]:,}; "
              f"{stamped / seconds:,.0f} stamps/s, {seconds / stamped * 1e3:.3f} ms/stamp; "
              f"SQL {sum(stmts.count.values()):,} statements {sql:.2f} s (~{sum(stmts.count.values()) / max(batches, 1):.0f}"
              f" per batch of {size}), other {seconds - sql:.2f} s")
        print("    connections: " + ", ".join(
            f"{name} {secs:.2f} s ({passes.counted[name]:,} statements, {passes.done.get(name, {})})"
            for name, secs in passes.seconds.items()))
        if n == 0:
            for key, secs in stmts.seconds.most_common(12):
                print(f"    {stmts.count[key]:7,}  {secs:6.2f} s  {key}")
    if repeat > 1:
        print(f"median {statistics.median(times):.2f} s (fastest {min(times):.2f}, slowest {max(times):.2f}) "
              f"over {repeat} runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grow", type=int, default=0, help="orders to add in the last --days days")
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--supervisions", type=int, default=0, help="督办 to add, due during the catch-up")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=0)
    parser.add_argument("--profile", default="", help="cProfile output of the first run")
    o = parser.parse_args()
    _setup()
    if o.grow or o.supervisions:
        grow(o.grow, o.days, o.supervisions)
    if o.repeat:
        measure(o.repeat, o.batch_size or None, o.profile)


if __name__ == "__main__":
    main()
