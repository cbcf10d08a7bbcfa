"""What the platform tells people: in-app notifications, the outbox of messages, preferences.

Rows here are written by ``hotline.notify.emit`` (in the transaction of the work-order event
that causes them), ``hotline.notify.delivery`` (the worker that sends the outbox) and
``hotline.notify.actions`` (a person reads a notification, staff retry a failed message).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from hotline.lib.masking import mask_phone


class Kind(models.TextChoices):
    """What a notification or message is about. The rules table (``rules.RULES``) maps each
    work-order event to one of these and to its recipients; templates are keyed by it."""

    DISPATCHED = "dispatched", "新派单"
    NEAR_DUE = "near_due", "临期提醒"
    OVERDUE = "overdue", "超期提醒"
    REMINDER = "reminder", "催办"
    SUPERVISION = "supervision", "督办"
    SENT_BACK = "sent_back", "退回重办"
    REWORK = "rework", "回访重办"
    REQUEST_DECIDED = "request_decided", "申请审核结果"
    TO_REVIEW = "to_review", "待审核"
    TO_TAKE_IN = "to_take_in", "待受理"
    SUPERVISION_FAILED = "supervision_failed", "督办未落实"
    RECEIPT = "receipt", "受理回执"
    ANSWERED = "answered", "办结通知"
    MERGED_CLOSED = "merged_closed", "并单办结通知"
    CHASE_ANSWERED = "chase_answered", "督办反馈"
    SURVEY = "survey", "回访未接通评价邀请"
    KB_REVIEW_DUE = "kb_review_due", "知识库待复核"
    HOTSPOT_ALERT = "hotspot_alert", "未诉先办预警"


class Channel(models.TextChoices):
    """Outbound channels. In-app notifications are ``Notification`` rows, not deliveries."""

    SMS = "sms", "短信"
    EMAIL = "email", "电子邮件"
    WECOM = "wecom", "企业微信群机器人"
    DINGTALK = "dingtalk", "钉钉群机器人"


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(recipient=user)

    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """One in-app notification for one staff member (the bell). Written with the event that
    causes it; read/unread is per person."""

    # ``recipient`` and ``event`` have no index of their own: ``notif_recipient_idx`` and
    # ``notif_once_per_event`` start with them (``event = …`` implies the latter's condition).
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="notifications",
                                  verbose_name="接收人", db_index=False)
    order = models.ForeignKey("workorders.WorkOrder", models.CASCADE, null=True, blank=True, related_name="+",
                              verbose_name="工单")
    event = models.ForeignKey("workorders.Event", models.CASCADE, null=True, blank=True, related_name="+",
                              verbose_name="工单日志", db_index=False)
    kind = models.CharField("类型", max_length=24, choices=Kind.choices)
    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    url = models.CharField("链接", max_length=300, blank=True)
    created_at = models.DateTimeField("时间")
    read_at = models.DateTimeField("已读时间", null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "站内通知"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notif_recipient_idx"),
            # "My unread" (the bell's count and list) reads only the unread rows of one person.
            models.Index(fields=["recipient", "-created_at"], condition=Q(read_at__isnull=True),
                         name="notif_unread_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event", "recipient"], condition=Q(event__isnull=False),
                                    name="notif_once_per_event"),
        ]

    def __str__(self):
        return f"{self.recipient_id} {self.title}"


class Delivery(models.Model):
    """One outbound message in the outbox: one recipient, one channel, one event.

    Written in the transaction of the event that causes it, sent by the worker
    (``hotline.notify.delivery``). ``address`` is a phone number, an e-mail address or a robot's
    webhook: it is never logged or listed unmasked (``masked_address``).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "待发送"
        SENDING = "sending", "发送中"
        SENT = "sent", "已发送"
        DELIVERED = "delivered", "已送达"
        FAILED = "failed", "发送失败"

    class RecipientKind(models.TextChoices):
        CITIZEN = "citizen", "市民"
        UNIT = "unit", "单位"
        USER = "user", "工作人员"

    # ``event`` and ``order`` have no index of their own: ``delivery_once_per_event`` and
    # ``delivery_order_idx`` start with them.
    event = models.ForeignKey("workorders.Event", models.CASCADE, null=True, blank=True, related_name="+",
                              verbose_name="工单日志", db_index=False)
    order = models.ForeignKey("workorders.WorkOrder", models.CASCADE, null=True, blank=True, related_name="+",
                              verbose_name="工单", db_index=False)
    kind = models.CharField("类型", max_length=24, choices=Kind.choices)
    channel = models.CharField("渠道", max_length=12, choices=Channel.choices)
    recipient_kind = models.CharField("接收方", max_length=10, choices=RecipientKind.choices)
    unit = models.ForeignKey("directory.Unit", models.CASCADE, null=True, blank=True, related_name="+",
                             verbose_name="单位")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, null=True, blank=True, related_name="+",
                             verbose_name="工作人员")
    address = models.CharField("地址", max_length=500)
    subject = models.CharField("主题", max_length=200, blank=True)
    body = models.TextField("内容")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    created_at = models.DateTimeField("创建时间")
    next_attempt_at = models.DateTimeField("下次尝试时间", null=True, blank=True)
    # The worker's claim: a token per attempt and the time the claim lapses. A row still
    # 'sending' after its lease belongs to a worker that died (see delivery.recover_stale).
    claim_token = models.CharField("领取标记", max_length=32, blank=True)
    lease_until = models.DateTimeField("领取到期", null=True, blank=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)
    last_error = models.TextField("错误", blank=True)
    gateway_id = models.CharField("网关消息号", max_length=100, blank=True)
    report_status = models.CharField("状态报告", max_length=40, blank=True)
    report_at = models.DateTimeField("状态报告时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "消息发送"
        ordering = ["-created_at", "-id"]
        indexes = [
            # The worker's one query: pending rows that are due.
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="delivery_due_idx"),
            models.Index(fields=["lease_until"], condition=Q(status="sending"), name="delivery_sending_idx"),
            models.Index(fields=["-created_at"], condition=Q(status="failed"), name="delivery_failed_idx"),
            models.Index(fields=["order", "created_at"], name="delivery_order_idx"),
        ]
        constraints = [
            # Each recipient gets at most one message per event and channel, whatever retries,
            # double signals or a second worker do.
            models.UniqueConstraint(fields=["event", "channel", "address"], condition=Q(event__isnull=False),
                                    name="delivery_once_per_event"),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} {self.masked_address} {self.get_status_display()}"

    @property
    def masked_address(self) -> str:
        return mask_address(self.channel, self.address)


def mask_address(channel: str, address: str) -> str:
    """How an address shows in logs, lists and errors: phones masked, e-mail local parts cut,
    webhooks without their token."""
    if channel == Channel.SMS:
        return mask_phone(address)
    if channel == Channel.EMAIL:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}" if domain else "***"
    host = address.split("//", 1)[-1].split("/", 1)[0]
    return f"{host}/…"


class Preference(models.Model):
    """Which outbound channels a unit or a person wants for which kind of notification.

    No row: the defaults of ``rules.DEFAULT_UNIT_CHANNELS`` (units) — people get in-app only.
    A row with an empty ``kind`` covers every kind; a row for one kind wins over it. Quiet hours
    hold messages to the end of the quiet period (督办 and 超期 are not held).
    """

    unit = models.ForeignKey("directory.Unit", models.CASCADE, null=True, blank=True, related_name="+",
                             verbose_name="单位")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, null=True, blank=True, related_name="+",
                             verbose_name="工作人员")
    kind = models.CharField("类型", max_length=24, choices=Kind.choices, blank=True,
                            help_text="留空表示全部类型")
    sms = models.BooleanField("短信", default=False)
    email = models.BooleanField("电子邮件", default=False)
    wecom = models.BooleanField("企业微信群机器人", default=False)
    dingtalk = models.BooleanField("钉钉群机器人", default=False)
    quiet_from = models.TimeField("免打扰开始", null=True, blank=True)
    quiet_until = models.TimeField("免打扰结束", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "通知偏好"
        constraints = [
            models.CheckConstraint(condition=Q(unit__isnull=True) ^ Q(user__isnull=True),
                                   name="preference_unit_or_user"),
            models.UniqueConstraint(fields=["unit", "kind"], condition=Q(unit__isnull=False),
                                    name="preference_unit_kind_unique"),
            models.UniqueConstraint(fields=["user", "kind"], condition=Q(user__isnull=False),
                                    name="preference_user_kind_unique"),
        ]

    def __str__(self):
        return f"{self.unit or self.user} {self.get_kind_display() or '全部'}"

    def channels(self) -> set[str]:
        return {c for c in Channel.values if getattr(self, c)}


class UnitContact(models.Model):
    """Where a unit receives messages, beside the directory's contact phone."""

    unit = models.OneToOneField("directory.Unit", models.CASCADE, related_name="notify_contact",
                                verbose_name="单位")
    sms_phone = models.CharField("短信号码", max_length=30, blank=True, help_text="留空则用单位联系电话")
    email = models.EmailField("电子邮箱", blank=True)
    wecom_webhook = models.URLField("企业微信机器人地址", max_length=500, blank=True)
    dingtalk_webhook = models.URLField("钉钉机器人地址", max_length=500, blank=True)
    dingtalk_secret = models.CharField("钉钉加签密钥", max_length=100, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "单位通知联系方式"

    def __str__(self):
        return str(self.unit)
