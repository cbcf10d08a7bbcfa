"""The briefing's console pages, as supervisor 周 uses them; everyone else sees nothing."""

from __future__ import annotations

import io

import pytest
from django.test import override_settings
from docx import Document

from hotline.briefing import actions
from hotline.briefing.models import Briefing

try:
    from test_analytics import build_july
except ImportError:  # pragma: no cover
    from tests.test_analytics import build_july

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def july(people, unit, new_order):
    return build_july(people, unit, new_order)


@pytest.fixture
def zhou(client, people):
    client.force_login(people["supervisor_zhou"])
    return client


@pytest.mark.parametrize("who", ["operator_li", "dispatcher_wang", "handler_zhao", "auditor_wu"])
def test_others_see_nothing(client, people, who):
    actions.create_draft(2023, 7, acting_user=people["supervisor_zhou"], build=False)
    client.force_login(people[who])
    for url in ["/briefing/", "/briefing/stats/?month=2023-07", "/briefing/2023/7/", "/briefing/2023/7/status/"]:
        assert client.get(url).status_code == 404, url
    assert client.post("/briefing/2023/7/publish/").status_code == 404
    assert client.post("/briefing/new/", {"month": "2023-06"}).status_code == 404
    assert not Briefing.objects.filter(month=6).exists()


def test_anonymous_is_sent_to_login(client):
    response = client.get("/briefing/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_statistics_page(july, zhou, unit):
    page = zhou.get("/briefing/stats/", {"start": "2023-07-01", "end": "2023-07-31"}).content.decode()
    assert "<td>咨询类</td><td>3</td><td>30.00%</td>" in page
    assert "<td>政务服务—网点服务</td><td>4</td><td>40.00%</td>" in page
    assert "<th>合计</th><th>10</th><th>100.00%</th>" in page
    town = zhou.get("/briefing/stats/", {"month": "2023-07", "town": unit("寄料镇").pk}).content.decode()
    assert "<td>投诉举报类</td><td>1</td><td>100.00%</td>" in town and "所在地：寄料镇" in town
    bad = zhou.get("/briefing/stats/", {"start": "2023-07-31", "end": "2023-07-01"}).content.decode()
    assert "结束日期不能早于开始日期" in bad
    import io

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(zhou.get("/briefing/stats/", {"month": "2023-07", "format": "xlsx"}).content)).active
    assert sheet.freeze_panes == "A3" and sheet["A2"].value == "单位" and sheet["A2"].font.b  # title line, then the header


@override_settings(TASKS=IMMEDIATE)
def test_create_build_edit_publish_download(july, zhou, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = zhou.post("/briefing/new/", {"month": "2023-07"})
    assert response.status_code == 302 and response["Location"] == "/briefing/2023/7/"
    b = Briefing.objects.get(year=2023, month=7)
    assert b.build_state == "done" and b.data["grand_total"] == 10 and b.build_task_id
    page = zhou.get("/briefing/2023/7/").content.decode()
    assert "七月份工作简报" in page and "hl-briefing" in page  # the HTML preview
    status = zhou.get("/briefing/2023/7/status/").content.decode()
    assert "已于" in status and "hx-trigger" not in status

    zhou.post("/briefing/2023/7/", {"issue_date": "2023-08-22", "hot_problems": "驾驶员考试问题。科目二考试无法如期进行。",
                                    "typical_cases": "公路局接到……", "business_work": ""})
    b.refresh_from_db()
    assert b.hot_problems == [["驾驶员考试问题", "科目二考试无法如期进行。"]] and b.typical_cases == ["公路局接到……"]

    zhou.post("/briefing/2023/7/publish/", {"note": "首次发布"})
    zhou.post("/briefing/2023/7/", {"issue_date": "2023-08-22", "hot_problems": "", "typical_cases": "",
                                    "business_work": "召开疑难事项协调会。7月13日……"})
    zhou.post("/briefing/2023/7/publish/", {"note": "补充业务工作"})
    assert list(b.versions.order_by("number").values_list("number", "note")) == [(1, "首次发布"), (2, "补充业务工作")]

    v1 = zhou.get("/briefing/2023/7/v1.docx")
    assert v1.status_code == 200 and "attachment" in v1["Content-Disposition"]
    text = "\n".join(p.text for p in Document(io.BytesIO(v1.content)).paragraphs)
    assert "驾驶员考试问题" in text and "召开疑难事项协调会" not in text  # version 1 stays as published
    html = zhou.get("/briefing/2023/7/v2.html").content.decode()
    assert "召开疑难事项协调会" in html and "2023年8月22日" in html
    assert zhou.get("/briefing/2023/7/v3.docx").status_code == 404
    assert zhou.get("/briefing/2023/7/draft.docx").status_code == 200


def test_pdf_hint_when_libreoffice_is_missing(july, zhou, people, monkeypatch):
    from hotline.briefing import render_pdf

    actions.publish(actions.create_draft(2023, 7, acting_user=people["supervisor_zhou"]),
                    acting_user=people["supervisor_zhou"])
    monkeypatch.setattr(render_pdf, "_soffice", lambda: None)
    response = zhou.get("/briefing/2023/7/v1.pdf")
    assert response.status_code == 503
    assert render_pdf.INSTALL_HINT in response.content.decode()


def test_build_in_progress_is_polled(zhou, people):
    b = actions.create_draft(2023, 7, acting_user=people["supervisor_zhou"], build=False)
    Briefing.objects.filter(pk=b.pk).update(build_state="running")
    status = zhou.get("/briefing/2023/7/status/").content.decode()
    assert 'hx-trigger="every 2s"' in status and "生成中" in status
    assert "disabled" in zhou.get("/briefing/2023/7/").content.decode()
    Briefing.objects.filter(pk=b.pk).update(build_state="done")
    done = zhou.get("/briefing/2023/7/status/?was=building")
    assert done["HX-Refresh"] == "true"


def test_month_list(zhou, people):
    actions.create_draft(2023, 7, acting_user=people["supervisor_zhou"], build=False)
    page = zhou.get("/briefing/").content.decode()
    assert "2023年7月" in page and "草稿" in page
