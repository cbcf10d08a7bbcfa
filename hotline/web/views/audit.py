"""The audit trail (审计日志): who revealed contacts, exported or changed what. Auditors and admins."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required

from hotline.accounts.models import AuditLog
from hotline.lib import clock, parsing
from hotline.web import audit_display
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
    try:
        parsed = parsing.parse_date(day, "日期")
    except parsing.ParseError as e:
        errors.append(str(e))
    else:
        if parsed:
            start, end = clock.day_bounds(parsed)
            qs = qs.filter(at__gte=start, at__lt=end)
    rows = list(qs[:LIMIT])
    for row, text in zip(rows, audit_display.detail_texts([row.detail for row in rows]), strict=True):
        row.object_text = audit_display.object_label(row.object_type, row.object_id)
        row.detail_text = text
    return render_page(request, "web/audit_log.html", {
        "rows": rows, "limit": LIMIT, "actions": AuditLog.Action.choices, "errors": errors,
        "params": {"action": action, "actor": actor, "object": obj, "date": day},
    })
