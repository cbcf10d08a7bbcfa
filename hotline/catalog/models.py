"""What an order is about (appeal type, category), how urgent, how long units have, and answers."""

from django.db import models
from django.db.models import Q

from hotline.lib.workcalendar import HOURS, WORKING_DAYS


class AppealType(models.Model):
    """诉求类型: 咨询类, 问题处理类, 投诉举报类, 建议类, 其他."""

    code = models.SlugField("代码", max_length=20, unique=True)
    name = models.CharField("名称", max_length=20, unique=True)
    position = models.PositiveSmallIntegerField("排序", default=0)
    active = models.BooleanField("启用", default=True)

    class Meta:
        ordering = ["position"]
        verbose_name = verbose_name_plural = "诉求类型"

    def __str__(self):
        return self.name


class Category(models.Model):
    """A node of the two-level hotspot tree (政务服务 → 网点服务). Deactivated, never deleted."""

    code = models.CharField("编码", max_length=8, unique=True)
    name = models.CharField("名称", max_length=40)
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children",
                               verbose_name="上级分类")
    level = models.PositiveSmallIntegerField("层级", default=1)
    active = models.BooleanField("启用", default=True)
    full_name = models.CharField("完整名称", max_length=90, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = verbose_name_plural = "热点分类"
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="category_unique_name_in_parent"),
            models.CheckConstraint(condition=Q(level=1, parent__isnull=True) | Q(level=2, parent__isnull=False),
                                   name="category_two_levels"),
        ]

    def __str__(self):
        return self.full_name

    def save(self, *args, **kwargs):
        self.level = 2 if self.parent_id else 1
        self.full_name = f"{self.parent.name}—{self.name}" if self.parent_id else self.name
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise models.ProtectedError("分类只能停用，不能删除：历史工单仍引用它", {self})


class Urgency(models.TextChoices):
    NORMAL = "normal", "一般"
    URGENT = "urgent", "紧急"
    CRITICAL = "critical", "特急"


class Source(models.TextChoices):
    PHONE = "phone", "电话"
    WEB = "web", "网站"
    WECHAT = "wechat", "微信"
    LETTER = "letter", "来信"
    LEADER = "leader", "领导批示"
    UPSTREAM = "upstream", "上级平台"
    APP = "app", "移动端"


class LimitUnit(models.TextChoices):
    HOURS = HOURS, "小时"
    WORKING_DAYS = WORKING_DAYS, "工作日"


class SlaPolicy(models.Model):
    """Time limits for one combination of appeal type × urgency × source (blank = any).

    The most specific matching row wins (each filled field counts one), then the lowest
    ``position``. The demo's defaults follow published practice: consultations 1 working day,
    problems and complaints 5, suggestions 10, 特急 hours.
    """

    name = models.CharField("名称", max_length=60)
    appeal_type = models.ForeignKey(AppealType, models.PROTECT, null=True, blank=True, verbose_name="诉求类型")
    urgency = models.CharField("紧急程度", max_length=10, choices=Urgency.choices, blank=True)
    source = models.CharField("来源", max_length=10, choices=Source.choices, blank=True)
    sign_limit = models.PositiveIntegerField("签收时限")
    sign_limit_unit = models.CharField("签收时限单位", max_length=20, choices=LimitUnit.choices,
                                       default=LimitUnit.HOURS)
    handle_limit = models.PositiveIntegerField("办理时限")
    handle_limit_unit = models.CharField("办理时限单位", max_length=20, choices=LimitUnit.choices,
                                         default=LimitUnit.WORKING_DAYS)
    position = models.PositiveSmallIntegerField("排序", default=100)
    active = models.BooleanField("启用", default=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = verbose_name_plural = "时限规则"

    def __str__(self):
        return self.name

    def specificity(self) -> int:
        return bool(self.appeal_type_id) + bool(self.urgency) + bool(self.source)

    def matches(self, appeal_type_id, urgency, source) -> bool:
        return ((not self.appeal_type_id or self.appeal_type_id == appeal_type_id)
                and (not self.urgency or self.urgency == urgency)
                and (not self.source or self.source == source))


class CalendarOverride(models.Model):
    """An admin correction of the working-day calendar: a holiday or an adjusted workday (调休)."""

    date = models.DateField("日期", unique=True)
    is_workday = models.BooleanField("是否工作日")
    note = models.CharField("说明", max_length=60, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = verbose_name_plural = "节假日调整"

    def __str__(self):
        return f"{self.date} {'上班' if self.is_workday else '休息'} {self.note}"


class CalendarYear(models.Model):
    """A year whose holiday arrangement an admin has entered completely (beyond the package's data)."""

    year = models.PositiveSmallIntegerField("年份", unique=True)
    note = models.CharField("说明", max_length=100, blank=True)

    class Meta:
        ordering = ["year"]
        verbose_name = verbose_name_plural = "已录入节假日的年份"

    def __str__(self):
        return str(self.year)


class KnowledgeArticle(models.Model):
    """An answer operators read out (直接答复), kept up to date by its owning unit."""

    title = models.CharField("标题", max_length=120)
    body = models.TextField("内容")
    category = models.ForeignKey(Category, models.PROTECT, null=True, blank=True, verbose_name="分类")
    owner_unit = models.ForeignKey("directory.Unit", models.PROTECT, null=True, blank=True,
                                   verbose_name="维护单位")
    keywords = models.CharField("关键词", max_length=200, blank=True)
    review_date = models.DateField("复核日期", null=True, blank=True)
    active = models.BooleanField("启用", default=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["title"]
        verbose_name = verbose_name_plural = "知识库"

    def __str__(self):
        return self.title


class DispatchRule(models.Model):
    """The dispatch catalog: category (+ town) → suggested lead unit. Admin-editable."""

    category = models.ForeignKey(Category, models.CASCADE, related_name="dispatch_rules", verbose_name="分类")
    town = models.ForeignKey("directory.Unit", models.CASCADE, null=True, blank=True, related_name="+",
                             verbose_name="所在乡镇街道", help_text="空 = 任何地点")
    unit = models.ForeignKey("directory.Unit", models.CASCADE, null=True, blank=True, related_name="+",
                             verbose_name="建议主办单位", help_text="空 = 工单所在乡镇街道")
    position = models.PositiveSmallIntegerField("排序", default=0)

    class Meta:
        ordering = ["category", "position"]
        verbose_name = verbose_name_plural = "派单目录"

    def __str__(self):
        return f"{self.category} → {self.unit or '属地'}"
