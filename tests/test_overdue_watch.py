"""The SLA sweep's watch list (``OverdueWatch``) follows each order through its life.

The sweep finds its overdue and near-due orders on the list, and stamps without writing the order's
row, so the list must say at every moment what the orders and their events say: every order a unit
holds, with a deadline, not yet stamped overdue, at that deadline — and nothing else. Each step
below is an action a person or the sweep takes; after each, the list is compared with that
definition (``actions.watched_orders``) and with what the step should have done to it.
Runs on SQLite and on PostgreSQL (DATABASE_URL=postgres://…).
"""

import datetime as dt

import pytest
import time_machine

from hotline.workorders import actions, queries, tasks
from hotline.workorders.models import OverdueWatch, WorkOrder
from tests.conftest import at

pytestmark = pytest.mark.django_db


def watched() -> dict[int, dt.datetime]:
    """The list (order: deadline), checked against its definition, statuses too, on the way."""
    listed = {pk: (d, s) for pk, d, s in OverdueWatch.objects.values_list("order_id", "handle_deadline", "status")}
    assert listed == {pk: (d, s) for pk, d, s in actions.watched_orders().values_list("pk", "handle_deadline", "status")}
    return {pk: d for pk, (d, _) in listed.items()}


def deadline(order) -> dt.datetime:
    return WorkOrder.objects.values_list("handle_deadline", flat=True).get(pk=order.pk)


def test_the_list_follows_an_order_from_dispatch_to_close(people, unit, new_order):
    li, wang, zhao, qian, zhou = (people[n] for n in ("operator_li", "dispatcher_wang", "handler_zhao",
                                                        "handler_qian", "supervisor_zhou"))
    order = new_order()
    actions.submit_for_dispatch(order, acting_user=li, at=at(2023, 7, 3, 9, 5))
    assert watched() == {}  # not with a unit yet
    actions.dispatch(order, acting_user=wang, lead_unit=unit("杨楼镇"), at=at(2023, 7, 3, 10))
    assert watched() == {order.pk: deadline(order)}
    actions.sign(order, acting_user=zhao, at=at(2023, 7, 3, 11))
    assert watched() == {order.pk: deadline(order)}

    # An extension moves the watched deadline with it.
    new = deadline(order) + dt.timedelta(days=7)
    actions.request_extension(order, acting_user=zhao, new_deadline=new, reason="需协调施工队", at=at(2023, 7, 5, 9))
    actions.approve_extension(order, acting_user=wang, at=at(2023, 7, 5, 11))
    assert watched() == {order.pk: new}

    # Returned to the center: off the list; dispatched again to another unit: on it, new deadline.
    actions.request_return(order, acting_user=zhao, reason="地点在寄料镇辖区", basis="属地管理", at=at(2023, 7, 5, 12))
    assert watched() == {order.pk: new}  # 申请退回: the unit still holds it while the center decides
    actions.approve_return(order, acting_user=wang, note="同意", at=at(2023, 7, 5, 13))
    assert watched() == {}
    actions.dispatch(order, acting_user=wang, lead_unit=unit("寄料镇"), at=at(2023, 7, 5, 14))
    assert watched() == {order.pk: deadline(order)} and deadline(order) != new

    # The sweep after the deadline stamps it once and takes it off for good.
    actions.sign(order, acting_user=qian, at=at(2023, 7, 5, 15))
    late = deadline(order) + dt.timedelta(minutes=1)
    assert tasks.run_sweep(late)["overdue"] == 1
    assert watched() == {} and queries.overdue_stamp(order) == late
    # Replied, sent back for rework, replied again: a stamped order never comes back on the list,
    # so no later sweep stamps it twice.
    actions.reply(order, acting_user=qian, public_reply="已修补。", is_true="true", solved=True,
                  at=late + dt.timedelta(hours=1))
    actions.send_back(order, acting_user=wang, note="照片不清楚", at=late + dt.timedelta(hours=2))
    assert watched() == {}
    assert tasks.run_sweep(late + dt.timedelta(days=30))["overdue"] == 0
    actions.reply(order, acting_user=qian, public_reply="已修补，附照片。", is_true="true", solved=True,
                  at=late + dt.timedelta(hours=3))
    actions.approve_reply(order, acting_user=wang, at=late + dt.timedelta(hours=4))
    actions.record_callback(order, acting_user=zhou, satisfaction="satisfied", solved=True,
                            at=late + dt.timedelta(hours=5))
    assert WorkOrder.objects.get(pk=order.pk).status == "closed" and watched() == {}


def test_a_suspension_takes_the_order_off_and_its_resumption_puts_it_back_later(people, unit, new_order):
    wang, zhao = people["dispatcher_wang"], people["handler_zhao"]
    order = new_order()
    actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=at(2023, 7, 3, 9, 5))
    actions.dispatch(order, acting_user=wang, lead_unit=unit("杨楼镇"), at=at(2023, 7, 3, 10))
    actions.sign(order, acting_user=zhao, at=at(2023, 7, 3, 11))
    before = deadline(order)
    actions.request_suspension(order, acting_user=zhao, reason="等待法院判决", basis="诉讼中", at=at(2023, 7, 4, 9))
    actions.approve_suspension(order, acting_user=wang, at=at(2023, 7, 4, 10))
    assert watched() == {}  # the clock is paused: no overdue stamp while suspended
    actions.resume(order, acting_user=wang, at=at(2023, 7, 6, 10))
    assert watched() == {order.pk: before + dt.timedelta(days=2)}


def test_orders_the_center_settles_never_join_the_list(people, unit, new_order):
    li, wang = people["operator_li"], people["dispatcher_wang"]
    kept, repeat, answered = new_order(), new_order(title="同一段路又坏了"), new_order(title="咨询公积金提取")
    actions.submit_for_dispatch(kept, acting_user=li, at=at(2023, 7, 3, 9, 5))
    actions.dispatch(kept, acting_user=wang, lead_unit=unit("杨楼镇"), at=at(2023, 7, 3, 10))
    actions.merge(repeat, acting_user=li, into=kept, note="同一诉求", at=at(2023, 7, 3, 10, 30))
    actions.direct_answer(answered, acting_user=li, answer="可在网上办理。", at=at(2023, 7, 3, 10, 40))
    assert watched() == {kept.pk: deadline(kept)}


def test_the_sweep_writes_no_order_row(people, unit, new_order):
    """A stamp and an automatic 催办 are rows of their own (the ``overdue`` event, the reminder): the
    order's own row, ``updated_at`` included, is what it was before the sweep."""
    wang = people["dispatcher_wang"]
    near, late = new_order(), new_order(title="路灯不亮")
    for order, due in ((near, at(2023, 7, 6, 18)), (late, at(2023, 7, 4, 18))):
        actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=at(2023, 7, 3, 9, 5))
        actions.dispatch(order, acting_user=wang, lead_unit=unit("杨楼镇"), handle_deadline=due,
                         at=at(2023, 7, 3, 10))
    rows = list(WorkOrder.objects.order_by("pk").values())
    with time_machine.travel(at(2023, 7, 6, 9), tick=False):
        swept = tasks.run_sweep()
    assert swept["overdue"] == 1 and swept["near_due"] == 1 and swept["auto_remind"] == 1
    assert list(WorkOrder.objects.order_by("pk").values()) == rows
    assert set(watched()) == {near.pk}
    page = queries.order_page(people["dispatcher_wang"], WorkOrder.objects.get(pk=near.pk))
    assert page["reminder_count"] == 1 and page["overdue_at"] is None
    page = queries.order_page(people["dispatcher_wang"], WorkOrder.objects.get(pk=late.pk))
    assert page["overdue_at"] == at(2023, 7, 6, 9) and page["reminder_count"] == 0
