"""A month's briefing (工作简报): the editable working copy and its frozen published versions.

Rows here are written only by ``hotline.briefing.actions`` (and the build task).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Briefing(models.Model):
    """The working copy of one month's briefing: the last build's figures and the narrative texts.

    ``state`` says whether the working copy is what was last published: editing a published
    briefing makes it a draft again; publishing freezes a new ``BriefingVersion``.
    """

    class State(models.TextChoices):
        DRAFT = "draft", "草稿"
        PUBLISHED = "published", "已发布"

    class BuildState(models.TextChoices):
        IDLE = "idle", "未生成"
        QUEUED = "queued", "排队中"
        RUNNING = "running", "生成中"
        DONE = "done", "已生成"
        FAILED = "failed", "生成失败"

    year = models.PositiveSmallIntegerField("年份")
    month = models.PositiveSmallIntegerField("月份")
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.DRAFT)
    version = models.PositiveIntegerField("最新发布版本", default=0)
    issue_date = models.DateField("印发日期", null=True, blank=True)
    hot_problems = models.JSONField("热点问题", default=list, blank=True,
                                    help_text="[[标题, 正文], …]")
    typical_cases = models.JSONField("典型案例", default=list, blank=True, help_text="[段落, …]")
    business_work = models.JSONField("业务工作", default=list, blank=True, help_text="[[标题, 正文], …]")
    data = models.JSONField("统计数据快照", default=dict, blank=True,
                            help_text="最近一次生成的 BriefingData.to_dict()（叙述部分以上面的字段为准）")
    warnings = models.JSONField("提示", default=list, blank=True)
    build_state = models.CharField("生成状态", max_length=10, choices=BuildState.choices, default=BuildState.IDLE)
    build_task_id = models.CharField("生成任务", max_length=64, blank=True)
    build_error = models.TextField("生成错误", blank=True)
    built_at = models.DateTimeField("生成时间", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+",
                                   verbose_name="创建人")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+",
                                   verbose_name="修改人")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "工作简报"
        ordering = ["-year", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["year", "month"], name="briefing_one_per_month"),
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="briefing_month_valid"),
        ]

    def __str__(self):
        return f"{self.year}年{self.month}月工作简报"

    @property
    def period(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def is_built(self) -> bool:
        return bool(self.data)

    @property
    def assessment_version(self) -> int | None:
        """The published assessment version the working copy's annexes were read from."""
        return (self.data or {}).get("assessment_version")

    def briefing_data(self):
        """The working copy as ``BriefingData``: the last build's figures + the edited narrative."""
        from hotline.briefing.data import BriefingData

        if not self.data:
            return None
        d = dict(self.data)
        d.update(hot_problems=self.hot_problems, typical_cases=self.typical_cases,
                 business_work=self.business_work)
        if self.issue_date:
            d["issue_date"] = self.issue_date.isoformat()
        return BriefingData.from_dict(d)


class BriefingVersion(models.Model):
    """A published version: the frozen snapshot and the DOCX exactly as it was published."""

    briefing = models.ForeignKey(Briefing, models.PROTECT, related_name="versions", verbose_name="简报")
    number = models.PositiveIntegerField("版本号")
    data = models.JSONField("快照", help_text="BriefingData.to_dict()")
    docx = models.BinaryField("Word 文件")
    published_at = models.DateTimeField("发布时间")
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+",
                                     verbose_name="发布人")
    note = models.CharField("发布说明", max_length=200, blank=True)
    assessment_version = models.PositiveIntegerField(
        "依据的考核结果版本", null=True, blank=True,
        help_text="附件和办理较好、较差单位取自该月考核结果的这一发布版本；为空表示发布时该月考核结果尚未发布")

    class Meta:
        verbose_name = verbose_name_plural = "简报发布版本"
        ordering = ["briefing", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["briefing", "number"], name="briefing_version_unique"),
        ]

    def __str__(self):
        return f"{self.briefing} 第{self.number}版"

    def save(self, *args, **kwargs):
        # A published version is frozen: it is created once and never changed.
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("已发布的简报版本不能修改")
        super().save(*args, **kwargs)

    def briefing_data(self):
        from hotline.briefing.data import BriefingData

        return BriefingData.from_dict(self.data)

    @property
    def filename_stem(self) -> str:
        return f"{self.briefing.year}年{self.briefing.month}月工作简报-第{self.number}版"
