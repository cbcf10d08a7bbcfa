"""Reads of work orders for pages and the API: visibility applied, bounded query counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q

from hotline.accounts import access
from hotline.workorders.models import Assignment, Event, Request, WorkOrder
from hotline.workorders.workflow import (
    STATUS_LABELS,
    UNIT_HOLDS,
    Role,
    Status,
    Transition,
    UnitScope,
    allowed,
)

PAGE_SIZE = 50


def near_due_window(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(hours=settings.HOTLINE["NEAR_DUE_HOURS"])


def summary_for(user, now: dt.datetime) -> dict:
    """Counts for the home page, over what the user may see."""
    qs = WorkOrder.objects.visible_to(user)
    holds = [s.value for s in UNIT_HOLDS]
    return qs.aggregate(
        open=Count("id", filter=~Q(status__in=["closed", "merged"])),
        overdue=Count("id", filter=Q(status__in=holds, handle_deadline__lt=now)),
        near_due=Count("id", filter=Q(status__in=holds, handle_deadline__gte=now,
                                      handle_deadline__lt=near_due_window(now))),
        awaiting_dispatch=Count("id", filter=Q(status=Status.AWAITING_DISPATCH)),
        awaiting_callback=Count("id", filter=Q(status=Status.AWAITING_CALLBACK)),
    )


@dataclass
class Page:
    orders: list
    next_cursor: str | None
    has_previous: bool


def _cursor(order: WorkOrder) -> str:
    return f"{order.received_at.timestamp():.6f}_{order.pk}"


def search_orders(user, params, *, page_size: int = PAGE_SIZE) -> Page:
    """Filter visible orders by the search form; keyset pagination on (received_at, id), newest first.

    No COUNT(*) over the table: a page knows only whether there is a next one.
    """
    qs = WorkOrder.objects.visible_to(user).select_related("appeal_type", "category", "lead_unit", "town")
    number = (params.get("number") or "").strip()
    if number:
        qs = qs.filter(number__startswith=number)
    phone = (params.get("phone") or "").strip()
    if phone:
        qs = qs.filter(caller_phone=phone)
    text = (params.get("q") or "").strip()
    if text:
        qs = qs.filter(Q(title__contains=text) | Q(content__contains=text))
    for field in ("status", "source", "urgency"):
        value = params.get(field)
        if value:
            qs = qs.filter(**{field: value})
    for field in ("lead_unit", "town", "category", "appeal_type"):
        value = params.get(field)
        if value and str(value).isdigit():
            qs = qs.filter(**{f"{field}_id": int(value)})
    if params.get("overdue"):
        from django.utils import timezone

        qs = qs.overdue(timezone.now())
    for field, lookup in (("from", "received_at__date__gte"), ("to", "received_at__date__lte")):
        value = params.get(field)
        if value:
            try:
                qs = qs.filter(**{lookup: dt.date.fromisoformat(value)})
            except ValueError:
                pass
    cursor = params.get("cursor")
    if cursor:
        try:
            stamp, pk = cursor.split("_")
            from django.utils import timezone

            at = dt.datetime.fromtimestamp(float(stamp), tz=dt.UTC).astimezone(timezone.get_current_timezone())
            qs = qs.filter(Q(received_at__lt=at) | Q(received_at=at, id__lt=int(pk)))
        except ValueError:
            cursor = None
    rows = list(qs.order_by("-received_at", "-id")[: page_size + 1])
    more = len(rows) > page_size
    rows = rows[:page_size]
    return Page(rows, _cursor(rows[-1]) if more and rows else None, bool(cursor))


def available_actions(user, order: WorkOrder, assignments: list[Assignment]) -> list[Transition]:
    """Actions the user may take now: the workflow table, narrowed by the user's unit."""
    role = access.role_of(user)
    if role is None:
        return []
    result = []
    for t in allowed(order.status, role):
        if t.action in {"annotate"}:
            continue
        if role == Role.HANDLER:
            mine = [a for a in assignments if a.active and a.unit_id == user.unit_id]
            if t.scope == UnitScope.LEAD and not any(a.role == "lead" for a in mine):
                continue
            if t.scope == UnitScope.CO and not any(a.role == "co" for a in mine):
                continue
            if not mine:
                continue
        result.append(t)
    return result


def order_page(user, order: WorkOrder) -> dict:
    assignments = list(Assignment.objects.filter(order=order).select_related("unit").order_by("round", "role"))
    events = list(Event.objects.filter(order=order).select_related("actor", "actor_unit").order_by("at", "id"))
    requests = list(Request.objects.filter(order=order).select_related("assignment__unit").order_by("requested_at"))
    name, phone = access.caller_for(user, order)
    return {
        "order": order,
        "status_label": STATUS_LABELS[Status(order.status)],
        "assignments": assignments,
        "events": events,
        "requests": requests,
        "caller_name": name,
        "caller_phone": phone,
        "may_reveal": access.may_reveal_contact(user, order),
        "actions": available_actions(user, order, assignments),
    }
