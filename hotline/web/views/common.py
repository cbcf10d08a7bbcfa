"""Helpers shared by the console's views: one template for full page and htmx fragment, roles."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from hotline.accounts import access
from hotline.workorders.models import Assignment
from hotline.workorders.queries import available_actions
from hotline.workorders.workflow import UNIT_HOLDS, Role

HOLDS = sorted(s.value for s in UNIT_HOLDS)


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def render_page(request, template: str, context: dict, *, status: int = 200):
    """Render ``template`` as a full page, or — for an htmx request — only its ``content`` block.

    Each page template extends ``base_template``: ``base.html`` for a browser load, the bare
    ``web/_fragment.html`` for htmx, so page and fragment come from one template.
    """
    context = {"holds": HOLDS, **context, "base_template": "web/_fragment.html" if is_htmx(request) else "base.html"}
    return render(request, template, context, status=status)


def role(request) -> Role | None:
    return access.role_of(request.user)


def require_role(request, *roles: Role) -> Role:
    r = role(request)
    if r not in roles and r != Role.ADMIN:
        raise PermissionDenied("无权访问该页面")
    return r


def console_actions(user, order, assignments: list[Assignment]):
    """The workflow table's actions for this user, with the callback's two reopen paths narrowed to
    the one that applies (rework goes to an active lead unit, otherwise back to dispatch)."""
    acts = available_actions(user, order, assignments)
    has_lead = any(a.active and a.role == Assignment.Role.LEAD for a in assignments)
    drop = {"callback_redispatch" if has_lead else "callback_rework"}
    if not order.is_upstream or order.reported_back_at:
        drop.add("report_back")  # only upstream orders are reported back, once
    from hotline.web.forms import ACTION_FORMS

    return [t for t in acts if t.action not in drop and t.action in ACTION_FORMS]


def client_ip(request):
    return request.META.get("REMOTE_ADDR")
