"""Background tasks: the SLA sweep, near-due notices and the scheduler's lock (receipts: test_notify*.py).

The story: operator 李 registers road complaints from 杨楼镇 on Monday 2023-07-03; dispatcher 王
sends them to 杨楼镇 with a deadline of Wednesday 18:00. The sweep runs every few minutes, on one
or several machines, and may be retried after a worker dies: the facts it records must appear
once. Runs on SQLite and on PostgreSQL (DATABASE_URL=postgres://…); the concurrency tests need
PostgreSQL's row and advisory locks and are skipped on SQLite.
"""

import datetime as dt
import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from hotline.workorders import actions, queries, tasks
from hotline.workorders.models import Event, OverdueWatch, WorkOrder
from tests.conftest import at

WEDNESDAY_EVENING = at(2023, 7, 5, 18, 0)

postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL locks")


@pytest.fixture
def dispatched(new_order, people, unit):
    """An order of 杨楼镇 dispatched by 王 on Monday 10:00 with a deadline (default Wednesday 18:00)."""

    def make(deadline=WEDNESDAY_EVENING, **fields):
        order = new_order(**fields)
        actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=at(2023, 7, 3, 9, 5))
        return actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"),
                                handle_deadline=deadline, at=at(2023, 7, 3, 10, 0))

    return make


def run_next_task(worker_id):
    """What ``hotline db_worker`` does for one task (its loop closes connections, which a test can't have)."""
    worker = Worker(queue_names=["default"], interval=0, batch=True, backend_name="default", startup_delay=False,
                    max_tasks=1, worker_id=worker_id, excluded_queue_names=[])
    with transaction.atomic():
        row = DBTaskResult.objects.ready().get_locked()
        row.claim(worker_id)
    worker.run_task(row)


def events(order, action):
    return Event.objects.filter(order=order, action=action).count()


def test_sweep_stamps_each_overdue_order_once(dispatched):
    late = dispatched()
    in_time = dispatched(deadline=at(2023, 7, 20, 18, 0))

    first = tasks.run_sweep(at(2023, 7, 6, 9, 0))
    second = tasks.run_sweep(at(2023, 7, 6, 9, 5))

    assert first["overdue"] == 1 and second["overdue"] == 0
    assert queries.overdue_stamp(late) == at(2023, 7, 6, 9, 0)
    assert events(late, "overdue") == 1
    assert queries.overdue_stamp(in_time) is None
    # Off the watch list once stamped; the order in time stays on it.
    assert set(OverdueWatch.objects.values_list("order_id", flat=True)) == {in_time.pk}


def test_sweep_walks_all_batches(dispatched):
    orders = [dispatched(deadline=at(2023, 7, 5, 18, 0)) for _ in range(3)]
    orders.append(dispatched(deadline=at(2023, 7, 4, 18, 0)))

    assert tasks.sweep_overdue(at(2023, 7, 6, 9, 0), batch_size=1) == 4
    assert Event.objects.filter(action="overdue").count() == 4


def test_closed_and_received_orders_are_not_swept(new_order, dispatched):
    received = new_order()  # never dispatched: no unit holds it, nobody to blame
    dispatched()

    assert tasks.run_sweep(at(2023, 8, 1, 9, 0))["overdue"] == 1
    assert events(received, "overdue") == 0


def test_near_due_notice_is_recorded_once(dispatched):
    order = dispatched()

    assert tasks.run_sweep(at(2023, 7, 4, 17, 0))["near_due"] == 0  # 25 hours left: not yet
    assert tasks.run_sweep(at(2023, 7, 4, 18, 30))["near_due"] == 1
    assert tasks.run_sweep(at(2023, 7, 5, 9, 0))["near_due"] == 0
    assert tasks.run_sweep(at(2023, 7, 5, 17, 59))["near_due"] == 0
    result = tasks.run_sweep(at(2023, 7, 5, 18, 1))

    assert result == {"at": at(2023, 7, 5, 18, 1).isoformat(), "overdue": 1, "near_due": 0, "auto_remind": 0,
                      "supervision_failed": 0}
    assert events(order, "near_due") == 1
    notice = Event.objects.get(order=order, action="near_due")
    assert notice.actor_role == "system" and notice.data["hours_left"] == 23.5


def test_an_extended_deadline_is_noticed_again(dispatched, people):
    order = dispatched()
    tasks.run_sweep(at(2023, 7, 4, 19, 0))
    actions.sign(order, acting_user=people["handler_zhao"], at=at(2023, 7, 4, 19, 30))
    actions.request_extension(order, acting_user=people["handler_zhao"], new_deadline=at(2023, 7, 12, 18, 0),
                              reason="需协调交通局共同施工", at=at(2023, 7, 4, 20, 0))
    actions.approve_extension(order, acting_user=people["dispatcher_wang"], at=at(2023, 7, 5, 9, 0))

    assert tasks.run_sweep(at(2023, 7, 11, 19, 0))["near_due"] == 1
    assert events(order, "near_due") == 2


def test_a_task_retried_after_its_worker_died_does_not_stamp_twice(dispatched):
    order = dispatched()
    result = tasks.sla_sweep.enqueue(at=at(2023, 7, 6, 9, 0).isoformat())
    row = DBTaskResult.objects.get(pk=result.id)
    # The worker claimed the task, stamped the order and was killed before recording success.
    row.claim("worker-killed")
    tasks.run_sweep(at(2023, 7, 6, 9, 0))
    DBTaskResult.objects.filter(pk=row.pk).update(started_at=at(2023, 7, 6, 9, 0))

    assert tasks.requeue_stale(dt.timedelta(minutes=10), now=at(2023, 7, 6, 9, 5)) == 0  # maybe still running
    assert tasks.requeue_stale(dt.timedelta(minutes=10), now=at(2023, 7, 6, 9, 11)) == 1
    run_next_task("worker-2")

    row.refresh_from_db()
    assert row.status == TaskResultStatus.SUCCESSFUL
    assert row.return_value["overdue"] == 0
    assert row.worker_ids == ["worker-killed", "worker-2"]
    assert events(order, "overdue") == 1


def test_scheduler_enqueues_each_period_once(db):
    every = dt.timedelta(minutes=5)

    assert tasks.schedule_sweep(at(2023, 7, 3, 9, 1), every) is True
    assert tasks.schedule_sweep(at(2023, 7, 3, 9, 4), every) is False  # the other scheduler's turn
    assert tasks.schedule_sweep(at(2023, 7, 3, 9, 5), every) is True

    slots = sorted(r.args_kwargs["kwargs"]["slot"] for r in DBTaskResult.objects.all())
    assert slots == ["2023-07-03T01:00:00+00:00", "2023-07-03T01:05:00+00:00"]


def test_sweep_and_scheduler_commands(dispatched, capsys):
    dispatched()
    call_command("sweep", at="2023-07-06T09:00:00+08:00")
    call_command("sweep", at="2023-07-06T09:05:00+08:00")
    call_command("scheduler", once=True, every=5)

    out = capsys.readouterr().out
    assert "新标记超期 1 件" in out and "新标记超期 0 件" in out
    assert "已加入超期扫描任务" in out
    assert DBTaskResult.objects.filter(task_path=tasks.sla_sweep.module_path).count() == 1


def _in_threads(n, fn):
    """Run ``fn`` in ``n`` threads released together; return their results."""
    barrier, results = threading.Barrier(n), []

    def run():
        try:
            barrier.wait()
            results.append(fn())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_enqueue_once(ruzhou):
    now = at(2023, 7, 3, 9, 1)
    results = _in_threads(4, lambda: tasks.schedule_sweep(now))

    assert sorted(results) == [False, False, False, True]
    assert DBTaskResult.objects.count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_stamp_and_notice_once(dispatched):
    late = [dispatched(deadline=at(2023, 7, 5, 18, 0)) for _ in range(6)]
    near = [dispatched(deadline=at(2023, 7, 6, 18, 0)) for _ in range(6)]

    results = _in_threads(3, lambda: tasks.run_sweep(at(2023, 7, 6, 9, 0), batch_size=2))

    assert sum(r["overdue"] for r in results) == 6 and sum(r["near_due"] for r in results) == 6
    assert Event.objects.filter(action="overdue", order__in=late).count() == 6
    assert Event.objects.filter(action="near_due", order__in=near).count() == 6
    assert connection.vendor == "postgresql"


# ---------------------------------------------------------------------------------------------
# The JSON API's refusals; the router keeps migrations off the replica


def test_api_refuses_strangers_and_bad_orders(client, people):
    assert client.post("/api/orders/", {}, content_type="application/json").status_code == 401
    client.force_login(people["handler_qian"])
    refused = client.post("/api/orders/", {"title": "x", "content": "y"}, content_type="application/json")
    assert refused.status_code == 400 and "登记" in refused.json()["error"]
    client.force_login(people["operator_li"])
    empty = client.post("/api/orders/", {"title": "", "content": ""}, content_type="application/json")
    assert empty.status_code == 400
    assert client.get("/api/orders/999999/").status_code == 404
    assert not WorkOrder.objects.exists() and not DBTaskResult.objects.exists()


def test_handler_of_another_town_gets_404(client, new_order, people):
    order = new_order()
    client.force_login(people["handler_qian"])
    assert client.get(f"/api/orders/{order.pk}/").status_code == 404


def test_migrations_never_run_on_the_replica():
    from hotline.dbrouter import PrimaryReplicaRouter

    router = PrimaryReplicaRouter()
    assert router.allow_migrate("replica", "workorders") is False
    assert router.allow_migrate("default", "workorders") is True
    assert router.db_for_write(WorkOrder) == "default" and router.db_for_read(WorkOrder) is None


def test_scheduler_with_a_redis_queue_claims_the_period_in_the_cache(db, settings):
    from django_tasks import default_task_backend

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    every = dt.timedelta(minutes=5)

    assert tasks.schedule_sweep(at(2023, 7, 3, 9, 1), every) is True
    assert tasks.schedule_sweep(at(2023, 7, 3, 9, 2), every) is False
    assert tasks.schedule_sweep(at(2023, 7, 3, 9, 6), every) is True
    assert [r.kwargs["slot"] for r in default_task_backend.results] == [
        "2023-07-03T01:00:00+00:00", "2023-07-03T01:05:00+00:00"]


@postgres_only
def test_the_sweep_reads_the_watch_list_by_deadline(dispatched):
    dispatched()
    now = at(2023, 7, 6, 9, 0)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table would be scanned whole anyway
    for qs in (tasks.overdue_candidates(now), tasks.near_due_candidates(now)):
        plan = qs.order_by("handle_deadline", "pk").values_list("handle_deadline", "pk")[:500].explain()
        # The watch list holds only open orders not yet stamped: stamped ones are not re-read each run.
        assert "watch_deadline_idx" in plan, plan


@postgres_only
def test_a_batch_is_found_in_deadline_order_without_a_bitmap_scan(dispatched):
    """Each batch of the sweep's candidates is read from watch_deadline_idx in deadline order, stopping
    after the batch; a bitmap scan would read the whole rest of the window for every batch (and,
    misjudging a day's window, AND in every open order of the status index: 0.1–0.9 s a batch at 10M)."""
    from django.test.utils import CaptureQueriesContext

    from hotline.lib.planner import planner_without

    dispatched()
    now = at(2023, 7, 6, 9, 0)
    with CaptureQueriesContext(connection) as ctx:
        next(tasks._keyset_batches(tasks.near_due_work(now), 500), None)
    sql = [q["sql"] for q in ctx.captured_queries]
    assert any("enable_bitmapscan" in s and "work_mem" in s for s in sql), sql
    finder = next(s for s in sql if "handle_deadline" in s and s.lstrip().startswith("SELECT"))
    with planner_without("default", "bitmapscan", "seqscan", hashed_subplans=False), connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + finder)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # Read in the index's order (no sort of the whole window), its conditions as filters on the scan.
    assert "Scan using watch_deadline_idx" in plan and "Sort" not in plan and "Bitmap" not in plan, plan
    # The orders themselves are not read to find a batch (the watch list carries the status): a
    # join or subquery on them is what PostgreSQL answered by hashing every order a unit works.
    assert "workorders_workorder" not in plan, plan
    # Each row's conditions looked up for that row: no subquery read whole into a hash table.
    assert "SubPlan" in plan and "hashed SubPlan" not in plan, plan
