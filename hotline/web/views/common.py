"""Helpers shared by the console's views: one template for full page and htmx fragment, roles."""

from __future__ import annotations

from hotline.accounts import access
from hotline.accounts.access import require_role
from hotline.lib import pages
from hotline.lib.pages import client_ip, is_htmx
from hotline.workorders.models import Assignment
from hotline.workorders.queries import available_actions
from hotline.workorders.workflow import UNIT_HOLDS, Role

HOLDS = sorted(s.value for s in UNIT_HOLDS)
__all__ = ["client_ip", "console_actions", "is_htmx", "render_page", "require_role", "role"]


def render_page(request, template: str, context: dict, *, status: int = 200):
    """``hotline.lib.pages.render_page`` with what the console's order tables need."""
    return pages.render_page(request, template, {"holds": HOLDS, **context}, status=status)


def role(request) -> Role | None:
    return access.role_of(request.user)


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
