"""Assessment pages: month results, explain-a-score sheets, appeals, adjustments, Excel export.

Views are thin: parse, authorize, call one action or reader, render. Who sees what:
dispatchers, supervisors and admins see every unit; a unit's handler sees only their own
unit's sheet, and only published versions (another unit's sheet is a 404, like a missing one).
"""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from hotline.accounts.access import audit, role_of
from hotline.assessment import actions
from hotline.assessment.forms import (
    AdjustmentDecisionForm,
    AdjustmentForm,
    AppealDecisionForm,
    AppealForm,
    first_error,
)
from hotline.assessment.models import Appeal, ManualAdjustment, MonthlyResult
from hotline.assessment.results import AssessmentError, group_results, latest_result, unit_sheet
from hotline.directory.models import Unit
from hotline.lib import xlsx
from hotline.workorders.workflow import Role

SEE_ALL = {Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}
MANAGERS = {Role.SUPERVISOR, Role.ADMIN}


def _sees_all(user) -> bool:
    return role_of(user) in SEE_ALL


def _is_manager(user) -> bool:
    return role_of(user) in MANAGERS


def _require_all(user) -> None:
    if not _sees_all(user):
        raise Http404("页面不存在")


def _require_month(year: int, month: int) -> None:
    if not (2000 <= year <= 2099 and 1 <= month <= 12):
        raise Http404("月份无效")


def _version(request, year: int, month: int, *, published_only: bool = False) -> MonthlyResult | None:
    """The version asked for with ``?version=N``, else the one people should read."""
    _require_month(year, month)
    raw = request.GET.get("version", "")
    if raw.isascii() and raw.isdigit():
        if len(raw) > 5:
            raise Http404("该版本不存在")
        qs = MonthlyResult.objects.filter(year=year, month=month, version=int(raw))
        if published_only:
            qs = qs.filter(state=MonthlyResult.State.PUBLISHED)
        result = qs.first()
        if result is None:
            raise Http404("该版本不存在")
        return result
    return latest_result(year, month, published_only=published_only)


@login_required
def index(request):
    if not _sees_all(request.user):
        return redirect("assessment:mine")
    period = request.GET.get("period", "").strip()
    if period:
        try:
            year, month = (int(x) for x in period.split("-"))
            if not 1 <= month <= 12:
                raise ValueError
        except ValueError:
            messages.error(request, "请按 2023-07 的格式填写月份")
        else:
            return redirect("assessment:month", year=year, month=month)
    months = (MonthlyResult.objects.values("year", "month").distinct().order_by("-year", "-month"))
    return render(request, "assessment/index.html", {"months": months, "is_manager": _is_manager(request.user)})


@login_required
def mine(request):
    """A handler's list of their unit's published months."""
    if _sees_all(request.user):
        return redirect("assessment:index")
    unit = actions.assessed_unit_of(getattr(request.user, "unit", None))
    if role_of(request.user) != Role.HANDLER:
        # Operators and auditors have no assessment pages: a plain 403 (the index sends them here,
        # so sending them back would loop).
        raise PermissionDenied("考核结果只对派单员、督办和参加考核单位的承办人开放。")
    if unit is None:
        raise PermissionDenied("本单位不参加考核，没有考核结果可看。")
    months = (MonthlyResult.objects.filter(state=MonthlyResult.State.PUBLISHED).values("year", "month")
              .distinct().order_by("-year", "-month"))
    return render(request, "assessment/mine.html", {"unit": unit, "months": months})


@login_required
def month(request, year: int, month: int):
    _require_all(request.user)
    result = _version(request, year, month)
    versions = MonthlyResult.objects.filter(year=year, month=month).select_related(
        "computed_by", "published_by", "diff_against").order_by("-version")
    return render(request, "assessment/month.html", {
        "year": year, "month": month, "result": result, "versions": versions,
        "groups": group_results(result) if result else [], "is_manager": _is_manager(request.user),
        "newest": versions[0] if versions else None,
    })


@login_required
@require_POST
def compute(request, year: int, month: int):
    _require_all(request.user)
    _require_month(year, month)
    try:
        result = actions.compute_month(year, month, acting_user=request.user)
    except AssessmentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"已计算 {year} 年 {month} 月考核结果第 {result.version} 版")
    return redirect("assessment:month", year=year, month=month)


@login_required
@require_POST
def publish(request, year: int, month: int, version: int):
    _require_all(request.user)
    result = get_object_or_404(MonthlyResult, year=year, month=month, version=version)
    try:
        actions.publish_result(result, acting_user=request.user)
    except AssessmentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"第 {version} 版已发布")
    return redirect("assessment:month", year=year, month=month)


def _sheet_context(request, year: int, month: int, unit_id: int):
    user = request.user
    unit = Unit.objects.filter(pk=unit_id, group__isnull=False).first()
    if unit is None:
        raise Http404("单位不存在")
    if not _sees_all(user):
        if role_of(user) != Role.HANDLER or actions.assessed_unit_of(user.unit) != unit:
            raise Http404("单位不存在")
    result = _version(request, year, month, published_only=not _sees_all(user))
    sheet = unit_sheet(result, unit.pk) if result else None
    if sheet is None:
        raise Http404("该月没有本单位的考核结果")
    appeal_lines = []
    can_appeal = (role_of(user) == Role.HANDLER and result.is_published
                  and result == latest_result(year, month, published_only=True))
    if can_appeal:
        appeal_lines = [line for line in sheet.score.lines if line.points < 0]
    return {
        "year": year, "month": month, "unit": unit, "sheet": sheet, "result": result, "score": sheet.score,
        "can_appeal": can_appeal and bool(appeal_lines), "appeal_lines": appeal_lines,
        "appeal_days": actions.appeal_days(),
        "appeals": Appeal.objects.filter(unit=unit, year=year, month=month).select_related("filed_by", "decided_by"),
        "print": request.GET.get("print") == "1",
    }


@login_required
def sheet(request, year: int, month: int, unit_id: int):
    return render(request, "assessment/sheet.html", _sheet_context(request, year, month, unit_id))


@login_required
@require_POST
def file_appeal(request, year: int, month: int, unit_id: int):
    context = _sheet_context(request, year, month, unit_id)
    form = AppealForm(request.POST)
    try:
        if not form.is_valid():
            raise AssessmentError(first_error(form))
        actions.file_appeal(context["unit"], year, month, acting_user=request.user, **form.cleaned_data)
    except AssessmentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "申诉已提交，等待督办人员处理")
    return redirect("assessment:sheet", year=year, month=month, unit_id=unit_id)


@login_required
def appeals(request):
    _require_all(request.user)
    rows = Appeal.objects.select_related("unit", "filed_by", "decided_by", "result").order_by("state", "-filed_at")
    return render(request, "assessment/appeals.html", {"appeals": rows, "is_manager": _is_manager(request.user)})


@login_required
@require_POST
def decide_appeal(request, appeal_id: int):
    _require_all(request.user)
    appeal = get_object_or_404(Appeal, pk=appeal_id)
    form = AppealDecisionForm(request.POST)
    try:
        if not form.is_valid():
            raise AssessmentError(first_error(form))
        d = form.cleaned_data
        actions.decide_appeal(appeal, acting_user=request.user, accept=d["decision"] == "accept", reason=d["reason"],
                              correction_points=d["correction_points"] or None)
    except AssessmentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "申诉已处理；采纳的更正在下次计算时计入")
    return redirect("assessment:appeals")


@login_required
def adjustments(request):
    _require_all(request.user)
    if request.method == "POST":
        form = AdjustmentForm(request.POST)
        try:
            if not form.is_valid():
                raise AssessmentError(first_error(form))
            d = form.cleaned_data
            year, month = d["period"]
            actions.enter_adjustment(d["unit"], year, month, acting_user=request.user, points=d["points"],
                                     reason=d["reason"])
        except AssessmentError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "人工调整已录入，须另一名督办人员审批后生效")
        return redirect("assessment:adjustments")
    rows = ManualAdjustment.objects.select_related("unit", "entered_by", "approved_by").order_by("state", "-entered_at")
    units = Unit.objects.filter(active=True, group__isnull=False).order_by("group__position", "position")
    return render(request, "assessment/adjustments.html", {"adjustments": rows, "units": units,
                                                           "is_manager": _is_manager(request.user)})


@login_required
@require_POST
def decide_adjustment(request, adjustment_id: int):
    _require_all(request.user)
    adjustment = get_object_or_404(ManualAdjustment, pk=adjustment_id)
    form = AdjustmentDecisionForm(request.POST)
    try:
        if not form.is_valid():
            raise AssessmentError(first_error(form))
        actions.decide_adjustment(adjustment, acting_user=request.user, approve=form.cleaned_data["decision"] == "approve",
                                  note=form.cleaned_data["note"])
    except AssessmentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "已审批")
    return redirect("assessment:adjustments")


@login_required
def export(request, year: int, month: int):
    """The full results of a version as an Excel workbook: a summary sheet per group and every line."""
    from openpyxl import Workbook

    _require_all(request.user)
    result = _version(request, year, month)
    if result is None:
        raise Http404("该月尚无考核结果")
    append = xlsx.append  # unit names, notes and rules are typed by people: never formulas
    names = dict(Unit.objects.values_list("pk", "name"))
    wb = Workbook()
    wb.remove(wb.active)
    detail = []
    for g in group_results(result):
        ws = xlsx.table(wb, g.name, ["排名", "单位", "单位全称", "考核总分", "计入工单", "剔除工单", "说明"],
                        widths={"单位": 16, "单位全称": 30, "说明": 30},
                        above=[[f"{year}年{month}月{g.name}考核表（第{result.version}版，{result.get_state_display()}）"]])
        for r in g.result.ranked:
            append(ws, [r.rank, r.unit_name, names.get(r.unit_id, ""), float(r.score.score), r.score.order_count,
                       r.score.excluded_count, ""])
        for s in g.result.unranked:
            append(ws, ["不排名", s.unit_name, names.get(s.unit_id, ""), float(s.score), s.order_count,
                       s.excluded_count, s.unranked_reason])
        append(ws, [f"注：工单量小于{g.min_orders}件的单位不计入考核"])
        for s in g.result.scores():
            for line in s.lines:
                detail.append([g.name, s.unit_name, line.label, line.figures, line.rule, line.note,
                               float(line.points), "、".join(line.evidence)])
    ws = xlsx.table(wb, "得分明细", ["分组", "单位", "项目", "数据", "规则", "说明", "得分", "相关工单"],
                    widths={"单位": 16, "项目": 20, "数据": 30, "规则": 40, "说明": 30, "相关工单": 40})
    for row in detail:
        append(ws, row)
    buffer = io.BytesIO()
    wb.save(buffer)
    audit(request.user, "export", object_type="assessment.monthlyresult", object_id=str(result.pk),
          ip=request.META.get("REMOTE_ADDR"), year=year, month=month, version=result.version)
    response = HttpResponse(buffer.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="assessment-{year:04d}-{month:02d}-v{result.version}.xlsx"'
    return response
