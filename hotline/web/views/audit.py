"""The audit trail (审计日志): who revealed contacts, exported or changed what. Auditors and admins."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required

from hotline.accounts.models import AuditLog
from hotline.lib import clock
from hotline.lib.masking import mask_identities
from hotline.web.views.common import render_page, require_role
from hotline.workorders.workflow import Role

LIMIT = 200


@login_required
def audit_log(request):
    require_role(request, Role.AUDITOR)
    qs = AuditLog.objects.select_related("actor").order_by("-at", "-id")
    errors = []
    action = request.GET.get("action", "")
    if action in AuditLog.Action.values:
        qs = qs.filter(action=action)
    actor = request.GET.get("actor", "").strip()
    if actor:
        qs = qs.filter(actor__username=actor)
    obj = request.GET.get("object", "").strip()
    if obj:
        qs = qs.filter(object_id=obj)
    day = request.GET.get("date", "")
    if day:
        try:
            lo, hi = clock.day_bounds(dt.date.fromisoformat(day))
            hi.astimezone(dt.UTC), lo.astimezone(dt.UTC)  # stored in UTC: year 1 and 9999 cannot be
            qs = qs.filter(at__gte=lo, at__lt=hi)
        except ValueError:
            errors.append("日期格式应为 YYYY-MM-DD")
        except OverflowError:
            errors.append("日期超出可查询的范围")
    rows = list(qs[:LIMIT])
    for row in rows:
        # The trail says who looked, not what they saw: a phone searched for stays masked here.
        row.detail_text = mask_identities(", ".join(f"{k}={v}" for k, v in (row.detail or {}).items()))
    return render_page(request, "web/audit_log.html", {
        "rows": rows, "limit": LIMIT, "actions": AuditLog.Action.choices, "errors": errors,
        "params": {"action": action, "actor": actor, "object": obj, "date": day},
    })
