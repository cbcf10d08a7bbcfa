"""Repeat governance (国办函〔2025〕66号: 重复诉求原则上并单处理), on Sunday 2023-07-30 late at night.

张三丰 of 杨楼镇 called about a broken village road; the order was closed on 07-10. On 07-30 he
calls again: "still not repaired". The repeat is never merged into the closed order (where it
would disappear); by policy it becomes a linked 重办 order for dispatch, or the closed order is
reopened and the call merged into it. Callers merged into an order hear when it closes.
"""

import datetime as dt

import pytest
import time_machine

from hotline.workorders import actions
from hotline.workorders.models import Event, WorkOrder
from hotline.workorders.workflow import WorkflowError, replay
from tests.conftest import at

pytestmark = pytest.mark.django_db
NOW = at(2023, 7, 30, 23, 40)
CLOSED_ON = at(2023, 7, 10, 16, 0)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def _closed(new_order, people, unit, *, closed_on=CLOSED_ON):
    """The first order, dispatched to 杨楼镇, answered and closed on ``closed_on`` after callback."""
    order = new_order(at=at(2023, 7, 3, 9, 0))
    t = order.received_at
    actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=t)
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"), at=t)
    actions.sign(order, acting_user=people["handler_zhao"], at=t + dt.timedelta(hours=1))
    actions.reply(order, acting_user=people["handler_zhao"], public_reply="已修补路面。", solved=True,
                  at=t + dt.timedelta(days=2))
    actions.approve_reply(order, acting_user=people["dispatcher_wang"], at=t + dt.timedelta(days=2, hours=1))
    actions.record_callback(order, acting_user=people["operator_li"], satisfaction="satisfied", solved=True,
                            at=closed_on)
    order.refresh_from_db()
    assert order.status == "closed"
    return order


def _timeline(order):
    return [(e.action, e.from_status, e.to_status, e.data)
            for e in Event.objects.filter(order=order).order_by("at", "id")]


def test_a_closed_order_is_never_a_merge_target(frozen, new_order, people, unit):
    first = _closed(new_order, people, unit)
    again = new_order(at=None, title="村内道路仍未修好")
    with pytest.raises(WorkflowError, match="不能并入已办结的工单.*重复诉求重办"):
        actions.merge(again, acting_user=people["operator_li"], into=first)
    again.refresh_from_db()
    assert again.status == "received" and not again.is_repeat
    assert not Event.objects.filter(order=first, action="merged_in").exists()


def test_a_repeat_within_the_window_becomes_a_linked_rework(frozen, new_order, people, unit):
    first = _closed(new_order, people, unit)
    again = new_order(at=None, title="村内道路仍未修好")
    actions.repeat_closed(again, acting_user=people["operator_li"], of=first)
    again.refresh_from_db()
    first.refresh_from_db()
    assert again.status == "awaiting_dispatch" and again.is_repeat and again.repeat_of == first
    assert again.disposition == "dispatch" and again.merged_into is None
    assert first.status == "closed" and first.closed_at == at(2023, 7, 10, 16, 0)  # July's figures stay
    noted = Event.objects.get(order=first, action="repeat_noted")
    assert noted.data == {"repeat": again.number}
    # Both timelines are explained by the transition table.
    assert replay(_timeline(again)).status == "awaiting_dispatch"
    assert replay(_timeline(first)).status == "closed"
    # The linked order is dispatched like any other.
    actions.dispatch(again, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))


def test_reopen_policy_reopens_the_order_and_merges_the_call(frozen, new_order, people, unit, settings):
    settings.HOTLINE = {**settings.HOTLINE, "REPEAT_POLICY": "reopen"}
    first = _closed(new_order, people, unit)
    again = new_order(at=None, title="村内道路仍未修好")
    actions.repeat_closed(again, acting_user=people["operator_li"], of=first)
    again.refresh_from_db()
    first.refresh_from_db()
    assert first.status == "awaiting_dispatch" and first.closed_at is None and first.rework_count == 1
    assert first.lead_unit is None and not first.assignments.filter(active=True).exists()
    assert again.status == "merged" and again.merged_into == first
    assert replay(_timeline(first)).status == "awaiting_dispatch"
    assert replay(_timeline(again)).status == "merged"
    actions.dispatch(first, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))


def test_outside_the_window_it_is_a_new_appeal(new_order, people, unit, settings):
    settings.HOTLINE = {**settings.HOTLINE, "REPEAT_WINDOW_DAYS": 15}
    first = _closed(new_order, people, unit)
    with time_machine.travel(at(2023, 7, 26, 8, 0), tick=False):  # 15 days and 16 hours after closing
        again = new_order(at=None)
        with pytest.raises(WorkflowError, match="办结已超过 15 天"):
            actions.repeat_closed(again, acting_user=people["operator_li"], of=first)
    again.refresh_from_db()
    assert again.status == "received" and again.repeat_of is None


def test_an_open_order_is_merged_not_reworked(frozen, new_order, people, unit):
    open_one = new_order(at=None)
    again = new_order(at=None)
    with pytest.raises(WorkflowError, match="未办结，重复诉求请直接并单"):
        actions.repeat_closed(again, acting_user=people["operator_li"], of=open_one)


def test_repeat_rate_counts_merged_and_linked_repeats(frozen, new_order, people, unit):
    from hotline.analytics.stats import period_statistics

    first = _closed(new_order, people, unit)
    again = new_order(at=None, title="村内道路仍未修好")
    actions.repeat_closed(again, acting_user=people["operator_li"], of=first)
    target = new_order(at=None, title="路灯不亮")
    dup = new_order(at=None, title="路灯不亮")
    actions.merge(dup, acting_user=people["operator_li"], into=target)
    stats = period_statistics(dt.date(2023, 7, 1), dt.date(2023, 7, 31))
    assert stats.repeats == 2 and stats.grand_total == 4
    assert (stats.repeat_rate.numerator, stats.repeat_rate.denominator) == (2, 4)


def test_merged_callers_hear_when_the_main_order_closes(frozen, new_order, people, unit, settings):
    from hotline.notify.models import Delivery, Kind

    settings.HOTLINE_NOTIFY = {**settings.HOTLINE_NOTIFY, "KANNEL_SENDSMS_URL": "http://127.0.0.1:9/cgi-bin/sendsms"}
    main = new_order(at=None, caller_phone="13812341234")
    dup = new_order(at=None, caller_phone="13900002222", caller_name="李四")
    secret = new_order(at=None, caller_phone="13900003333", confidential=True)
    actions.merge(dup, acting_user=people["operator_li"], into=main)
    actions.merge(secret, acting_user=people["operator_li"], into=main)
    assert not Delivery.objects.filter(kind=Kind.MERGED_CLOSED).exists()
    actions.coordinate(main, acting_user=people["operator_li"], answer="已协调供电公司修复。")
    actions.record_callback(main, acting_user=people["operator_li"], satisfaction="satisfied", solved=True)
    told = list(Delivery.objects.filter(kind=Kind.MERGED_CLOSED))
    assert [(d.address, d.order_id) for d in told] == [("13900002222", dup.pk)]  # not the confidential caller
    assert dup.number in told[0].body and f"/portal/track/{dup.number}/" in told[0].body
    assert main.number not in told[0].body


def test_the_intake_shows_text_similar_orders_and_takes_the_repeat_in(frozen, client, new_order, people, unit):
    """李 types the complaint (a new phone number, so not a same-caller repeat): the closed order
    with the same words is offered as a 重办, not a merge, and saving it links the two."""
    from django.urls import reverse

    from hotline.catalog.models import AppealType

    first = _closed(new_order, people, unit)
    client.force_login(people["operator_li"])
    page = client.get(reverse("intake_lookup"), {"caller_phone": "13600001111", "title": first.title,
                                                 "content": first.content}).content.decode()
    assert "内容相似的近期工单" in page and f'data-repeat-of="{first.number}"' in page
    assert f'data-merge-into="{first.number}"' not in page
    response = client.post(reverse("intake"), {
        "caller_phone": "13600001111", "caller_name": "王五", "source": "phone", "urgency": "normal",
        "town": unit("杨楼镇").pk, "appeal_type": AppealType.objects.get(code="problem").pk,
        "category": "农村管理—人居环境", "title": "道路仍然破损", "content": first.content,
        "disposition": "repeat_rework", "repeat_of": first.number, "answer": ""})
    assert response.status_code == 302
    linked = WorkOrder.objects.get(title="道路仍然破损")
    assert linked.repeat_of == first and linked.status == "awaiting_dispatch" and linked.is_repeat
    assert linked.merged_into is None and not Event.objects.filter(order=first, action="merged_in").exists()
    first.refresh_from_db()
    assert first.status == "closed" and Event.objects.filter(order=first, action="repeat_noted").count() == 1


def test_the_intake_and_the_order_page_refuse_a_merge_into_a_closed_order(frozen, client, new_order, people, unit):
    """The paths production takes to a merge — 并单 at intake, 并单 on a registered order's page —
    refuse a closed target with the way to the 重办; nothing is registered, merged or changed."""
    from django.urls import reverse

    from hotline.catalog.models import AppealType

    first = _closed(new_order, people, unit)
    client.force_login(people["operator_li"])
    form = {"caller_phone": "13600001111", "caller_name": "王五", "source": "phone", "urgency": "normal",
            "town": unit("杨楼镇").pk, "appeal_type": AppealType.objects.get(code="problem").pk,
            "category": "农村管理—人居环境", "title": "道路仍然破损", "content": first.content, "answer": ""}
    page = client.post(reverse("intake"), {**form, "disposition": "merge", "merge_into": first.number})
    assert page.status_code == 200 and "不能并入已办结的工单" in page.content.decode()
    assert not WorkOrder.objects.filter(title="道路仍然破损").exists()  # registration and disposition are one
    again = new_order(at=None, title="村内道路仍未修好")
    page = client.post(reverse("order_action", args=[again.number, "merge"]), {"into": first.number, "note": ""})
    assert page.status_code == 200 and "不能并入已办结的工单" in page.content.decode()
    again.refresh_from_db()
    first.refresh_from_db()
    assert again.status == "received" and again.merged_into is None
    assert first.status == "closed" and not Event.objects.filter(order=first, action="merged_in").exists()
