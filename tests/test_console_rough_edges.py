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


def _sheet(content: bytes):
    import io

    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(content)).active


def test_excel_exports_have_widths_and_a_frozen_header(as_user, people, unit, new_order, tmp_path):
    from hotline.intake import importers

    new_order()
    sheet = _sheet(as_user("dispatcher_wang").get(reverse("order_export")).content)
    assert sheet.freeze_panes == "A2" and sheet["A1"].value == "工单编号" and sheet["A1"].font.b
    assert sheet.column_dimensions["H"].width == 60  # 诉求内容
    assert all(sheet.column_dimensions[c].width >= 8 for c in "ABCDEFGHIJKLMNOP")
    importers.write_template("orders", tmp_path / "t.xlsx")
    template = _sheet((tmp_path / "t.xlsx").read_bytes())
    assert template.freeze_panes == "A2" and template.column_dimensions["A"].width >= 12


def test_audit_log_reads_in_chinese(as_user, people, unit, new_order):
    new_order()
    wang = as_user("dispatcher_wang")
    wang.get(reverse("order_export"), {"lead_unit": unit("杨楼镇").pk, "status": "handling"})
    html = as_user("auditor_wu").get(reverse("audit_log")).content.decode()
    assert "workorders.workorder" not in html and "filters=" not in html and "rows=" not in html
    assert "工单 查询结果" in html and "主办单位：杨楼镇" in html and "状态：办理中" in html and "行数 0" in html


def test_admin_has_no_english_section(client, people):
    client.force_login(people["admin"])
    html = client.get("/admin/").content.decode()
    assert "Tasks Database Backend" not in html and "后台任务" in html


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith(".ico")


def test_one_intake_save_says_so_once(as_user, unit):
    from hotline.catalog.models import AppealType

    c = as_user("operator_li")
    data = {"caller_phone": "13912345678", "caller_name": "刘备", "source": "phone", "urgency": "normal",
            "town": unit("杨楼镇").pk, "address": "杨楼村", "appeal_type": AppealType.objects.get(code="problem").pk,
            "category": "农村管理—人居环境", "title": "村口垃圾无人清运", "content": "村口垃圾堆积一周无人清运。",
            "disposition": "submit_for_dispatch", "answer": ""}
    page = c.post(reverse("intake"), data, follow=True).content.decode()
    assert page.count("已保存，工单编号") == 1 and "已登记工单" not in page


def test_portal_errors_are_listed_at_the_top(client):
    html = client.post(reverse("portal:submit"), {"caller_phone": "123"}).content.decode()
    top = html.index('id="form-errors"')
    assert top < html.index("<form") and "data-focus" in html and "portal/portal.js" in html
    assert "联系电话" in html[top:html.index("<form")]


def test_callback_rows_offer_the_one_reopen_path_that_works(as_user, people, unit, new_order):
    """A dispatched order reopens to its lead unit (回访重办); one the center answered goes back to
    dispatch (回访重新派单): each row shows the path ``workflow.refusal`` allows, not both."""
    answered = new_order(at=timezone.now() - dt.timedelta(hours=2))
    actions.coordinate(answered, acting_user=people["operator_li"], answer="已协调解决")
    dispatched = _dispatched(new_order, people, unit)
    actions.reply(dispatched, acting_user=people["handler_zhao"], public_reply="已修复", solved=True)
    actions.approve_reply(dispatched, acting_user=people["dispatcher_wang"])
    html = as_user("supervisor_zhou").get(reverse("callbacks")).content.decode()
    assert _buttons(html, answered.number) == {"callback_close", "callback_redispatch"}
    assert _buttons(html, dispatched.number) == {"callback_close", "callback_rework"}


def test_a_model_that_cannot_load_says_nothing_to_operators(as_user, people):
    """An upgrade changed the model format and the demo database keeps the old model: the intake
    and dispatch suggestions were a 500 error page. Now it is no model: nothing for operators, the
    training hint for the admin, and ``hotline demo`` trains a new one."""
    from hotline.triage import services
    from hotline.triage.engine import TriageError, loads
    from hotline.triage.models import Kind, TriageModel

    old = b"a model stored by an older version"
    with pytest.raises(TriageError):
        loads(old)
    TriageModel.objects.create(kind=Kind.CATEGORY, version=1, blob=old, active=True)
    assert services.active_model(Kind.CATEGORY) is None
    query = {"title": "小区停水三天", "content": "小区已连续停水三天。"}
    page = as_user("operator_li").get(reverse("triage_suggest"), query)
    assert page.status_code == 200
    text = page.content.decode()
    assert "建议分类" not in text and "hotline" not in text and "训练" not in text
    assert "hotline triage train" in as_user("admin").get(reverse("triage_suggest"), query).content.decode()
