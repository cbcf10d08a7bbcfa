"""Console pages of the briefing: statistics of any period, the month list, the draft editor,
the background build with its progress, publishing and downloads. Supervisors and admins only:
everyone else gets the same 404 as a page that does not exist."""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from hotline.briefing import actions, assessment_bridge, drafting
from hotline.briefing.models import Briefing, BriefingVersion
from hotline.lib import clock, parsing
from hotline.lib.text import TextError, clean_text

# Statistics are asked for within these days; outside them the period arithmetic leaves the calendar.
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2099, 12, 31)
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def supervisor_only(view):
    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not actions.may_write(request.user):
            raise Http404("页面不存在")
        return view(request, *args, **kwargs)

    return wrapper


def _last_month() -> tuple[int, int]:
    first = clock.today().replace(day=1)
    previous = first - dt.timedelta(days=1)
    return previous.year, previous.month


def _briefing(year: int, month: int) -> Briefing:
    return get_object_or_404(Briefing, year=year, month=month)


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    from urllib.parse import quote

    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@supervisor_only
def month_list(request):
    year, month = _last_month()
    briefings = Briefing.objects.select_related("updated_by").order_by("-year", "-month")
    return render(request, "briefing/month_list.html", {
        "briefings": briefings, "default_month": f"{year}-{month:02d}"})


@supervisor_only
@require_POST
def create(request):
    try:
        year, month = parsing.parse_month(request.POST.get("month", ""), "月份", required=True)
        briefing = actions.create_draft(year, month, acting_user=request.user, build=False)
        actions.request_build(briefing, acting_user=request.user)
    except (parsing.ParseError, actions.BriefingError) as exc:
        messages.error(request, str(exc))
        return redirect("briefing:list")
    return redirect("briefing:edit", year=year, month=month)


@supervisor_only
def statistics(request):
    from hotline.analytics.stats import period_statistics
    from hotline.directory.models import Unit, month_bounds

    errors = []
    start = end = None
    if request.GET.get("start") and request.GET.get("end"):
        try:
            start = parsing.parse_date(request.GET["start"], "开始日期")
            end = parsing.parse_date(request.GET["end"], "结束日期")
            if end < start:
                errors.append("结束日期不能早于开始日期")
        except parsing.ParseError as e:
            errors.append(str(e))
    elif request.GET.get("month"):
        try:
            start, end = month_bounds(*parsing.parse_month(request.GET["month"], "月份"))
        except parsing.ParseError as e:
            errors.append(str(e))
    if start is not None and not errors and not (EARLIEST <= start and end <= LATEST):
        errors.append(f"日期须在 {EARLIEST:%Y-%m-%d} 至 {LATEST:%Y-%m-%d} 之间")
    if start is None and not errors:
        start, end = month_bounds(*_last_month())
    units = list(Unit.objects.filter(active=True).exclude(kind=Unit.Kind.CENTER).order_by("position", "code"))
    by_id = {str(u.pk): u for u in units}
    unit, town = by_id.get(request.GET.get("unit", "")), by_id.get(request.GET.get("town", ""))
    stats = None
    if not errors:
        stats = period_statistics(start, end, unit=unit, town=town)
        if request.GET.get("format") == "xlsx":
            return _statistics_workbook(stats)
    return render(request, "briefing/statistics.html", {
        "stats": stats, "errors": errors, "start": start, "end": end, "units": units,
        "towns": [u for u in units if u.is_locality], "unit": unit, "town": town,
        "appeal_rows": [(r.name, r.count, stats.share_text(r.count)) for r in stats.appeal_types] if stats else [],
        "hotspot_rows": [(r.label, r.count, stats.share_text(r.count)) for r in stats.hotspots] if stats else [],
        "appeal_total_share": stats.share_text(stats.appeal_type_total) if stats else "",
        "hotspot_total_share": stats.share_text(stats.hotspot_total) if stats else "",
    })


def _statistics_workbook(stats):
    """The statistics page's unit table as Excel: every count and rate of every unit, as read."""
    import io

    from openpyxl import Workbook

    from hotline.lib import xlsx
    from hotline.metrics.definitions import UNIT_COUNTS, UNIT_RATES

    wb = Workbook(write_only=True)
    counts = [d for d in UNIT_COUNTS if d.key != "excluded"]
    header = ["单位", "单位全称", *(d.name for d in counts)]
    for d in UNIT_RATES:
        header += [f"{d.name}（分子）", f"{d.name}（分母）", d.name]
    ws = xlsx.table(wb, "各单位指标", header, widths={"单位": 16, "单位全称": 30}, above=[
        [f"{stats.start:%Y-%m-%d} 至 {stats.end:%Y-%m-%d} 各单位指标（口径见 docs/metrics.md）"]])
    rows = [("全部单位", "", stats.rates, None), *((u.short_name, u.name, u.rates, u) for u in stats.unit_rates)]
    total = {d.key: sum(u.counts[d.key] for u in stats.unit_rates) for d in counts}
    for short, name, rates, u in rows:
        row = [short, name, *((u.counts[d.key] if u is not None else total[d.key]) for d in counts)]
        for d in UNIT_RATES:
            r = rates[d.key]
            row += [r.numerator, r.denominator, r.text]
        xlsx.append(ws, row)
    buffer = io.BytesIO()
    wb.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="statistics-{stats.start:%Y%m%d}-{stats.end:%Y%m%d}.xlsx"'
    return response


@supervisor_only
def edit(request, year: int, month: int):
    from hotline.briefing.render_html import render_html

    briefing = _briefing(year, month)
    if request.method == "POST":
        issue_date = None
        if request.POST.get("issue_date"):
            try:
                issue_date = parsing.parse_date(request.POST["issue_date"], "印发日期")
            except parsing.ParseError as e:
                messages.error(request, f"印发日期格式应为 YYYY-MM-DD，且是真实的日期：{e.message}")
                return redirect("briefing:edit", year=year, month=month)
        try:  # the one text boundary: controls removed, NUL refused and nothing saved
            texts = {key: clean_text(request.POST.get(key, ""))
                     for key in ("hot_problems", "typical_cases", "business_work")}
        except TextError as exc:
            messages.error(request, f"简报文字{exc}，未保存")
            return redirect("briefing:edit", year=year, month=month)
        actions.update_narrative(briefing, acting_user=request.user, issue_date=issue_date, **texts)
        messages.success(request, "已保存")
        return redirect("briefing:edit", year=year, month=month)
    data = briefing.briefing_data()
    chart_data, charts_note = None, ""
    if data is not None:
        chart_data, charts_note = _chart_context(data)
        # The console draws the charts with ECharts (below); the preview leaves the PNGs out.
        data = dataclasses.replace(data, charts={})
    latest_assessment = assessment_bridge.latest_published_version(year, month)
    outdated = []
    if briefing.version:
        cited = briefing.versions.order_by("-number").values_list("assessment_version", flat=True).first()
        if cited != latest_assessment:
            outdated.append(f"已发布的第 {briefing.version} 版：" + assessment_bridge.Currency(cited, latest_assessment).message)
    if briefing.is_built and briefing.assessment_version != latest_assessment:
        outdated.append("当前草稿：" + assessment_bridge.Currency(briefing.assessment_version, latest_assessment).message)
    from hotline.briefing.build import default_issue_date

    return render(request, "briefing/edit.html", {
        "briefing": briefing,
        "issue_date": briefing.issue_date or default_issue_date(year, month),
        "outdated": outdated,
        "latest_assessment": latest_assessment,
        "preview": render_html(data) if data else "",
        "chart_data": chart_data,
        "charts_note": charts_note,
        "hot_problems": drafting.format_items(briefing.hot_problems),
        "typical_cases": "\n".join(briefing.typical_cases),
        "business_work": drafting.format_items(briefing.business_work),
        "business_hint": drafting.BUSINESS_WORK_HINT,
        "versions": briefing.versions.select_related("published_by").defer("docx").order_by("-number"),
        "building": briefing.build_state in (Briefing.BuildState.QUEUED, Briefing.BuildState.RUNNING),
    })


def _chart_context(data) -> tuple[dict, str]:
    """The three charts' figures for ECharts, and whether the Word file carries them."""
    from hotline.briefing import charts

    payload = charts.chart_payload(data, charts.daily_counts(data.year, data.month))
    if data.charts:
        return payload, f"Word / PDF 版含同样的 {len(data.charts)} 幅图表。"
    return payload, charts.unavailable_reason() or "Word / PDF 版不含图表（生成时未绘制，重新生成统计数据即可加入）。"


@supervisor_only
@require_POST
def build(request, year: int, month: int):
    briefing = _briefing(year, month)
    try:
        actions.request_build(briefing, acting_user=request.user, redraft=request.POST.get("redraft") == "1")
    except actions.BriefingError as exc:
        messages.error(request, str(exc))
    return redirect("briefing:edit", year=year, month=month)


@supervisor_only
def build_status(request, year: int, month: int):
    """The progress fragment; htmx polls it while the build is queued or running."""
    briefing = _briefing(year, month)
    building = briefing.build_state in (Briefing.BuildState.QUEUED, Briefing.BuildState.RUNNING)
    response = render(request, "briefing/_build_status.html", {"briefing": briefing, "building": building})
    if not building and request.GET.get("was") == "building":
        response["HX-Refresh"] = "true"  # the build finished: reload the page with the new preview
    return response


@supervisor_only
@require_POST
def publish(request, year: int, month: int):
    briefing = _briefing(year, month)
    try:
        note = clean_text(request.POST.get("note", ""), single_line=True)
    except TextError as exc:
        messages.error(request, f"发布说明{exc}")
        return redirect("briefing:edit", year=year, month=month)
    try:
        version = actions.publish(briefing, acting_user=request.user, note=note)
        messages.success(request, f"已发布第 {version.number} 版")
    except (actions.BriefingError, PermissionDenied) as exc:
        messages.error(request, str(exc))
    return redirect("briefing:edit", year=year, month=month)


@supervisor_only
def download(request, year: int, month: int, number: int, fmt: str):
    """A published version as DOCX (the stored bytes), PDF (converted from them) or HTML."""
    version = get_object_or_404(BriefingVersion.objects.select_related("briefing"), briefing__year=year,
                                briefing__month=month, number=number)
    return _document(request, version.briefing_data(), bytes(version.docx), fmt, version.filename_stem)


@supervisor_only
def draft_download(request, year: int, month: int, fmt: str):
    """The working copy, for proofreading before publishing."""
    briefing = _briefing(year, month)
    data = briefing.briefing_data()
    if data is None:
        raise Http404("简报尚未生成")
    return _document(request, data, None, fmt, f"{year}年{month}月工作简报-草稿")


def _audit_export(request, data, fmt: str, stem: str) -> None:
    """A briefing file leaves the platform (its typical cases quote citizens' appeals): audited like
    every export."""
    from hotline.accounts.access import audit
    from hotline.lib.clientip import client_ip

    audit(request.user, "export", object_type="briefing.briefing", object_id=f"{data.year}-{data.month:02d}",
          ip=client_ip(request), format=fmt, file=stem)


def _document(request, data, docx_bytes, fmt, stem):
    from hotline.briefing.render_docx import render_docx

    if fmt == "html":
        from hotline.briefing.render_html import render_html

        return render(request, "briefing/document.html", {"title": data.title, "body": render_html(data)})
    docx_bytes = docx_bytes or render_docx(data)
    if fmt == "docx":
        _audit_export(request, data, fmt, stem)
        return _attachment(docx_bytes, DOCX_TYPE, f"{stem}.docx")
    if fmt == "pdf":
        from hotline.briefing.render_pdf import PdfUnavailable, docx_to_pdf

        try:
            pdf = docx_to_pdf(docx_bytes)
        except PdfUnavailable as exc:
            return render(request, "briefing/pdf_unavailable.html", {
                "message": str(exc), "back": reverse("briefing:edit", args=[data.year, data.month])}, status=503)
        _audit_export(request, data, fmt, stem)
        return _attachment(pdf, "application/pdf", f"{stem}.pdf")
    raise Http404("不支持的格式")
