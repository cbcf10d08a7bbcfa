"""The work order (工单) and everything that happens to it.

Rows here are written only by ``hotline.workorders.actions``; every other module reads.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from hotline.catalog.history import full_name_on
from hotline.catalog.models import Source, Urgency
from hotline.workorders.workflow import OPEN, STATUS_LABELS, UNIT_HOLDS, Status


class Disposition(models.TextChoices):
    DIRECT_ANSWER = "direct_answer", "直接答复"
    COORDINATE = "coordinate", "协调办理"
    DISPATCH = "dispatch", "交办"
    TRANSFER = "transfer", "转110/119/120/122"
    INFORM = "inform", "告知法定途径"
    NOT_ACCEPTED = "not_accepted", "不予受理"
    MERGE = "merge", "并单"


class TransferTarget(models.TextChoices):
    POLICE = "110", "110 报警"
    FIRE = "119", "119 火警"
    AMBULANCE = "120", "120 急救"
    TRAFFIC = "122", "122 交通事故"


class Satisfaction(models.TextChoices):
    VERY_SATISFIED = "very_satisfied", "非常满意"
    SATISFIED = "satisfied", "满意"
    BASICALLY_SATISFIED = "basically_satisfied", "基本满意"
    DISSATISFIED = "dissatisfied", "不满意"
    VERY_DISSATISFIED = "very_dissatisfied", "非常不满意"


SATISFIED_LEVELS = (Satisfaction.VERY_SATISFIED, Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED)


class Truth(models.TextChoices):
    TRUE = "true", "属实"
    PARTLY = "partly", "部分属实"
    FALSE = "false", "不属实"


class WorkOrderQuerySet(models.QuerySet):
    def visible_to(self, user) -> WorkOrderQuerySet:
        """The one row-level door: what ``user`` may see (hotline.accounts.access decides)."""
        from hotline.workorders.visibility import restrict_work_orders

        return restrict_work_orders(self, user)

    def open(self):
        return self.filter(status__in=[s.value for s in OPEN])

    def overdue(self, now):
        return self.filter(status__in=[s.value for s in UNIT_HOLDS], handle_deadline__lt=now)

    def near_due(self, now, until):
        return self.filter(status__in=[s.value for s in UNIT_HOLDS],
                           handle_deadline__gte=now, handle_deadline__lt=until)


STATUS_CHOICES = [(s.value, STATUS_LABELS[s]) for s in Status]


class WorkOrder(models.Model):
    """One citizen appeal, from registration to closing."""

    number = models.CharField("工单编号", max_length=24, unique=True)
    source = models.CharField("来源渠道", max_length=10, choices=Source.choices, default=Source.PHONE)
    # This FK and merged_into, repeat_of, kb_article: mostly NULL (a local order has no platform, few
    # orders are merged or repeats), so their indexes are partial, in Meta (``WHERE … IS NOT NULL``):
    # a plain one gets an entry, NULL or not, on every insert and every non-HOT update of the order
    # (the SLA sweep's stamps), and every lookup by a value — PROTECT's and SET_NULL's included —
    # asks for a non-NULL one. Migration 0029.
    upstream_platform = models.ForeignKey("directory.UpstreamPlatform", models.PROTECT, null=True, blank=True,
                                          verbose_name="上级平台", db_index=False)
    upstream_number = models.CharField("上级工单号", max_length=40, blank=True)
    upstream_deadline = models.DateTimeField("上级时限", null=True, blank=True)
    reported_back_at = models.DateTimeField("回复上级时间", null=True, blank=True)

    caller_name = models.CharField("来电人", max_length=40, blank=True)
    # Indexed in Meta, not with db_index: on PostgreSQL db_index also builds a varchar_pattern_ops
    # twin for LIKE 'x%', and phone searches are exact or '%x%' (which no btree serves).
    caller_phone = models.CharField("联系电话", max_length=30, blank=True)
    confidential = models.BooleanField("保密", default=False)

    # No single-column index on town, category or lead unit: the composite indexes in Meta lead with
    # them and serve the same lookups; every index is one more write on each of the orders' updates.
    town = models.ForeignKey("directory.Unit", models.PROTECT, null=True, blank=True, related_name="located_orders",
                             verbose_name="所在乡镇街道", db_index=False)
    address = models.CharField("详细地址", max_length=200, blank=True)
    latitude = models.DecimalField("纬度", max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField("经度", max_digits=9, decimal_places=6, null=True, blank=True)

    title = models.CharField("标题", max_length=120)
    content = models.TextField("诉求内容")
    # What a unit's text search reads: title and content with identities masked (hidden on a
    # confidential order), "" when masking changes neither (hotline.accounts.access.unit_search_text).
    # Written by the actions with the fields it is made of; db_default for rows loaded in bulk.
    masked_text = models.TextField("单位检索文本", blank=True, default="", db_default="", editable=False)
    # Every unit ever assigned the order, ids space-separated in the order of their first dispatch
    # ("12 57"): added by ``actions.dispatch``, never removed (a unit sees what it once handled).
    # A unit's text search on PostgreSQL starts from them, one index holding each order's units
    # beside the characters of its text (hotline.workorders.textindex: a side table the database's
    # triggers rewrite when this column, title, content or masked_text change; migration 0024);
    # the door itself (visibility.restrict_work_orders) still decides from the assignments.
    search_units = models.TextField("检索用承办单位", blank=True, default="", db_default="", editable=False)
    appeal_type = models.ForeignKey("catalog.AppealType", models.PROTECT, verbose_name="诉求类型")
    category = models.ForeignKey("catalog.Category", models.PROTECT, null=True, blank=True, verbose_name="热点分类",
                                 db_index=False)
    urgency = models.CharField("紧急程度", max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)

    status = models.CharField("状态", max_length=20, choices=STATUS_CHOICES, default=Status.RECEIVED)
    disposition = models.CharField("处置方式", max_length=20, choices=Disposition.choices, blank=True)
    transfer_target = models.CharField("转接号码", max_length=3, choices=TransferTarget.choices, blank=True)
    merged_into = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="merged_orders",
                                    verbose_name="并入工单", db_index=False)
    is_repeat = models.BooleanField("重复件", default=False)
    # The closed order this one repeats (a linked 重办 registered within the repeat window).
    repeat_of = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="repeat_orders",
                                  verbose_name="重办原工单", db_index=False)

    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+",
                                      verbose_name="登记人")
    received_at = models.DateTimeField("登记时间")
    dispatched_at = models.DateTimeField("首次派单时间", null=True, blank=True)
    lead_unit = models.ForeignKey("directory.Unit", models.PROTECT, null=True, blank=True, related_name="lead_orders",
                                  verbose_name="主办单位", db_index=False)
    sign_deadline = models.DateTimeField("签收时限", null=True, blank=True)
    handle_deadline = models.DateTimeField("办理时限", null=True, blank=True)
    deadline_note = models.CharField("时限说明", max_length=120, blank=True)
    suspended_at = models.DateTimeField("挂起时间", null=True, blank=True)
    replied_at = models.DateTimeField("回复时间", null=True, blank=True)
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)
    # No overdue stamp or 催办 count here: the SLA sweep writes those (its ``overdue`` event, its
    # automatic ``Reminder``) without rewriting the order's row, whose every update adds an entry
    # to each of the table's indexes (``OverdueWatch``; docs/performance.md, "超期戳和催办计数搬出工单行").

    # The answer the citizen hears: the center's own (direct answer, coordinate) or the lead unit's
    # approved reply, copied here on approval so callbacks and exports read one place.
    answer = models.TextField("答复内容", blank=True)
    # The knowledge-base article a direct answer was read from: each article's usage count.
    kb_article = models.ForeignKey("catalog.KnowledgeArticle", models.SET_NULL, null=True, blank=True,
                                   related_name="answered_orders", verbose_name="知识库条目", db_index=False)
    is_true = models.CharField("是否属实", max_length=10, choices=Truth.choices, blank=True)
    is_solved = models.BooleanField("是否解决", null=True, blank=True)

    satisfaction = models.CharField("满意度", max_length=20, choices=Satisfaction.choices, blank=True)
    callback_solved = models.BooleanField("回访是否解决", null=True, blank=True)
    callback_at = models.DateTimeField("回访时间", null=True, blank=True)
    # The callback retry queue (docs/workflow.md, "Callbacks that retry"): unreached attempts of the
    # current callback round, and when the next attempt is due (None: due now, or no retry pending).
    callback_attempts = models.PositiveSmallIntegerField("回访未接通次数", default=0, db_default=0)
    next_callback_at = models.DateTimeField("再次回访时间", null=True, blank=True)
    # Closed after the policy's last unreached attempt: out of the satisfaction base, counted apart.
    callback_unreachable = models.BooleanField("回访无法联系", default=False, db_default=False)
    rework_count = models.PositiveSmallIntegerField("重办次数", default=0)
    supervised = models.BooleanField("已督办", default=False)
    excluded_from_assessment = models.BooleanField("不计入考核", default=False,
                                                   help_text="经审核认定诉求不合理或恶意的工单")
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    objects = WorkOrderQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "工单"
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["received_at", "id"], name="wo_received_idx"),
            models.Index(fields=["status", "received_at"], name="wo_status_received_idx"),
            # No (lead_unit, status, handle_deadline) index: on PostgreSQL the unit inbox and counts read
            # wo_open_summary_idx (migration 0008, open orders only); migration 0029 dropped this one.
            # The SLA sweep and the near-due/overdue lists read only open orders by deadline.
            models.Index(fields=["handle_deadline"], name="wo_open_deadline_idx",
                         condition=Q(status__in=["dispatched", "handling", "return_requested", "replied"])),
            # The supervisor's page (queries.upstream_deadlines): the few orders still owed a report
            # upstream, by the date the list is sorted on. Through the indexes above PostgreSQL
            # walked every upstream order (about 70k at 1M) to find none. The condition is the
            # query's WHERE, word for word.
            models.Index(fields=["upstream_deadline", "id"], name="wo_upstream_owed_idx",
                         condition=Q(upstream_platform__isnull=False, reported_back_at__isnull=True)
                         & ~Q(status="merged")),
            models.Index(fields=["category", "received_at"], name="wo_category_received_idx"),
            models.Index(fields=["town", "received_at"], name="wo_town_received_idx"),
            models.Index(fields=["caller_phone"], name="wo_caller_phone_idx"),
            # The mostly-NULL foreign keys' (see upstream_platform): only the orders that have one.
            models.Index(fields=["upstream_platform"], name="wo_upstream_platform_idx",
                         condition=Q(upstream_platform__isnull=False)),
            models.Index(fields=["merged_into"], name="wo_merged_into_idx", condition=Q(merged_into__isnull=False)),
            models.Index(fields=["repeat_of"], name="wo_repeat_of_idx", condition=Q(repeat_of__isnull=False)),
            models.Index(fields=["kb_article"], name="wo_kb_article_idx", condition=Q(kb_article__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(source="upstream", upstream_platform__isnull=False) | ~Q(source="upstream"),
                name="wo_upstream_has_platform"),
            models.CheckConstraint(condition=~Q(status="merged") | Q(merged_into__isnull=False),
                                   name="wo_merged_has_target"),
            models.UniqueConstraint(fields=["upstream_platform", "upstream_number"], condition=Q(source="upstream"),
                                    name="wo_upstream_number_unique"),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    @property
    def status_enum(self) -> Status:
        return Status(self.status)

    @property
    def category_name(self) -> str:
        """The category's full name as the tree stood on the day the order was registered: a later
        rename or move of the category does not change what the order shows."""
        return full_name_on(self.category_id, self.received_at, self._state.db) if self.category_id else ""

    @property
    def is_upstream(self) -> bool:
        return self.source == Source.UPSTREAM


class OverdueWatch(models.Model):
    """The SLA sweep's watch list: each order a unit holds (``UNIT_HOLDS``) with a handling deadline
    that has not been stamped overdue, with that deadline and its status. The sweep finds its
    overdue and near-due orders here by deadline (the status says which a unit works, for the
    automatic 催办, without reading the orders), and an overdue stamp (the order's ``overdue`` event)
    takes the order off; it never comes back (an order is stamped once).

    Kept by ``actions._record`` whenever an order's status or deadline changes, so it always equals
    what the orders and their events say (``actions.watched_orders`` spells that out; the bench's
    ``measure.check_invariants`` and tests compare). It exists so the sweep writes no order row:
    before, the stamp was a column of the order and its partial index the list, and every stamp
    rewrote a wide row with an entry in each of the orders' indexes (docs/performance.md,
    "超期戳和催办计数搬出工单行").
    """

    order = models.OneToOneField(WorkOrder, models.CASCADE, primary_key=True, related_name="+", verbose_name="工单")
    handle_deadline = models.DateTimeField("办理时限")
    status = models.CharField("状态", max_length=20, choices=STATUS_CHOICES)

    class Meta:
        verbose_name = verbose_name_plural = "超期巡检待查工单"
        indexes = [models.Index(fields=["handle_deadline", "order"], name="watch_deadline_idx")]

    def __str__(self):
        return f"{self.order_id} {self.handle_deadline:%Y-%m-%d %H:%M}"


class Assignment(models.Model):
    """One unit's part in an order: the lead (主办) or a co-handling unit (协办), each signing and replying."""

    class Role(models.TextChoices):
        LEAD = "lead", "主办"
        CO = "co", "协办"

    order = models.ForeignKey(WorkOrder, models.CASCADE, related_name="assignments", verbose_name="工单")
    unit = models.ForeignKey("directory.Unit", models.PROTECT, related_name="assignments", verbose_name="单位")
    role = models.CharField("角色", max_length=4, choices=Role.choices)
    round = models.PositiveSmallIntegerField("派单轮次", default=1)
    active = models.BooleanField("有效", default=True)
    dispatched_at = models.DateTimeField("派单时间")
    dispatched_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+")
    sign_deadline = models.DateTimeField("签收时限", null=True, blank=True)
    signed_at = models.DateTimeField("签收时间", null=True, blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    replied_at = models.DateTimeField("回复时间", null=True, blank=True)
    replied_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                   related_name="+")
    reply_public = models.TextField("答复内容", blank=True)
    reply_internal = models.TextField("内部说明", blank=True)
    reply_is_true = models.CharField("是否属实", max_length=10, choices=Truth.choices, blank=True)
    reply_solved = models.BooleanField("是否解决", null=True, blank=True)
    contacted_at = models.DateTimeField("联系来电人时间", null=True, blank=True)
    ended_at = models.DateTimeField("结束时间", null=True, blank=True)
    end_reason = models.CharField("结束原因", max_length=20, blank=True)
    # Whether the order is open (workflow.OPEN), kept on each of its assignments by
    # ``actions._record`` whenever a move opens or closes the order. Assignments outlive their
    # order's handling (an active co-handling one stays active after the order closes, a returned
    # one stays with its unit), so a unit's assignments are mostly of closed orders and grow with
    # history; the unit's views of its open orders (home counts, the inbox's co-handling half)
    # start from the unit's assignments of open orders only (migration 0026's indexes).
    order_open = models.BooleanField("工单在办", default=True, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "派单记录"
        ordering = ["order", "round", "role", "id"]
        indexes = [
            models.Index(fields=["unit", "active", "order"], name="asg_unit_active_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(active=True, role="lead"),
                                    name="asg_one_active_lead"),
            models.UniqueConstraint(fields=["order", "unit"], condition=Q(active=True),
                                    name="asg_unit_once_per_order"),
        ]

    def __str__(self):
        return f"{self.order.number} {self.get_role_display()} {self.unit}"


class Event(models.Model):
    """One thing that happened to an order. The order's timeline is this log."""

    # No index of its own: ``event_order_at_idx`` starts with it (one index fewer for every event written).
    order = models.ForeignKey(WorkOrder, models.CASCADE, related_name="events", verbose_name="工单", db_index=False)
    at = models.DateTimeField("时间")
    action = models.CharField("操作", max_length=30)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name="操作人")
    actor_role = models.CharField("角色", max_length=20)
    actor_unit = models.ForeignKey("directory.Unit", models.PROTECT, null=True, blank=True, related_name="+",
                                   verbose_name="操作单位")
    from_status = models.CharField("原状态", max_length=20, blank=True)
    to_status = models.CharField("新状态", max_length=20, blank=True)
    note = models.TextField("说明", blank=True)
    data = models.JSONField("数据", default=dict, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "工单日志"
        ordering = ["order", "at", "id"]
        indexes = [models.Index(fields=["order", "at"], name="event_order_at_idx"),
                   models.Index(fields=["at"], name="event_at_idx")]

    def __str__(self):
        return f"{self.order_id} {self.at:%Y-%m-%d %H:%M} {self.action}"


class Request(models.Model):
    """A unit's request that the center decides: return (退单), extension (延期), suspension (挂起).

    A request belongs to the assignment that filed it and ends with it: while pending it is decided
    by the center or cancelled (with an event) when that assignment ends or replies."""

    class Kind(models.TextChoices):
        RETURN = "return", "退单"
        EXTENSION = "extension", "延期"
        SUSPENSION = "suspension", "承诺办理"

    class State(models.TextChoices):
        PENDING = "pending", "待审核"
        APPROVED = "approved", "已同意"
        REJECTED = "rejected", "已驳回"
        # Ended with the assignment that filed it (return approved, redispatch, reply): see actions._end_requests.
        CANCELLED = "cancelled", "已撤销"

    order = models.ForeignKey(WorkOrder, models.CASCADE, related_name="requests", verbose_name="工单")
    assignment = models.ForeignKey(Assignment, models.CASCADE, related_name="requests", verbose_name="派单记录")
    kind = models.CharField("类型", max_length=12, choices=Kind.choices)
    state = models.CharField("审核状态", max_length=10, choices=State.choices, default=State.PENDING)
    reason = models.TextField("理由")
    basis = models.CharField("依据", max_length=200, blank=True)
    requested_deadline = models.DateTimeField("申请延至", null=True, blank=True)
    requested_at = models.DateTimeField("申请时间")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    decided_at = models.DateTimeField("审核时间", null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    decision_note = models.TextField("审核意见", blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "退单/延期/挂起申请"
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["kind", "state"], name="request_kind_state_idx")]
        constraints = [
            models.UniqueConstraint(fields=["order", "kind"], condition=Q(state="pending"),
                                    name="request_one_pending_per_kind"),
        ]

    def __str__(self):
        return f"{self.order.number} {self.get_kind_display()} {self.get_state_display()}"


class ReminderQuerySet(models.QuerySet):
    def unacknowledged(self, order, unit_id):
        """The 催办 and 督办 addressed to ``unit_id`` on ``order`` that it has not confirmed."""
        return self.filter(order=order, unit_id=unit_id, acknowledged_at__isnull=True)

    def awaiting_response(self, order, unit_id):
        """The 督办 addressed to ``unit_id`` on ``order`` still waiting for its written response (a
        failed one included: answering late is still answering, though the deduction stands)."""
        return self.filter(order=order, unit_id=unit_id, kind="supervision", responded_at__isnull=True)


class Reminder(models.Model):
    """A reminder (催办) or a formal supervision (督办) addressed to the unit holding the order."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", "催办"
        SUPERVISION = "supervision", "督办"

    order = models.ForeignKey(WorkOrder, models.CASCADE, related_name="reminders", verbose_name="工单")
    kind = models.CharField("类型", max_length=12, choices=Kind.choices)
    unit = models.ForeignKey("directory.Unit", models.PROTECT, null=True, related_name="+", verbose_name="对象单位")
    at = models.DateTimeField("时间")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+")
    notice = models.TextField("通知内容", blank=True)
    respond_by = models.DateTimeField("要求反馈时间", null=True, blank=True)
    failed = models.BooleanField("督办未落实", default=False)
    failed_at = models.DateTimeField("认定未落实时间", null=True, blank=True)
    # The lead assignment chased: an automatic 催办 is issued once per assignment (a redispatch or a
    # rework's new deadline may earn the next unit, or round, its own).
    assignment = models.ForeignKey(Assignment, models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name="派单记录")
    automatic = models.BooleanField("临期自动催办", default=False, db_default=False)
    acknowledged_at = models.DateTimeField("单位确认时间", null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                        related_name="+", verbose_name="确认人")
    response = models.TextField("督办反馈", blank=True)
    responded_at = models.DateTimeField("反馈时间", null=True, blank=True)
    responded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name="反馈人")

    objects = ReminderQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "催办督办"
        ordering = ["-at"]
        indexes = [
            # The sweep's: formal supervisions still waiting for the unit's written response.
            models.Index(fields=["respond_by"], name="reminder_awaiting_idx",
                         condition=Q(kind="supervision", responded_at__isnull=True, failed=False)),
            # The supervisor's 督办未落实 list (queries.failed_supervisions), the latest first.
            models.Index(fields=["respond_by", "id"], name="reminder_failed_idx",
                         condition=Q(kind="supervision", failed=True)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["assignment"], condition=Q(automatic=True),
                                    name="reminder_auto_once_per_assignment"),
        ]

    def __str__(self):
        return f"{self.order.number} {self.get_kind_display()}"


class Callback(models.Model):
    """One callback (回访) to the citizen after an order was answered."""

    class Outcome(models.TextChoices):
        CLOSE = "close", "办结"
        REWORK = "rework", "重办"
        REDISPATCH = "redispatch", "重新派单"
        RETRY = "retry", "未接通，待再次回访"
        UNREACHABLE = "unreachable", "无法联系办结"

    order = models.ForeignKey(WorkOrder, models.CASCADE, related_name="callbacks", verbose_name="工单")
    at = models.DateTimeField("回访时间")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+")
    reached = models.BooleanField("接通", default=True)
    satisfaction = models.CharField("满意度", max_length=20, choices=Satisfaction.choices, blank=True)
    solved = models.BooleanField("是否解决", null=True, blank=True)
    reasonable = models.BooleanField("诉求合理", default=True)
    outcome = models.CharField("结果", max_length=12, choices=Outcome.choices)
    note = models.TextField("回访记录", blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "回访记录"
        ordering = ["-at"]

    def __str__(self):
        return f"{self.order_id} {self.get_outcome_display()}"


class Attachment(models.Model):
    """A file added to an order: a citizen's photo, intake material, a unit's evidence with its reply,
    the basis of a return/extension/suspension request, a supervision notice's document.

    Written only by ``hotline.workorders.attachments.attach`` inside the action it came with (and
    linked to that action's event, request or reminder); the bytes are what
    ``hotline.lib.files.inspect`` let through — images re-encoded, without EXIF — kept in the
    ``attachments`` storage under ``storage_name``. Read through ``attachments.visible`` only."""

    class Kind(models.TextChoices):
        PHOTO = "photo", "市民上传"
        INTAKE = "intake", "登记材料"
        EVIDENCE = "evidence", "办理佐证"
        BASIS = "basis", "申请依据"
        SUPERVISION = "supervision", "督办材料"

    order = models.ForeignKey(WorkOrder, models.CASCADE, related_name="attachments", verbose_name="工单")
    event = models.ForeignKey(Event, models.SET_NULL, null=True, blank=True, related_name="attachments",
                              verbose_name="随同操作")
    request = models.ForeignKey(Request, models.SET_NULL, null=True, blank=True, related_name="attachments",
                                verbose_name="随同申请")
    reminder = models.ForeignKey(Reminder, models.SET_NULL, null=True, blank=True, related_name="attachments",
                                 verbose_name="随同督办")
    kind = models.CharField("类别", max_length=12, choices=Kind.choices)
    # Reply evidence the unit chose to show the citizen: shown in the portal once the reply is approved.
    public = models.BooleanField("向市民公开", default=False)
    uploaded_at = models.DateTimeField("上传时间")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name="上传人")
    uploader_role = models.CharField("上传人角色", max_length=20)
    uploader_unit = models.ForeignKey("directory.Unit", models.PROTECT, null=True, blank=True, related_name="+",
                                      verbose_name="上传单位")
    name = models.CharField("文件名", max_length=100)
    content_type = models.CharField("文件类型", max_length=100)  # read from the content (hotline.lib.files)
    size = models.PositiveIntegerField("大小（字节）")
    sha256 = models.CharField("SHA-256", max_length=64)
    width = models.PositiveIntegerField("宽", null=True, blank=True)
    height = models.PositiveIntegerField("高", null=True, blank=True)
    storage_name = models.CharField("存储名", max_length=200, unique=True)
    thumbnail_name = models.CharField("缩略图存储名", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "附件"
        ordering = ["order", "uploaded_at", "id"]
        indexes = [models.Index(fields=["order", "uploaded_at"], name="attachment_order_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(public=False) | Q(kind="evidence"), name="attachment_public_evidence"),
        ]

    def __str__(self):
        return f"{self.order_id} {self.get_kind_display()} {self.name}"

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class NumberSequence(models.Model):
    """The last order number issued in a month (RZ2307-000123): locked while a number is drawn."""

    period = models.CharField(max_length=8, unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.period}:{self.last}"
