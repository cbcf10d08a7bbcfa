"""What a new user tripped on in the console (issue 14), each with the test that would have caught it.

Buttons: a button is shown only when its action would succeed now — the console and the action
functions read the same ``workflow.refusal``.
"""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from hotline.workorders import actions
from hotline.workorders.workflow import (
    BY_ACTION,
    TRANSITIONS,
    RequestKind,
    Situation,
    WorkflowError,
    refusal,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(client, people):
    def login(username):
        client.force_login(people[username])
        return client
    return login


def _dispatched(new_order, people, unit, *, at=None, sign=True):
    order = new_order(at=at or timezone.now() - dt.timedelta(minutes=5))
    actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=order.received_at)
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"), at=order.received_at)
    if sign:
        actions.sign(order, acting_user=people["handler_zhao"], at=order.received_at)
    order.refresh_from_db()
    return order


def _buttons(html: str, number: str) -> set[str]:
    """data-action values of the buttons on the row (or page) of order ``number``."""
    import re

    row = re.search(rf'<tr data-number="{re.escape(number)}"[^>]*>(.*?)</tr>', html, re.S)
    return set(re.findall(r'data-action="(\w+)"', row.group(1) if row else html))


def test_refusal_is_pure_and_covers_requests():
    t = BY_ACTION
    assert refusal(t["approve_extension"], Situation()) == "该工单没有待审核的延期申请"
    assert refusal(t["approve_extension"], Situation(pending=frozenset({RequestKind.EXTENSION}))) is None
    assert refusal(t["request_extension"], Situation(pending=frozenset({RequestKind.EXTENSION}))) is not None
    assert refusal(t["request_extension"], Situation(overdue=True)) == "已超过办理时限，不能再申请延期"
    assert refusal(t["request_return"], Situation(last_round=True)) is not None
    assert refusal(t["callback_rework"], Situation(has_lead=False)) is not None
    assert refusal(t["callback_redispatch"], Situation(has_lead=True)) is not None
    # Every action that decides a request is refused without one pending: none can show a dead button.
    for tr in TRANSITIONS:
        if tr.decides:
            assert refusal(tr, Situation()) is not None


def test_inbox_shows_no_template_comment(as_user):
    html = as_user("handler_zhao").get(reverse("inbox")).content.decode()
    assert "{#" not in html and "Rows are written out" not in html


def test_decided_request_loses_its_buttons_on_the_order_page(as_user, people, unit, new_order):
    order = _dispatched(new_order, people, unit)
    later = order.handle_deadline + dt.timedelta(days=3)
    actions.request_extension(order, acting_user=people["handler_zhao"], new_deadline=later, reason="需协调")
    page = reverse("order_detail", args=[order.number])
    wang = as_user("dispatcher_wang")
    assert {"approve_extension", "reject_extension"} <= _buttons(wang.get(page).content.decode(), order.number)
    assert not {"approve_suspension", "reject_suspension"} & _buttons(wang.get(page).content.decode(), order.number)
    actions.approve_extension(order, acting_user=people["dispatcher_wang"])
    shown = _buttons(wang.get(page).content.decode(), order.number)
    assert not {"approve_extension", "reject_extension"} & shown
    # And the action's own refusal is the same sentence.
    with pytest.raises(WorkflowError, match="没有待审核的延期申请"):
        actions.approve_extension(order, acting_user=people["dispatcher_wang"])
    # The URL of a hidden button is not served either.
    assert wang.get(reverse("order_action", args=[order.number, "approve_extension"])).status_code == 404


def test_no_extension_button_on_an_overdue_order(as_user, people, unit, new_order):
    order = _dispatched(new_order, people, unit, at=timezone.now() - dt.timedelta(days=40))
    assert order.handle_deadline < timezone.now()
    zhao = as_user("handler_zhao")
    inbox = zhao.get(reverse("inbox")).content.decode()
    assert order.number in inbox
    row = _buttons(inbox, order.number)
    assert "reply" in row and "request_extension" not in row
    assert "request_extension" not in _buttons(zhao.get(reverse("order_detail", args=[order.number])).content.decode(),
                                               order.number)
    with pytest.raises(WorkflowError, match="已超过办理时限"):
        actions.request_extension(order, acting_user=people["handler_zhao"],
                                  new_deadline=timezone.now() + dt.timedelta(days=3), reason="需协调")


def test_pending_request_hides_a_second_one_in_the_inbox(as_user, people, unit, new_order):
    order = _dispatched(new_order, people, unit)
    actions.request_suspension(order, acting_user=people["handler_zhao"], reason="需立项")
    row = _buttons(as_user("handler_zhao").get(reverse("inbox")).content.decode(), order.number)
    assert "request_suspension" not in row and "request_extension" in row


def test_overdue_rows_stand_out_in_the_dispatch_and_sign_for_queues(as_user, people, unit, new_order):
    old = new_order(at=timezone.now() - dt.timedelta(days=40), title="积压工单")
    actions.submit_for_dispatch(old, acting_user=people["operator_li"], at=old.received_at)
    html = as_user("dispatcher_wang").get(reverse("dispatch")).content.decode()
    assert f'<tr data-number="{old.number}" class="late">' in html
    unsigned = _dispatched(new_order, people, unit, at=timezone.now() - dt.timedelta(days=40), sign=False)
    inbox = as_user("handler_zhao").get(reverse("inbox")).content.decode()
    assert f'<tr data-number="{unsigned.number}" class="late">' in inbox
