"""Who hears about what: notifications and outbox rows written with the event that causes them.

The story, late on Friday 2023-07-07 at 23:50 (an awkward local time: UTC is still in the
afternoon): operator 李 registers a call from 杨楼镇, dispatcher 王 dispatches it, handler 赵 of
杨楼镇 hears of it (钱 of 寄料镇 does not), the unit's contact phone gets an SMS, the citizen a
receipt. Nothing is told about history being replayed, and a refused action leaves nothing.
"""

import datetime as dt
import logging

import pytest
import time_machine
from django.db import transaction

from hotline.catalog.models import Source
from hotline.notify import actions as notify_actions
from hotline.notify import rules
from hotline.notify.emit import notify_users
from hotline.notify.models import Delivery, Kind, Notification, Preference, UnitContact
from hotline.workorders import actions
from hotline.workorders.models import Event
from hotline.workorders.workflow import WorkflowError
from tests.conftest import at

NOW = at(2023, 7, 7, 23, 50)
SMS_ON = {"KANNEL_SENDSMS_URL": "http://127.0.0.1:9/cgi-bin/sendsms"}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def sms_on(settings):
    settings.HOTLINE_NOTIFY = {**settings.HOTLINE_NOTIFY, **SMS_ON}


@pytest.fixture
def dispatched(frozen, new_order, people, unit):
    order = new_order(at=None)
    actions.submit_for_dispatch(order, acting_user=people["operator_li"])
    return actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))


def titles(user):
    return list(Notification.objects.for_user(user).values_list("title", flat=True))


def test_the_lead_unit_hears_of_a_dispatch_and_the_other_town_does_not(dispatched, people):
    zhao, qian = people["handler_zhao"], people["handler_qian"]

    assert titles(zhao) == [f"新工单 {dispatched.number} 待签收"]
    note = Notification.objects.get(recipient=zhao)
    assert note.order == dispatched and note.kind == Kind.DISPATCHED and note.read_at is None
    assert note.url == f"/orders/{dispatched.number}/" and note.event.action == "dispatch"
    assert "07月08日" in note.body or "07月" in note.body  # the deadline in local time
    assert titles(qian) == []
    # An operator on the phone registered it herself: no "to take in" notice for operators.
    assert titles(people["operator_li"]) == []


def test_a_refused_action_leaves_no_notification(frozen, new_order, people, unit):
    order = new_order(at=None)
    with pytest.raises(WorkflowError):
        actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))  # not submitted
    with pytest.raises(RuntimeError), transaction.atomic():
        actions.submit_for_dispatch(order, acting_user=people["operator_li"])
        actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))
        assert Notification.objects.filter(recipient=people["handler_zhao"]).count() == 1
        raise RuntimeError("the caller's transaction fails after the dispatch")
    assert not Notification.objects.exists()


def test_history_replayed_tells_nobody(new_order, people, unit, sms_on):
    with time_machine.travel(NOW, tick=False):
        order = new_order(at=NOW - dt.timedelta(days=3))  # an import of last Tuesday's order
        actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=NOW - dt.timedelta(days=3))
        actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"),
                         at=NOW - dt.timedelta(days=3))
    assert not Notification.objects.exists() and not Delivery.objects.exists()


def test_a_portal_submission_asks_the_operators_to_take_it_in(frozen, new_order, people, sms_on):
    order = new_order(acting_user=None, at=None, source=Source.WEB)

    for name in ("operator_li",):
        assert titles(people[name]) == [f"待受理：工单 {order.number}（网站）"]
    assert titles(people["dispatcher_wang"]) == []
    receipt = Delivery.objects.get(order=order)
    assert (receipt.channel, receipt.kind, receipt.recipient_kind) == ("sms", Kind.RECEIPT, "citizen")
    assert receipt.address == "13812341234" and receipt.status == Delivery.Status.PENDING
    assert order.number in receipt.body and f"/portal/track/{order.number}/" in receipt.body
    assert "张三丰" not in receipt.body and "道路" not in receipt.body  # nothing but number and link
    assert receipt.next_attempt_at == NOW


@pytest.mark.parametrize("overrides", [{"confidential": True}, {"caller_phone": "0375-6812345"},
                                       {"caller_phone": ""}])
def test_no_receipt_for_confidential_orders_or_landlines(frozen, new_order, sms_on, overrides):
    new_order(at=None, **overrides)
    assert not Delivery.objects.exists()


def test_no_outbound_rows_while_a_channel_has_no_gateway(frozen, new_order):
    new_order(at=None)  # SMS not configured (the demo): in-app only
    assert not Delivery.objects.exists()


def test_supervision_reaches_the_units_contact_by_sms_robot_and_email(dispatched, people, unit, sms_on, settings):
    settings.HOTLINE_NOTIFY = {**settings.HOTLINE_NOTIFY, "EMAIL_ENABLED": True}
    yanglou = unit("杨楼镇")
    yanglou.contact_phone = "13700008888"
    yanglou.save(update_fields=["contact_phone"])
    UnitContact.objects.create(unit=yanglou, email="ylz@example.gov.cn", wecom_webhook="https://qyapi.example/x?key=k")
    actions.supervise(dispatched, acting_user=people["supervisor_zhou"], notice="群众反映强烈，请于两日内落实")

    rows = {d.channel: d for d in Delivery.objects.filter(kind=Kind.SUPERVISION)}
    assert set(rows) == {"sms", "email", "wecom"}
    assert rows["sms"].address == "13700008888" and rows["sms"].unit == yanglou
    assert "督办" in rows["sms"].body and dispatched.number in rows["sms"].body and "群众反映强烈" in rows["sms"].body
    assert rows["email"].subject == f"督办：工单 {dispatched.number}"
    assert f"督办：工单 {dispatched.number}" in titles(people["handler_zhao"])


def test_preferences_choose_channels_and_quiet_hours_hold_messages(dispatched, people, unit, sms_on):
    yanglou = unit("杨楼镇")
    yanglou.contact_phone = "13700008888"
    yanglou.save(update_fields=["contact_phone"])
    # 杨楼镇 wants reminders by SMS but not between 22:00 and 07:30; near-due by nothing but in-app.
    Preference.objects.create(unit=yanglou, kind=Kind.REMINDER, sms=True, quiet_from=dt.time(22, 0),
                              quiet_until=dt.time(7, 30))
    actions.remind(dispatched, acting_user=people["supervisor_zhou"], notice="请尽快办理")
    reminder = Delivery.objects.get(kind=Kind.REMINDER)
    assert reminder.next_attempt_at == at(2023, 7, 8, 7, 30)
    # 督办 is never held.
    actions.supervise(dispatched, acting_user=people["supervisor_zhou"], notice="请落实")
    assert Delivery.objects.get(kind=Kind.SUPERVISION).next_attempt_at == NOW


def test_dispatchers_review_what_units_ask_and_units_hear_the_decision(dispatched, people, unit):
    zhao, wang = people["handler_zhao"], people["dispatcher_wang"]
    actions.sign(dispatched, acting_user=zhao)
    actions.request_extension(dispatched, acting_user=zhao, new_deadline=NOW + dt.timedelta(days=20),
                              reason="需协调多个部门")
    assert f"待审核：工单 {dispatched.number} 申请延期" in titles(wang)
    actions.approve_extension(dispatched, acting_user=wang, note="同意")
    assert f"工单 {dispatched.number}：延期申请已同意" in titles(zhao)
    actions.reply(dispatched, acting_user=zhao, public_reply="已修复", solved=True)
    assert f"待审核：工单 {dispatched.number} 已回复" in titles(wang)
    actions.send_back(dispatched, acting_user=wang, note="请补充照片")
    assert f"工单 {dispatched.number} 被退回重办" in titles(zhao)


def test_the_sweep_tells_the_unit_once_per_overdue_order(dispatched, people):
    dispatched.handle_deadline = NOW - dt.timedelta(hours=1)
    dispatched.save(update_fields=["handle_deadline"])
    assert actions.mark_overdue([dispatched.pk]) == 1
    assert actions.mark_overdue([dispatched.pk]) == 0
    assert titles(people["handler_zhao"]).count(f"工单 {dispatched.number} 已超期") == 1


def test_the_answer_reaches_the_citizen_with_the_rating_link(frozen, new_order, people, sms_on):
    order = new_order(at=None)
    actions.direct_answer(order, acting_user=people["operator_li"], answer="办理地点在市民之家三楼")
    answered = Delivery.objects.get(kind=Kind.ANSWERED)
    assert f"/portal/track/{order.number}/" in answered.body and order.number in answered.body


def test_one_row_per_recipient_event_and_channel(dispatched, people, sms_on):
    event = Event.objects.get(order=dispatched, action="register")
    from hotline.notify.emit import on_events_recorded

    on_events_recorded(Event, events=[event])  # the same event again (a retried sweep)
    on_events_recorded(Event, events=[event])
    assert Delivery.objects.filter(event=event).count() == 1
    assert Notification.objects.filter(event__order=dispatched, recipient=people["handler_zhao"]).count() == 1


def test_the_supervision_failed_rule_is_one_line_in_the_table():
    assert rules.RULES["supervision_failed"][0].kind == Kind.SUPERVISION_FAILED
    assert rules.SUPERVISORS in rules.RULES["supervision_failed"][0].audiences


def test_reading_marks_only_ones_own(dispatched, people):
    zhao, wang = people["handler_zhao"], people["dispatcher_wang"]
    notify_users([wang.pk], kind=Kind.TO_REVIEW, title="测试", order=dispatched)
    mine = Notification.objects.get(recipient=zhao)
    theirs = Notification.objects.get(recipient=wang)
    assert notify_actions.mark_read(zhao, [mine.pk, theirs.pk]) == 1
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert Notification.objects.for_user(zhao).unread().count() == 0


def test_no_phone_number_in_the_logs(frozen, new_order, sms_on, caplog):
    caplog.set_level(logging.DEBUG)
    new_order(at=None)
    assert "13812341234" not in caplog.text and "1381234" not in caplog.text


def test_the_admin_lists_the_outbox_with_masked_addresses(frozen, new_order, sms_on, client, people):
    order = new_order(at=None)
    client.force_login(people["admin"])
    page = client.get("/admin/notify/delivery/").content.decode()
    assert "138****1234" in page and "13812341234" not in page
    row = Delivery.objects.get(order=order)
    detail = client.get(f"/admin/notify/delivery/{row.pk}/change/").content.decode()
    assert "13812341234" not in detail


def test_the_link_paths_are_the_urlconfs():
    from django.urls import reverse

    from hotline.notify.channels import DLR_PATH
    from hotline.notify.emit import ORDER_PATH, TRACK_PATH

    assert DLR_PATH == reverse("notify:dlr")
    assert ORDER_PATH.format(number="RZ2307-000001") == reverse("order_detail", args=["RZ2307-000001"])
    assert TRACK_PATH.format(number="RZ2307-000001") == reverse("portal:track_detail", args=["RZ2307-000001"])
