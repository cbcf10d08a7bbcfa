"""The only writers of assessment rows: compute, publish, adjust, award, exclude, appeal.

Each function takes the acting user, checks the role (Chinese ``AssessmentError`` when refused)
and writes in one transaction. Computing, publishing and approving are for supervisors (督办)
and admins; appeals are filed by a handler of the unit concerned.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from hotline.accounts.access import role_of
from hotline.assessment.engine import FiguresError, RankedResult, ScorecardError, diff_results
from hotline.assessment.models import (
    Appeal,
    BonusAward,
    ExclusionDecision,
    ManualAdjustment,
    MonthlyResult,
)
from hotline.assessment.results import AssessmentError, line_points, score_month, unit_sheet
from hotline.lib import clock
from hotline.workorders.workflow import Role, WorkflowError

MANAGERS = {Role.SUPERVISOR, Role.ADMIN}


def appeal_days() -> int:
    return int(getattr(settings, "HOTLINE", {}).get("APPEAL_DAYS", 5))


def _now(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return clock.now()
    return clock.local(at)


def _require_manager(user, what: str) -> None:
    if role_of(user) not in MANAGERS:
        raise AssessmentError(f"只有督办人员或管理员可以{what}")


def _check_month(year: int, month: int) -> None:
    if not (2000 <= int(year) <= 2100 and 1 <= int(month) <= 12):
        raise AssessmentError(f"月份无效：{year}-{month}")


def assessed_unit_of(unit):
    """The unit that is assessed for ``unit``: a sub-unit (车管所) counts for its parent (公安局)."""
    return unit.parent if unit is not None and unit.group_id is None and unit.parent_id else unit


# ---------------------------------------------------------------------------------------------
# Results


@transaction.atomic
def compute_month(year: int, month: int, *, acting_user, at: dt.datetime | None = None,
                  as_of: dt.datetime | None = None) -> MonthlyResult:
    """Score the month into a new version; the diff is against the last published version
    (or, before any publication, the previous version)."""
    _require_manager(acting_user, "计算考核结果")
    _check_month(year, month)
    at = _now(at)
    as_of = _now(as_of) if as_of is not None else at
    try:
        groups, inputs = score_month(year, month, as_of=as_of)
    except (ScorecardError, FiguresError) as exc:
        raise AssessmentError(f"无法计算考核结果：{exc}") from None
    # Lock the month's versions so two supervisors computing at once get different numbers.
    existing = MonthlyResult.objects.select_for_update().filter(year=year, month=month)
    last_version = existing.aggregate(v=Max("version"))["v"] or 0
    base = (existing.filter(state=MonthlyResult.State.PUBLISHED).order_by("-version").first()
            or existing.order_by("-version").first())
    result = MonthlyResult(year=year, month=month, version=last_version + 1, as_of=as_of, computed_at=at,
                           computed_by=acting_user, groups=groups, inputs=inputs)
    if base is not None:
        result.diff_against = base
        result.diff, result.diff_text = _diff(base, groups)
    result.save(force_insert=True)
    return result


def _diff(old: MonthlyResult, new_groups: list[dict]) -> tuple[dict, str]:
    old_by_key = {g["key"]: RankedResult.from_dict(g["result"]) for g in old.groups}
    diff: dict[str, list[str]] = {}
    lines: list[str] = []
    for g in new_groups:
        new = RankedResult.from_dict(g["result"])
        before = old_by_key.get(g["key"], RankedResult(group=new.group, ranked=()))
        sentences = diff_results(before, new).describe()
        diff[g["key"]] = sentences
        if sentences:
            lines.append(f"【{g['name']}】")
            lines.extend(sentences)
    text = "\n".join(lines) if lines else f"与第 {old.version} 版相比，得分和排名均无变化"
    return diff, text


@transaction.atomic
def publish_result(result: MonthlyResult, *, acting_user, at: dt.datetime | None = None) -> MonthlyResult:
    """Publish (发布) a computed version: from now on it is frozen and units may appeal."""
    _require_manager(acting_user, "发布考核结果")
    at = _now(at)
    result = MonthlyResult.objects.select_for_update().get(pk=result.pk)
    if result.is_published:
        raise AssessmentError(f"第 {result.version} 版已发布，不能重复发布")
    newest = (MonthlyResult.objects.filter(year=result.year, month=result.month)
              .aggregate(v=Max("version"))["v"])
    if newest != result.version:
        raise AssessmentError(f"只能发布本月最新的第 {newest} 版")
    result.state, result.published_at, result.published_by = MonthlyResult.State.PUBLISHED, at, acting_user
    result.save(update_fields=["state", "published_at", "published_by"])
    return result


# ---------------------------------------------------------------------------------------------
# Manual adjustments and bonuses


def _points(value) -> Decimal:
    try:
        points = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise AssessmentError("分值必须是数字") from None
    if not points.is_finite() or points == 0:
        raise AssessmentError("分值必须是不为 0 的数字")
    if points != points.quantize(Decimal("0.01")) or abs(points) >= 1000:
        raise AssessmentError("分值最多两位小数，且绝对值小于 1000")
    return points


@transaction.atomic
def enter_adjustment(unit, year: int, month: int, *, acting_user, points, reason: str,
                     at: dt.datetime | None = None) -> ManualAdjustment:
    """Enter a manual adjustment (人工加减分); it counts once another supervisor approves it."""
    _require_manager(acting_user, "录入人工调整")
    _check_month(year, month)
    if unit is None or unit.group_id is None:
        raise AssessmentError("只能对参加考核的单位进行人工调整")
    if not (reason or "").strip():
        raise AssessmentError("人工调整必须填写理由")
    return ManualAdjustment.objects.create(unit=unit, year=year, month=month, points=_points(points),
                                           reason=reason.strip(), entered_by=acting_user, entered_at=_now(at))


@transaction.atomic
def decide_adjustment(adjustment: ManualAdjustment, *, acting_user, approve: bool, note: str = "",
                      at: dt.datetime | None = None) -> ManualAdjustment:
    """Approve or reject an adjustment: never by the person who entered it (second-person rule)."""
    _require_manager(acting_user, "审批人工调整")
    adjustment = ManualAdjustment.objects.select_for_update().get(pk=adjustment.pk)
    if adjustment.state != ManualAdjustment.State.PENDING:
        raise AssessmentError(f"该调整已{adjustment.get_state_display()}，不能再审批")
    if adjustment.entered_by_id == acting_user.pk:
        raise AssessmentError("人工调整须由录入人以外的另一名督办人员审批")
    if not approve and not (note or "").strip():
        raise AssessmentError("驳回人工调整须填写理由")
    adjustment.state = ManualAdjustment.State.APPROVED if approve else ManualAdjustment.State.REJECTED
    adjustment.approved_by, adjustment.approved_at = acting_user, _now(at)
    adjustment.decision_note = (note or "").strip()[:200]
    adjustment.save(update_fields=["state", "approved_by", "approved_at", "decision_note"])
    return adjustment


@transaction.atomic
def award_bonus(unit, year: int, month: int, *, acting_user, kind: str, order=None, note: str = "",
                at: dt.datetime | None = None) -> BonusAward:
    """Record a bonus item (表扬, 典型案例, 主动治理) for a unit's month."""
    _require_manager(acting_user, "录入加分项")
    _check_month(year, month)
    if kind not in BonusAward.Kind.values:
        raise AssessmentError(f"未知的加分类型：{kind}")
    if unit is None or unit.group_id is None:
        raise AssessmentError("只能对参加考核的单位加分")
    if kind != BonusAward.Kind.PRAISE and order is None and not (note or "").strip():
        raise AssessmentError("典型案例和主动治理须关联工单或写明说明")
    return BonusAward.objects.create(unit=unit, year=year, month=month, kind=kind, order=order,
                                     note=(note or "").strip()[:200], entered_by=acting_user,
                                     entered_at=_now(at))


# ---------------------------------------------------------------------------------------------
# Exclusions


@transaction.atomic
def decide_exclusion(order, *, acting_user, excluded: bool = True, reason: str,
                     at: dt.datetime | None = None) -> ExclusionDecision:
    """A supervisor's reviewed decision that an order's appeal was unreasonable or malicious
    (it then counts against no unit), or that it counts again. The order flag is set through
    the work-order action so the order's timeline shows it."""
    from hotline.workorders.actions import set_assessment_exclusion

    _require_manager(acting_user, "认定不计入考核的工单")
    if not (reason or "").strip():
        raise AssessmentError("须填写认定理由")
    at = _now(at)
    try:
        set_assessment_exclusion(order, acting_user=acting_user, excluded=excluded, reason=reason, at=at)
    except WorkflowError as exc:
        raise AssessmentError(str(exc)) from None
    return ExclusionDecision.objects.create(order=order, excluded=excluded, reason=reason.strip(),
                                            decided_by=acting_user, decided_at=at)


# ---------------------------------------------------------------------------------------------
# Appeals


@transaction.atomic
def file_appeal(unit, year: int, month: int, *, acting_user, line_code: str, reason: str,
                at: dt.datetime | None = None) -> Appeal:
    """A handler of the unit contests one line of the published result, within the window."""
    at = _now(at)
    if role_of(acting_user) != Role.HANDLER or assessed_unit_of(acting_user.unit) != unit:
        raise AssessmentError("只有本单位的承办人可以提出申诉")
    if not (reason or "").strip():
        raise AssessmentError("请填写申诉理由")
    result = (MonthlyResult.objects.filter(year=year, month=month, state=MonthlyResult.State.PUBLISHED)
              .order_by("-version").first())
    if result is None:
        raise AssessmentError("本月考核结果尚未发布，不能申诉")
    deadline = result.published_at + dt.timedelta(days=appeal_days())
    if at > deadline:
        local = clock.local(deadline)
        raise AssessmentError(f"申诉期已过：须在结果发布后 {appeal_days()} 日内（{local:%Y-%m-%d %H:%M} 前）提出")
    sheet = unit_sheet(result, unit.pk)
    if sheet is None:
        raise AssessmentError("本单位不在该月考核结果中")
    try:
        line = sheet.score.line(line_code)
    except KeyError:
        raise AssessmentError("请选择要申诉的考核项目") from None
    if Appeal.objects.filter(result=result, unit=unit, line_code=line_code, state=Appeal.State.PENDING).exists():
        raise AssessmentError(f"“{line.label}”已有待处理的申诉")
    return Appeal.objects.create(unit=unit, year=year, month=month, result=result, line_code=line_code,
                                 line_label=line.label, line_points=line.points, reason=reason.strip(),
                                 filed_by=acting_user, filed_at=at)


@transaction.atomic
def decide_appeal(appeal: Appeal, *, acting_user, accept: bool, reason: str, correction_points=None,
                  at: dt.datetime | None = None) -> Appeal:
    """Accept (with the points given back, at most what the line took) or reject an appeal.

    An accepted appeal changes nothing already published: it is applied when the month is
    computed again, as an approved adjustment line explaining the correction.
    """
    _require_manager(acting_user, "处理申诉")
    appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
    if appeal.state != Appeal.State.PENDING:
        raise AssessmentError(f"该申诉已{appeal.get_state_display()}")
    if not (reason or "").strip():
        raise AssessmentError("请填写处理意见")
    if accept:
        if correction_points in (None, ""):
            raise AssessmentError("采纳申诉须填写更正分值")
        points = _points(correction_points)
        if points <= 0:
            raise AssessmentError("采纳申诉的更正分值必须大于 0")
        lost = -(line_points(appeal.result, appeal.unit_id, appeal.line_code) or Decimal(0))
        if points > lost:
            raise AssessmentError(f"更正分值不能超过该项扣分 {lost:.2f} 分")
        appeal.correction_points = points
    appeal.state = Appeal.State.ACCEPTED if accept else Appeal.State.REJECTED
    appeal.decided_by, appeal.decided_at, appeal.decision_reason = acting_user, _now(at), reason.strip()
    appeal.save(update_fields=["state", "decided_by", "decided_at", "decision_reason", "correction_points"])
    return appeal
