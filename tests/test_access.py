"""Who sees what: 赵 of 杨楼镇 sees 杨楼镇's orders; 钱 of 寄料镇 must never see them."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from hotline.accounts import access
from hotline.accounts.models import AuditLog
from hotline.workorders import actions, visibility
from hotline.workorders.models import WorkOrder

pytestmark = pytest.mark.django_db


@pytest.fixture
def yanglou_order(people, unit, new_order):
    order = new_order()
    actions.submit_for_dispatch(order, acting_user=people["operator_li"])
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))
    return WorkOrder.objects.get(pk=order.pk)


def visible(user):
    return set(WorkOrder.objects.visible_to(user).values_list("number", flat=True))


def test_handlers_see_only_their_units_orders(people, yanglou_order, new_order):
    other = new_order(title="另一件未派单的工单")
    assert visible(people["handler_zhao"]) == {yanglou_order.number}
    assert visible(people["handler_qian"]) == set()
    assert visible(people["handler_sun"]) == set()
    assert visible(people["dispatcher_wang"]) == visible(people["supervisor_zhou"]) == {yanglou_order.number,
                                                                                         other.number}
    assert visible(people["auditor_wu"]) == set()


def test_missing_and_forbidden_look_the_same(people, yanglou_order):
    assert visibility.access_work_order_by_id(people["handler_zhao"], yanglou_order.number) == yanglou_order
    for key in (yanglou_order.number, yanglou_order.pk, "RZ2307-999999", 999999):
        with pytest.raises(Http404) as error:
            visibility.access_work_order_by_id(people["handler_qian"], key)
        assert str(error.value) == "工单不存在或无权查看"


def test_co_handling_unit_sees_the_order(people, unit, new_order):
    order = new_order()
    actions.submit_for_dispatch(order, acting_user=people["operator_li"])
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"),
                     co_units=[unit("寄料镇")])
    assert order.number in visible(people["handler_qian"])


def test_a_unit_keeps_seeing_an_order_it_returned_and_the_next_lead_sees_it(people, unit, yanglou_order):
    actions.request_return(yanglou_order, acting_user=people["handler_zhao"], reason="不属于本镇职责",
                           basis="三定方案")
    order = actions.approve_return(WorkOrder.objects.get(pk=yanglou_order.pk),
                                   acting_user=people["dispatcher_wang"], note="改派")
    assert order.lead_unit_id is None
    assert yanglou_order.number in visible(people["handler_zhao"])  # its earlier round
    assert yanglou_order.number not in visible(people["handler_qian"])
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("寄料镇"))
    assert yanglou_order.number in visible(people["handler_qian"])
    assert yanglou_order.number in visible(people["handler_zhao"])


def test_every_lead_unit_has_the_assignment_visibility_relies_on(people, unit, new_order):
    """``restrict_work_orders`` lets a unit see an order through its assignments alone (no OR on
    ``lead_unit``, see there); so no workflow may leave an order led by a unit without one."""
    from hotline.workorders.models import Assignment

    orders = [new_order() for _ in range(3)]
    for order in orders:
        actions.submit_for_dispatch(order, acting_user=people["operator_li"])
    actions.dispatch(orders[0], acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))
    actions.dispatch(orders[1], acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"),
                     co_units=[unit("寄料镇")])
    actions.request_return(orders[0], acting_user=people["handler_zhao"], reason="不属于本镇职责", basis="三定方案")
    actions.approve_return(WorkOrder.objects.get(pk=orders[0].pk), acting_user=people["dispatcher_wang"])
    actions.dispatch(WorkOrder.objects.get(pk=orders[0].pk), acting_user=people["dispatcher_wang"],
                     lead_unit=unit("寄料镇"))
    led = WorkOrder.objects.filter(lead_unit__isnull=False)
    assert led.count() == 2
    for order in led:
        assert Assignment.objects.filter(order=order, unit=order.lead_unit, role="lead", active=True).exists()
        handler = people["handler_zhao"] if order.lead_unit == unit("杨楼镇") else people["handler_qian"]
        assert order.number in visible(handler)


def test_the_orders_a_unit_leads_are_within_its_door_and_nobody_else_gets_any(people, unit, yanglou_order,
                                                                              new_order):
    """``led_by_unit`` (counts and page keys without the door's EXISTS) is a subset of the door,
    for the handler of the leading unit, and empty for everyone else."""
    new_order(title="未派单")
    led = visibility.led_by_unit(WorkOrder.objects.all(), people["handler_zhao"])
    assert set(led.values_list("number", flat=True)) == {yanglou_order.number}
    assert set(led.values_list("number", flat=True)) <= visible(people["handler_zhao"])
    for name in ("handler_qian", "operator_li", "dispatcher_wang", "supervisor_zhou", "auditor_wu", "admin"):
        assert not visibility.led_by_unit(WorkOrder.objects.all(), people[name]).exists(), name


def test_the_orders_of_a_units_assignments_are_within_its_door(people, unit, yanglou_order, new_order):
    """``on_unit_assignments`` narrows any assignments to the user's unit's: 钱 of 寄料镇, asking for
    every assignment there is, gets only the order it co-handles, never 杨楼镇's own."""
    from hotline.workorders.models import Assignment

    co = new_order(title="杨楼镇主办寄料镇协办")
    actions.submit_for_dispatch(co, acting_user=people["operator_li"])
    actions.dispatch(co, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"), co_units=[unit("寄料镇")])
    every = Assignment.objects.all()
    for name, expected in (("handler_qian", {co.number}), ("handler_zhao", {co.number, yanglou_order.number})):
        found = set(visibility.on_unit_assignments(WorkOrder.objects.all(), people[name], every)
                    .values_list("number", flat=True))
        assert found == expected and found <= visible(people[name]), name
    for name in ("operator_li", "dispatcher_wang", "auditor_wu"):
        assert not visibility.on_unit_assignments(WorkOrder.objects.all(), people[name], every).exists(), name


def test_operators_see_their_own_registrations_and_the_callback_and_intake_queues(people, new_order):
    mine = new_order()
    theirs = new_order(acting_user=people["dispatcher_wang"])
    # 已登记 and not taken in: the intake queue, whoever registered it (the portal, the API…).
    assert {mine.number, theirs.number} <= visible(people["operator_li"])
    actions.submit_for_dispatch(mine, acting_user=people["operator_li"])
    actions.submit_for_dispatch(theirs, acting_user=people["dispatcher_wang"])
    assert mine.number in visible(people["operator_li"]) and theirs.number not in visible(people["operator_li"])
    actions.dispatch(theirs, acting_user=people["dispatcher_wang"], lead_unit=theirs.town)
    actions.sign(theirs, acting_user=people["handler_zhao"])
    actions.reply(theirs, acting_user=people["handler_zhao"], public_reply="已修复", solved=True)
    actions.approve_reply(theirs, acting_user=people["dispatcher_wang"])
    assert theirs.number in visible(people["operator_li"])


def test_contacts_are_masked_and_every_reveal_is_audited(people, yanglou_order):
    zhao = people["handler_zhao"]
    assert access.caller_for(zhao, yanglou_order) == ("张**", "138****1234")
    assert access.reveal_contact(zhao, yanglou_order, ip="127.0.0.1") == ("张三丰", "13812341234")
    entry = AuditLog.objects.get()
    assert (entry.actor, entry.action, entry.object_id) == (zhao, "reveal_contact", yanglou_order.number)
    with pytest.raises(PermissionDenied):
        access.reveal_contact(people["auditor_wu"], yanglou_order)
    assert AuditLog.objects.count() == 1


def test_confidential_callers_are_never_shown_to_units(people, unit, new_order):
    order = new_order(confidential=True)
    actions.submit_for_dispatch(order, acting_user=people["operator_li"])
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))
    zhao = people["handler_zhao"]
    assert access.caller_for(zhao, order, revealed=True) == ("（保密）", "（保密）")
    with pytest.raises(PermissionDenied):
        access.reveal_contact(zhao, order)
    assert access.reveal_contact(people["dispatcher_wang"], order)[1] == "13812341234"


def test_masking_rules():
    from hotline.lib.masking import mask_identities, mask_name, mask_phone

    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("0375-6012345") == "037*******45"
    assert mask_name("欧阳明月") == "欧阳**" and mask_name("李") == "李*"
    assert mask_identities("回电13812341234即可") == "回电138****1234即可"
