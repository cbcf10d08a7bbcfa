"""The action functions on a real database: a whole order's life as the demo people live it."""

import datetime as dt

import pytest
from conftest import at

from hotline.catalog.models import AppealType, Category
from hotline.directory.models import UpstreamPlatform
from hotline.workorders import actions
from hotline.workorders.models import Assignment, Event, Reminder, Request, WorkOrder
from hotline.workorders.workflow import WorkflowError

pytestmark = pytest.mark.django_db


def events(order):
    return list(Event.objects.filter(order=order).order_by("at", "id").values_list("action", flat=True))


def test_a_dispatched_order_from_call_to_close(people, unit, new_order):
    li, wang, zhao, zhou = (people[n] for n in ("operator_li", "dispatcher_wang", "handler_zhao", "supervisor_zhou"))
    order = new_order()
    assert order.number == "RZ2307-000001" and order.status == "received"
    # 问题处理类: 5 working days from Monday 2023-07-03.
    assert order.handle_deadline == dt.datetime(2023, 7, 10, 23, 59, 59, tzinfo=order.received_at.tzinfo)

    actions.submit_for_dispatch(order, acting_user=li, at=at(2023, 7, 3, 9, 5))
    actions.dispatch(order, acting_user=wang, lead_unit=unit("杨楼镇"), at=at(2023, 7, 3, 10, 0))
    order.refresh_from_db()
    assert order.status == "dispatched" and order.lead_unit == unit("杨楼镇")
    assert order.sign_deadline == at(2023, 7, 4, 10, 0)  # 24 hours to sign for
    actions.sign(order, acting_user=zhao, at=at(2023, 7, 3, 11, 0))
    actions.reply(order, acting_user=zhao, at=at(2023, 7, 5, 15, 0), public_reply="已安排施工队修补路面。",
                  internal_note="村委会配合", is_true="true", solved=True)
    actions.approve_reply(order, acting_user=wang, at=at(2023, 7, 5, 16, 0))
    actions.record_callback(order, acting_user=zhou, satisfaction="satisfied", solved=True, at=at(2023, 7, 6, 10, 0))

    order.refresh_from_db()
    assert order.status == "closed" and order.closed_at == at(2023, 7, 6, 10, 0)
    assert order.answer == "已安排施工队修补路面。" and order.is_solved is True and order.satisfaction == "satisfied"
    assert events(order) == ["register", "submit_for_dispatch", "dispatch", "sign", "reply", "approve_reply",
                             "callback_close"]
    sign_event = Event.objects.get(order=order, action="sign")
    assert sign_event.actor == zhao and sign_event.actor_unit == unit("杨楼镇")
    assert (sign_event.from_status, sign_event.to_status) == ("dispatched", "handling")


def test_a_refused_action_changes_nothing(people, new_order):
    order = new_order()
    before = (WorkOrder.objects.filter(pk=order.pk).values().get(), Event.objects.count())
    with pytest.raises(WorkflowError, match="不能执行“审核通过”"):
        actions.approve_reply(order, acting_user=people["dispatcher_wang"])
    with pytest.raises(WorkflowError, match="工单不存在或无权操作"):
        actions.sign(order, acting_user=people["handler_zhao"])  # not dispatched to 杨楼镇: not visible
    with pytest.raises(WorkflowError, match="话务员无权执行“派单”"):
        actions.submit_for_dispatch(order, acting_user=people["operator_li"])
        actions.dispatch(order, acting_user=people["operator_li"], lead_unit=people["handler_zhao"].unit)
    order.refresh_from_db()
    assert order.status == "awaiting_dispatch"  # the first, legal action stands; the refused one wrote nothing
    assert Event.objects.count() == before[1] + 1


def test_another_units_handler_cannot_touch_the_order(people, unit, new_order):
    order = new_order()
    actions.submit_for_dispatch(order, acting_user=people["operator_li"])
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))
    with pytest.raises(WorkflowError, match="工单不存在或无权操作"):
        actions.sign(order, acting_user=people["handler_qian"])
    assert WorkOrder.objects.get(pk=order.pk).status == "dispatched"
    assert not Assignment.objects.filter(order=order, signed_at__isnull=False).exists()


def test_return_approved_and_redispatched(people, unit, new_order):
    wang, zhao, qian = people["dispatcher_wang"], people["handler_zhao"], people["handler_qian"]
    order = new_order()
    actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=at(2023, 7, 3, 9, 1))
    actions.dispatch(order, acting_user=wang, lead_unit=unit("杨楼镇"), at=at(2023, 7, 3, 9, 30))
    with pytest.raises(WorkflowError, match="必须填写理由"):
        actions.request_return(order, acting_user=zhao, reason=" ", basis="三定方案")
    with pytest.raises(WorkflowError, match="依据"):
        actions.request_return(order, acting_user=zhao, reason="地点在寄料镇", basis="")
    actions.request_return(order, acting_user=zhao, reason="地点在寄料镇辖区", basis="属地管理", at=at(2023, 7, 3, 11))
    actions.approve_return(order, acting_user=wang, note="同意", at=at(2023, 7, 3, 12))
    order.refresh_from_db()
    assert order.status == "awaiting_dispatch" and order.lead_unit is None
    assert Request.objects.get(order=order).state == "approved"
    actions.dispatch(order, acting_user=wang, lead_unit=unit("寄料镇"), at=at(2023, 7, 3, 13))
    actions.sign(order, acting_user=qian, at=at(2023, 7, 3, 14))
    order.refresh_from_db()
    assert order.status == "handling"
    rounds = list(Assignment.objects.filter(order=order).order_by("round").values_list("unit__short_name", "round",
                                                                                        "active"))
    assert rounds == [("杨楼镇", 1, False), ("寄料镇", 2, True)]
    # The clock restarts at redispatch: 5 working days from Monday 13:00.
    assert order.handle_deadline.date() == dt.date(2023, 7, 10)


def test_return_rejected_keeps_the_unit(people, unit, new_order):
    order = new_order()
    actions.submit_for_dispatch(order, acting_user=people["operator_li"])
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))
    actions.request_return(order, acting_user=people["handler_zhao"], reason="不是我们的事", basis="无")
    with pytest.raises(WorkflowError, match="必须填写理由"):
        actions.reject_return(order, acting_user=people["dispatcher_wang"], note="")
    actions.reject_return(order, acting_user=people["dispatcher_wang"], note="属于属地职责")
    order.refresh_from_db()
    assert order.status == "handling"
    assert Assignment.objects.get(order=order).signed_at is not None


def test_three_dispatch_rounds_then_no_more_returns(people, unit, new_order):
    wang = people["dispatcher_wang"]
    order = new_order()
    actions.submit_for_dispatch(order, acting_user=people["operator_li"])
    for name, handler in [("杨楼镇", "handler_zhao"), ("寄料镇", "handler_qian")]:
        actions.dispatch(order, acting_user=wang, lead_unit=unit(name))
        actions.request_return(order, acting_user=people[handler], reason="非本单位职责", basis="三定方案")
        actions.approve_return(order, acting_user=wang)
    actions.dispatch(order, acting_user=wang, lead_unit=unit("住房和城乡建设局"))
    with pytest.raises(WorkflowError, match="已派单3轮"):
        actions.request_return(order, acting_user=people["handler_sun"], reason="非本单位职责", basis="三定方案")


def test_extension_moves_the_deadline_and_must_come_before_expiry(people, unit, new_order):
    wang, zhao = people["dispatcher_wang"], people["handler_zhao"]
    order = new_order()
    actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=at(2023, 7, 3, 9, 1))
    actions.dispatch(order, acting_user=wang, lead_unit=unit("杨楼镇"), at=at(2023, 7, 3, 9, 30))
    actions.sign(order, acting_user=zhao, at=at(2023, 7, 3, 10))
    order.refresh_from_db()
    old = order.handle_deadline
    with pytest.raises(WorkflowError, match="必须晚于当前办理时限"):
        actions.request_extension(order, acting_user=zhao, new_deadline=old - dt.timedelta(days=1), reason="施工",
                                  at=at(2023, 7, 4, 9))
    new = old + dt.timedelta(days=7)
    actions.request_extension(order, acting_user=zhao, new_deadline=new, reason="需协调施工队", at=at(2023, 7, 5, 9))
    with pytest.raises(WorkflowError, match="已有待审核的延期申请"):
        actions.request_extension(order, acting_user=zhao, new_deadline=new, reason="再申请", at=at(2023, 7, 5, 10))
    actions.approve_extension(order, acting_user=wang, at=at(2023, 7, 5, 11))
    order.refresh_from_db()
    assert order.handle_deadline == new and order.status == "handling"
    late = order.handle_deadline + dt.timedelta(hours=1)
    with pytest.raises(WorkflowError, match="已超过办理时限"):
        actions.request_extension(order, acting_user=zhao, new_deadline=late + dt.timedelta(days=3), reason="再延",
                                  at=late)


def test_suspension_pauses_the_clock(people, unit, new_order):
    wang, zhao = people["dispatcher_wang"], people["handler_zhao"]
    order = new_order()
    actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=at(2023, 7, 3, 9, 1))
    actions.dispatch(order, acting_user=wang, lead_unit=unit("杨楼镇"), at=at(2023, 7, 3, 9, 30))
    actions.sign(order, acting_user=zhao, at=at(2023, 7, 3, 10))
    before = WorkOrder.objects.get(pk=order.pk).handle_deadline
    actions.request_suspension(order, acting_user=zhao, reason="需列入年度道路改造计划", at=at(2023, 7, 4, 9))
    actions.approve_suspension(order, acting_user=wang, at=at(2023, 7, 4, 10))
    assert WorkOrder.objects.get(pk=order.pk).status == "suspended"
    actions.resume(order, acting_user=wang, at=at(2023, 7, 14, 10))
    order.refresh_from_db()
    assert order.status == "handling" and order.handle_deadline == before + dt.timedelta(days=10)


def test_dissatisfied_callback_goes_to_rework(people, unit, new_order):
    wang, zhao, zhou = people["dispatcher_wang"], people["handler_zhao"], people["supervisor_zhou"]
    order = new_order()
    actions.submit_for_dispatch(order, acting_user=people["operator_li"])
    actions.dispatch(order, acting_user=wang, lead_unit=unit("杨楼镇"))
    actions.sign(order, acting_user=zhao)
    actions.reply(order, acting_user=zhao, public_reply="已处理", solved=False)
    actions.approve_reply(order, acting_user=wang)
    with pytest.raises(WorkflowError, match="诉求合理"):
        actions.record_callback(order, acting_user=zhou, satisfaction="satisfied", solved=True, rework=True,
                                note="满意却要重办")
    actions.record_callback(order, acting_user=zhou, satisfaction="dissatisfied", solved=False, rework=True,
                            note="路面仍未修好")
    order.refresh_from_db()
    assert order.status == "handling" and order.rework_count == 1 and order.replied_at is None
    assert events(order)[-1] == "callback_rework"


def test_center_answered_order_reworks_through_dispatch(people, new_order):
    order = new_order()
    actions.coordinate(order, acting_user=people["operator_li"], answer="已联系村委会处理")
    actions.record_callback(order, acting_user=people["supervisor_zhou"], satisfaction="very_dissatisfied",
                            solved=False, rework=True, note="没人来")
    order.refresh_from_db()
    assert order.status == "awaiting_dispatch" and order.rework_count == 1


def test_intake_dispositions(people, new_order):
    li = people["operator_li"]
    first = new_order()
    actions.direct_answer(first, acting_user=li, answer="可到市政务服务中心办理")
    assert WorkOrder.objects.get(pk=first.pk).status == "awaiting_callback"
    fire = new_order(title="厂房冒烟")
    with pytest.raises(WorkflowError, match="110、119、120 或 122"):
        actions.transfer(fire, acting_user=li, target="999")
    actions.transfer(fire, acting_user=li, target="119")
    repeat = new_order()
    actions.merge(repeat, acting_user=li, into=first)
    with pytest.raises(WorkflowError, match="必须填写理由"):
        actions.not_accept(new_order(), acting_user=li, note="")
    rows = dict(WorkOrder.objects.values_list("pk", "status"))
    assert rows[fire.pk] == "closed" and rows[repeat.pk] == "merged"
    assert Event.objects.filter(order=first, action="merged_in").exists()


def test_registration_validates_input(people, unit, new_order):
    with pytest.raises(WorkflowError, match="不能为空"):
        new_order(title="  ")
    with pytest.raises(WorkflowError, match="二级或三级热点分类"):
        new_order(category=Category.objects.get(code="01"))
    with pytest.raises(WorkflowError, match="乡镇或街道"):
        new_order(town=unit("住房和城乡建设局"))
    with pytest.raises(WorkflowError, match="只有话务员"):
        new_order(acting_user=people["handler_zhao"])
    assert not WorkOrder.objects.exists()


def test_upstream_deadline_wins_when_earlier_and_numbers_are_unique(people, unit, new_order):
    pds = UpstreamPlatform.objects.get(code="pds")
    early = at(2023, 7, 5, 18, 0)
    order = new_order(source="upstream", upstream_platform=pds, upstream_number="PDS-1", upstream_deadline=early,
                      acting_user=None)
    assert order.handle_deadline == early and "上级" in order.deadline_note
    with pytest.raises(WorkflowError, match="已登记"):
        new_order(source="upstream", upstream_platform=pds, upstream_number="PDS-1", acting_user=None)
    actions.submit_for_dispatch(order, acting_user=people["dispatcher_wang"])
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"), at=at(2023, 7, 3, 10))
    assert WorkOrder.objects.get(pk=order.pk).handle_deadline == early


def test_deadline_over_national_day(people):
    from hotline.demo.defaults import load_defaults  # noqa: F401  (people fixture loaded it)
    from hotline.workorders.actions import register_order

    order = register_order(acting_user=people["operator_li"], at=at(2023, 9, 28, 15), title="咨询社保",
                           content="来电咨询社保缴费", appeal_type=AppealType.objects.get(code="consult"))
    # 1 working day for consultations: 9/29–10/6 are holidays, Saturday 10/7 is an adjusted workday.
    assert order.handle_deadline.date() == dt.date(2023, 10, 7)


def test_unknown_calendar_year_gives_a_provisional_deadline(people, new_order):
    order = new_order(at=at(2040, 12, 27, 10))
    assert "2040年节假日安排未录入" in order.deadline_note or "2041年节假日安排未录入" in order.deadline_note


def test_sweep_marks_overdue_once(people, unit, new_order):
    order = new_order()
    actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=at(2023, 7, 3, 9, 1))
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"), at=at(2023, 7, 3, 9, 30))
    assert actions.mark_overdue([order.pk], at=at(2023, 7, 5)) == 0
    assert actions.mark_overdue([order.pk], at=at(2023, 7, 20)) == 1
    assert actions.mark_overdue([order.pk], at=at(2023, 7, 21)) == 0
    assert Event.objects.filter(order=order, action="overdue").count() == 1


def test_reminder_and_supervision_are_on_the_timeline(people, unit, new_order):
    order = new_order()
    actions.submit_for_dispatch(order, acting_user=people["operator_li"])
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))
    actions.remind(order, acting_user=people["dispatcher_wang"], notice="请尽快签收")
    with pytest.raises(WorkflowError, match="派单员无权执行“督办”"):
        actions.supervise(order, acting_user=people["dispatcher_wang"], notice="督办")
    actions.supervise(order, acting_user=people["supervisor_zhou"], notice="请于两个工作日内办结")
    order.refresh_from_db()
    assert order.supervised and Reminder.objects.filter(order=order, kind="reminder").count() == 1
    assert events(order)[-2:] == ["remind", "supervise"]


def test_co_handling_units_sign_and_reply_separately(people, unit, new_order):
    wang = people["dispatcher_wang"]
    order = new_order()
    actions.submit_for_dispatch(order, acting_user=people["operator_li"])
    actions.dispatch(order, acting_user=wang, lead_unit=unit("杨楼镇"), co_units=[unit("住房和城乡建设局")])
    with pytest.raises(WorkflowError, match="不是该工单的主办单位"):
        actions.sign(order, acting_user=people["handler_sun"])
    actions.co_sign(order, acting_user=people["handler_sun"])
    actions.co_reply(order, acting_user=people["handler_sun"], public_reply="已派技术人员配合")
    assert WorkOrder.objects.get(pk=order.pk).status == "dispatched"
    co = Assignment.objects.get(order=order, role="co")
    assert co.signed_at and co.reply_public == "已派技术人员配合"
