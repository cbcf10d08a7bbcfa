"""The delivery-report endpoint Kannel calls, and the failed-messages list with its retry button."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from hotline.accounts.access import require_role
from hotline.accounts.roles import Role
from hotline.lib.pages import render_page, safe_next
from hotline.notify import actions, reports
from hotline.notify.models import Delivery

# Who looks after the outbox: the centre's dispatchers and supervisors (and admins).
OUTBOX_ROLES = (Role.DISPATCHER, Role.SUPERVISOR)


@require_GET
def delivery_report(request):
    """Kannel's smsbox calls this with each report; the token proves the URL came from us."""
    q = request.GET
    try:
        reports.record_report(q.get("delivery"), q.get("token"), q.get("type"), reply=q.get("reply", ""),
                              foreign_id=q.get("fid", ""))
    except reports.ReportError as exc:
        status = 403 if str(exc) == reports.FORBIDDEN else 400
        return HttpResponse(str(exc), status=status, content_type="text/plain; charset=utf-8")
    return HttpResponse("OK", content_type="text/plain")


@login_required
def failures(request):
    require_role(request, *OUTBOX_ROLES)
    rows = (Delivery.objects.filter(status=Delivery.Status.FAILED).select_related("order", "unit")
            .order_by("-created_at", "-id")[:200])
    pending = Delivery.objects.filter(status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING]).count()
    return render_page(request, "notify/failures.html", {"rows": rows, "pending": pending})


@login_required
@require_POST
def retry(request, pk: int):
    require_role(request, *OUTBOX_ROLES)
    try:
        row = actions.retry(pk, acting_user=request.user)
    except actions.RetryError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"已重新加入发送队列：{row.get_channel_display()} {row.masked_address}")
    return redirect(safe_next(request, reverse("notify:failures")))
