"""Notification preferences on staff pages, not only in /admin/.

赵 of 杨楼镇 opens 通知设置 from the notification centre and asks for 督办 by SMS on his own phone: the
next 督办 of 杨楼镇 reaches him, and only the kinds the rules send a unit are offered to him (李, an
operator, is offered 待受理 only). He cannot set 钱's preferences, and what the page refuses (a
kind he is not sent, a robot channel a person has no address on, half a quiet period) is said in
Chinese and changes nothing. 王, a dispatcher, keeps 杨楼镇's SMS number, mailbox and channels;
a handler may not.
"""

import datetime as dt

import pytest
from django.urls import reverse

from hotline.accounts.models import AuditLog
from hotline.lib import clock
from hotline.notify import actions as notify_actions
from hotline.notify.models import Channel, Delivery, Kind, Preference, UnitContact
from hotline.workorders import actions

pytestmark = pytest.mark.django_db
SMS_ON = {"KANNEL_SENDSMS_URL": "http://127.0.0.1:9/cgi-bin/sendsms", "EMAIL_ENABLED": True}


@pytest.fixture
def as_user(client, people):
    def login(username):
        client.force_login(people[username])
        return client
    return login


@pytest.fixture
def handling(people, unit, new_order):
    order = new_order()
    actions.submit_for_dispatch(order, acting_user=people["operator_li"])
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))
    return actions.sign(order, acting_user=people["handler_zhao"])


def prefs(user):
    return {p.kind: p.channels() for p in Preference.objects.filter(user=user)}


def test_the_centre_links_to_a_page_offering_the_kinds_the_rules_send(as_user):
    zhao = as_user("handler_zhao")
    centre = zhao.get(reverse("notifications")).content.decode()
    assert reverse("notification_preferences") in centre
    assert reverse("unit_contacts") not in centre  # a unit's addresses are the centre's to keep
    body = zhao.get(reverse("notification_preferences")).content.decode()
    for label in ("新派单", "催办", "督办", "超期提醒"):
        assert f"<td>{label}" in body
    assert "待受理" not in body and "企业微信" not in body  # robots are a unit's, not a person's
    li = as_user("operator_li").get(reverse("notification_preferences")).content.decode()
    assert 'data-kind="to_take_in"' in li and 'data-kind="supervision"' not in li


def test_a_handler_chooses_sms_for_supervision_and_the_next_supervision_reaches_his_phone(
        as_user, people, handling, settings):
    settings.HOTLINE_NOTIFY = {**settings.HOTLINE_NOTIFY, **SMS_ON}
    zhao = people["handler_zhao"]
    zhao.phone, zhao.email = "13700001111", "zhao@example.cn"
    zhao.save(update_fields=["phone", "email"])
    page = as_user("handler_zhao")
    response = page.post(reverse("notification_preferences"), {
        "ch_supervision": ["sms"], "ch_dispatched": ["email"], "quiet_from": "22:00", "quiet_until": "07:00"})
    assert response.status_code == 302
    assert prefs(zhao)["supervision"] == {"sms"} and prefs(zhao)["dispatched"] == {"email"}
    assert prefs(zhao)["reminder"] == set()
    assert AuditLog.objects.filter(actor=zhao, detail__what="修改通知偏好").exists()
    shown = page.get(reverse("notification_preferences")).content.decode()
    assert 'name="ch_supervision" value="sms" checked' in shown and 'value="22:00"' in shown

    actions.supervise(handling, acting_user=people["supervisor_zhou"], notice="请三日内书面反馈整改情况")
    mine = Delivery.objects.filter(user=zhao, kind=Kind.SUPERVISION)
    assert [(d.channel, d.address) for d in mine] == [(Channel.SMS, "13700001111")]
    assert "督办" in mine[0].body and handling.number in mine[0].body
    # 催办 was left unticked: nothing for 赵 himself (the unit's own channels still apply).
    actions.remind(handling, acting_user=people["supervisor_zhou"], notice="请加快办理")
    assert not Delivery.objects.filter(user=zhao, kind=Kind.REMINDER).exists()


def test_nobody_sets_another_persons_preferences(as_user, people):
    zhao, qian = people["handler_zhao"], people["handler_qian"]
    with pytest.raises(notify_actions.PreferenceError, match="只能修改自己的通知偏好"):
        notify_actions.set_preferences(user=qian, channels={"supervision": {"sms"}}, acting_user=zhao)
    # The page has no way to name anyone: a forged field changes 赵's own settings, never 钱's.
    as_user("handler_zhao").post(reverse("notification_preferences"),
                                 {"user": qian.pk, "recipient": qian.pk, "ch_supervision": ["sms"]})
    assert prefs(qian) == {} and prefs(zhao)["supervision"] == {"sms"}


@pytest.mark.parametrize("data, error", [
    ({"ch_to_review": ["sms"]}, "不能设置“待审核”的通知方式"),
    ({"ch_supervision": ["wecom"]}, "选择一个有效的选项"),
    ({"ch_supervision": ["sms"], "quiet_from": "22:00"}, "免打扰时段须同时填写开始和结束时间"),
    ({"ch_supervision": ["sms"], "quiet_from": "25:61", "quiet_until": "07:00"}, "输入一个有效的时间"),
])
def test_bad_input_is_refused_in_chinese_and_changes_nothing(as_user, people, data, error):
    zhao = people["handler_zhao"]
    notify_actions.set_preferences(user=zhao, channels={"dispatched": {"email"}}, acting_user=zhao)
    before = prefs(zhao)
    response = as_user("handler_zhao").post(reverse("notification_preferences"), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert prefs(zhao) == before


def test_the_action_refuses_a_kind_the_rules_do_not_send_even_without_the_page(people):
    li = people["operator_li"]
    with pytest.raises(notify_actions.PreferenceError, match="规则不向您发送此类通知"):
        notify_actions.set_preferences(user=li, channels={"supervision": {"sms"}}, acting_user=li)
    assert prefs(li) == {}


def test_a_dispatcher_keeps_a_units_addresses_and_channels(as_user, people, unit, handling, settings):
    settings.HOTLINE_NOTIFY = {**settings.HOTLINE_NOTIFY, **SMS_ON}
    yanglou = unit("杨楼镇")
    wang = as_user("dispatcher_wang")
    listing = wang.get(reverse("unit_contacts")).content.decode()
    assert reverse("unit_contact", args=[yanglou.pk]) in listing
    form = wang.get(reverse("unit_contact", args=[yanglou.pk])).content.decode()
    assert 'name="ch_supervision" value="sms" checked' in form  # the defaults, as emit reads them
    response = wang.post(reverse("unit_contact", args=[yanglou.pk]), {
        "sms_phone": "+86 139-0000-2222", "email": "ylz@example.cn",
        "wecom_webhook": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc",
        "ch_supervision": ["sms", "wecom"], "ch_reminder": ["email"]})
    assert response.status_code == 302
    contact = UnitContact.objects.get(unit=yanglou)
    assert (contact.sms_phone, contact.email) == ("13900002222", "ylz@example.cn")
    rows = {p.kind: p.channels() for p in Preference.objects.filter(unit=yanglou)}
    assert rows["supervision"] == {"sms", "wecom"} and rows["reminder"] == {"email"} and rows["dispatched"] == set()
    log = AuditLog.objects.filter(actor=people["dispatcher_wang"], detail__what="修改单位通知联系方式").get()
    assert "13900002222" not in str(log.detail)  # which addresses changed, not their values

    actions.supervise(handling, acting_user=people["supervisor_zhou"], notice="请书面反馈")
    sent = {(d.channel, d.address) for d in Delivery.objects.filter(unit=yanglou, kind=Kind.SUPERVISION)}
    assert sent == {(Channel.SMS, "13900002222"), (Channel.WECOM, contact.wecom_webhook)}


@pytest.mark.parametrize("field, value, error", [
    ("sms_phone", "0375-6012345", "短信号码须为手机号"),
    ("sms_phone", "电话13900002222", "不是电话号码"),
    ("email", "not-an-address", "有效的"),
    ("wecom_webhook", "ftp://robot.example/x", "机器人地址须以 https:// 开头"),
])
def test_a_bad_unit_address_is_refused_in_chinese_and_changes_nothing(as_user, people, unit, field, value, error):
    yanglou = unit("杨楼镇")
    UnitContact.objects.create(unit=yanglou, sms_phone="13900003333")
    data = {"sms_phone": "13900004444", "ch_supervision": ["sms"], field: value}
    response = as_user("dispatcher_wang").post(reverse("unit_contact", args=[yanglou.pk]), data)
    assert response.status_code == 400 and error in response.content.decode()
    assert UnitContact.objects.get(unit=yanglou).sms_phone == "13900003333"
    assert not Preference.objects.filter(unit=yanglou).exists()


@pytest.mark.parametrize("username", ["handler_zhao", "operator_li", "auditor_wu"])
def test_only_dispatchers_and_admins_keep_unit_addresses(as_user, people, unit, username):
    yanglou = unit("杨楼镇")
    page = as_user(username)
    assert page.get(reverse("unit_contacts")).status_code == 403
    response = page.post(reverse("unit_contact", args=[yanglou.pk]), {"sms_phone": "13900005555"})
    assert response.status_code == 403
    assert not UnitContact.objects.filter(unit=yanglou).exists()
    with pytest.raises(notify_actions.PreferenceError):
        notify_actions.set_unit_contact(yanglou, sms_phone="13900005555", email="", wecom_webhook="",
                                        dingtalk_webhook="", dingtalk_secret="", acting_user=people[username])
    assert as_user("admin").get(reverse("unit_contacts")).status_code == 200


def test_quiet_hours_hold_a_personal_message_until_morning(people, handling, settings):
    import time_machine

    settings.HOTLINE_NOTIFY = {**settings.HOTLINE_NOTIFY, **SMS_ON}
    wang = people["dispatcher_wang"]
    wang.email = "wang@example.cn"
    wang.save(update_fields=["email"])
    notify_actions.set_preferences(user=wang, channels={"to_review": {"email"}}, quiet_from=dt.time(22),
                                   quiet_until=dt.time(7), acting_user=wang)
    night = (clock.local(clock.now()) + dt.timedelta(days=1)).replace(hour=23, minute=30, second=0, microsecond=0)
    with time_machine.travel(night, tick=False):
        actions.reply(handling, acting_user=people["handler_zhao"], public_reply="已修复路面坑洼。",
                      is_true="true", solved=True)
    row = Delivery.objects.get(user=wang, kind=Kind.TO_REVIEW)
    assert row.next_attempt_at == (night + dt.timedelta(days=1)).replace(hour=7, minute=0)
