"""Every login, failed login and logout becomes a row of the audit log (审计日志), with the address
it came from: an auditor can see who came in, who was refused (and locked out) and who left."""

from __future__ import annotations

import time

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from hotline.accounts.access import audit
from hotline.lib.clientip import client_ip

LOGOUT_REASONS = {"idle": "长时间未操作自动退出"}


def _ip(request):
    return client_ip(request) if request is not None else None


@receiver(user_logged_in, dispatch_uid="hotline_audit_login")
def audited_login(sender, request, user, **kwargs):
    from hotline.accounts.middleware import LAST_SEEN

    if request is not None and hasattr(request, "session"):
        request.session[LAST_SEEN] = int(time.time())  # the idle clock starts at the login
    audit(user, "login", object_type="accounts.user", object_id=user.username, ip=_ip(request), result="成功")


@receiver(user_login_failed, dispatch_uid="hotline_audit_login_failed")
def audited_login_failure(sender, credentials, request=None, **kwargs):
    from hotline.accounts.models import User

    typed = str((credentials or {}).get("username") or "")[:60]
    actor = User.objects.filter(username=typed).first() if typed else None
    locked = bool(getattr(request, "axes_locked_out", False))
    audit(actor, "login", object_type="accounts.user", object_id=typed, ip=_ip(request),
          result="已锁定，拒绝登录" if locked else "失败")


@receiver(user_logged_out, dispatch_uid="hotline_audit_logout")
def audited_logout(sender, request, user, **kwargs):
    if user is None:
        return
    reason = LOGOUT_REASONS.get(getattr(request, "hotline_logout_reason", ""), "主动退出")
    audit(user, "logout", object_type="accounts.user", object_id=user.username, ip=_ip(request), result=reason)
