"""The one text boundary at every entry, and every writer safe on its own.

A citizen pastes a title with ``\\x01`` into the portal; an upstream platform, the JSON API and
Open311 send control characters and NUL; 周 pastes a ``\\x07`` into the briefing narrative. What
enters is cleaned (NUL refused with a Chinese message, nothing stored); and text stored before
this boundary existed — written here straight into the table — still leaves every Excel export,
Open311 feed (JSON and XML) and DOCX readable.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pytest
from django.core.cache import cache
from django.test import override_settings
from docx import Document
from openpyxl import load_workbook

from hotline.briefing import actions as briefing_actions
from hotline.briefing.models import Briefing
from hotline.catalog.models import AppealType, Category
from hotline.lib.text import NUL_MESSAGE
from hotline.workorders.models import WorkOrder

try:
    from test_analytics import build_july
    from test_console_views import intake_data
    from test_upstream import SECRET, push, push_body
except ImportError:  # pragma: no cover
    from tests.test_analytics import build_july
    from tests.test_console_views import intake_data
    from tests.test_upstream import SECRET, push, push_body

CONTROL = [chr(c) for c in range(0x20) if c not in (0x09, 0x0A)] + ["\x7f", "\x85"]
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def clean(value: str) -> bool:
    return not any(c in value for c in CONTROL)


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()  # the portal's rate limiter counts in the cache
    yield
    cache.clear()


def portal_submission(unit, **overrides):
    category = Category.objects.get(full_name="农村管理—人居环境")
    data = {"caller_name": "张三丰", "caller_phone": "138-1234-1234", "town": unit("杨楼镇").pk,
            "address": "杨楼镇某村三组", "appeal_type": AppealType.objects.get(code="problem").pk,
            "category_group": category.parent_id, "category": category.pk, "title": "村内道路\x01破损",
            "content": "村主路破损\x07严重，\r\n雨天积水\x1b。"}
    data.update(overrides)
    return data


def test_the_portal_cleans_what_enters_and_refuses_nul(client, people, unit):
    client.post("/portal/submit/", portal_submission(unit))
    order = WorkOrder.objects.get()
    assert order.title == "村内道路破损" and order.content == "村主路破损严重，\n雨天积水。"
    response = client.post("/portal/submit/", portal_submission(unit, title="路灯\x00不亮"))
    assert response.status_code in (200, 400) and NUL_MESSAGE in response.content.decode()
    assert WorkOrder.objects.count() == 1


def test_the_console_forms_clean_and_refuse_nul(client, people, unit):
    client.force_login(people["operator_li"])
    client.post("/intake/", intake_data(unit, title="村口\x01垃圾", content="垃圾\x07堆积\r\n一周"))
    order = WorkOrder.objects.get()
    assert (order.title, order.content) == ("村口垃圾", "垃圾堆积\n一周")
    page = client.post("/intake/", intake_data(unit, content="垃圾\x00堆积")).content.decode()
    assert NUL_MESSAGE in page and WorkOrder.objects.count() == 1


def test_the_api_open311_and_upstream_clean_and_refuse_nul(client, people, unit):
    from hotline.directory.models import UpstreamPlatform
    from hotline.intake.models import UpstreamCredential
    from hotline.open311.models import Open311Client

    client.force_login(people["operator_li"])
    api = client.post("/api/orders/", {"title": "路灯\x01不亮", "content": "门口路灯\x07不亮"},
                      content_type="application/json")
    assert api.status_code == 201
    assert WorkOrder.objects.get(number=api.json()["number"]).title == "路灯不亮"
    refused = client.post("/api/orders/", {"title": "路灯不亮", "content": "门口\x00路灯"}, content_type="application/json")
    assert refused.status_code == 400 and NUL_MESSAGE in refused.json()["error"]  # refused as the body is read

    key = Open311Client.objects.create(name="汝州通").key
    code = Category.objects.get(full_name="政务服务—网点服务").code
    form = {"api_key": key, "service_code": code, "description": "窗口\x01排队\x1b两小时", "lat": "34.1",
            "long": "112.8", "first_name": "三丰", "last_name": "张", "phone": "13812341234"}
    created = client.post("/open311/v2/requests.json", form)
    assert created.status_code == 201
    assert WorkOrder.objects.get(number=created.json()[0]["service_request_id"]).content == "窗口排队两小时"
    bad = client.post("/open311/v2/requests.xml", {**form, "description": "窗口\x00排队"})
    assert bad.status_code == 400 and NUL_MESSAGE in ET.fromstring(bad.content).find("error/description").text

    UpstreamCredential.objects.create(platform=UpstreamPlatform.objects.get(code="pds"), secret=SECRET)
    ok = push(client, push_body(title="道路\x01破损", content="主路\x07破损"))
    assert ok.status_code in (200, 201)
    assert WorkOrder.objects.get(upstream_number="PDS20230703-0001").title == "道路破损"
    nul = push(client, push_body(upstream_number="PDS-NUL", content="主路\x00破损"))
    assert nul.status_code == 400 and NUL_MESSAGE in json.dumps(nul.json(), ensure_ascii=False)
    assert not WorkOrder.objects.filter(upstream_number="PDS-NUL").exists()


def test_text_stored_raw_still_leaves_every_writer_readable(client, people, unit, new_order):
    """An order stored with control characters before the boundary existed (written straight into
    the table): the Excel export, Open311 in XML and JSON and the order page still work."""
    order = new_order(title="路灯不亮", content="路灯不亮")
    WorkOrder.objects.filter(pk=order.pk).update(title="路灯\x01不亮\x0b", content="门口\x07路灯\x1f不亮",
                                                 answer="已\x08修复")
    client.force_login(people["dispatcher_wang"])
    export = client.get("/orders/export.xlsx")
    assert export.status_code == 200
    rows = list(load_workbook(io.BytesIO(export.content), read_only=True).active.iter_rows(values_only=True))
    row = next(r for r in rows if r[0] == order.number)
    assert "路灯不亮" in row and "门口路灯不亮" in row and all(clean(str(v or "")) for v in row)
    assert client.get(f"/orders/{order.number}/").status_code == 200
    client.logout()
    params = {"start_date": "2023-07-01T00:00:00+08:00", "end_date": "2023-07-31T00:00:00+08:00"}
    xml = client.get("/open311/v2/requests.xml", params)
    assert xml.status_code == 200
    descriptions = [e.text for e in ET.fromstring(xml.content).iter("description")]
    assert "路灯不亮" in descriptions
    assert "路灯不亮" in [r["description"] for r in client.get("/open311/v2/requests.json", params).json()]


@override_settings(TASKS=IMMEDIATE)
def test_a_bell_in_the_briefing_neither_stops_the_docx_nor_publishing(client, people, unit, new_order,
                                                                        django_capture_on_commit_callbacks):
    """周 pastes a ``\\x07`` into the narrative: it is dropped on saving. One already stored (and a
    ``\\x01`` in a typical case's order title) still builds, previews, downloads and publishes."""
    orders = build_july(people, unit, new_order)
    # Order A is the month's typical case: its title carries a control character stored raw, and its
    # answer quotes the caller's number, which a published document must mask.
    WorkOrder.objects.filter(pk=orders["A"].pk).update(title="村内道路\x01破损坑洼",
                                                       answer="已修补路面，已电话13812341234告知来电人张三丰。")
    client.force_login(people["supervisor_zhou"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/briefing/new/", {"month": "2023-07"})
    b = Briefing.objects.get(year=2023, month=7)
    assert b.build_state == "done"
    case = " ".join(b.typical_cases)
    assert "村内道路破损坑洼" in case and "138****1234" in case and "13812341234" not in case
    assert "张三丰" not in case and "张**" in case

    client.post("/briefing/2023/7/", {"issue_date": "2023-08-22", "hot_problems": "路灯问题。\x07多处路灯不亮。",
                                      "typical_cases": "杨楼镇\x07接到……", "business_work": ""})
    b.refresh_from_db()
    assert b.hot_problems == [["路灯问题", "多处路灯不亮。"]] and b.typical_cases == ["杨楼镇接到……"]
    refused = client.post("/briefing/2023/7/", {"hot_problems": "路灯\x00问题", "typical_cases": "",
                                                "business_work": ""}, follow=True)
    assert NUL_MESSAGE in refused.content.decode()
    b.refresh_from_db()
    assert b.hot_problems == [["路灯问题", "多处路灯不亮。"]]

    Briefing.objects.filter(pk=b.pk).update(typical_cases=["杨楼镇\x07接到工单后\x01迅速处理。"])
    assert client.get("/briefing/2023/7/").status_code == 200
    draft = client.get("/briefing/2023/7/draft.docx")
    assert draft.status_code == 200
    text = "\n".join(p.text for p in Document(io.BytesIO(draft.content)).paragraphs)
    assert "杨楼镇接到工单后迅速处理。" in text and clean(text)
    version = briefing_actions.publish(b.pk, acting_user=people["supervisor_zhou"], note="首次发布")
    published = Document(io.BytesIO(bytes(version.docx)))
    assert "杨楼镇接到工单后迅速处理。" in "\n".join(p.text for p in published.paragraphs)
    assert client.get("/briefing/2023/7/v1.docx").status_code == 200
