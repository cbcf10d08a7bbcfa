"""Stored classifiers and the suggestions they made, so a routing decision can be explained later."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Kind(models.TextChoices):
    CATEGORY = "category", "热点分类"
    APPEAL = "appeal", "诉求类型"
    UNIT = "unit", "主办单位"


class TriageModel(models.Model):
    """A trained classifier (category, appeal type or lead unit). One active model per kind; older
    ones are kept so a stored suggestion still names the model that made it, and a new version that
    scored worse than the active one is kept inactive (``metadata["not_activated"]`` says why)."""

    kind = models.CharField("类型", max_length=10, choices=Kind.choices)
    version = models.PositiveIntegerField("版本")
    blob = models.BinaryField("模型数据")
    metadata = models.JSONField("训练信息", default=dict, blank=True,
                                help_text="version, trained_at, n_samples, labels, held-out scores, since, not_activated")
    active = models.BooleanField("当前使用", default=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name="训练人")

    class Meta:
        verbose_name = verbose_name_plural = "分类模型"
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="triage_model_kind_version"),
            models.UniqueConstraint(fields=["kind"], condition=Q(active=True), name="triage_model_one_active"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} v{self.version}"

    @property
    def scores(self) -> dict:
        return self.metadata.get("scores", {})


class Suggestion(models.Model):
    """What a model (and the dispatch catalog) suggested for one order, and what was chosen.

    ``suggested`` is the ranked list as shown: ``[{"label", "name", "score", "source"}]`` where
    ``source`` is ``model`` or ``catalog``. ``chosen`` and ``accepted`` are filled in once the order
    has its category / lead unit (``services.settle``); ``accepted`` means the first chip was taken.
    """

    order = models.ForeignKey("workorders.WorkOrder", models.CASCADE, related_name="triage_suggestions",
                              verbose_name="工单")
    kind = models.CharField("类型", max_length=10, choices=Kind.choices)
    model = models.ForeignKey(TriageModel, models.PROTECT, null=True, blank=True, related_name="suggestions",
                              verbose_name="模型")
    model_version = models.PositiveIntegerField("模型版本", null=True, blank=True)
    suggested = models.JSONField("建议", default=list)
    top_label = models.CharField("首选建议", max_length=20, blank=True)
    chosen = models.CharField("最终选择", max_length=20, blank=True)
    accepted = models.BooleanField("采纳首选", null=True, blank=True)
    in_top3 = models.BooleanField("在前三建议中", null=True, blank=True)
    created_at = models.DateTimeField("建议时间", auto_now_add=True)
    settled_at = models.DateTimeField("核对时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "分类派单建议"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "kind"], name="triage_suggestion_one_per_order_kind"),
        ]
        indexes = [models.Index(fields=["kind", "settled_at"], name="triage_suggestion_settled_idx")]

    def __str__(self):
        return f"{self.order_id} {self.get_kind_display()} → {self.top_label}"


class NearDupKey(models.Model):
    """One locality-sensitive hashing key of an order's text (``hotline.triage.neardup``): orders
    that share a key are near-duplicate candidates. Written with the registration (same
    transaction) and by the backfill for orders that came in another way.

    The primary key (key, order) is the one index: a lookup reads the newest orders of a key from
    it. No index on the order alone, so a registration writes each key row into one B-tree; the
    per-order row below says which orders are indexed.

    No foreign key in the database either: it cost every registration 20 checks at commit, each
    an index probe and a row lock on the new order, about 0.25 ms of PostgreSQL's CPU (a twentieth
    of an API registration's). The keys are derived data, like an index's entries: they are
    written only beside their order's state row (which keeps its foreign key), deleting an order
    through the ORM still deletes them (``CASCADE`` is Django's), and a lookup that meets a key of
    an order that is gone finds no order and skips it.
    """

    pk = models.CompositePrimaryKey("key", "order")
    key = models.BigIntegerField("键")
    order = models.ForeignKey("workorders.WorkOrder", models.CASCADE, related_name="+", db_index=False,
                              db_constraint=False, verbose_name="工单")

    class Meta:
        verbose_name = verbose_name_plural = "相似文本索引键"

    def __str__(self):
        return f"{self.key} → {self.order_id}"


class NearDupState(models.Model):
    """An order whose text is in the near-duplicate index, and with which ``neardup.FORMAT_VERSION``
    (a new format rebuilds the older rows' keys)."""

    order = models.OneToOneField("workorders.WorkOrder", models.CASCADE, primary_key=True, related_name="neardup",
                                 verbose_name="工单")
    version = models.PositiveSmallIntegerField("格式版本")

    class Meta:
        verbose_name = verbose_name_plural = "相似文本索引状态"

    def __str__(self):
        return f"{self.order_id} v{self.version}"


class NearDuplicate(models.Model):
    """Two orders whose texts the nightly pass found nearly the same (疑似重复件): a hint for the
    center, never a merge. ``order`` is the later one, ``similar_to`` the earlier; ``jaccard`` is
    the exact Jaccard similarity of their character 3-grams.

    A dispatcher or supervisor reviews the pair in the queue (``hotline.triage.actions``): not a
    repeat (the row stays, so the nightly pass, which records a pair once, never brings it back),
    or a repeat linked through the work orders' own 重办 action. ``reviewed_by`` / ``reviewed_at``
    say who decided and when."""

    class State(models.TextChoices):
        PENDING = "pending", "待核实"
        DISMISSED = "dismissed", "不是重复"
        LINKED = "linked", "已标为重办"

    # No index of its own: the pair's unique constraint leads with it.
    order = models.ForeignKey("workorders.WorkOrder", models.CASCADE, related_name="near_duplicates",
                              verbose_name="工单", db_index=False)
    similar_to = models.ForeignKey("workorders.WorkOrder", models.CASCADE, related_name="near_duplicated_by",
                                   verbose_name="相似工单")
    jaccard = models.FloatField("相似度")
    found_on = models.DateField("比对日期", help_text="the day of orders the nightly pass looked at (center's time)")
    found_at = models.DateTimeField("发现时间", auto_now_add=True)
    state = models.CharField("核实结果", max_length=10, choices=State.choices, default=State.PENDING)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name="核实人")
    reviewed_at = models.DateTimeField("核实时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "疑似重复工单"
        ordering = ["-found_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "similar_to"], name="triage_near_duplicate_pair"),
            models.CheckConstraint(condition=~Q(order=models.F("similar_to")), name="triage_near_duplicate_not_self"),
            # A decision always says who and when; a pair waiting for one has neither.
            models.CheckConstraint(condition=Q(state="pending", reviewed_at__isnull=True, reviewed_by__isnull=True)
                                   | (~Q(state="pending") & Q(reviewed_at__isnull=False)),
                                   name="triage_near_duplicate_reviewed"),
        ]
        # The review queue, newest first, reads only the pairs still waiting: one index range.
        indexes = [models.Index(fields=["-found_on", "-id"], condition=Q(state="pending"),
                                name="triage_near_dup_pending_idx")]

    def __str__(self):
        return f"{self.order_id} ≈ {self.similar_to_id} ({self.jaccard:.2f})"


class HotspotAlert(models.Model):
    """A 未诉先办 early warning raised to the supervisors (``hotspot_data.raise_early_warnings``): one
    place, one rising topic, ``count`` orders within the window. Kept so a place and topic is
    alerted once per window, not at every sweep."""

    place = models.CharField("地点", max_length=60)
    topic = models.CharField("问题", max_length=60)
    keywords = models.CharField("关键词", max_length=200, blank=True)
    count = models.PositiveIntegerField("工单数")
    order_ids = models.JSONField("工单", default=list)
    window_start = models.DateTimeField("统计起")
    window_end = models.DateTimeField("统计止")
    raised_at = models.DateTimeField("预警时间")

    class Meta:
        verbose_name = verbose_name_plural = "未诉先办预警"
        ordering = ["-raised_at", "-id"]
        indexes = [models.Index(fields=["place", "-raised_at"], name="hotspot_alert_place_idx")]

    def __str__(self):
        return f"{self.place} {self.topic}（{self.count}件）"


class MonthHotProblems(models.Model):
    """A month's hot problems as the text pass found them (``hotspot_data.store_month``), kept once
    computed: the pass reads the text of the month and of the three months before it — minutes and
    gigabytes at Beijing's size — while a briefing is rebuilt many times.

    Rule for late changes: an order registered into a month that has begun to close (an import or an
    upstream push dated in an earlier month) deletes the stored result of that month and of the
    ``HISTORY_MONTHS`` after it, whose history it is (``hotspot_data.on_order_registering``); and a
    stored result is used only while the month still has ``orders`` orders. Either way the next
    briefing draft computes it again."""

    year = models.PositiveSmallIntegerField("年")
    month = models.PositiveSmallIntegerField("月")
    orders = models.PositiveIntegerField("当月工单数")
    history_orders = models.PositiveIntegerField("此前各月工单数", default=0)
    history_read = models.PositiveIntegerField("读取的此前工单数", default=0,
                                               help_text="此前各月超过上限时均匀抽取的工单数")
    history_months = models.PositiveSmallIntegerField("比较的月数", default=0, help_text="0：没有可比较的历史")
    items = models.JSONField("热点问题", default=list)
    computed_at = models.DateTimeField("计算时间")
    seconds = models.FloatField("用时（秒）", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "月度热点问题"
        constraints = [models.UniqueConstraint(fields=["year", "month"], name="month_hot_problems_once")]

    def __str__(self):
        return f"{self.year}年{self.month}月热点问题（{len(self.items)}）"
