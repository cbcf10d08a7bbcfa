"""The supervisor's page (``/supervision/``) reads its lists from partial indexes (migration 0020):
the same rows as each list's definition says, and on PostgreSQL plans that start from those indexes.

The story: supervisor 周 and dispatcher 王 open the page on Monday 2023-07-10 09:00 over a few
hundred orders of every state — upstream and local, reported back or not, chased or not, past
their deadline or not, several sharing a deadline — with 催办 and 督办 failed, answered and
waiting. Each list is compared with a plain reading of its definition over every row, in Python,
so the index conditions cannot quietly drop an order the page used to show.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hotline.catalog.models import Source
from hotline.directory.models import UpstreamPlatform
from hotline.lib.planner import planner_without
from hotline.workorders.models import Reminder, WorkOrder
from hotline.workorders.queries import escalations, failed_supervisions, near_due_window, upstream_deadlines
from hotline.workorders.workflow import UNIT_HOLDS, Status
from tests.conftest import at

NOW = at(2023, 7, 10, 9, 0)
HOLDS = {s.value for s in UNIT_HOLDS}
# Few distinct times, so that many rows tie on the sort key and the id must break the tie.
OFFSETS = [dt.timedelta(hours=h) for h in (-300, -30, -2, 0, 3, 20, 30, 200)]

postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's plans")


def _when(rng: random.Random) -> dt.datetime | None:
    return rng.choice([None, *(NOW + d for d in OFFSETS)])


@pytest.fixture
def varied(new_order, people):
    """About 400 orders and 300 reminders with every combination the lists' conditions look at."""
    rng = random.Random(12345)
    target = new_order()  # what merged orders point to
    platforms = list(UpstreamPlatform.objects.all()[:2])
    assert platforms, "the default configuration has upstream platforms"
    base = {f: getattr(target, f) for f in ("title", "content", "appeal_type_id", "town_id", "category_id",
                                              "registered_by_id", "received_at")}
    orders = []
    for i in range(400):
        status = rng.choice(list(Status))
        upstream = rng.random() < 0.5
        orders.append(WorkOrder(
            **base, number=f"T{i:05d}", status=status,
            merged_into=target if status == Status.MERGED else None,
            source=Source.UPSTREAM if upstream else Source.PHONE,
            upstream_platform=rng.choice(platforms) if upstream else None,
            upstream_number=f"U{i}" if upstream else "",
            # A local order may carry an upstream deadline too (copied from a merged one, say): the
            # list is about upstream platforms, so it must still not show.
            upstream_deadline=_when(rng),
            reported_back_at=rng.choice([None, None, NOW - dt.timedelta(hours=1)]),
            handle_deadline=_when(rng),
            reminder_count=rng.choice([0, 0, 0, 1, 2]),
            supervised=rng.random() < 0.25,
        ))
    orders = WorkOrder.objects.bulk_create(orders)
    reminders = []
    for _ in range(300):
        failed = rng.random() < 0.3
        reminders.append(Reminder(
            order=rng.choice(orders), kind=rng.choice(list(Reminder.Kind)), unit=target.town, at=NOW,
            # A 督办 always has a respond_by (actions.supervise); NULLs would sort apart on each database.
            by=people["supervisor_zhou"], notice="请于时限内书面反馈。", respond_by=NOW + rng.choice(OFFSETS),
            failed=failed,
            failed_at=NOW if failed else None,
            responded_at=rng.choice([None, None, NOW - dt.timedelta(hours=2)])))
    Reminder.objects.bulk_create(reminders)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE workorders_workorder; ANALYZE workorders_reminder")
    return people


def _key(value: dt.datetime | None, pk: int) -> tuple:
    return (value, pk)


def expected_upstream(limit: int) -> tuple[list[int], list[int]]:
    soon = near_due_window(NOW)
    rows = sorted((o for o in WorkOrder.objects.all()
                   if o.upstream_platform_id is not None and o.reported_back_at is None
                   and o.upstream_deadline is not None and o.upstream_deadline < soon
                   and o.status != Status.MERGED), key=lambda o: _key(o.upstream_deadline, o.pk))[:limit]
    return ([o.pk for o in rows if o.upstream_deadline < NOW], [o.pk for o in rows if o.upstream_deadline >= NOW])


def expected_overdue_chased(limit: int) -> list[int]:
    rows = sorted((o for o in WorkOrder.objects.all()
                   if o.status in HOLDS and o.handle_deadline is not None and o.handle_deadline < NOW
                   and (o.reminder_count > 0 or o.supervised)), key=lambda o: _key(o.handle_deadline, o.pk))
    return [o.pk for o in rows[:limit]]


def expected_awaiting(limit: int) -> list[int]:
    rows = sorted((r for r in Reminder.objects.all()
                   if r.kind == Reminder.Kind.SUPERVISION and r.responded_at is None and not r.failed), key=lambda r: _key(r.respond_by, r.pk))
    return [r.pk for r in rows[:limit]]


def expected_failed(limit: int) -> list[int]:
    rows = sorted((r for r in Reminder.objects.all()
                   if r.kind == Reminder.Kind.SUPERVISION and r.failed),
                  key=lambda r: _key(r.respond_by, r.pk), reverse=True)
    return [r.pk for r in rows[:limit]]


@pytest.mark.parametrize("who", ["supervisor_zhou", "dispatcher_wang"])
@pytest.mark.parametrize("limit", [7, 200])
def test_each_list_shows_exactly_the_rows_its_definition_names(varied, who, limit):
    user = varied[who]
    upstream = upstream_deadlines(user, NOW, limit=limit)
    overdue, near = expected_upstream(limit)
    assert [o.pk for o in upstream["upstream_overdue"]] == overdue
    assert [o.pk for o in upstream["upstream_near"]] == near
    assert overdue and (near or limit < len(expected_upstream(1000)[0])), "rows on both sides of now"

    chased = escalations(user, NOW, limit=limit)
    assert [o.pk for o in chased["overdue_chased"]] == expected_overdue_chased(limit)
    assert [r.pk for r in chased["awaiting"]] == expected_awaiting(limit)
    assert chased["overdue_chased"] and chased["awaiting"]

    failed = failed_supervisions(user, limit=limit)
    assert [r["id"] for r in failed] == expected_failed(limit)
    assert failed
    if limit == 7:  # the limit bites: more rows match than are shown
        assert len(expected_failed(1000)) > 7 and len(expected_overdue_chased(1000)) > 7


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
def test_the_supervision_lists_start_from_their_partial_indexes(varied):
    """Shaped like a server's history, where few rows match: thousands of upstream orders reported
    back, overdue open orders nobody chased yet, 督办 long answered."""
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
            handle_deadline=NOW - dt.timedelta(hours=i % 500)))
    history = WorkOrder.objects.bulk_create(history)
    Reminder.objects.bulk_create(Reminder(order=o, kind=Reminder.Kind.SUPERVISION, at=NOW, respond_by=NOW,
                                          responded_at=NOW) for o in history[:3000])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workorders_workorder; ANALYZE workorders_reminder")
    # Still a few thousand rows: the planner would as soon read them whole (or by bitmap, or through
    # another open-orders index) and sort what matched. Without those it must show that the index's
    # condition is implied by the list's WHERE and gives its order; at 1M orders it picks these
    # indexes unaided (docs/benchmarks.md, mixed workload).
    with planner_without("default", "seqscan", "bitmapscan", "sort"):
        (upstream,) = _plans(lambda: upstream_deadlines(user, NOW))
        awaiting, chased = _plans(lambda: escalations(user, NOW))
        (failed,) = _plans(lambda: failed_supervisions(user))
    # Each list is read from the index whose condition is its WHERE (the range on its date).
    assert "using wo_upstream_owed_idx" in upstream, upstream
    assert "using wo_chased_deadline_idx" in chased, chased
    assert "using reminder_awaiting_idx" in awaiting, awaiting
    assert "using reminder_failed_idx" in failed, failed
