"""Build a month's ``BriefingData`` from the database: statistics, assessment, stationing, drafts.

The statistics are ``hotline.analytics.stats.period_statistics`` of the calendar month; the
annexes and the better/worse units come from the month's latest published assessment version,
whose number the briefing records (``assessment_bridge``); the narrative sections are first drafts (``drafting``) unless the caller
passes the supervisor's edited texts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.conf import settings

from hotline.analytics.stats import PeriodStats, period_statistics
from hotline.briefing import assessment_bridge, drafting
from hotline.briefing.data import BriefingData, CountRow, HotspotRow, PlatformCount, TitledText
from hotline.directory.models import month_bounds

STATIONING_POLICY = "《汝州市人民政府办公室关于进一步加强民呼必应工作的通知》（汝政办〔2022〕37号）"
DISCLOSURE_NOTE = "（本简报在汝州市人民政府网站予以公开）"
_UNSET = object()


def month_statistics(year: int, month: int, *, using: str | None = None) -> PeriodStats:
    return period_statistics(*month_bounds(year, month), using=using)


def default_issue_date(year: int, month: int) -> dt.date:
    """The first working day after the month, whenever the draft is made: a briefing on July 2023
    is dated early August 2023 (the seed's was 8月22日), never the day someone happens to build or
    rebuild it years later. The supervisor sets the real date in the editor."""
    from hotline.workorders.sla import work_calendar

    calendar, day = work_calendar(), month_bounds(year, month)[1] + dt.timedelta(days=1)
    for _ in range(31):  # a holiday week at most (国庆, 春节); the calendar cannot say "never"
        if calendar.is_workday(day):
            return day
        day += dt.timedelta(days=1)
    return day


def build_briefing_data(year: int, month: int, *, issue_date: dt.date | None = None,
                        stats: PeriodStats | None = None, hot_problems=_UNSET, typical_cases=_UNSET,
                        business_work=_UNSET, using: str | None = None, charts: bool = True) -> BriefingData:
    """The month's briefing. Narrative sections not passed in are drafted from the data.

    ``charts``: draw the three charts (``hotline.briefing.charts``) when matplotlib and a CJK font
    are available; without them, or with ``charts=False``, the briefing simply has none."""
    stats = stats or month_statistics(year, month, using=using)
    assessment = assessment_bridge.month_assessment(year, month)
    if hot_problems is _UNSET:
        hot_problems = drafting.hot_problems(
            year, month, using=using, category_counts=stats.category_counts or None,
            category_leads=stats.category_leads if stats.category_counts else None, month_orders=stats.grand_total)
    if typical_cases is _UNSET:
        typical_cases = drafting.typical_cases(year, month, using=using)
    if business_work is _UNSET:
        business_work = drafting.business_work(year, month, using=using)
    data = BriefingData(
        issuer=settings.HOTLINE["ISSUER"],
        issue_date=issue_date or default_issue_date(year, month),
        hotline_name=settings.HOTLINE["NAME"],
        year=year,
        month=month,
        call_volume=stats.call_volume,
        local_total=stats.local_total,
        coordinated=stats.coordinated,
        dispatched=stats.dispatched,
        upstream_total=stats.upstream_total,
        upstream_by_platform=tuple(PlatformCount(r.name, r.count) for r in stats.upstream_by_platform),
        best_units=assessment.best,
        worst_units=assessment.worst,
        stationing_noncompliant=stats.stationing_noncompliant,
        stationing_policy=STATIONING_POLICY,
        appeal_type_rows=tuple(CountRow(r.name, r.count) for r in stats.appeal_types),
        hotspot_rows=tuple(HotspotRow(r.level1, r.level2, r.count) for r in stats.hotspots),
        grand_total=stats.grand_total,
        hot_problems=tuple(_titled(t) for t in hot_problems),
        typical_cases=tuple(typical_cases),
        business_work=tuple(_titled(t) for t in business_work),
        annexes=assessment.annexes,
        disclosure_note=DISCLOSURE_NOTE,
        assessment_version=assessment.version,
    )
    if charts:
        from hotline.briefing import charts as charting

        if charting.available():
            drawn = charting.render_charts(data, charting.daily_counts(year, month, using=using))
            data = dataclasses.replace(data, charts=drawn)
    return data


def _titled(item) -> TitledText:
    return item if isinstance(item, TitledText) else TitledText(*item)


def warnings_for(stats: PeriodStats, data: BriefingData | None = None) -> list[str]:
    """Things a supervisor should know before publishing the month."""
    out = []
    if data is not None and data.assessment_version is None:
        out.append("本月考核结果尚未发布：简报暂无考核附件，也不列办理较好、较差的单位。发布考核结果后请重新生成。")
    if stats.undecided:
        out.append(f"有 {stats.undecided} 件本级登记事项尚未确定处置方式，未计入协调办理或交办处理。")
    if stats.call_volume == 0:
        out.append("本月没有话务记录（来电记录未导入？），简报将写“未接到群众来电”。")
    return out
