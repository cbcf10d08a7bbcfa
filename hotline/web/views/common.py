"""Helpers shared by the console's views: one template for full page and htmx fragment, roles."""

from __future__ import annotations

from hotline.accounts import access
from hotline.accounts.access import require_role
from hotline.lib import clock, pages
from hotline.lib.pages import client_ip, is_htmx
from hotline.workorders import preconditions
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


def console_actions(user, order, assignments: list[Assignment], *, now=None):
    """The workflow table's actions for this user that can succeed now: the same ``refusal`` the
    action functions apply (decided requests, an overdue deadline, the callback's one reopen path,
    report-back only once and only upstream) hides a button rather than letting it fail."""
    from hotline.web.forms import ACTION_FORMS

    acts = available_actions(user, order, assignments)
    situation = preconditions.situation_of(order, at=now or clock.now(), assignments=assignments,
                                           pending=preconditions.pending_kinds([order.pk])[order.pk],
                                           unit_id=getattr(user, "unit_id", None))
    return [t for t in preconditions.possible(acts, situation) if t.action in ACTION_FORMS]
