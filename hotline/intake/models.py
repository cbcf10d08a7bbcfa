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


class ImportJob(models.Model):
    """One Excel import run in the background (``intake.tasks.run_import``): a check that writes
    nothing (预览), or the import itself once the check came back clean (确认导入). The page polls
    its progress; the result kept here is a summary (counts and the first errors), never the rows.
    """

    class Kind(models.TextChoices):
        ORDERS = "orders", "上级平台工单"
        CALLS = "calls", "话务记录"

    class State(models.TextChoices):
        QUEUED = "queued", "排队中"
        RUNNING = "running", "进行中"
        DONE = "done", "已完成"
        FAILED = "failed", "失败"

    class Phase(models.TextChoices):
        CHECK = "check", "校验"
        WRITE = "write", "写入"

    kind = models.CharField("类型", max_length=10, choices=Kind.choices)
    name = models.CharField("文件名", max_length=200)
    path = models.CharField("存储路径", max_length=200, help_text="上传文件在默认存储中的位置，导入成功后删除")
    dry_run = models.BooleanField("仅校验", default=True)
    checked = models.ForeignKey("self", models.SET_NULL, null=True, blank=True, related_name="imports",
                                verbose_name="所确认的校验")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name="提交人")
    ip = models.GenericIPAddressField("来源 IP", null=True, blank=True)
    created_at = models.DateTimeField("提交时间")
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.QUEUED)
    phase = models.CharField("阶段", max_length=10, choices=Phase.choices, blank=True)
    done = models.PositiveIntegerField("已处理行数", default=0)
    total = models.PositiveIntegerField("总行数", default=0)
    result = models.JSONField("结果摘要", default=dict, blank=True)
    error = models.TextField("失败原因", blank=True)
    task_id = models.CharField("任务编号", max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = verbose_name_plural = "Excel 导入任务"
        indexes = [models.Index(fields=["created_by", "created_at"], name="importjob_user_created_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.name}（{self.get_state_display()}）"

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)

    @property
    def percent(self) -> int:
        """Progress of the whole run: the check is the first half, the write the second (a check
        alone, or a write that has nothing to do, fills the bar by itself)."""
        if self.state == self.State.DONE:
            return 100
        if not self.total:
            return 0
        part = min(self.done, self.total) / self.total
        if self.dry_run and self.kind == self.Kind.CALLS:
            return int(part * 100)
        return int((part if self.phase == self.Phase.CHECK else 1 + part) * 50)
