"""Work queues: dispatch and review (派单/审核), the unit inbox (承办), callbacks (回访), supervision (督办)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.utils import timezone

from hotline.accounts import access
from hotline.web.views.common import render_page, require_role
from hotline.workorders import queries
from hotline.workorders.models import Request
from hotline.workorders.workflow import Role, Status, allowed


def _can(r, status, *names) -> dict[str, str]:
    """Which of ``names`` the workflow table lets role ``r`` take from ``status``: {action: label}."""
    offered = {t.action: t.label for t in allowed(status, r)}
    return {n: offered[n] for n in names if n in offered}


@login_required
def dispatch_board(request):
    r = require_role(request, Role.DISPATCHER, Role.SUPERVISOR)
    user = request.user
    return render_page(request, "web/dispatch.html", {
        "queue": queries.dispatch_queue(user),
        "returns": queries.pending_requests(user, Request.Kind.RETURN),
        "extensions": queries.pending_requests(user, Request.Kind.EXTENSION),
        "suspensions": queries.pending_requests(user, Request.Kind.SUSPENSION),
        "replies": queries.replies_awaiting_review(user),
        "can_dispatch": _can(r, Status.AWAITING_DISPATCH, "dispatch", "merge"),
        "can_return": _can(r, Status.RETURN_REQUESTED, "approve_return", "reject_return"),
        "can_extension": _can(r, Status.HANDLING, "approve_extension", "reject_extension"),
        "can_suspension": _can(r, Status.HANDLING, "approve_suspension", "reject_suspension"),
        "can_reply": _can(r, Status.REPLIED, "approve_reply", "send_back"),
        "now": timezone.now(), "here": request.get_full_path(),
    })


GROUP_LABELS = [("to_sign", "待签收"), ("sent_back", "被退回重办"), ("overdue", "已超期"), ("near_due", "临期"),
                ("handling", "办理中")]


@login_required
def inbox(request):
    require_role(request, Role.HANDLER)
    now = timezone.now()
    groups = queries.unit_inbox(request.user, now)
    sections = []
    for key, label in GROUP_LABELS:
        rows = []
        for a in groups[key]:
            a.order.title = access.shield_text(request.user, a.order, a.order.title)  # displayed only
            scope_ok = {"lead": {"sign", "reply", "request_return", "request_extension", "request_suspension"},
                        "co": {"co_sign", "co_reply"}}[a.role]
            acts = [t for t in allowed(a.order.status, Role.HANDLER) if t.action in scope_ok]
            if a.role == "co" and a.signed_at:
                acts = [t for t in acts if t.action != "co_sign"]
            if a.role == "co" and a.replied_at:
                acts = [t for t in acts if t.action != "co_reply"]
            rows.append((a, acts))
        sections.append({"key": key, "label": label, "rows": rows})
    return render_page(request, "web/inbox.html", {"sections": sections, "now": now,
                                                   "here": request.get_full_path()})


@login_required
def callbacks(request):
    r = require_role(request, Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR)
    return render_page(request, "web/callbacks.html", {
        "queue": queries.callback_queue(request.user),
        "can": _can(r, Status.AWAITING_CALLBACK, "callback_close", "callback_rework"),
        "here": request.get_full_path(),
    })


@login_required
def supervision(request):
    r = require_role(request, Role.SUPERVISOR, Role.DISPATCHER)
    now = timezone.now()
    return render_page(request, "web/supervision.html", {
        **queries.supervision_lists(request.user, now),
        "can": _can(r, Status.HANDLING, "remind", "supervise"),
        "now": now, "here": request.get_full_path(),
    })
