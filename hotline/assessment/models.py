"""The database side of the assessment (考核): scorecards by month, frozen monthly results, and
everything people put into a month besides the orders — manual adjustments, bonuses, exclusions
and appeals. Rows are written by ``hotline.assessment.actions``; the engine is pure
(``hotline.assessment.engine``).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from hotline.assessment.default_scorecard import DEFAULT_SCORECARDS, load_scorecard
from hotline.assessment.engine import Scorecard, ScorecardError


def month_start(year: int, month: int) -> dt.date:
    return dt.date(year, month, 1)


class ScorecardVersion(models.Model):
    """The scorecard (评分表) of a unit group from a month on.

    The version valid for a month is the latest one with ``valid_from`` on or before that month;
    a group without any row uses the built-in default (``DEFAULT_SCORECARDS``).
    """

    group = models.ForeignKey("directory.UnitGroup", models.PROTECT, related_name="scorecards",
                              verbose_name="考核分组")
    valid_from = models.DateField("起始月份", help_text="每月1日")
    spec = models.JSONField("评分表", help_text="JSON 格式，见 docs/assessment.md")
    note = models.CharField("说明", max_length=200, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name="创建人")

    class Meta:
        verbose_name = verbose_name_plural = "评分表版本"
        ordering = ["group", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["group", "valid_from"], name="scorecard_group_month_unique"),
        ]

    def __str__(self):
        return f"{self.group} {self.valid_from:%Y-%m} 起"

    def clean(self):
        if self.valid_from and self.valid_from.day != 1:
            raise ValidationError({"valid_from": "起始月份须为某月1日"})
        try:
            card = load_scorecard(self.spec)
        except ScorecardError as exc:
            raise ValidationError({"spec": str(exc)}) from None
        if self.group_id and card.group != self.group.key:
            raise ValidationError({"spec": f"评分表的 group 应为“{self.group.key}”，实际为“{card.group}”"})

    def scorecard(self) -> Scorecard:
        return load_scorecard(self.spec)

    @classmethod
    def for_month(cls, group, year: int, month: int) -> tuple[Scorecard, ScorecardVersion | None]:
        """The scorecard valid for the month and the row it came from (None: the default)."""
        row = (cls.objects.filter(group=group, valid_from__lte=month_start(year, month))
               .order_by("-valid_from").first())
        if row is not None:
            return row.scorecard(), row
        if group.key not in DEFAULT_SCORECARDS:
            raise ScorecardError(f"考核分组“{group.name}”没有配置评分表")
        return load_scorecard(DEFAULT_SCORECARDS[group.key]), None


class MonthlyResult(models.Model):
    """One computed version of a month's assessment: every group's ranked result, frozen as JSON.

    Versions count up per month. A published version is never changed; recomputing makes a new
    version whose ``diff`` says what moved against the last published one.
    """

    class State(models.TextChoices):
        COMPUTED = "computed", "已计算（未发布）"
        PUBLISHED = "published", "已发布"

    year = models.PositiveSmallIntegerField("年")
    month = models.PositiveSmallIntegerField("月")
    version = models.PositiveSmallIntegerField("版本")
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.COMPUTED)
    as_of = models.DateTimeField("数据截止时间")
    computed_at = models.DateTimeField("计算时间")
    computed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+",
                                    verbose_name="计算人")
    published_at = models.DateTimeField("发布时间", null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name="发布人")
    # [{"key", "name", "scorecard": spec, "scorecard_version": id|None, "result": RankedResult.to_dict()}]
    groups = models.JSONField("各组结果", default=list)
    inputs = models.JSONField("计入的人工调整、加分、申诉", default=dict, blank=True)
    diff_against = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="+",
                                     verbose_name="比较版本")
    diff = models.JSONField("与比较版本的差异", default=dict, blank=True)
    diff_text = models.TextField("差异说明", blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "月度考核结果"
        ordering = ["-year", "-month", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["year", "month", "version"], name="result_month_version_unique"),
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="result_month_valid"),
            models.CheckConstraint(condition=~Q(state="published") | Q(published_at__isnull=False),
                                   name="result_published_has_time"),
        ]

    def __str__(self):
        return f"{self.year}年{self.month}月 第{self.version}版（{self.get_state_display()}）"

    @property
    def is_published(self) -> bool:
        return self.state == self.State.PUBLISHED

    @property
    def period(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


class ManualAdjustment(models.Model):
    """A supervisor's manual adjustment (人工加减分) with its reason; it counts once another
    supervisor approved it (second-person rule)."""

    class State(models.TextChoices):
        PENDING = "pending", "待审批"
        APPROVED = "approved", "已批准"
        REJECTED = "rejected", "已驳回"

    unit = models.ForeignKey("directory.Unit", models.PROTECT, related_name="+", verbose_name="单位")
    year = models.PositiveSmallIntegerField("年")
    month = models.PositiveSmallIntegerField("月")
    points = models.DecimalField("分值", max_digits=6, decimal_places=2)
    reason = models.TextField("理由")
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.PENDING)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+",
                                   verbose_name="录入人")
    entered_at = models.DateTimeField("录入时间")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name="审批人")
    approved_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "人工调整"
        ordering = ["-year", "-month", "unit", "id"]
        indexes = [models.Index(fields=["year", "month", "state"], name="adjustment_month_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(approved_by=F("entered_by")), name="adjustment_second_person"),
            models.CheckConstraint(condition=~Q(state="approved") | Q(approved_by__isnull=False),
                                   name="adjustment_approved_has_approver"),
            models.CheckConstraint(condition=~Q(points=0), name="adjustment_points_nonzero"),
        ]

    def __str__(self):
        return f"{self.unit} {self.year}-{self.month:02d} {self.points:+} 分"


class BonusAward(models.Model):
    """A bonus item (加分) for a unit in a month: praise, a typical case, proactive governance."""

    class Kind(models.TextChoices):
        PRAISE = "praise", "表扬"
        TYPICAL_CASE = "typical_case", "典型案例"
        PROACTIVE_GOVERNANCE = "proactive_governance", "主动治理"

    unit = models.ForeignKey("directory.Unit", models.PROTECT, related_name="+", verbose_name="单位")
    year = models.PositiveSmallIntegerField("年")
    month = models.PositiveSmallIntegerField("月")
    kind = models.CharField("类型", max_length=30, choices=Kind.choices)
    order = models.ForeignKey("workorders.WorkOrder", models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name="相关工单")
    note = models.CharField("说明", max_length=200, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+",
                                   verbose_name="录入人")
    entered_at = models.DateTimeField("录入时间")

    class Meta:
        verbose_name = verbose_name_plural = "加分项"
        ordering = ["-year", "-month", "unit", "kind", "id"]
        indexes = [models.Index(fields=["year", "month"], name="bonus_month_idx")]

    def __str__(self):
        return f"{self.unit} {self.year}-{self.month:02d} {self.get_kind_display()}"


class ExclusionDecision(models.Model):
    """A supervisor's reviewed decision that an order's appeal was unreasonable or malicious
    (不合理/恶意诉求), so it counts against no unit — or that it counts again (``excluded=False``).

    The latest decision of an order is mirrored on ``WorkOrder.excluded_from_assessment``.
    """

    order = models.ForeignKey("workorders.WorkOrder", models.PROTECT, related_name="exclusion_decisions",
                              verbose_name="工单")
    excluded = models.BooleanField("不计入考核", default=True)
    reason = models.TextField("认定理由")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+",
                                   verbose_name="审核人")
    decided_at = models.DateTimeField("审核时间")

    class Meta:
        verbose_name = verbose_name_plural = "不计入考核认定"
        ordering = ["-decided_at", "-id"]

    def __str__(self):
        return f"{self.order.number} {'不计入考核' if self.excluded else '恢复计入考核'}"


class Appeal(models.Model):
    """A unit's appeal (申诉) against one line of its published monthly result.

    Filed by a handler of the unit within the appeal window after publication. An accepted
    appeal carries ``correction_points`` (points given back, at most what the line took): the
    next computed version adds them as an approved adjustment line "申诉更正（指标）：…", so the
    correction is explained on the unit's sheet like any other point.
    """

    class State(models.TextChoices):
        PENDING = "pending", "待处理"
        ACCEPTED = "accepted", "已采纳"
        REJECTED = "rejected", "不予采纳"

    unit = models.ForeignKey("directory.Unit", models.PROTECT, related_name="+", verbose_name="单位")
    year = models.PositiveSmallIntegerField("年")
    month = models.PositiveSmallIntegerField("月")
    result = models.ForeignKey(MonthlyResult, models.PROTECT, related_name="appeals", verbose_name="申诉版本")
    line_code = models.CharField("申诉指标代码", max_length=40)
    line_label = models.CharField("申诉指标", max_length=60)
    line_points = models.DecimalField("该项原得分", max_digits=6, decimal_places=2)
    reason = models.TextField("申诉理由")
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+",
                                 verbose_name="申诉人")
    filed_at = models.DateTimeField("申诉时间")
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name="处理人")
    decided_at = models.DateTimeField("处理时间", null=True, blank=True)
    decision_reason = models.TextField("处理意见", blank=True)
    correction_points = models.DecimalField("更正分值", max_digits=6, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "考核申诉"
        ordering = ["-filed_at", "-id"]
        indexes = [models.Index(fields=["year", "month", "state"], name="appeal_month_state_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(state="accepted") | Q(correction_points__gt=0),
                                   name="appeal_accepted_has_correction"),
            models.UniqueConstraint(fields=["result", "unit", "line_code"], condition=Q(state="pending"),
                                    name="appeal_one_pending_per_line"),
        ]

    def __str__(self):
        return f"{self.unit} {self.year}-{self.month:02d} {self.line_label} {self.get_state_display()}"
