"""Assessment pages: who sees which sheet, explain pages with their orders, appeals, adjustments, export."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from hotline.assessment import actions as assess
from hotline.assessment.models import Appeal, ManualAdjustment, MonthlyResult
from tests.conftest import at
from tests.test_assessment_db import CUTOFF, july, second_supervisor  # noqa: F401  (fixtures)


@pytest.fixture
def published(july, people):  # noqa: F811
    result = assess.compute_month(2023, 7, acting_user=people["supervisor_zhou"], at=CUTOFF)
    return assess.publish_result(result, acting_user=people["supervisor_zhou"])


def _login(client, user):
    client.force_login(user)
    return client


def test_handler_sees_only_own_sheet(client, people, unit, published):
    yanglou, jiliao = unit("杨楼镇"), unit("寄料镇")
    _login(client, people["handler_qian"])
    assert client.get(f"/assessment/2023-07/units/{yanglou.pk}/").status_code == 404
    assert client.get(f"/assessment/2023-07/units/{jiliao.pk}/").status_code == 200
    assert client.get("/assessment/2023-07/").status_code == 404
    assert client.get("/assessment/2023-07/export.xlsx").status_code == 404
    assert client.get("/assessment/appeals/").status_code == 404
    _login(client, people["handler_zhao"])
    assert client.get(f"/assessment/2023-07/units/{yanglou.pk}/").status_code == 200
    for name in ("dispatcher_wang", "supervisor_zhou", "admin"):
        _login(client, people[name])
        assert client.get(f"/assessment/2023-07/units/{jiliao.pk}/").status_code == 200


def test_handler_does_not_see_unpublished_version(client, july, people, unit):  # noqa: F811
    assess.compute_month(2023, 7, acting_user=people["supervisor_zhou"], at=CUTOFF)
    _login(client, people["handler_zhao"])
    assert client.get(f"/assessment/2023-07/units/{unit('杨楼镇').pk}/").status_code == 404
    _login(client, people["supervisor_zhou"])
    assert client.get(f"/assessment/2023-07/units/{unit('杨楼镇').pk}/").status_code == 200


def test_explain_page_shows_rules_points_and_orders(client, july, people, unit, published):  # noqa: F811
    _login(client, people["handler_zhao"])
    page = client.get(f"/assessment/2023-07/units/{unit('杨楼镇').pk}/").content.decode()
    assert "考核总分 <strong>30</strong>" in page and "排名 第 1 名" in page
    assert "5/6 = 83.33%" in page and "满分 10 分，分档计分" in page and "-6.00" in page
    for letter in "BC":
        assert f'href="/orders/{july[letter].number}/"' in page
    assert "@media print" in page
    assert 'name="line_code"' in page  # the appeal form


def test_month_page_tables_and_buttons(client, july, people, unit):  # noqa: F811
    _login(client, people["supervisor_zhou"])
    response = client.post("/assessment/2023-07/compute/", follow=True)
    page = response.content.decode()
    assert "已计算 2023 年 7 月考核结果第 1 版" in page
    assert "乡镇街道考核表" in page and "市直单位考核表" in page
    assert "不参加排名的单位" in page and "工单量 1 件，少于 6 件" in page
    assert "发布第 1 版" in page
    client.post("/assessment/2023-07/v1/publish/")
    assert MonthlyResult.objects.get(version=1).is_published
    client.post("/assessment/2023-07/compute/")
    page = client.get("/assessment/2023-07/").content.decode()
    assert "对比第 1 版" in page and "得分和排名均无变化" in page
    _login(client, people["dispatcher_wang"])
    response = client.post("/assessment/2023-07/compute/", follow=True)
    assert "只有督办人员或管理员可以计算考核结果" in response.content.decode()
    assert MonthlyResult.objects.count() == 2


def test_appeal_through_the_pages(client, people, unit, published):
    yanglou = unit("杨楼镇")
    _login(client, people["handler_zhao"])
    client.post(f"/assessment/2023-07/units/{yanglou.pk}/appeal/", {"line_code": "overdue", "reason": "已按时答复"})
    appeal = Appeal.objects.get()
    assert appeal.filed_by == people["handler_zhao"] and appeal.line_label == "超期工单"
    _login(client, people["handler_qian"])
    assert client.post(f"/assessment/2023-07/units/{yanglou.pk}/appeal/",
                       {"line_code": "overdue", "reason": "x"}).status_code == 404
    _login(client, people["supervisor_zhou"])
    assert "已按时答复" in client.get("/assessment/appeals/").content.decode()
    client.post(f"/assessment/appeals/{appeal.pk}/decide/",
                {"decision": "accept", "reason": "核实属实", "correction_points": "0.5"})
    appeal.refresh_from_db()
    assert appeal.state == Appeal.State.ACCEPTED and appeal.correction_points == Decimal("0.50")


def test_appeal_window_on_the_page(client, july, people, unit):  # noqa: F811
    result = assess.compute_month(2023, 7, acting_user=people["supervisor_zhou"], at=CUTOFF)
    assess.publish_result(result, acting_user=people["supervisor_zhou"], at=at(2023, 8, 1, 10))
    _login(client, people["handler_zhao"])
    response = client.post(f"/assessment/2023-07/units/{unit('杨楼镇').pk}/appeal/",
                           {"line_code": "overdue", "reason": "晚了"}, follow=True)
    assert "申诉期已过" in response.content.decode()
    assert not Appeal.objects.exists()


def test_adjustment_entry_and_second_person_approval(client, people, unit, second_supervisor):  # noqa: F811
    _login(client, people["supervisor_zhou"])
    client.post("/assessment/adjustments/", {"period": "2023-07", "unit": unit("杨楼镇").pk, "points": "-1.5",
                                             "reason": "回复内容与事实不符"})
    adj = ManualAdjustment.objects.get()
    response = client.post(f"/assessment/adjustments/{adj.pk}/decide/", {"decision": "approve"}, follow=True)
    assert "另一名督办人员" in response.content.decode()
    _login(client, second_supervisor)
    client.post(f"/assessment/adjustments/{adj.pk}/decide/", {"decision": "approve"})
    adj.refresh_from_db()
    assert adj.state == ManualAdjustment.State.APPROVED and adj.approved_by == second_supervisor


def test_excel_export_is_complete_and_audited(client, july, people, unit, published):  # noqa: F811
    from openpyxl import load_workbook

    from hotline.accounts.models import AuditLog

    _login(client, people["supervisor_zhou"])
    response = client.get("/assessment/2023-07/export.xlsx")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["乡镇街道", "市直单位", "得分明细"]
    assert wb["乡镇街道"].freeze_panes == "A3" and wb["得分明细"].freeze_panes == "A2"  # the header stays in view
    assert wb["乡镇街道"].column_dimensions["C"].width == 30
    rows = list(wb["乡镇街道"].iter_rows(values_only=True))
    assert rows[1][:4] == ("排名", "单位", "单位全称", "考核总分")
    assert rows[2][:5] == (1, "杨楼镇", "杨楼镇人民政府", 30, 6)
    assert any(r[0] == "不排名" and r[1] == "寄料镇" for r in rows)
    detail = list(wb["得分明细"].iter_rows(values_only=True))
    overdue = [r for r in detail if r[1] == "杨楼镇" and r[2] == "超期工单"][0]
    assert overdue[6] == -1 and overdue[7] == f"{july['B'].number}、{july['C'].number}"
    log = AuditLog.objects.get(action="export")
    assert log.actor == people["supervisor_zhou"] and log.detail["version"] == 1


def test_assess_command_prints_both_tables(july, people):  # noqa: F811
    out = io.StringIO()
    call_command("assess", "--month", "2023-07", "--publish", "--user", "supervisor_zhou", stdout=out)
    text = out.getvalue()
    assert "第 1 版（已发布）" in text
    assert "乡镇街道考核表" in text and "杨楼镇\t30\t1" in text and "市直单位考核表" in text
    assert "寄料镇\t" in text and "不排名" in text


@pytest.mark.slow
def test_demo_month_annexes_and_explain_pages(client, db):
    """The generated July 2023 (seed shape): both annexes cover every unit with ≥ 6 orders, and
    every deduction on an explain page lists the orders behind it."""
    generate = pytest.importorskip("hotline.demo.generate")
    from hotline.accounts.models import User
    from hotline.assessment.figures import build_unit_months
    from hotline.assessment.results import annex_tables, unit_sheet

    generate.generate_month(2023, 7, seed=2023)
    supervisor = User.objects.get(username="supervisor_zhou")
    result = assess.compute_month(2023, 7, acting_user=supervisor, at=at(2023, 8, 1, 9))
    months = build_unit_months(2023, 7, as_of=at(2023, 8, 1, 9))
    eligible = {m.unit.short_name for m in months.values() if m.order_count >= 6}
    tables = annex_tables(result)
    assert [t.title for t in tables] == ["七月份乡镇街道考核表", "七月份市直单位考核表"]
    assert {r.unit for t in tables for r in t.rows} == eligible
    assert len(eligible) == len(months) == 45
    client.force_login(supervisor)
    evidence_lines = {"rate", "count"}
    for m in months.values():
        score = unit_sheet(result, m.unit.pk).score
        page = client.get(f"/assessment/2023-07/units/{m.unit.pk}/").content.decode()
        for line in score.lines:
            if line.kind in evidence_lines and line.points < 0 and line.code != "stationing":
                assert line.evidence, f"{m.unit.short_name} {line.label} has no orders"
                for number in line.evidence:
                    assert f'href="/orders/{number}/"' in page
