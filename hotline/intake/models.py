"""Calls (话务): every inbound call, whether or not it became an order (call detail records)."""

from django.conf import settings
from django.db import models


class Call(models.Model):
    """One inbound call as the telephony system reports it (CDR), linked to the order it produced."""

    class Result(models.TextChoices):
        ORDER = "order", "登记工单"
        ANSWERED = "answered", "咨询解答未建单"
        FOLLOW_UP = "follow_up", "查询进度"
        ABANDONED = "abandoned", "未接通/放弃"
        INVALID = "invalid", "无效来电"

    started_at = models.DateTimeField("来电时间", db_index=True)
    caller_phone = models.CharField("主叫号码", max_length=30, db_index=True)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+",
                              verbose_name="话务员")
    wait_seconds = models.PositiveIntegerField("排队时长（秒）", default=0)
    talk_seconds = models.PositiveIntegerField("通话时长（秒）", default=0)
    answered = models.BooleanField("接通", default=True)
    result = models.CharField("结果", max_length=12, choices=Result.choices)
    order = models.ForeignKey("workorders.WorkOrder", models.SET_NULL, null=True, blank=True, related_name="calls",
                              verbose_name="工单")

    class Meta:
        ordering = ["-started_at"]
        verbose_name = verbose_name_plural = "来电记录"

    def __str__(self):
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.caller_phone}"


class UpstreamCredential(models.Model):
    """The shared secret an upstream platform signs its pushes with (and we sign report-backs with).

    Kept apart from ``directory.UpstreamPlatform`` (configuration of the platform itself): this is
    the interface's key, rotated by the admin, never shown after it is saved.
    """

    platform = models.OneToOneField("directory.UpstreamPlatform", models.CASCADE, related_name="credential",
                                    verbose_name="上级平台")
    secret = models.CharField("共享密钥", max_length=128, help_text="HMAC-SHA256 签名密钥，至少 32 个字符")
    active = models.BooleanField("启用接口", default=True)
    last_seen = models.DateTimeField("最近一次有效推送", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "上级平台接口密钥"

    def __str__(self):
        return f"{self.platform} 接口密钥"


class ReportBackAttempt(models.Model):
    """One attempt to report an upstream order's result back to its platform (回复上级), kept as data.

    A successful attempt is followed by ``actions.report_back`` (which stamps the order); failed
    ones stay here so staff can see why an order was not reported and ``hotline upstream retry``
    knows what to send again.
    """

    order = models.ForeignKey("workorders.WorkOrder", models.CASCADE, related_name="report_back_attempts",
                              verbose_name="工单")
    at = models.DateTimeField("尝试时间")
    url = models.URLField("回复接口地址", blank=True)
    ok = models.BooleanField("成功", default=False)
    http_status = models.PositiveSmallIntegerField("HTTP 状态码", null=True, blank=True)
    error = models.TextField("失败原因", blank=True)
    duration_ms = models.PositiveIntegerField("耗时（毫秒）", default=0)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = verbose_name_plural = "回复上级记录"
        indexes = [models.Index(fields=["order", "at"], name="reportback_order_at_idx")]

    def __str__(self):
        return f"{self.order_id} {self.at:%Y-%m-%d %H:%M} {'成功' if self.ok else '失败'}"
