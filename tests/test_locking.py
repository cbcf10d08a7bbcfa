"""Actions that lock everything they change (issue 12, classes 5–7), one rule at a time.

The story: operator 李 merges repeat calls, 杨楼镇 (赵) asks for more time and then gives an
order back, 寄料镇 (钱) gets it on redispatch, and 王 decides in the dispatch board. Runs on SQLite
and PostgreSQL; the tests that need two connections holding real row locks run on PostgreSQL only
(the many-client race is tests/test_concurrency.py).
"""

import datetime as dt
import threading
import time

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from hotline.workorders import actions, queries, workflow
from hotline.workorders.models import Event, Request, WorkOrder
from hotline.workorders.workflow import WorkflowError

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks")


def log(order):
    return list(Event.objects.filter(order=order).order_by("at", "id").values_list("action", flat=True))


def replayed(order):
    """The order's log run through the transition table, checked against the order as it stands."""
    events = Event.objects.filter(order=order).order_by("at", "id")
    result = workflow.replay((e.action, e.from_status, e.to_status, e.data) for e in events)
    order.refresh_from_db()
    pending = set(Request.objects.filter(order=order, state="pending").values_list("kind", flat=True))
    assert result.status == order.status and set(result.pending) == pending
    return result


def unchanged(*orders):
    """A snapshot of the orders and the log, to show a refused action changed nothing."""
    return ([WorkOrder.objects.filter(pk=o.pk).values().get() for o in orders], Event.objects.count(),
            list(Request.objects.values_list("pk", "state")))


@pytest.fixture
def li(people):
    return people["operator_li"]


@pytest.fixture
def wang(people):
    return people["dispatcher_wang"]


@pytest.fixture
def fresh(new_order):
    """An order registered now (the production path: no ``at``)."""
    return lambda **kw: new_order(at=None, **kw)


@pytest.fixture
def handling(fresh, people, unit, wang):
    """An order dispatched to 杨楼镇 and signed for by 赵."""
    def make():
        order = fresh()
        actions.submit_for_dispatch(order, acting_user=people["operator_li"])
        actions.dispatch(order, acting_user=wang, lead_unit=unit("杨楼镇"))
        actions.sign(order, acting_user=people["handler_zhao"])
        order.refresh_from_db()
        return order
    return make


# ---------------------------------------------------------------------------------------------
# Merge (并单)


def test_merge_into_itself_is_refused(li, fresh):
    a = fresh()
    before = unchanged(a)
    with pytest.raises(WorkflowError, match="不能将工单并入其自身"):
        actions.merge(a, acting_user=li, into=a)
    assert unchanged(a) == before


def test_a_merge_then_merging_its_target_away_is_refused(li, fresh):
    a, b, c = fresh(), fresh(), fresh()
    actions.merge(a, acting_user=li, into=b)
    before = unchanged(a, b, c)
    with pytest.raises(WorkflowError, match=f"工单 {b.number} 已有重复件 {a.number} 并入，是主工单"):
        actions.merge(b, acting_user=li, into=c)
    assert unchanged(a, b, c) == before
    for order in (a, b, c):
        replayed(order)


def test_merging_into_a_merged_order_is_refused_and_names_the_main_order(li, fresh):
    a, b, d = fresh(), fresh(), fresh()
    actions.merge(a, acting_user=li, into=b)
    with pytest.raises(WorkflowError, match=f"工单 {a.number} 本身已并入 {b.number}.*请并入 {b.number}"):
        actions.merge(d, acting_user=li, into=a)
    assert WorkOrder.objects.get(pk=d.pk).status == "received"


def test_a_merge_that_would_close_a_cycle_is_refused(li, fresh):
    a, b = fresh(), fresh()
    actions.merge(a, acting_user=li, into=b)
    before = unchanged(a, b)
    with pytest.raises(WorkflowError, match="形成循环"):
        actions.merge(b, acting_user=li, into=a)
    assert unchanged(a, b) == before


def test_a_cycle_left_from_before_is_still_refused(li, fresh):
    """A chain C→A written before these rules (straight into the table): merging A into C closes it."""
    a, c = fresh(), fresh()
    WorkOrder.objects.filter(pk=c.pk).update(status="merged", merged_into=a, disposition="merge")
    with pytest.raises(WorkflowError, match="形成循环"):
        actions.merge(a, acting_user=li, into=c)


def test_never_merge_into_a_closed_order(li, people, fresh):
    first = fresh()
    actions.direct_answer(first, acting_user=li, answer="可到市民之家办理")
    actions.record_callback(first, acting_user=people["supervisor_zhou"], satisfaction="satisfied", solved=True)
    repeat = fresh()
    before = unchanged(first, repeat)
    with pytest.raises(WorkflowError, match=f"工单 {first.number} 已办结，不能并入已办结的工单"):
        actions.merge(repeat, acting_user=li, into=first)
    assert unchanged(first, repeat) == before


def test_history_replayed_with_at_may_merge_into_an_order_closed_only_later(li, people, new_order):
    """Imports and the demo replay history order by order: at the merge's own time the target was open."""
    from conftest import at

    first = new_order(at=at(2023, 7, 3, 9))
    actions.direct_answer(first, acting_user=li, answer="已答复", at=at(2023, 7, 3, 9, 5))
    actions.record_callback(first, acting_user=people["supervisor_zhou"], satisfaction="satisfied", solved=True,
                            at=at(2023, 7, 5, 10))
    early, late = new_order(at=at(2023, 7, 4, 9)), new_order(at=at(2023, 7, 6, 9))
    actions.merge(early, acting_user=li, into=first, at=at(2023, 7, 4, 9, 5))
    with pytest.raises(WorkflowError, match="已办结"):
        actions.merge(late, acting_user=li, into=first, at=at(2023, 7, 6, 9, 5))


def test_the_console_refuses_a_chain_in_chinese_without_a_500(client, li, fresh):
    a, b, c = fresh(), fresh(), fresh()
    actions.merge(a, acting_user=li, into=b)
    client.force_login(li)
    response = client.post(reverse("order_action", args=[b.number, "merge"]), {"into": c.number, "note": "重复"})
    assert response.status_code == 200
    assert "是主工单，不能再并入其他工单" in response.content.decode()
    assert WorkOrder.objects.get(pk=b.pk).status == "received"


def test_an_operator_merges_into_another_operators_order(people, li, fresh):
    """The target comes from the caller's history (any operator's order); the repeat is one li may
    work: her own, or one waiting in the intake queue (已登记). Another operator's order that has
    moved on (sent to dispatch) is no longer li's to merge."""
    zhou = people["supervisor_zhou"]
    first = fresh(acting_user=zhou)
    repeat = fresh()
    actions.merge(repeat, acting_user=li, into=first.pk)
    assert WorkOrder.objects.get(pk=repeat.pk).merged_into_id == first.pk
    waiting = fresh(acting_user=zhou)  # someone else's, still 已登记: the intake queue is li's too
    actions.merge(waiting, acting_user=li, into=first.pk)
    assert WorkOrder.objects.get(pk=waiting.pk).merged_into_id == first.pk
    moved_on = fresh(acting_user=zhou)
    actions.submit_for_dispatch(moved_on, acting_user=zhou)
    with pytest.raises(WorkflowError, match="工单不存在或无权操作"):
        actions.merge(moved_on, acting_user=li, into=first.pk)
    assert WorkOrder.objects.get(pk=moved_on.pk).merged_into_id is None


def test_merge_locks_both_orders_in_key_order(li, fresh, monkeypatch):
    """Whichever way round the merge goes, the lower key is locked first (no A→B / B→A deadlock)."""
    a, b = fresh(), fresh()
    locked = []
    real = actions._lock
    monkeypatch.setattr(actions, "_lock", lambda order, actor: locked.append(actions._pk(order)) or real(order, actor))
    actions.merge(b, acting_user=li, into=a)
    assert locked == sorted([a.pk, b.pk])


# ---------------------------------------------------------------------------------------------
# Requests end with the assignment that filed them


def test_a_returned_units_extension_cannot_move_the_next_units_deadline(people, unit, wang, handling):
    zhao, qian = people["handler_zhao"], people["handler_qian"]
    order = handling()
    x_date = order.handle_deadline + dt.timedelta(days=20)
    actions.request_extension(order, acting_user=zhao, new_deadline=x_date, reason="需协调施工队")
    actions.request_return(order, acting_user=zhao, reason="地点在寄料镇辖区", basis="属地管理")
    actions.approve_return(order, acting_user=wang)
    x_request = Request.objects.get(order=order, kind="extension")
    assert x_request.state == "cancelled" and x_request.decided_at is not None
    cancel = Event.objects.get(order=order, action="cancel_request")
    assert cancel.data["kind"] == "extension" and cancel.data["unit_id"] == unit("杨楼镇").pk
    assert log(order)[-2:] == ["cancel_request", "approve_return"]

    actions.dispatch(order, acting_user=wang, lead_unit=unit("寄料镇"))
    actions.sign(order, acting_user=qian)
    order.refresh_from_db()
    y_date = order.handle_deadline + dt.timedelta(days=3)
    # 寄料镇's own request is not refused because of 杨楼镇's old one…
    actions.request_extension(order, acting_user=qian, new_deadline=y_date, reason="需现场勘查")
    actions.approve_extension(order, acting_user=wang)
    order.refresh_from_db()
    # …and approving moves the deadline to the date 寄料镇 asked for, never 杨楼镇's.
    assert order.handle_deadline == y_date != x_date
    replayed(order)


def test_a_reply_ends_the_units_pending_requests_and_empties_the_queue(client, people, wang, handling):
    zhao = people["handler_zhao"]
    order = handling()
    actions.request_extension(order, acting_user=zhao, new_deadline=order.handle_deadline + dt.timedelta(days=5),
                              reason="需协调")
    actions.request_suspension(order, acting_user=zhao, reason="列入年度改造计划")
    assert queries.pending_requests(wang, "extension").rows and queries.pending_requests(wang, "suspension").rows
    actions.reply(order, acting_user=zhao, public_reply="已修复路面", solved=True)
    assert set(Request.objects.filter(order=order).values_list("kind", "state")) == {
        ("extension", "cancelled"), ("suspension", "cancelled")}
    assert log(order)[-3:] == ["cancel_request", "cancel_request", "reply"]
    # The dispatcher's board (the real page) lists the reply for review and no request any more.
    client.force_login(wang)
    board = client.get(reverse("dispatch")).context
    assert [row["number"] for row in board["replies"].rows] == [order.number]
    assert not board["extensions"].rows and not board["suspensions"].rows
    with pytest.raises(WorkflowError, match="不能执行“同意延期”"):
        actions.approve_extension(order, acting_user=wang)
    replayed(order)


def test_a_rejected_return_keeps_the_units_extension(people, wang, handling):
    zhao = people["handler_zhao"]
    order = handling()
    wanted = order.handle_deadline + dt.timedelta(days=4)
    actions.request_extension(order, acting_user=zhao, new_deadline=wanted, reason="需协调")
    actions.request_return(order, acting_user=zhao, reason="不是本单位职责", basis="三定方案")
    actions.reject_return(order, acting_user=wang, note="属于属地职责")
    actions.approve_extension(order, acting_user=wang)
    assert WorkOrder.objects.get(pk=order.pk).handle_deadline == wanted
    replayed(order)


def test_a_stale_request_is_never_decided_and_never_blocks(people, unit, wang, handling):
    """A request left pending by an assignment that ended before these rules (written straight into
    the table): approving finds nothing, and the unit now holding the order may still ask."""
    zhao, qian = people["handler_zhao"], people["handler_qian"]
    order = handling()
    actions.request_return(order, acting_user=zhao, reason="不是本单位职责", basis="三定方案")
    actions.approve_return(order, acting_user=wang)
    actions.dispatch(order, acting_user=wang, lead_unit=unit("寄料镇"))
    actions.sign(order, acting_user=qian)
    order.refresh_from_db()
    old = Request.objects.get(order=order, kind="return").assignment
    stale = Request.objects.create(order=order, assignment=old, kind="extension", reason="旧申请",
                                   requested_deadline=order.handle_deadline + dt.timedelta(days=30),
                                   requested_at=timezone.now(), requested_by=zhao)
    before = unchanged(order)
    with pytest.raises(WorkflowError, match="没有待审核的延期申请"):
        actions.approve_extension(order, acting_user=wang)
    assert unchanged(order) == before
    mine = order.handle_deadline + dt.timedelta(days=2)
    actions.request_extension(order, acting_user=qian, new_deadline=mine, reason="需现场勘查")
    stale.refresh_from_db()
    assert stale.state == "cancelled"
    actions.approve_extension(order, acting_user=wang)
    assert WorkOrder.objects.get(pk=order.pk).handle_deadline == mine


def test_a_redispatch_ends_what_the_old_assignment_left_pending(people, unit, wang, handling):
    """A return approved by the old code left the unit's extension pending: the redispatch ends it."""
    zhao = people["handler_zhao"]
    order = handling()
    actions.request_return(order, acting_user=zhao, reason="不是本单位职责", basis="三定方案")
    actions.approve_return(order, acting_user=wang)
    old = Request.objects.get(order=order, kind="return").assignment
    left = Request.objects.create(order=order, assignment=old, kind="extension", reason="旧申请",
                                  requested_deadline=timezone.now() + dt.timedelta(days=30),
                                  requested_at=timezone.now(), requested_by=zhao)
    actions.dispatch(order, acting_user=wang, lead_unit=unit("寄料镇"))
    left.refresh_from_db()
    assert left.state == "cancelled" and left.decision_note == "工单已重新派单"
    cancel = Event.objects.get(order=order, action="cancel_request")
    assert (cancel.from_status, cancel.data["request"]) == ("awaiting_dispatch", left.pk)
    assert log(order)[-2:] == ["cancel_request", "dispatch"]


def test_the_migration_cancels_orphaned_requests_with_an_event(people, unit, wang, handling):
    from importlib import import_module

    cancel_orphans = import_module("hotline.workorders.migrations.0012_requests_end_with_assignment").cancel_orphans
    zhao = people["handler_zhao"]
    replied, live = handling(), handling()
    actions.reply(replied, acting_user=zhao, public_reply="已处理", solved=True)
    actions.request_extension(live, acting_user=zhao, new_deadline=live.handle_deadline + dt.timedelta(days=3),
                              reason="需协调")
    # What the old code left behind: a pending extension on an order that has been replied to.
    assignment = replied.assignments.get()
    orphan = Request.objects.create(order=replied, assignment=assignment, kind="extension", reason="旧",
                                    requested_deadline=replied.handle_deadline + dt.timedelta(days=9),
                                    requested_at=timezone.now(), requested_by=zhao)
    cancel_orphans(apps, None)
    orphan.refresh_from_db()
    assert orphan.state == "cancelled" and orphan.decided_at is not None
    event = Event.objects.get(order=replied, action="cancel_request")
    assert event.data["request"] == orphan.pk and event.from_status == event.to_status == "replied"
    assert Request.objects.get(order=live).state == "pending"  # a live request is left alone
    assert not Event.objects.filter(order=live, action="cancel_request").exists()


# ---------------------------------------------------------------------------------------------
# Time is taken after the lock


def test_every_action_takes_its_time_after_the_lock(people, unit, fresh, monkeypatch):
    """Each lock "takes" 5 ms (as if another action held the row): every event is stamped after it."""
    li, wang, zhao, zhou = (people[n] for n in ("operator_li", "dispatcher_wang", "handler_zhao", "supervisor_zhou"))
    locked_at = []
    real = actions._lock

    def slow_lock(order, actor):
        row = real(order, actor)
        time.sleep(0.005)
        locked_at.append(timezone.now())
        return row

    monkeypatch.setattr(actions, "_lock", slow_lock)
    order, other = fresh(), fresh()
    steps = [
        lambda: actions.submit_for_dispatch(order, acting_user=li),
        lambda: actions.dispatch(order, acting_user=wang, lead_unit=unit("杨楼镇")),
        lambda: actions.remind(order, acting_user=wang, notice="请签收"),
        lambda: actions.sign(order, acting_user=zhao),
        lambda: actions.request_extension(order, acting_user=zhao, reason="需协调",
                                          new_deadline=WorkOrder.objects.get(pk=order.pk).handle_deadline
                                          + dt.timedelta(days=2)),
        lambda: actions.reply(order, acting_user=zhao, public_reply="已修复", solved=True),
        lambda: actions.approve_reply(order, acting_user=wang),
        lambda: actions.record_callback(order, acting_user=zhou, satisfaction="satisfied", solved=True),
        lambda: actions.merge(other, acting_user=li, into=fresh()),
    ]
    for step in steps:
        locked_at.clear()
        step()
        newest = Event.objects.order_by("-id").first()
        assert newest.at >= max(locked_at), newest.action


def test_an_explicit_time_still_wins(people, new_order):
    from conftest import at

    order = new_order()
    actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=at(2023, 7, 3, 9, 5))
    assert Event.objects.get(order=order, action="submit_for_dispatch").at == at(2023, 7, 3, 9, 5)


# ---------------------------------------------------------------------------------------------
# The replay used by the concurrency test


def test_replay_refuses_a_log_the_table_does_not_explain():
    ok = [("register", "", "received", {}), ("submit_for_dispatch", "received", "awaiting_dispatch", {}),
          ("dispatch", "awaiting_dispatch", "dispatched", {}), ("sign", "dispatched", "handling", {}),
          ("request_extension", "handling", "handling", {}),
          ("cancel_request", "handling", "handling", {"kind": "extension"}),
          ("reply", "handling", "replied", {})]
    assert workflow.replay(ok) == workflow.Replayed(workflow.Status.REPLIED, frozenset())
    with pytest.raises(WorkflowError, match="仍有待审核的申请"):  # a reply leaving the extension pending
        workflow.replay(ok[:5] + ok[6:])
    with pytest.raises(WorkflowError, match="原状态"):  # out of commit order: the reply logged before the sign
        workflow.replay(ok[:3] + [ok[6], ok[3]])
    with pytest.raises(WorkflowError, match="已有待审核的延期申请"):
        workflow.replay(ok[:5] + [ok[4]])
    with pytest.raises(WorkflowError, match="没有登记日志"):
        workflow.replay(ok[1:])


def test_request_kinds_of_the_table_are_the_models():
    assert {k.value for k in workflow.RequestKind} == set(Request.Kind.values)
    opened = {t.opens for t in workflow.TRANSITIONS if t.opens}
    decided = {t.decides for t in workflow.TRANSITIONS if t.decides}
    assert opened == decided == set(workflow.RequestKind)


# ---------------------------------------------------------------------------------------------
# Real row locks (PostgreSQL)


def _in_thread(target):
    def run():
        try:
            target()
        finally:
            connection.close()
    thread = threading.Thread(target=run)
    thread.start()
    return thread


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_action_that_waited_for_the_lock_is_stamped_after_the_one_it_waited_for(people, handling):
    """The issue's timeline: 赵's extension request holds the order while 赵's colleague replies.
    The reply waits for the lock; it is stamped after the request committed, and it cancels it."""
    zhao = people["handler_zhao"]
    order = handling()
    holding, committing = threading.Event(), []

    def request_and_hold():
        with transaction.atomic():
            actions.request_extension(order.pk, acting_user=zhao, reason="需协调",
                                      new_deadline=order.handle_deadline + dt.timedelta(days=3))
            holding.set()
            time.sleep(0.4)
            committing.append(timezone.now())  # the lock is released after this, at commit

    first = _in_thread(request_and_hold)
    assert holding.wait(10)
    started = timezone.now()
    actions.reply(order.pk, acting_user=zhao, public_reply="已修复", solved=True)
    first.join()
    request_event, cancel, reply = Event.objects.filter(order=order).order_by("at", "id")[4:]
    assert (request_event.action, cancel.action, reply.action) == ("request_extension", "cancel_request", "reply")
    assert request_event.at < started < committing[0] < reply.at
    replayed(order)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_three_racing_merges_never_close_all_three(li, fresh):
    def merge(go, refused, source, target):
        go.wait()
        try:
            actions.merge(source.pk, acting_user=li, into=target.pk)
        except WorkflowError as exc:
            refused.append(str(exc))

    for _ in range(10):
        trio = [fresh(), fresh(), fresh()]
        go, refused = threading.Barrier(3), []
        pairs = zip(trio, trio[1:] + trio[:1], strict=True)  # A→B, B→C, C→A
        threads = [_in_thread(lambda s=s, t=t, g=go, r=refused: merge(g, r, s, t)) for s, t in pairs]
        for thread in threads:
            thread.join()
        rows = {o.pk: o for o in WorkOrder.objects.filter(pk__in=[o.pk for o in trio])}
        merged = [o for o in rows.values() if o.status == "merged"]
        assert len(merged) == 1 and len(refused) == 2  # the first merge wins; it makes both others a chain
        assert rows[merged[0].merged_into_id].status == "received"


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_deadlock_the_database_breaks_is_retried_not_a_500(li, fresh):
    """Something outside the actions locks B then A while a merge A→B locks A then B: PostgreSQL
    breaks the deadlock by failing the merge (it waited first), and the merge runs again."""
    a, b = sorted([fresh(), fresh()], key=lambda o: o.pk)
    holding, merging = threading.Event(), threading.Event()
    outcome = []

    def lock_b_then_a():
        with transaction.atomic():
            list(WorkOrder.objects.select_for_update().filter(pk=b.pk))
            holding.set()
            assert merging.wait(10)
            time.sleep(0.3)  # the merge now holds A and waits for B
            list(WorkOrder.objects.select_for_update().filter(pk=a.pk))
            actions.annotate(b.pk, acting_user=li, note="他处锁定")

    other = _in_thread(lock_b_then_a)
    assert holding.wait(10)

    def merge():
        merging.set()
        try:
            outcome.append(actions.merge(a.pk, acting_user=li, into=b.pk).status)
        except Exception as exc:  # noqa: BLE001 - asserted below
            outcome.append(exc)

    merger = _in_thread(merge)
    merger.join()
    other.join()
    assert outcome == ["merged"]
    assert log(b)[-2:] == ["annotate", "merged_in"]
