"""What an order is about (appeal type, category), how urgent, how long units have, and answers."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

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


class CategoryQuerySet(models.QuerySet):
    def classifiable(self):
        """Categories an order may be classified under today: active, below level 1."""
        return self.filter(level__gte=2, active=True)


class Category(models.Model):
    """A category of the hotspot tree (up to three levels: 政务服务 → 网点服务 → …).

    The row is the category's identity (its code, what orders point at) and a copy of the version
    in effect today (name, parent, level, full name) for forms and lookups. Renaming or moving it
    is a new ``CategoryVersion`` with a valid-from day (``history.add_version``); orders, statistics
    and briefings read the version of their own day. Deactivated, never deleted.
    """

    code = models.CharField("编码", max_length=8, unique=True)
    name = models.CharField("名称", max_length=40)
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children",
                               verbose_name="上级分类")
    level = models.PositiveSmallIntegerField("层级", default=1)
    active = models.BooleanField("启用", default=True)
    full_name = models.CharField("完整名称", max_length=130, editable=False)

    objects = CategoryQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = verbose_name_plural = "热点分类"
        constraints = [
            # Sibling names are unique on every day of the tree's history (``tree.check``), which a
            # constraint on today's copy could not say (and would trip while a swap is applied).
            models.CheckConstraint(condition=Q(level=1, parent__isnull=True)
                                   | Q(level__gte=2, level__lte=3, parent__isnull=False),
                                   name="category_up_to_three_levels"),
        ]

    def __str__(self):
        return self.full_name

    def save(self, *args, **kwargs):
        creating = self.pk is None
        if not creating and not getattr(self, "_from_history", False):
            stored = Category.objects.filter(pk=self.pk).values("name", "parent_id").first()
            if stored and (stored["name"], stored["parent_id"]) != (self.name, self.parent_id):
                raise ValueError("分类的名称和上级只能以新版本（带生效日期）修改：见 hotline.catalog.history.add_version")
        if not getattr(self, "_from_history", False):
            self.level = self.parent.level + 1 if self.parent_id else 1
            self.full_name = f"{self.parent.full_name}—{self.name}" if self.parent_id else self.name
        if self.level > 3:
            raise ValueError("分类最多三级")
        super().save(*args, **kwargs)
        if creating:
            CategoryVersion.objects.using(self._state.db).get_or_create(
                category=self, valid_from=None, defaults={"name": self.name, "parent_id": self.parent_id})

    def delete(self, *args, **kwargs):
        raise models.ProtectedError("分类只能停用，不能删除：历史工单仍引用它", {self})


class CategoryVersion(models.Model):
    """A category's name and parent from ``valid_from`` on (until the next version's day).

    ``valid_to`` is that next day (exclusive), kept for reading; the timeline is what the versions'
    days say. The first version of a category loaded with the defaults has no valid-from: it
    stands for every day before the next one.
    """

    category = models.ForeignKey(Category, models.CASCADE, related_name="versions", verbose_name="分类")
    name = models.CharField("名称", max_length=40)
    parent = models.ForeignKey(Category, models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name="上级分类")
    valid_from = models.DateField("生效日期", null=True, blank=True, help_text="空 = 自始")
    valid_to = models.DateField("失效日期", null=True, blank=True, editable=False,
                                help_text="下一版本的生效日期（不含）；空 = 现行")
    created_at = models.DateTimeField("录入时间", auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name="录入人")

    class Meta:
        ordering = ["category", F("valid_from").asc(nulls_first=True)]  # the first version first on every database
        verbose_name = verbose_name_plural = "分类版本"
        constraints = [
            models.UniqueConstraint(fields=["category", "valid_from"], name="category_version_one_per_day"),
            models.UniqueConstraint(fields=["category"], condition=Q(valid_from__isnull=True),
                                    name="category_version_one_initial"),
        ]

    def __str__(self):
        since = f"{self.valid_from:%Y-%m-%d}起" if self.valid_from else "自始"
        return f"{self.name}（{since}）"


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
    # The SLA sweep issues one 催办 to the lead unit when an order of this policy enters the
    # near-due window (HOTLINE_NEAR_DUE_HOURS), once per dispatch (docs/workflow.md, "Chase loops").
    auto_remind = models.BooleanField("临期自动催办", default=True, db_default=True)
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
    """An answer operators read out (直接答复), kept current by its owning unit (GB/T 44191-2024).

    Title, body, keywords, category and ``public`` are the published text: what operators search
    and, when public, what citizens find in the portal. Every change is a ``KnowledgeRevision``
    (versions with diffs and who proposed and approved what); the owning unit proposes, the
    center reviews before anything is published. ``review_date`` is when the unit must confirm
    the article again (复核); ``expires_on`` is when it stops being offered (失效). Changed only
    through ``hotline.catalog.actions``.
    """

    title = models.CharField("标题", max_length=120)
    body = models.TextField("内容")
    category = models.ForeignKey(Category, models.PROTECT, null=True, blank=True, verbose_name="分类")
    owner_unit = models.ForeignKey("directory.Unit", models.PROTECT, null=True, blank=True,
                                   verbose_name="维护单位")
    keywords = models.CharField("关键词", max_length=200, blank=True)
    review_date = models.DateField("复核日期", null=True, blank=True)
    expires_on = models.DateField("失效日期", null=True, blank=True)
    public = models.BooleanField("向市民公开", default=False)
    active = models.BooleanField("启用", default=True)
    version = models.PositiveIntegerField("版本", default=0)  # 0: not yet published
    reviewed_at = models.DateTimeField("最近复核", null=True, blank=True)
    reminded_on = models.DateField("最近复核提醒", null=True, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["title"]
        verbose_name = verbose_name_plural = "知识库"
        indexes = [models.Index(fields=["review_date"], name="kb_review_idx")]

    def __str__(self):
        return self.title

    @property
    def published(self) -> bool:
        return self.version > 0


class KnowledgeRevision(models.Model):
    """One proposed text of an article: pending until the center approves (it becomes the next
    version) or rejects it. The approved ones are the article's versions; all of them, with who
    proposed and who decided, are its audit trail."""

    class State(models.TextChoices):
        PENDING = "pending", "待审核"
        APPROVED = "approved", "已发布"
        REJECTED = "rejected", "已退回"

    article = models.ForeignKey(KnowledgeArticle, models.CASCADE, related_name="revisions", verbose_name="条目")
    number = models.PositiveIntegerField("版本", null=True, blank=True)  # set on approval
    base_version = models.PositiveIntegerField("修改自版本", default=0)
    title = models.CharField("标题", max_length=120)
    body = models.TextField("内容")
    keywords = models.CharField("关键词", max_length=200, blank=True)
    category = models.ForeignKey(Category, models.PROTECT, null=True, blank=True, verbose_name="分类")
    public = models.BooleanField("向市民公开", default=False)
    review_date = models.DateField("复核日期", null=True, blank=True)
    expires_on = models.DateField("失效日期", null=True, blank=True)
    note = models.CharField("修改说明", max_length=200, blank=True)
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.PENDING)
    proposed_by = models.ForeignKey("accounts.User", models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name="提交人")  # None: loaded with the defaults
    proposed_unit = models.ForeignKey("directory.Unit", models.PROTECT, null=True, blank=True, related_name="+",
                                      verbose_name="提交单位")
    proposed_at = models.DateTimeField("提交时间")
    decided_by = models.ForeignKey("accounts.User", models.PROTECT, null=True, blank=True, related_name="+",
                                   verbose_name="审核人")
    decided_at = models.DateTimeField("审核时间", null=True, blank=True)
    decision_note = models.CharField("审核意见", max_length=200, blank=True)

    class Meta:
        ordering = ["article", "proposed_at", "id"]
        verbose_name = verbose_name_plural = "知识库修订"
        constraints = [
            # One pending proposal per article: a second editor sees the first and builds on it.
            models.UniqueConstraint(fields=["article"], condition=models.Q(state="pending"),
                                    name="kb_one_pending_revision"),
            models.UniqueConstraint(fields=["article", "number"], name="kb_revision_number_unique"),
        ]

    def __str__(self):
        return f"{self.article} · {self.get_state_display()}"


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
