"""The month's briefing built from the database: figures, annexes, drafts, the DOCX read back,
the arithmetic check, publishing and versions, and the command line."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from docx import Document

from hotline.analytics.stats import period_statistics
from hotline.briefing import actions, drafting
from hotline.briefing.build import build_briefing_data
from hotline.briefing.check import check_file, inspect_file
from hotline.briefing.data import TitledText
from hotline.briefing.narrative import format_score
from hotline.briefing.render_docx import render_docx
from hotline.lib.shares import format_share, share

try:
    from test_analytics import FAR_LATER, JULY, build_july
except ImportError:  # pragma: no cover
    from tests.test_analytics import FAR_LATER, JULY, build_july

ISSUE = dt.date(2023, 8, 22)


@pytest.fixture
def july(people, unit, new_order):
    return build_july(people, unit, new_order)


def publish_assessment(people, min_orders: int = 1):
    """Compute and publish July's assessment with every unit of this small month ranked."""
    from hotline.assessment import actions as assess
    from hotline.assessment.default_scorecard import DEFAULT_SCORECARDS
    from hotline.assessment.models import ScorecardVersion
    from hotline.directory.models import UnitGroup

    for group in UnitGroup.objects.all():
        if not ScorecardVersion.objects.filter(group=group).exists():
            ScorecardVersion.objects.create(group=group, valid_from=dt.date(2023, 1, 1),
                                            spec=dict(DEFAULT_SCORECARDS[group.key], min_orders=min_orders))
    zhou = people["supervisor_zhou"]
    result = assess.compute_month(2023, 7, acting_user=zhou, as_of=FAR_LATER)
    return assess.publish_result(result, acting_user=zhou)


def tables_of(docx_bytes: bytes) -> list[list[list[str]]]:
    doc = Document(io.BytesIO(docx_bytes))
    return [[[c.text.strip() for c in row.cells] for row in t.rows] for t in doc.tables]


def test_briefing_data_carries_the_statistics(july):
    s = period_statistics(*JULY)
    d = build_briefing_data(2023, 7, issue_date=ISSUE)
    assert (d.call_volume, d.local_total, d.coordinated, d.dispatched, d.upstream_total, d.grand_total) == (
        5, 8, 5, 3, 2, 10)
    assert [(p.platform, p.count) for p in d.upstream_by_platform] == [(r.name, r.count) for r in s.upstream_by_platform]
    assert [(r.name, r.count) for r in d.appeal_type_rows] == [(r.name, r.count) for r in s.appeal_types]
    assert [(r.label, r.count) for r in d.hotspot_rows] == [(r.label, r.count) for r in s.hotspots]
    assert d.stationing_noncompliant == s.stationing_noncompliant
    assert d.issue_date == ISSUE and d.title == "七月份工作简报"
    assert d.business_work == ()  # left to the supervisor


def test_docx_read_back_cell_by_cell(july, people):
    s = period_statistics(*JULY, as_of=FAR_LATER)
    publish_assessment(people)
    d = build_briefing_data(2023, 7, issue_date=ISSUE)
    assert len(d.annexes) == 2
    tables = tables_of(render_docx(d))
    appeal, hotspot, *annexes = tables
    assert appeal[0] == ["类型", "数量（件）", "占比"]
    expected = [[r.name, str(r.count), format_share(share(r.count, s.grand_total))] for r in s.appeal_types]
    assert appeal[1:-1] == expected
    assert appeal[-1] == ["合计", str(s.grand_total), "100.00%"]
    assert sum(int(row[1]) for row in appeal[1:-1]) == int(appeal[-1][1])
    assert hotspot[1:-1] == [[r.label, str(r.count), s.share_text(r.count)] for r in s.hotspots]
    assert hotspot[-1] == ["合计", str(s.hotspot_total), s.share_text(s.hotspot_total)]
    assert [[row for row in t[1:]] for t in annexes] == [
        [[r.unit, format_score(r.score), str(r.rank)] for r in a.rows] for a in d.annexes]
    text = "\n".join(p.text for p in Document(io.BytesIO(render_docx(d))).paragraphs)
    assert "办理本级登记事项8件，办理上级交办事项2件" in text
    assert "（一）本级登记事项8件。其中，协调办理5件，交办处理3件。" in text


def test_check_finds_nothing_in_a_built_docx(july, people, tmp_path):
    publish_assessment(people)
    path = tmp_path / "july.docx"
    path.write_bytes(render_docx(build_briefing_data(2023, 7, issue_date=ISSUE)))
    report = inspect_file(path)
    assert report.findings == () and report.tables_checked >= 2
    assert check_file(path) == []


def test_annexes_come_from_the_published_version_only(july, people, unit):
    """No ranking of the briefing's own: before the month's assessment is published the briefing
    has no annex and names no unit; computing a version changes nothing; publishing does."""
    from hotline.assessment import actions as assess

    d = build_briefing_data(2023, 7, issue_date=ISSUE, charts=False)
    assert (d.annexes, d.best_units, d.worst_units, d.assessment_version) == ((), (), (), None)
    publish_assessment(people)
    # A newer computed (unpublished) version is not what the briefing cites.
    assess.enter_adjustment(unit("杨楼镇"), 2023, 7, acting_user=people["supervisor_zhou"], points="-50",
                            reason="试算")
    assess.compute_month(2023, 7, acting_user=people["supervisor_zhou"], as_of=FAR_LATER)
    d = build_briefing_data(2023, 7, issue_date=ISSUE, charts=False)
    assert d.assessment_version == 1
    township, department = d.annexes
    assert township.title == "七月份乡镇街道考核表" and department.title == "七月份市直单位考核表"
    assert [r.unit for r in township.rows] == ["杨楼镇", "寄料镇"]  # 寄料镇 signed late, replied late, reworked
    assert [r.rank for r in township.rows] == [1, 2]
    assert department.note == "注：工单量小于1件的单位不计入考核"
    # The scorecard's rule (first and last of each group, ties included); 住建局 alone in its
    # group is named better, not also worse.
    assert d.best_units == ("杨楼镇人民政府", "住房和城乡建设局") and d.worst_units == ("寄料镇人民政府",)


def test_naming_rule_lives_in_the_scorecard(july, people):
    from hotline.assessment.default_scorecard import DEFAULT_SCORECARDS
    from hotline.assessment.models import ScorecardVersion
    from hotline.directory.models import UnitGroup

    township = UnitGroup.objects.get(key="township")
    ScorecardVersion.objects.create(group=township, valid_from=dt.date(2023, 1, 1),
                                    spec=dict(DEFAULT_SCORECARDS["township"], min_orders=1, best=2, worst=0))
    publish_assessment(people)
    d = build_briefing_data(2023, 7, issue_date=ISSUE, charts=False)
    assert d.best_units == ("杨楼镇人民政府", "寄料镇人民政府", "住房和城乡建设局")
    assert d.worst_units == ()


def test_republished_assessment_makes_the_briefing_out_of_date(july, people, unit, client):
    """Publish an assessment, build and publish a briefing, republish the assessment: the briefing
    is marked out of date on its page, its published version stays exactly as it was, it cannot
    be published again until rebuilt, and the rebuild's version cites the new assessment."""
    from hotline.assessment import actions as assess

    zhou = people["supervisor_zhou"]
    publish_assessment(people)
    b = actions.create_draft(2023, 7, acting_user=zhou, issue_date=ISSUE)
    v1 = actions.publish(b, acting_user=zhou)
    assert v1.assessment_version == 1 and v1.data["assessment_version"] == 1
    frozen = (bytes(v1.docx), v1.data)
    client.force_login(zhou)
    page = client.get("/briefing/2023/7/").content.decode()
    assert "已过时" not in page and 'id="assessment-outdated"' not in page

    assess.enter_adjustment(unit("寄料镇"), 2023, 7, acting_user=zhou, points="5", reason="表扬加分")
    assess.decide_adjustment(assess.ManualAdjustment.objects.get(), acting_user=people["admin"], approve=True)
    assess.publish_result(assess.compute_month(2023, 7, acting_user=zhou, as_of=FAR_LATER), acting_user=zhou)

    page = client.get("/briefing/2023/7/").content.decode()
    assert 'id="assessment-outdated"' in page and "考核结果第 1 版" in page and "第 2 版" in page
    with pytest.raises(actions.BriefingError, match="请重新生成"):
        actions.publish(b, acting_user=zhou)
    v1.refresh_from_db()
    assert (bytes(v1.docx), v1.data, v1.assessment_version) == (*frozen, 1)

    b = actions.rebuild(b, acting_user=zhou)
    assert b.assessment_version == 2 and b.state == "draft"
    v2 = actions.publish(b, acting_user=zhou)
    assert (v2.number, v2.assessment_version) == (2, 2)
    annex = {r[0]: r[1] for r in v2.data["annexes"][0]["rows"]}
    assert Decimal(annex["寄料镇"]) == Decimal({r[0]: r[1] for r in v1.data["annexes"][0]["rows"]}["寄料镇"]) + 5
    v1.refresh_from_db()
    assert (bytes(v1.docx), v1.data) == frozen
    page = client.get("/briefing/2023/7/").content.decode()
    assert 'id="assessment-outdated"' not in page


def test_typical_case_tells_the_timeline(july):
    (case,) = drafting.typical_cases(2023, 7)
    assert case.startswith("杨楼镇接到“村内道路破损坑洼”的事项工单后，迅速响应，当即签收")
    assert "7月5日答复：已安排施工队修补路面坑洼" in case and case.endswith("非常满意。")


def test_hot_problems_without_history_are_the_biggest_clusters(new_order, people):
    from hotline.catalog.models import Category

    cat = Category.objects.get(full_name="社会保险—医疗保险")
    for i in range(6):
        new_order(at=dt.datetime(2023, 7, 3 + i, 9, tzinfo=dt.UTC), title=f"教职工医保报销问题{i}", category=cat,
                  content="住院后医保无法报销。")
    items = drafting.hot_problems(2023, 7)
    assert items[0].title == "医疗保险问题"
    assert "本月受理社会保险—医疗保险方面诉求6件" in items[0].text and "报销" in items[0].text


def test_hot_problems_need_a_rise_over_history(new_order):
    from hotline.catalog.models import Category

    cat = Category.objects.get(full_name="社会保险—医疗保险")
    for month in (4, 5, 6, 7):
        for i in range(6):
            new_order(at=dt.datetime(2023, month, 3 + i, 9, tzinfo=dt.UTC), title="医保报销", category=cat)
    assert drafting.hot_problems(2023, 7) == ()  # six a month, as always: nothing unusual


def test_editor_text_round_trip():
    items = drafting.parse_items("1、驾驶员考试问题。因车管所考试车辆更换，群众反映较多。\n\n医保报销问题。部分教职工……")
    assert items == (TitledText("驾驶员考试问题", "因车管所考试车辆更换，群众反映较多。"),
                     TitledText("医保报销问题", "部分教职工……"))
    assert drafting.parse_items(drafting.format_items(items)) == items


def test_publish_freezes_and_republish_makes_version_2(july, people):
    zhou = people["supervisor_zhou"]
    b = actions.create_draft(2023, 7, acting_user=zhou, issue_date=ISSUE)
    assert b.is_built and b.state == "draft" and b.typical_cases  # drafted at first build
    v1 = actions.publish(b, acting_user=zhou)
    b.refresh_from_db()
    assert (v1.number, b.version, b.state) == (1, 1, "published")
    frozen_docx, frozen_data = bytes(v1.docx), v1.data
    with pytest.raises(ValueError):
        v1.save()
    b = actions.update_narrative(b, acting_user=zhou, business_work="召开疑难事项协调会。7月13日，热线中心召集住建局……")
    assert b.state == "draft"
    v2 = actions.publish(b, acting_user=zhou, note="补充业务工作")
    v1.refresh_from_db()
    assert v2.number == 2 and bytes(v1.docx) == frozen_docx and v1.data == frozen_data
    assert v2.data["business_work"] == [["召开疑难事项协调会", "7月13日，热线中心召集住建局……"]]
    assert any("召开疑难事项协调会" in p.text for p in Document(io.BytesIO(bytes(v2.docx))).paragraphs)
    # Rebuilding keeps the supervisor's texts.
    b = actions.rebuild(b, acting_user=zhou)
    assert b.business_work == [["召开疑难事项协调会", "7月13日，热线中心召集住建局……"]]


@pytest.mark.parametrize("who", ["dispatcher_wang", "operator_li", "handler_zhao", "auditor_wu"])
def test_only_supervisors_and_admins_write(july, people, who):
    b = actions.create_draft(2023, 7, acting_user=people["admin"])
    with pytest.raises(PermissionDenied, match="只有督办人员或管理员"):
        actions.publish(b, acting_user=people[who])
    with pytest.raises(PermissionDenied):
        actions.create_draft(2023, 6, acting_user=people[who])
    with pytest.raises(PermissionDenied):
        actions.update_narrative(b, acting_user=people[who], typical_cases="x")
    assert not b.versions.exists()


def test_refusals_in_chinese(people):
    zhou = people["supervisor_zhou"]
    b = actions.create_draft(2023, 7, acting_user=zhou, build=False)
    with pytest.raises(actions.BriefingError, match="尚未生成"):
        actions.publish(b, acting_user=zhou)
    with pytest.raises(actions.BriefingError, match="已存在"):
        actions.create_draft(2023, 7, acting_user=zhou)
    with pytest.raises(actions.BriefingError, match="尚未开始"):
        actions.create_draft(2099, 1, acting_user=zhou)


def test_cli_build_and_check(july, tmp_path, capsys):
    out = tmp_path / "july.docx"
    call_command("briefing", "build", "--month", "2023-07", "-o", str(out), "--issue-date", "2023-08-22")
    tables = tables_of(out.read_bytes())
    assert tables[0][1] == ["咨询类", "3", "30.00%"]
    call_command("briefing", "check", str(out))  # exit code 0: no SystemExit
    assert "未发现不一致" in capsys.readouterr().out
    html = tmp_path / "july.html"
    call_command("briefing", "build", "--month", "2023-07", "-o", str(html))
    assert "诉求类型统计表" in html.read_text("utf-8")


def test_cli_stats(july, capsys):
    call_command("stats", "--month", "2023-07", "--units")
    out = capsys.readouterr().out
    assert "受理总量：10 件" in out and "咨询类\t3\t30.00%" in out and "及时签收率：2/4 = 50.00%" in out
    assert "杨楼镇：" in out


SEED_APPEAL_TYPES = [("咨询类", 2049), ("问题处理类", 831), ("投诉举报类", 1019), ("建议类", 30), ("其他", 1114)]
SEED_HOTSPOTS = [("政务服务—网点服务", 770), ("民主法制—政策咨询", 404), ("公共服务—水电气暖", 203),
                 ("农村管理—人居环境", 182), ("文体科教—教育管理", 162), ("工资薪金—拖欠工资", 157),
                 ("政务服务—行政效能", 135), ("社会保险—医疗保险", 128), ("市场管理—消费纠纷", 110),
                 ("市政管理—市容市貌", 103)]


@pytest.mark.slow
@pytest.mark.django_db(transaction=False)
def test_generated_seed_month_briefing_carries_the_seed_counts(tmp_path):
    """The demo generator's July 2023 built into a briefing: the seed's counts, shares computed."""
    generate = pytest.importorskip("hotline.demo.generate")
    generate.generate_month(2023, 7)
    data = build_briefing_data(2023, 7, issue_date=ISSUE)
    docx_bytes = render_docx(data)
    appeal, hotspot, *_ = tables_of(docx_bytes)

    def shared(rows, total):
        return [[name, str(count), format_share(share(count, total))] for name, count in rows]

    assert appeal[1:] == shared(SEED_APPEAL_TYPES, 5043) + [["合计", "5043", "100.00%"]]
    assert hotspot[1:] == shared(SEED_HOTSPOTS, 5043) + [["合计", "2354", "46.68%"]]  # the seed printed 46.67%
    assert hotspot[3] == ["公共服务—水电气暖", "203", "4.03%"]  # the seed printed 4.02%
    text = "\n".join(p.text for p in Document(io.BytesIO(docx_bytes)).paragraphs)
    assert "办理本级登记事项4707件，办理上级交办事项336件" in text
    assert "（一）本级登记事项4707件。其中，协调办理3285件，交办处理1422件。" in text
    assert "（二）上级交办事项336件。其中，平顶山市“民呼必应”平台交办事项287件；河南政务服务平台交办事项49件。" in text
    path = tmp_path / "july.docx"
    path.write_bytes(docx_bytes)
    assert check_file(path) == []


def test_history_category_counts_keep_to_the_span(new_order):
    """``category_counts_between`` (the hot problems' months before): the span's start is in, its
    end is out, uncategorized orders are left out."""
    from django.db.models import Count

    from hotline.analytics.stats import category_counts_between
    from hotline.catalog.models import Category
    from hotline.workorders.models import WorkOrder

    medical, pension = (Category.objects.get(full_name=n) for n in ("社会保险—医疗保险", "社会保险—养老保险"))
    lo, hi = dt.datetime(2023, 4, 1, tzinfo=dt.UTC), dt.datetime(2023, 7, 1, tzinfo=dt.UTC)
    for at, cat in ((lo, medical), (lo - dt.timedelta(seconds=1), medical), (hi, pension),
                    (hi - dt.timedelta(seconds=1), pension), (dt.datetime(2023, 5, 9, tzinfo=dt.UTC), medical),
                    (dt.datetime(2023, 5, 10, tzinfo=dt.UTC), None)):
        new_order(at=at, title="医保报销", category=cat)
    expected = dict(WorkOrder.objects.filter(received_at__gte=lo, received_at__lt=hi, category__isnull=False)
                    .order_by().values("category").annotate(n=Count("id")).values_list("category", "n"))
    assert category_counts_between(lo, hi, "default") == expected == {medical.pk: 2, pension.pk: 1}


def test_hot_problems_from_the_statistics_pass_read_the_same_as_by_query(new_order, people, unit):
    """The build hands ``hot_problems`` the statistics' category and (category, lead unit) counts;
    the drafted text, lead units included, is the one its own queries give."""
    from hotline.briefing.build import month_statistics
    from hotline.catalog.models import Category
    from hotline.workorders import actions as order_actions

    cat = Category.objects.get(full_name="社会保险—医疗保险")
    for i, town in enumerate(("杨楼镇", "杨楼镇", "寄料镇", "杨楼镇", "寄料镇", None, "寄料镇", "杨楼镇")):
        order = new_order(at=dt.datetime(2023, 7, 3 + i, 9, tzinfo=dt.UTC), title=f"医保报销难{i}", category=cat)
        if town:
            order_actions.submit_for_dispatch(order, acting_user=people["operator_li"])
            order_actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit(town))
    stats = month_statistics(2023, 7)
    assert stats.category_leads == {(cat.pk, unit("杨楼镇").pk): 4, (cat.pk, unit("寄料镇").pk): 3}
    queried = drafting.hot_problems(2023, 7)
    given = drafting.hot_problems(2023, 7, category_counts=stats.category_counts,
                                  category_leads=stats.category_leads)
    assert given == queried and "本月受理社会保险—医疗保险方面诉求8件" in given[0].text
    assert "承办较多的单位为杨楼镇" in given[0].text


def test_a_past_month_is_dated_early_the_next_month_not_today(ruzhou):
    """Built in December 2026, July 2023's briefing is dated the first working day of August 2023;
    October's skips the National Day holiday."""
    import time_machine

    from hotline.briefing.build import default_issue_date

    with time_machine.travel(dt.datetime(2026, 12, 4, 23, 30, tzinfo=dt.UTC), tick=False):  # 07:30 in Shanghai
        assert default_issue_date(2023, 7) == dt.date(2023, 8, 1)
        assert default_issue_date(2023, 9) == dt.date(2023, 10, 7)  # after 国庆 and 中秋 2023: the adjusted Saturday
        assert build_briefing_data(2023, 7, charts=False).issue_date == dt.date(2023, 8, 1)


def test_keywords_never_cut_a_street_name():
    """洗耳河街道 unknown to jieba came out as the keyword "洗耳"; the towns and streets are place names."""
    titles = ["洗耳河街道某小区路灯不亮", "洗耳河街道路灯损坏", "洗耳河社区路灯夜间不亮", "路灯不亮影响出行"] * 5
    words = drafting.keywords(titles, places=["洗耳河街道", "杨楼镇"])
    assert "洗耳" not in words and not any("洗耳" in w for w in words)
    assert words  # the problem itself is still named
