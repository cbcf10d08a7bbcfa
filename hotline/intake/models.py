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
