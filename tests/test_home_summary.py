"""The home page's counts: over what each person may see, the same as the door answers, kept in the
cache for a minute.

王 and 周 count the whole center; 李 her own orders and the callback queue; 赵 of 杨楼镇 the orders
his town leads, co-handles or held before a return; 钱 of 寄料镇 none of 杨楼镇's; 孙 of 住建局 only
the order he co-handles; 吴 the auditor nothing.
"""

import datetime as dt
import importlib
import re
import types

import pytest
from django.core.cache import cache
from django.core.cache.backends import base as cache_base
from django.core.cache.backends import locmem
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from hotline.accounts.models import User
from hotline.catalog.models import AppealType, Category
from hotline.workorders import actions, queries
from hotline.workorders.models import WorkOrder
from hotline.workorders.workflow import OPEN, UNIT_HOLDS, Status

pytestmark = pytest.mark.django_db

COUNTS = ("open", "overdue", "near_due", "awaiting_dispatch", "awaiting_callback")


@pytest.fixture
def clock(settings, monkeypatch):
    """A cache of its own (nothing left by other tests) whose clock the test moves: ``clock(61)``."""
    # Only the default cache is replaced: the shared one (sessions' and the schedulers' keys) stays.
    settings.CACHES = {**settings.CACHES, "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                                      "LOCATION": "home-summary-tests"}}
    cache.clear()
    now = [1_700_000_000.0]
    fake = types.SimpleNamespace(time=lambda: now[0])
    monkeypatch.setattr(locmem, "time", fake)
    monkeypatch.setattr(cache_base, "time", fake)

    def advance(seconds):
        now[0] += seconds
    yield advance
    cache.clear()


@pytest.fixture
def world(people, unit):
    """Ten open orders and a closed one, in every state the counts tell apart."""
    now = timezone.now()
    start = now - dt.timedelta(days=3)
    li, wang, zhao = people["operator_li"], people["dispatcher_wang"], people["handler_zhao"]
    yanglou, jiliao, zhujian = unit("杨楼镇"), unit("寄料镇"), unit("住房和城乡建设局")

    def register(title, by=li):
        return actions.register_order(
            acting_user=by, at=start, title=title, content=f"来电人反映：{title}。",
            appeal_type=AppealType.objects.get(code="problem"), category=Category.objects.get(
                full_name="农村管理—人居环境"), town=yanglou, caller_name="张三", caller_phone="13812341234")

    def dispatched(title, lead, co=(), deadline=None):
        o = register(title)
        actions.submit_for_dispatch(o, acting_user=li, at=start)
        return actions.dispatch(o, acting_user=wang, lead_unit=lead, co_units=co, handle_deadline=deadline,
                                at=start + dt.timedelta(minutes=1))

    orders = {
        "received": register("李登记未转派"),
        "by_wang": register("王登记未转派", by=wang),
        "yanglou": dispatched("杨楼镇主办", yanglou, deadline=now + dt.timedelta(days=5)),
        "overdue": dispatched("杨楼镇超期", yanglou, deadline=now - dt.timedelta(days=1)),
        "near": dispatched("杨楼镇临期", yanglou, deadline=now + dt.timedelta(hours=2)),
        "co": dispatched("住建局协办", yanglou, co=[zhujian], deadline=now + dt.timedelta(days=5)),
        "jiliao": dispatched("寄料镇主办", jiliao, deadline=now + dt.timedelta(days=5)),
        "moved": dispatched("杨楼镇退单改派寄料镇", yanglou, deadline=now + dt.timedelta(days=5)),
    }
    waiting = orders["waiting"] = register("待派单")
    actions.submit_for_dispatch(waiting, acting_user=li, at=start)
    answered = orders["answered"] = register("王直接答复待回访", by=wang)
    actions.direct_answer(answered, acting_user=wang, answer="已答复", at=start)
    moved = orders["moved"]
    actions.request_return(moved, acting_user=zhao, reason="不属本镇职责", basis="职责清单", at=start + dt.timedelta(hours=1))
    actions.approve_return(moved, acting_user=wang, at=start + dt.timedelta(hours=2))
    actions.dispatch(moved, acting_user=wang, lead_unit=jiliao, handle_deadline=now + dt.timedelta(days=5),
                     at=start + dt.timedelta(hours=3))
    closed = register("转110已办结")
    actions.transfer(closed, acting_user=li, target="110", at=start)
    return {"now": now, **orders}


def by_the_door(user, now):
    """The counts worked out in Python from the rows ``visible_to`` gives: what the summary must equal."""
    soon = queries.near_due_window(now)
    rows = WorkOrder.objects.visible_to(user).filter(status__in=[s.value for s in OPEN])
    held = [r for r in rows if r.status in UNIT_HOLDS]
    return {"open": len(rows),
            "overdue": sum(r.handle_deadline < now for r in held),
            "near_due": sum(now <= r.handle_deadline < soon for r in held),
            "awaiting_dispatch": sum(r.status == Status.AWAITING_DISPATCH for r in rows),
            "awaiting_callback": sum(r.status == Status.AWAITING_CALLBACK for r in rows)}


def counts(summary):
    return {k: summary[k] for k in COUNTS}


@pytest.mark.parametrize("username,expected", [
    ("dispatcher_wang", {"open": 10, "overdue": 1, "near_due": 1, "awaiting_dispatch": 1, "awaiting_callback": 1}),
    ("supervisor_zhou", {"open": 10, "overdue": 1, "near_due": 1, "awaiting_dispatch": 1, "awaiting_callback": 1}),
    ("admin", {"open": 10, "overdue": 1, "near_due": 1, "awaiting_dispatch": 1, "awaiting_callback": 1}),
    # Hers, the callback queue (王's answered order) and the intake queue (王's order left 已登记).
    ("operator_li", {"open": 10, "overdue": 1, "near_due": 1, "awaiting_dispatch": 1, "awaiting_callback": 1}),
    # Led by 杨楼镇 (the co-handled one too), and the order it returned, now 寄料镇's.
    ("handler_zhao", {"open": 5, "overdue": 1, "near_due": 1, "awaiting_dispatch": 0, "awaiting_callback": 0}),
    ("handler_qian", {"open": 2, "overdue": 0, "near_due": 0, "awaiting_dispatch": 0, "awaiting_callback": 0}),
    ("handler_sun", {"open": 1, "overdue": 0, "near_due": 0, "awaiting_dispatch": 0, "awaiting_callback": 0}),
    ("auditor_wu", dict.fromkeys(COUNTS, 0)),
])
def test_each_person_counts_what_the_door_lets_them_see(people, world, clock, username, expected):
    user, now = people[username], world["now"]
    summary = queries.summary_for(user, now, cached=False)
    assert counts(summary) == expected
    assert counts(summary) == by_the_door(user, now)
    assert summary["at"] == now


def test_a_unit_never_counts_another_units_orders(people, world, unit, clock):
    now = world["now"]
    qian = queries.summary_for(people["handler_qian"], now)
    assert qian["open"] == 2  # 寄料镇's own and the one 杨楼镇 gave back; none of 杨楼镇's five
    # A second order 住建局 co-handles, in 寄料镇: 孙 counts it, 赵 does not (fresh counts, past the minute).
    clock(queries.SUMMARY_SECONDS + 1)
    o = actions.register_order(acting_user=people["operator_li"], title="寄料镇主办住建局协办", content="内容",
                               appeal_type=AppealType.objects.get(code="problem"), town=unit("寄料镇"))
    actions.submit_for_dispatch(o, acting_user=people["operator_li"])
    actions.dispatch(o, acting_user=people["dispatcher_wang"], lead_unit=unit("寄料镇"),
                     co_units=[unit("住房和城乡建设局")])
    assert queries.summary_for(people["handler_sun"], now)["open"] == 2
    assert queries.summary_for(people["handler_zhao"], now)["open"] == 5
    assert queries.summary_for(people["handler_qian"], now)["open"] == 3


def test_counts_are_kept_a_minute_per_visibility_scope(people, world, unit, clock):
    now, wang = world["now"], people["dispatcher_wang"]
    first = queries.summary_for(wang, now)
    assert first["open"] == 10 and first["at"] == now
    actions.register_order(acting_user=people["operator_li"], title="新登记", content="内容",
                           appeal_type=AppealType.objects.get(code="problem"))
    clock(queries.SUMMARY_SECONDS - 1)
    later = now + dt.timedelta(seconds=queries.SUMMARY_SECONDS - 1)
    with CaptureQueriesContext(connection) as ctx:
        assert queries.summary_for(wang, later) == first  # within its lifetime: no query, the old figure
        assert queries.summary_for(people["supervisor_zhou"], later) == first  # the center shares one entry
    assert not ctx.captured_queries
    # A unit's handlers share their unit's entry, and only theirs.
    zhao = queries.summary_for(people["handler_zhao"], later)
    colleague = User.objects.create(username="handler_yanglou2", role="handler", unit=unit("杨楼镇"))
    assert queries.summary_for(colleague, later + dt.timedelta(seconds=1)) == zhao
    assert queries.summary_for(people["handler_qian"], later)["open"] == 2
    # An operator's entry is her own.
    zhang = User.objects.create(username="operator_zhang", role="operator")
    assert queries.summary_for(people["operator_li"], later)["open"] == 11
    # The callback queue and the intake queue (李's two and 王's one left 已登记), nothing else.
    assert queries.summary_for(zhang, later)["open"] == 4

    clock(2)  # past the minute: counted again
    fresh = queries.summary_for(wang, later + dt.timedelta(seconds=2))
    assert fresh["open"] == 11 and fresh["at"] == later + dt.timedelta(seconds=2)


def test_home_page_shows_the_counts_and_when_they_were_counted(client, people, world, clock):
    client.force_login(people["handler_zhao"])
    with CaptureQueriesContext(connection) as first:
        page = client.get(reverse("home")).content.decode()
    assert re.search(r"统计于 \d\d:\d\d", page)
    assert "<strong>5</strong>" in page
    with CaptureQueriesContext(connection) as second:
        assert "<strong>5</strong>" in client.get(reverse("home")).content.decode()
    def order_counts(ctx):  # the header's bell counts the person's notifications on every page
        return [q for q in ctx.captured_queries if "COUNT(" in q["sql"].upper() and "notify_" not in q["sql"]]
    assert len(order_counts(first)) == 2  # the unit's led orders, then its other assignments' orders
    assert not order_counts(second)


def close(order, people, t):
    """杨楼镇 signs and answers ``order``, 王 approves, 李 calls back satisfied: closed."""
    zhao, wang, li = (people[n] for n in ("handler_zhao", "dispatcher_wang", "operator_li"))
    actions.sign(order, acting_user=zhao, at=t)
    actions.reply(order, acting_user=zhao, public_reply="已处理。", solved=True, at=t + dt.timedelta(hours=1))
    actions.approve_reply(order, acting_user=wang, at=t + dt.timedelta(hours=2))
    actions.record_callback(order, acting_user=li, satisfaction="satisfied", solved=True,
                            at=t + dt.timedelta(hours=3))
    order.refresh_from_db()


def test_an_order_leaves_its_units_counts_when_it_closes_and_returns_when_it_reopens(people, world, settings):
    """Each assignment carries its order's openness (``Assignment.order_open``), which the unit's
    counts start from: closing the co-handled order takes it off 杨楼镇's and 住建局's counts, and
    reopening it (a repeat call, reopen policy: its units' assignments ended) puts it back on both,
    the door still admitting them."""
    settings.HOTLINE = {**settings.HOTLINE, "REPEAT_POLICY": "reopen"}
    now, co = world["now"], world["co"]
    zhao, sun, wang, li = (people[n] for n in ("handler_zhao", "handler_sun", "dispatcher_wang", "operator_li"))
    t = now - dt.timedelta(days=2)

    def flags():
        return sorted(co.assignments.values_list("order_open", flat=True))

    def check(expected):
        for user, n in zip((zhao, sun), expected, strict=True):
            summary = queries.summary_for(user, now, cached=False)
            assert summary["open"] == n
            assert counts(summary) == by_the_door(user, now)

    assert flags() == [True, True]
    check((5, 1))
    close(co, people, t)
    assert co.status == Status.CLOSED and flags() == [False, False]
    check((4, 0))
    again = actions.register_order(acting_user=li, at=t + dt.timedelta(hours=4), title="仍未处理好",
                                   content="来电人再次反映。", appeal_type=AppealType.objects.get(code="problem"))
    actions.repeat_closed(again, acting_user=li, of=co, at=t + dt.timedelta(hours=5))
    co.refresh_from_db()
    assert co.status == Status.AWAITING_DISPATCH and not co.assignments.filter(active=True).exists()
    assert flags() == [True, True]
    check((5, 1))


def test_the_migration_marks_the_assignments_of_open_orders(people, world):
    """Migration 0026 adds ``order_open`` as false and then marks the assignments of open orders:
    run its marking on every assignment unmarked, it gives each its order's openness."""
    from django.db import connection

    from hotline.workorders.models import Assignment

    migration = importlib.import_module("hotline.workorders.migrations.0026_assignment_order_open")
    close(world["co"], people, world["now"] - dt.timedelta(days=2))  # closed, with two assignments
    expected = {a.pk: a.order.status in OPEN for a in Assignment.objects.select_related("order")}
    assert set(expected.values()) == {True, False}
    Assignment.objects.update(order_open=False)
    migration.mark_open(None, types.SimpleNamespace(connection=connection))
    assert dict(Assignment.objects.values_list("pk", "order_open")) == expected


def test_the_inbox_lists_a_co_handled_order_while_it_is_open(people, world):
    """住建局 co-handles one order: its inbox lists it until the order closes, reading the unit's
    co-handling assignments of open orders in one join (a second join of the assignments was what a
    filter on the joined assignment added after the fact)."""
    sun, now = people["handler_sun"], world["now"]

    def listed():
        with CaptureQueriesContext(connection) as queries_run:
            pages = queries.unit_inbox(sun, now)
        co_keys = [q["sql"] for q in queries_run.captured_queries if '"role" = \'co\'' in q["sql"]]
        assert co_keys and all(sql.count('JOIN "workorders_assignment"') == 1 for sql in co_keys)
        return sorted(r.id for page in pages.values() for r in page.rows)

    assert listed() == [world["co"].pk]
    close(world["co"], people, now - dt.timedelta(days=2))
    assert listed() == []
