"""The supervisor's page (``/supervision/``) and the callback queue (``/callbacks/``): paged queues
read from partial indexes, showing the same rows as each list's definition says, for everyone who
opens them; on PostgreSQL, plans that start from those indexes.

The story: supervisor 周, dispatcher 王 and the admin open the 督办 page, and operator 李 with them
the callback queue, on Monday 2023-07-10 09:00 over a few hundred orders of every state — upstream
and local, reported back or not, chased or not, past their deadline or not, led by 杨楼镇, 寄料镇 or
no one, registered by 李 or by 王, due for a callback, retried later or never answered — with 催办
and 督办 failed, answered and waiting. Few distinct times, so that many rows tie and the id must
break the tie. Each queue is walked page by page and compared with a plain reading of its
definition over every row, in Python, the door (``access.order_scope``) applied the same way; so
neither the index conditions nor the cursors can quietly drop, repeat or reorder an order the page
used to show. 赵 of 杨楼镇, whom both pages refuse, still gets only his unit's orders from them.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hotline.accounts.access import order_scope
from hotline.catalog.models import Source
from hotline.directory.models import Unit, UpstreamPlatform
from hotline.lib.planner import planner_without
from hotline.workorders import queries
from hotline.workorders.models import Assignment, Reminder, WorkOrder
from hotline.workorders.queries import (
    callback_queue,
    escalations,
    failed_supervisions,
    intake_queue,
    near_due_window,
    per_unit_counts,
    supervision_lists,
    upstream_deadlines,
)
from hotline.workorders.workflow import UNIT_HOLDS, Status
from tests.conftest import at

NOW = at(2023, 7, 10, 9, 0)
HOLDS = {s.value for s in UNIT_HOLDS}
# Few distinct times, so that many rows tie on the sort key and the id must break the tie.
OFFSETS = [dt.timedelta(hours=h) for h in (-300, -30, -2, 0, 3, 20, 30, 200)]
SUPERVISION_PEOPLE = ["supervisor_zhou", "dispatcher_wang", "admin", "handler_zhao"]
CALLBACK_PEOPLE = ["operator_li", "dispatcher_wang", "supervisor_zhou", "admin", "handler_zhao"]

postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's plans")


def _when(rng: random.Random) -> dt.datetime | None:
    return rng.choice([None, *(NOW + d for d in OFFSETS)])


@pytest.fixture
def varied(new_order, people, unit):
    """About 400 orders and 300 reminders with every combination the lists' conditions look at."""
    rng = random.Random(12345)
    target = new_order()  # what merged orders point to
    platforms = list(UpstreamPlatform.objects.all()[:2])
    assert platforms, "the default configuration has upstream platforms"
    leads = [unit("杨楼镇"), unit("寄料镇"), None]
    base = {f: getattr(target, f) for f in ("title", "content", "appeal_type_id", "town_id", "category_id",
                                              "received_at")}
    orders = []
    for i in range(400):
        status = rng.choice(list(Status))
        upstream = rng.random() < 0.5
        orders.append(WorkOrder(
            **base, number=f"T{i:05d}", status=status, lead_unit=rng.choice(leads),
            registered_by=rng.choice([people["operator_li"], people["dispatcher_wang"]]),
            merged_into=target if status == Status.MERGED else None,
            source=Source.UPSTREAM if upstream else Source.PHONE,
            upstream_platform=rng.choice(platforms) if upstream else None,
            upstream_number=f"U{i}" if upstream else "",
            # A local order may carry an upstream deadline too (copied from a merged one, say): the
            # list is about upstream platforms, so it must still not show.
            upstream_deadline=_when(rng),
            reported_back_at=rng.choice([None, None, NOW - dt.timedelta(hours=1)]),
            handle_deadline=_when(rng),
            supervised=rng.random() < 0.25,
            # The callback queue's due time: a retry's next_callback_at, else the answer's time;
            # neither (never so in practice) sorts first.
            replied_at=rng.choice([None, *(NOW + d for d in OFFSETS[:4])]),
            next_callback_at=rng.choice([None, None, *(NOW + d for d in OFFSETS)]),
        ))
    orders = WorkOrder.objects.bulk_create(orders)
    # The lead unit's assignment (what a unit's door admits), and a co-handling part now and then.
    Assignment.objects.bulk_create(
        [Assignment(order=o, unit=o.lead_unit, role=Assignment.Role.LEAD, dispatched_at=NOW)
         for o in orders if o.lead_unit_id]
        + [Assignment(order=o, unit=unit("杨楼镇"), role=Assignment.Role.CO, dispatched_at=NOW)
           for o in orders[::17] if o.lead_unit != unit("杨楼镇")])
    reminders = []
    for _ in range(300):
        failed = rng.random() < 0.3
        reminders.append(Reminder(
            order=rng.choice(orders), kind=rng.choice(list(Reminder.Kind)), unit=target.town, at=NOW,
            # A 督办 always has a respond_by (actions.supervise); NULLs would sort apart on each database.
            by=people["supervisor_zhou"], notice="请于时限内书面反馈。", respond_by=NOW + rng.choice(OFFSETS),
            failed=failed,
            failed_at=NOW if failed else None,
            acknowledged_at=rng.choice([None, NOW - dt.timedelta(hours=3)]),
            responded_at=rng.choice([None, None, NOW - dt.timedelta(hours=2)])))
    Reminder.objects.bulk_create(reminders)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE workorders_workorder; ANALYZE workorders_reminder; ANALYZE workorders_assignment")
    return people


def admitted(user) -> set[int]:
    """The orders the door admits, read in plain Python from the decision in ``access.order_scope``
    (not through ``visible_to``, which the queues use)."""
    scope = order_scope(user)
    orders = list(WorkOrder.objects.all())
    if scope.everything:
        return {o.pk for o in orders}
    if scope.unit_id is not None:
        return {a.order_id for a in Assignment.objects.all() if a.unit_id == scope.unit_id}
    return {o.pk for o in orders
            if (scope.registered_by_id is not None and o.registered_by_id == scope.registered_by_id)
            or (scope.callback_queue and o.status == Status.AWAITING_CALLBACK)
            or (scope.intake_queue and o.status == Status.RECEIVED)}


def visible_orders(user) -> list[WorkOrder]:
    door = admitted(user)
    return [o for o in WorkOrder.objects.all() if o.pk in door]


def _key(value: dt.datetime | None, pk: int) -> tuple:
    return (value is None, value or NOW, pk)  # NULLs last, as the queues read them


def expected_overdue(user) -> list[int]:
    rows = [o for o in visible_orders(user)
            if o.status in HOLDS and o.handle_deadline is not None and o.handle_deadline < NOW]
    return [o.pk for o in sorted(rows, key=lambda o: _key(o.handle_deadline, o.pk))]


def expected_near_due(user) -> list[int]:
    soon = near_due_window(NOW)
    rows = [o for o in visible_orders(user)
            if o.status in HOLDS and o.handle_deadline is not None and NOW <= o.handle_deadline < soon]
    return [o.pk for o in sorted(rows, key=lambda o: _key(o.handle_deadline, o.pk))]


def expected_upstream(user) -> list[tuple[int, bool]]:
    soon = near_due_window(NOW)
    rows = sorted((o for o in visible_orders(user)
                   if o.upstream_platform_id is not None and o.reported_back_at is None
                   and o.upstream_deadline is not None and o.upstream_deadline < soon
                   and o.status != Status.MERGED), key=lambda o: _key(o.upstream_deadline, o.pk))
    return [(o.pk, o.upstream_deadline < NOW) for o in rows]


def expected_overdue_chased(user) -> list[int]:
    chased = set(Reminder.objects.values_list("order_id", flat=True))  # a 催办 or a 督办
    rows = [o for o in visible_orders(user)
            if o.status in HOLDS and o.handle_deadline is not None and o.handle_deadline < NOW and o.pk in chased]
    return [o.pk for o in sorted(rows, key=lambda o: _key(o.handle_deadline, o.pk))]


def _supervisions(user) -> list[Reminder]:
    door = admitted(user)
    return [r for r in Reminder.objects.all() if r.kind == Reminder.Kind.SUPERVISION and r.order_id in door]


def expected_awaiting(user) -> list[int]:
    rows = [r for r in _supervisions(user) if r.responded_at is None and not r.failed]
    return [r.pk for r in sorted(rows, key=lambda r: _key(r.respond_by, r.pk))]


def expected_failed(user) -> list[int]:
    rows = [r for r in _supervisions(user) if r.failed]
    return [r.pk for r in sorted(rows, key=lambda r: _key(r.respond_by, r.pk), reverse=True)]


def expected_callbacks(user) -> list[int]:
    def due(o):
        return o.next_callback_at or o.replied_at

    rows = [o for o in visible_orders(user) if o.status == Status.AWAITING_CALLBACK
            and (o.next_callback_at is None or o.next_callback_at <= NOW)]
    return [o.pk for o in sorted(rows, key=lambda o: (due(o) is not None, due(o) or NOW, o.pk))]  # NULLs first


def walk(read, size: int) -> tuple[list, int]:
    """Every row of a queue, page by page (``read(cursor, size)``), and the first page's count."""
    rows, cursor, total = [], None, None
    while True:
        page = read(cursor, size)
        assert len(page.rows) <= size
        total = page.total if total is None else total
        rows += page.rows
        cursor = page.next_cursor
        if not cursor:
            return rows, total


QUEUES = {
    "overdue": (lambda u, c, n: supervision_lists(u, NOW, cursors={"overdue": c}, size=n)["overdue"],
                expected_overdue),
    "near_due": (lambda u, c, n: supervision_lists(u, NOW, cursors={"near_due": c}, size=n)["near_due"],
                 expected_near_due),
    "overdue_chased": (lambda u, c, n: escalations(u, NOW, cursors={"overdue_chased": c}, size=n)["overdue_chased"],
                       expected_overdue_chased),
    "awaiting": (lambda u, c, n: escalations(u, NOW, cursors={"awaiting": c}, size=n)["awaiting"], expected_awaiting),
    "failed": (lambda u, c, n: failed_supervisions(u, cursor=c, size=n), expected_failed),
}


@pytest.mark.parametrize("who", SUPERVISION_PEOPLE)
@pytest.mark.parametrize("size", [7, 50])
def test_each_supervision_queue_pages_through_exactly_the_rows_its_definition_names(varied, who, size):
    user = varied[who]
    for name, (read, expected) in QUEUES.items():
        rows, total = walk(lambda c, n, read=read: read(user, c, n), size)
        want = expected(user)
        assert [r["id"] for r in rows] == want, name
        assert total == len(want), name
        if who != "handler_zhao":
            assert len(want) > 7, f"{name}: the pages are walked"

    rows, total = walk(lambda c, n: upstream_deadlines(user, NOW, cursor=c, size=n), size)
    want = expected_upstream(user)
    assert [(r["id"], r["late"]) for r in rows] == want
    page = upstream_deadlines(user, NOW, size=size)
    late = sum(1 for _, is_late in want if is_late)
    assert page.counts == {"late": str(late), "near": str(len(want) - late)}
    assert late and len(want) > late, "rows on both sides of now"


@pytest.mark.parametrize("who", CALLBACK_PEOPLE)
@pytest.mark.parametrize("size", [7, 50])
def test_the_callback_queue_pages_through_exactly_the_orders_due_now(varied, who, size):
    user = varied[who]
    rows, total = walk(lambda c, n: callback_queue(user, now=NOW, cursor=c, size=n), size)
    want = expected_callbacks(user)
    assert [r["id"] for r in rows] == want and total == len(want)
    orders = {o.pk: o for o in WorkOrder.objects.filter(pk__in=want)}
    undated = [pk for pk in want if orders[pk].replied_at is None and orders[pk].next_callback_at is None]
    if who != "handler_zhao":
        assert len(want) > 7 and undated, "the pages are walked, and undated orders come first"
        assert want[:len(undated)] == undated
    # A retry not yet due is off the queue until its time.
    later = [o for o in orders.values() if o.next_callback_at]
    assert all(o.next_callback_at <= NOW for o in later)


def test_a_unit_gets_only_its_own_orders_from_either_page(varied):
    """赵 of 杨楼镇 is refused both pages; asked directly, every queue answers only 杨楼镇's orders."""
    zhao = varied["handler_zhao"]
    mine = {a.order_id for a in Assignment.objects.filter(unit__short_name="杨楼镇")}
    pages = {**queries.supervision_queues(zhao, NOW, size=500), "callbacks": callback_queue(zhao, now=NOW, size=500)}
    shown = [r.get("order__number") or r["number"] for page in pages.values() for r in page.rows]
    assert shown and {o.pk for o in WorkOrder.objects.filter(number__in=shown)} <= mine
    assert not callback_queue(varied["handler_qian"], now=NOW).rows or all(
        r["id"] not in mine for r in callback_queue(varied["handler_qian"], now=NOW).rows)


def test_counts_are_capped_and_a_cursor_that_is_not_ours_starts_at_the_top(varied, monkeypatch):
    zhou = varied["supervisor_zhou"]
    monkeypatch.setattr(queries, "COUNT_CAP", 5)
    page = upstream_deadlines(zhou, NOW, size=3)
    assert page.counts["late"] == "5+" and page.capped and page.count_label == "5+"
    for junk in ("x", "1_2_3", "n_1", "9" * 40 + "_1"):
        assert [r["id"] for r in callback_queue(zhou, now=NOW, cursor=junk, size=3).rows] == \
            expected_callbacks(zhou)[:3]
        assert [r["id"] for r in failed_supervisions(zhou, cursor=junk, size=3).rows] == expected_failed(zhou)[:3]


@pytest.mark.parametrize("who", ["supervisor_zhou", "dispatcher_wang", "admin"])
def test_the_per_unit_counts_count_every_overdue_and_near_due_order(varied, who):
    user = varied[who]
    soon = near_due_window(NOW)
    want = {}
    for o in visible_orders(user):
        if o.status in HOLDS and o.handle_deadline is not None and o.handle_deadline < soon:
            name = o.lead_unit.short_name if o.lead_unit_id else None
            counts = want.setdefault(name, [0, 0])
            counts[0 if o.handle_deadline < NOW else 1] += 1
    got = per_unit_counts(user, NOW, cached=False)
    assert got["at"] == NOW
    assert {r["lead_unit__short_name"]: [r["overdue"], r["near_due"]] for r in got["rows"]} == want
    assert [(r["overdue"], r["near_due"]) for r in got["rows"]] == sorted(
        ((r["overdue"], r["near_due"]) for r in got["rows"]), reverse=True)


def test_the_pages_show_the_first_page_of_each_queue(varied, client):
    """The pages as 周 and 李 open them: 50 rows a queue, the count, and the next page's link."""
    from django.urls import reverse

    from hotline.lib import clock

    zhou, li = varied["supervisor_zhou"], varied["operator_li"]
    client.force_login(zhou)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(clock, "now", lambda: NOW)
        mp.setattr("django.utils.timezone.now", lambda: NOW)
        body = client.get(reverse("supervision")).content.decode()
        overdue = expected_overdue(zhou)
        assert f"超期工单（共 {len(overdue)} 件）" in body and len(overdue) < 50 and 'id="pager-overdue"' not in body
        numbers = dict(WorkOrder.objects.values_list("pk", "number"))
        assert all(f'data-number="{numbers[pk]}"' in body for pk in overdue)
        upstream = [pk for pk, _ in expected_upstream(zhou)]
        assert len(upstream) > 50 and 'id="pager-upstream-deadlines"' in body

        def table(page: str) -> set[str]:
            rows = page.split('id="upstream-deadline-list"')[1].split("</table>")[0]
            return {numbers[pk] for pk in upstream if f'data-number="{numbers[pk]}"' in rows}
        assert table(body) == {numbers[pk] for pk in upstream[:50]}
        following = body.split('id="pager-upstream-deadlines"')[1].split('href="')[1].split('"')[0]
        assert following.startswith("?upstream=")
        assert table(client.get(reverse("supervision") + following.split("#")[0]).content.decode()) == {
            numbers[pk] for pk in upstream[50:100]}
        client.force_login(li)
        body = client.get(reverse("callbacks")).content.decode()
        due = expected_callbacks(li)
        assert f"待回访（共 {len(due)} 件）" in body and body.count('data-action="callback_close"') == min(50, len(due))


def _plans(run) -> list[str]:
    """EXPLAIN of every statement ``run`` sends, as sent (the page's own queries, not a copy)."""
    with CaptureQueriesContext(connection) as captured:
        run()
    plans = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            cursor.execute("EXPLAIN " + query["sql"])
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


@postgres_only
def test_the_supervision_callback_and_intake_queues_start_from_their_partial_indexes(varied):
    """Shaped like a server's history, where few rows match: thousands of upstream orders reported
    back, overdue open orders nobody chased yet, 督办 long answered, callbacks long made."""
    user = varied["supervisor_zhou"]
    target = WorkOrder.objects.get(number__startswith="T00000")
    platform = UpstreamPlatform.objects.first()
    history = []
    for i in range(6000):
        upstream = i % 2 == 0
        history.append(WorkOrder(
            title=target.title, content=target.content, appeal_type_id=target.appeal_type_id,
            received_at=target.received_at, number=f"H{i:05d}",
            status=Status.CLOSED if upstream else Status.HANDLING,
            source=Source.UPSTREAM if upstream else Source.PHONE, upstream_platform=platform if upstream else None,
            upstream_number=f"H{i}" if upstream else "", upstream_deadline=NOW - dt.timedelta(days=i % 90),
            reported_back_at=NOW - dt.timedelta(days=1) if upstream else None,
            replied_at=NOW - dt.timedelta(days=i % 90), lead_unit=Unit.objects.get(short_name="杨楼镇"),
            handle_deadline=NOW - dt.timedelta(hours=i % 500)))
    history = WorkOrder.objects.bulk_create(history)
    Reminder.objects.bulk_create(Reminder(order=o, kind=Reminder.Kind.SUPERVISION, at=NOW, respond_by=NOW,
                                          responded_at=NOW) for o in history[:3000])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workorders_workorder; ANALYZE workorders_reminder")
    # Still a few thousand rows: the planner would as soon read them whole (or by bitmap, or through
    # another open-orders index) and sort what matched. Without those it must show that the index's
    # condition is implied by the list's WHERE and gives its order; at 1M orders it picks these
    # indexes unaided (docs/performance.md, "督办页和回访"). Each queue sends its page, then its
    # capped count(s): the page is the first statement.
    with planner_without("default", "seqscan", "bitmapscan", "sort"):
        upstream = _plans(lambda: upstream_deadlines(user, NOW))[0]
        awaiting, _, chased, _ = _plans(lambda: escalations(user, NOW))
        failed = _plans(lambda: failed_supervisions(user))[0]
        overdue, _, near, _ = _plans(lambda: supervision_lists(user, NOW))
        callbacks = _plans(lambda: callback_queue(varied["operator_li"], now=NOW))[0]
        intake = _plans(lambda: intake_queue(varied["operator_li"]))[0]
    # Each list is read from the index whose condition is its WHERE (the range on its date).
    assert "using wo_upstream_owed_idx" in upstream, upstream
    # The overdue orders by deadline, each kept if it has a reminder (no index of chased orders:
    # the count that fed one was a rewrite of the order's row per 催办).
    assert "using wo_open_deadline_idx" in chased, chased
    assert "using reminder_awaiting_idx" in awaiting, awaiting
    assert "Index Scan Backward using reminder_failed_idx" in failed, failed
    assert "using wo_open_deadline_idx" in overdue and "using wo_open_deadline_idx" in near, (overdue, near)
    assert "using wo_callback_due_idx" in callbacks, callbacks
    # The intake queue under the operator's door (an OR of its own orders and two statuses, ANDed
    # with 已登记): migration 0014's index never existed (its name was taken); 0027's is read.
    assert "using wo_intake_idx" in intake, intake
