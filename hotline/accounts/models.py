"""People who use the platform, their roles, and the audit log of what they looked at."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from hotline.accounts.roles import ROLE_LABELS, Role


class User(AbstractUser):
    """A staff member. A unit handler is bound to exactly one unit; center staff to none."""

    class RoleChoice(models.TextChoices):
        OPERATOR = Role.OPERATOR.value, ROLE_LABELS[Role.OPERATOR]
        DISPATCHER = Role.DISPATCHER.value, ROLE_LABELS[Role.DISPATCHER]
        HANDLER = Role.HANDLER.value, ROLE_LABELS[Role.HANDLER]
        SUPERVISOR = Role.SUPERVISOR.value, ROLE_LABELS[Role.SUPERVISOR]
        AUDITOR = Role.AUDITOR.value, ROLE_LABELS[Role.AUDITOR]
        ADMIN = Role.ADMIN.value, ROLE_LABELS[Role.ADMIN]

    role = models.CharField("角色", max_length=20, choices=RoleChoice.choices, default=RoleChoice.OPERATOR)
    unit = models.ForeignKey("directory.Unit", models.PROTECT, null=True, blank=True, related_name="members",
                             verbose_name="所属单位")
    display_name = models.CharField("姓名", max_length=40, blank=True)
    phone = models.CharField("电话", max_length=30, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "用户"
        constraints = [
            models.CheckConstraint(condition=~Q(role="handler") | Q(unit__isnull=False),
                                   name="handler_has_unit"),
        ]

    def __str__(self):
        return self.display_name or self.username

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_handler(self) -> bool:
        return self.role == Role.HANDLER

    @property
    def is_center_staff(self) -> bool:
        return self.role in {Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}


class AuditLog(models.Model):
    """Who logged in (or failed to), opened a unit's order, revealed or exported personal data, or
    changed configuration, and when."""

    class Action(models.TextChoices):
        REVEAL_CONTACT = "reveal_contact", "查看联系方式"
        EXPORT = "export", "导出"
        IMPORT_ORDERS = "import_orders", "导入工单"
        IMPORT_CALLS = "import_calls", "导入话务记录"
        VIEW_ORDER = "view_order", "查看工单"
        LOGIN = "login", "登录"
        LOGOUT = "logout", "退出登录"
        CONFIG = "config", "修改配置"
        DOWNLOAD_ATTACHMENT = "download_attachment", "下载附件"

    at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    actor = models.ForeignKey(User, models.PROTECT, null=True, related_name="audit_entries", verbose_name="操作人")
    action = models.CharField("动作", max_length=30, choices=Action.choices)
    object_type = models.CharField("对象类型", max_length=40, blank=True)
    object_id = models.CharField("对象", max_length=60, blank=True)
    detail = models.JSONField("详情", default=dict, blank=True)
    ip = models.GenericIPAddressField("IP", null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = verbose_name_plural = "审计日志"
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.get_action_display()} {self.object_id}"
