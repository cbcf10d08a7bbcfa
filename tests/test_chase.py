"""Chase loops that close and callbacks that retry, on the path production takes.

The story: operator 李 registers a road complaint from 杨楼镇 on Monday 2023-07-03; dispatcher 王
sends it to 杨楼镇, where handler 赵 signs for it. Supervisor 周 puts it under formal supervision
(督办) on a Friday evening; 赵 confirms receipt but writes no response, and the SLA sweep — run as
the scheduler runs it: ``schedule_sweep`` enqueues, a worker runs the task — finds the 督办 failed
just after midnight, local time (still the previous day in UTC). The failure is a deduction on
杨楼镇's assessment sheet. Handler 钱 of 寄料镇 sees none of it. Every time here is the real clock,
frozen with time-machine; no action is given ``at``.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django_tasks_db.models import DBTaskResult

from hotline.catalog.models import SlaPolicy
from hotline.notify.models import Delivery, Kind, Notification
from hotline.workorders import actions, tasks, workflow
from hotline.workorders.models import Callback, Event, Reminder, WorkOrder
from hotline.workorders.queries import (
    callback_queue,
    escalations,
    failed_supervisions,
    month_bulletin,
    upstream_deadlines,
)
from hotline.workorders.workflow import WorkflowError
from tests.test_tasks import run_next_task

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def frozen(*args):
    """The real clock stopped at a local Shanghai time."""
    return time_machine.travel(local(*args), tick=False)


def scheduled_sweep() -> dict:
    """One scheduler tick and the worker that runs what it queued: the sweep as production runs it."""
    assert tasks.schedule_sweep()
    run_next_task("worker-test")
    row = DBTaskResult.objects.filter(task_path=tasks.sla_sweep.module_path).latest("enqueued_at")
    assert row.status == "SUCCESSFUL", row.traceback
    return row.return_value


def replayed(order) -> workflow.Replayed:
    return workflow.replay((e.action, e.from_status, e.to_status, e.data)
                           for e in Event.objects.filter(order=order).order_by("at", "id"))


def offered(user, order) -> set[str]:
    """The buttons the order page shows ``user`` (the table, the user's unit, ``workflow.refusal``)."""
    from hotline.web.views.common import console_actions

    order = WorkOrder.objects.get(pk=order.pk)
    return {t.action for t in console_actions(user, order, list(order.assignments.all()))}


@pytest.fixture
def handling(new_order, people, unit):
    """杨楼镇's order, signed for by 赵 (registered and dispatched on Monday 2023-07-03)."""
    with frozen(2023, 7, 3, 9, 0):
        order = new_order(at=None)
    with frozen(2023, 7, 3, 9, 30):
        actions.submit_for_dispatch(order, acting_user=people["operator_li"])
    with frozen(2023, 7, 3, 10, 0):
        actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))
    with frozen(2023, 7, 3, 11, 0):
        actions.sign(order, acting_user=people["handler_zhao"])
    return WorkOrder.objects.get(pk=order.pk)


# ---------------------------------------------------------------------------------------------
# 督办: acknowledged, answered in writing, or failed by the sweep


def test_an_unanswered_supervision_fails_at_local_midnight_and_is_deducted(handling, people, unit, client):
    zhao, qian, zhou = people["handler_zhao"], people["handler_qian"], people["supervisor_zhou"]
    assert not {"acknowledge_reminder", "respond_supervision"} & offered(zhao, handling)

    with frozen(2023, 7, 7, 17, 59, 59):  # Friday evening: one working day is Monday
        actions.supervise(handling, acting_user=zhou, notice="群众反映强烈，请于限期内书面反馈整改情况",
                          respond_within_days=1)
    reminder = Reminder.objects.get(order=handling, kind=Reminder.Kind.SUPERVISION)
    assert reminder.unit == unit("杨楼镇") and reminder.assignment.unit == unit("杨楼镇")
    respond_by = reminder.respond_by
    assert respond_by.astimezone(SHANGHAI).date() == dt.date(2023, 7, 10)

    # The buttons are offered to 杨楼镇 only while they can succeed; 钱 of 寄料镇 gets nothing.
    assert {"acknowledge_reminder", "respond_supervision"} <= offered(zhao, handling)
    assert not {"acknowledge_reminder", "respond_supervision"} & offered(qian, handling)
    with pytest.raises(WorkflowError):
        actions.acknowledge_reminders(handling, acting_user=qian)

    with frozen(2023, 7, 8, 8, 0):
        actions.acknowledge_reminders(handling, acting_user=zhao)
    reminder.refresh_from_db()
    assert reminder.acknowledged_at == local(2023, 7, 8, 8, 0) and reminder.acknowledged_by == zhao
    assert "acknowledge_reminder" not in offered(zhao, handling)
    assert "respond_supervision" in offered(zhao, handling)
    with frozen(2023, 7, 8, 8, 1), pytest.raises(WorkflowError, match="没有待确认"):
        actions.acknowledge_reminders(handling, acting_user=zhao)

    # A blank response is refused in Chinese and changes nothing.
    with frozen(2023, 7, 8, 9, 0), pytest.raises(WorkflowError, match="必须填写理由"):
        actions.respond_supervision(handling, acting_user=zhao, response="   ")
    reminder.refresh_from_db()
    assert reminder.responded_at is None

    # Up to respond_by itself the 督办 stands; the sweep just after local midnight finds it failed.
    with time_machine.travel(respond_by, tick=False):
        assert scheduled_sweep()["supervision_failed"] == 0
    with frozen(2023, 7, 11, 0, 0, 1):  # 2023-07-10 16:00 in UTC
        assert scheduled_sweep()["supervision_failed"] == 1
    with frozen(2023, 7, 11, 0, 5, 1):
        assert scheduled_sweep()["supervision_failed"] == 0  # the sweep runs again: nothing twice
    reminder.refresh_from_db()
    assert reminder.failed and reminder.failed_at == local(2023, 7, 11, 0, 0, 1)
    [failed] = Event.objects.filter(order=handling, action="supervision_failed")
    assert failed.actor_role == "system" and failed.data["unit"] == "杨楼镇"

    # The supervisor's escalation list and the month's 通报 list name it.
    assert [r["order__number"] for r in failed_supervisions(zhou).rows] == [handling.number]
    assert escalations(zhou, local(2023, 7, 11, 9, 0))["awaiting"].rows == []
    assert [(b["unit"], b["number"]) for b in month_bulletin(2023, 7)] == [("杨楼镇", handling.number)]
    client.force_login(zhou)
    page = client.get("/supervision/").content.decode()
    assert 'id="failed-supervision-list"' in page and handling.number in page

    # Answering late is recorded as late; the failure stands.
    with frozen(2023, 7, 11, 9, 30):
        actions.respond_supervision(handling, acting_user=zhao, response="已组织施工队于7月11日完成路面修补。")
    reminder.refresh_from_db()
    assert reminder.responded_at == local(2023, 7, 11, 9, 30) and reminder.failed
    assert Event.objects.get(order=handling, action="respond_supervision").data["late"] is True
    assert Notification.objects.filter(recipient=zhou, kind=Kind.CHASE_ANSWERED).count() == 2  # confirmed, answered
    assert Notification.objects.filter(recipient=zhou, kind=Kind.SUPERVISION_FAILED).exists()
    assert "respond_supervision" not in offered(zhao, handling)
    assert replayed(handling).status == workflow.Status.HANDLING

    # The deduction on 杨楼镇's assessment sheet, with the order as its evidence.
    from hotline.assessment import actions as assess

    with frozen(2023, 8, 1, 9, 0):
        result = assess.compute_month(2023, 7, acting_user=zhou)
        assess.publish_result(result, acting_user=zhou)
    client.force_login(zhao)
    sheet = client.get(f"/assessment/2023-07/units/{unit('杨楼镇').pk}/").content.decode()
    assert "督办事项未落实" in sheet and "-2" in sheet and handling.number in sheet

    # The month's 通报 drafts the briefing's business-work item.
    from hotline.briefing.build import build_briefing_data

    [item] = build_briefing_data(2023, 7, charts=False).business_work
    assert item.title == "督办落实情况通报" and f"杨楼镇1件（工单编号{handling.number}）" in item.text


def test_a_response_in_time_is_not_failed(handling, people):
    with frozen(2023, 7, 4, 10, 0):
        actions.supervise(handling, acting_user=people["supervisor_zhou"], notice="请限期反馈", respond_within_days=2)
    with frozen(2023, 7, 5, 23, 59, 59):
        actions.respond_supervision(handling, acting_user=people["handler_zhao"], response="已完成维修，现场已验收。")
    with frozen(2023, 7, 10, 3, 0):
        assert scheduled_sweep()["supervision_failed"] == 0
    reminder = Reminder.objects.get(order=handling, kind=Reminder.Kind.SUPERVISION)
    assert not reminder.failed and reminder.acknowledged_at == reminder.responded_at
    assert "late" not in Event.objects.get(order=handling, action="respond_supervision").data


def test_a_unit_that_gave_the_order_back_is_not_held_to_its_supervision(handling, people):
    with frozen(2023, 7, 4, 10, 0):
        actions.supervise(handling, acting_user=people["supervisor_zhou"], notice="请限期反馈", respond_within_days=1)
    with frozen(2023, 7, 4, 11, 0):
        actions.request_return(handling, acting_user=people["handler_zhao"], reason="不属于本镇职责",
                               basis="市政道路由住建局管理")
    with frozen(2023, 7, 4, 15, 0):
        actions.approve_return(handling, acting_user=people["dispatcher_wang"])
    with frozen(2023, 7, 7, 9, 0):
        assert scheduled_sweep()["supervision_failed"] == 0
    assert not Reminder.objects.get(order=handling, kind=Reminder.Kind.SUPERVISION).failed


# ---------------------------------------------------------------------------------------------
# Automatic 催办 at near-due


def test_the_sweep_chases_a_near_due_order_once_per_assignment(handling, people, unit, settings):
    settings.HOTLINE = {**settings.HOTLINE, "NEAR_DUE_HOURS": 24}
    deadline = handling.handle_deadline.astimezone(SHANGHAI)
    before = deadline - dt.timedelta(hours=24, seconds=1)
    with time_machine.travel(before, tick=False):
        assert scheduled_sweep()["auto_remind"] == 0
    with time_machine.travel(before + dt.timedelta(seconds=2), tick=False):
        assert scheduled_sweep()["auto_remind"] == 1
    for minutes in (6, 11, 16):  # later scheduler periods
        with time_machine.travel(before + dt.timedelta(minutes=minutes), tick=False):
            assert scheduled_sweep()["auto_remind"] == 0
    [reminder] = Reminder.objects.filter(order=handling)
    assert reminder.automatic and reminder.by is None and reminder.unit == unit("杨楼镇")
    event = Event.objects.get(order=handling, action="remind")
    assert event.actor_role == "system" and event.data["automatic"] is True
    assert Reminder.objects.filter(order=handling, kind="reminder").count() == 1
    assert "acknowledge_reminder" in offered(people["handler_zhao"], handling)
    assert replayed(handling).status == workflow.Status.HANDLING


def test_an_sla_policy_can_turn_the_automatic_reminder_off(handling, settings):
    settings.HOTLINE = {**settings.HOTLINE, "NEAR_DUE_HOURS": 24}
    SlaPolicy.objects.update(auto_remind=False)
    with time_machine.travel(handling.handle_deadline - dt.timedelta(hours=2), tick=False):
        result = scheduled_sweep()
    assert result["auto_remind"] == 0 and result["near_due"] == 1
    assert not Reminder.objects.filter(order=handling).exists()


# ---------------------------------------------------------------------------------------------
# Callbacks that retry


@pytest.fixture
def answered(new_order, people):
    """An order the center coordinated itself on Monday 2023-07-03, waiting for its callback."""
    with frozen(2023, 7, 3, 9, 0):
        order = new_order(at=None)
    with frozen(2023, 7, 3, 9, 20):
        actions.coordinate(order, acting_user=people["operator_li"], answer="已协调村委会安排人员清理积水。")
    return WorkOrder.objects.get(pk=order.pk)


def test_an_unreached_callback_is_retried_per_policy_then_closed_as_unreachable(answered, people, settings):
    settings.HOTLINE = {**settings.HOTLINE, "CALLBACK_ATTEMPTS": 3, "CALLBACK_RETRY_HOURS": 24,
                        "CALLBACK_SMS_SURVEY": True}
    settings.HOTLINE_NOTIFY = {**settings.HOTLINE_NOTIFY, "KANNEL_SENDSMS_URL": "http://127.0.0.1:9/cgi-bin/sendsms"}
    li = people["operator_li"]
    with frozen(2023, 7, 4, 18, 0):
        assert [o["number"] for o in callback_queue(li).rows] == [answered.number]
        actions.record_callback(answered, acting_user=li, reached=False)
    order = WorkOrder.objects.get(pk=answered.pk)
    assert order.status == "awaiting_callback" and order.callback_attempts == 1
    assert order.next_callback_at == local(2023, 7, 5, 18, 0)
    first = Event.objects.get(order=order, action="callback_unreached")
    assert first.data == {"reached": False, "attempt": 1, "attempts": 3, "retry_at": "2023-07-05T18:00:00+08:00",
                          "sms_survey": True}
    # notify's rule turns it into the citizen's SMS with the satisfaction link, queued in the outbox.
    [survey] = Delivery.objects.filter(kind=Kind.SURVEY)
    assert (survey.channel, survey.recipient_kind, survey.event_id) == ("sms", "citizen", first.pk)

    with frozen(2023, 7, 5, 17, 59):  # not due again yet: off the queue
        assert callback_queue(li).rows == []
    with frozen(2023, 7, 5, 18, 0):
        assert [o["number"] for o in callback_queue(li).rows] == [answered.number]
        actions.record_callback(answered, acting_user=li, reached=False)
    assert "sms_survey" not in Event.objects.filter(order=order, action="callback_unreached").last().data
    assert Delivery.objects.filter(kind=Kind.SURVEY).count() == 1  # once per callback round
    with frozen(2023, 7, 6, 23, 59, 59):
        order = actions.record_callback(answered, acting_user=li, reached=False)

    order = WorkOrder.objects.get(pk=answered.pk)
    assert order.status == "closed" and order.callback_unreachable and order.satisfaction == ""
    assert order.closed_at == local(2023, 7, 6, 23, 59, 59) and order.next_callback_at is None
    assert list(Callback.objects.filter(order=order).order_by("at").values_list("outcome", flat=True)) == [
        "retry", "retry", "unreachable"]
    assert replayed(order).status == workflow.Status.CLOSED
    with pytest.raises(WorkflowError):
        actions.record_callback(order, acting_user=li, reached=False)


def test_a_reached_retry_ends_the_queue_and_rework_starts_a_new_round(handling, people, settings):
    settings.HOTLINE = {**settings.HOTLINE, "CALLBACK_ATTEMPTS": 2, "CALLBACK_RETRY_HOURS": 4}
    zhao, wang, li = people["handler_zhao"], people["dispatcher_wang"], people["operator_li"]
    with frozen(2023, 7, 4, 10, 0):
        actions.reply(handling, acting_user=zhao, public_reply="已安排维修，预计本周完成。", solved=True, is_true="true")
    with frozen(2023, 7, 4, 11, 0):
        actions.approve_reply(handling, acting_user=wang)
    with frozen(2023, 7, 4, 15, 0):
        actions.record_callback(handling, acting_user=li, reached=False)
    with frozen(2023, 7, 4, 19, 0):
        actions.record_callback(handling, acting_user=li, reached=True, satisfaction="dissatisfied", solved=False,
                                rework=True, note="路面仍未修复")
    order = WorkOrder.objects.get(pk=handling.pk)
    assert order.status == "handling" and order.callback_attempts == 0 and order.next_callback_at is None
    assert replayed(order).status == workflow.Status.HANDLING


def test_the_statistics_count_unreachable_apart_from_the_satisfaction_base(handling, answered, people, client,
                                                                           settings):
    from hotline.metrics.units import unit_metrics

    settings.HOTLINE = {**settings.HOTLINE, "CALLBACK_ATTEMPTS": 2, "CALLBACK_RETRY_HOURS": 24}
    zhao, wang, li = people["handler_zhao"], people["dispatcher_wang"], people["operator_li"]
    with frozen(2023, 7, 4, 10, 0):
        actions.reply(handling, acting_user=zhao, public_reply="已安排维修，路面已修复完毕。", solved=True, is_true="true")
    with frozen(2023, 7, 4, 11, 0):
        actions.approve_reply(handling, acting_user=wang)
    for day in (5, 6):
        with frozen(2023, 7, day, 10, 0):
            actions.record_callback(handling, acting_user=li, reached=False)
            actions.record_callback(answered, acting_user=li, reached=False)

    metrics = unit_metrics(local(2023, 7, 1), local(2023, 8, 1), as_of=local(2023, 8, 1))
    [yanglou] = [m for m in metrics.values() if m.short_name == "杨楼镇"]
    assert yanglou.counts["unreachable"] == 1 and yanglou.counts["callbacks"] == 0
    assert yanglou.counts["answered"] == 1 and yanglou.rate("satisfaction").denominator == 0

    client.force_login(people["supervisor_zhou"])
    page = client.get("/briefing/stats/", {"start": "2023-07-01", "end": "2023-07-31"}).content.decode()
    card = re.search(r'id="unreachable">回访无法联系<strong>(\d+)</strong>', page)
    assert card and card.group(1) == "2"  # the center's own order and 杨楼镇's


# ---------------------------------------------------------------------------------------------
# Upstream deadlines


def test_orders_near_their_upstream_deadline_are_on_the_supervisors_list(new_order, people, settings):
    from hotline.catalog.models import Source
    from hotline.directory.models import UpstreamPlatform

    settings.HOTLINE = {**settings.HOTLINE, "NEAR_DUE_HOURS": 24}
    platform = UpstreamPlatform.objects.first()
    with frozen(2023, 7, 3, 9, 0):
        soon = new_order(at=None, source=Source.UPSTREAM, upstream_platform=platform, upstream_number="PDS-1",
                         upstream_deadline=local(2023, 7, 4, 18, 0))
        later = new_order(at=None, source=Source.UPSTREAM, upstream_platform=platform, upstream_number="PDS-2",
                          upstream_deadline=local(2023, 7, 20, 18, 0))
    now = local(2023, 7, 3, 23, 30)
    def near():
        return [o["number"] for o in upstream_deadlines(people["supervisor_zhou"], now).rows if not o["late"]]
    lists = upstream_deadlines(people["supervisor_zhou"], now)
    assert [(o["number"], o["late"]) for o in lists.rows] == [(soon.number, False)]

    # Answered and approved, the report is still owed: it stays on the list until reported back.
    with frozen(2023, 7, 3, 10, 0):
        actions.coordinate(soon, acting_user=people["operator_li"], answer="已协调处理。")
    assert near() == [soon.number]
    with frozen(2023, 7, 3, 10, 5):
        actions.report_back(soon, acting_user=people["dispatcher_wang"])
    assert near() == []
    assert later.number not in near()
