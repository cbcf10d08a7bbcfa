"""Reads of work orders for pages and the API: visibility applied, bounded query counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q

from hotline.accounts import access
from hotline.workorders.models import Assignment, Event, Request, WorkOrder
from hotline.workorders.workflow import (
    OPEN,
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
    # Every count is of open orders: reading only those keeps the home page off the closed history.
    qs = WorkOrder.objects.visible_to(user).filter(status__in=sorted(s.value for s in OPEN))
    holds = [s.value for s in UNIT_HOLDS]
    return qs.aggregate(
        open=Count("id"),
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


def filter_orders(user, params):
    """Visible orders narrowed by the search form's fields (shared by the list and its Excel export)."""
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
    if (phone or text) and access.role_of(user) == Role.HANDLER:
        # A unit must not learn a confidential caller by searching for a name or number it guesses.
        probe = Q(caller_phone=phone) if phone else Q(caller_phone__contains=text) | Q(caller_name__contains=text)
        qs = qs.exclude(Q(confidential=True) & probe)
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
    return qs


# sort key -> (field, descending)
SORTS = {"received": ("received_at", True), "received_asc": ("received_at", False),
         "deadline": ("handle_deadline", False), "deadline_desc": ("handle_deadline", True)}


def search_orders(user, params, *, page_size: int = PAGE_SIZE) -> Page:
    """Filter visible orders by the search form; keyset pagination on (sort field, id).

    Sorted by received time (newest first, default) or by deadline. No COUNT(*) over the table:
    a page knows only whether there is a next one.
    """
    qs = filter_orders(user, params)
    sort = params.get("sort") or "received"
    field, desc = SORTS.get(sort, SORTS["received"])
    if field == "handle_deadline":
        qs = qs.filter(handle_deadline__isnull=False)
    cursor = params.get("cursor")
    if cursor:
        try:
            stamp, pk = cursor.split("_")
            from django.utils import timezone

            at = dt.datetime.fromtimestamp(float(stamp), tz=dt.UTC).astimezone(timezone.get_current_timezone())
            if desc:
                qs = qs.filter(Q(**{f"{field}__lt": at}) | Q(**{field: at}, id__lt=int(pk)))
            else:
                qs = qs.filter(Q(**{f"{field}__gt": at}) | Q(**{field: at}, id__gt=int(pk)))
        except ValueError:
            cursor = None
    order_by = [f"-{field}", "-id"] if desc else [field, "id"]
    rows = list(qs.order_by(*order_by)[: page_size + 1])
    more = len(rows) > page_size
    rows = rows[:page_size]
    nxt = f"{getattr(rows[-1], field).timestamp():.6f}_{rows[-1].pk}" if more and rows else None
    return Page(rows, nxt, bool(cursor))


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


# ---------------------------------------------------------------------------------------------
# Reads for the staff console (hotline.web). Additive; every list keeps a bounded query count.

EXTRA_ACTION_LABELS = {"register": "登记", "merged_in": "并入", "overdue": "超期"}
LIST_RELATED = ("appeal_type", "category", "lead_unit", "town")
CENTER_ROLES = {Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}


def action_label(action: str) -> str:
    """Chinese label of an event's action: the workflow table's, or one of the non-table events."""
    from hotline.workorders.workflow import BY_ACTION

    t = BY_ACTION.get(action)
    return t.label if t else EXTRA_ACTION_LABELS.get(action, action)


def _caller_scope(user):
    """Caller history (来电弹屏) spans every order of the center for center staff (DESIGN §2:
    operators see caller history); a unit handler sees only what ``visible_to`` allows."""
    if access.role_of(user) in CENTER_ROLES:
        return WorkOrder.objects.all()
    return WorkOrder.objects.visible_to(user)


def caller_history(user, phone: str, *, limit: int = 10) -> list[WorkOrder]:
    phone = (phone or "").strip()
    if len(phone) < 5:
        return []
    return list(_caller_scope(user).filter(caller_phone=phone).select_related(*LIST_RELATED)
                .order_by("-received_at", "-id")[:limit])


def possible_repeats(user, *, phone: str = "", town_id=None, category_id=None, now: dt.datetime,
                     days: int = 7, limit: int = 10) -> list[WorkOrder]:
    """Open or recent orders that may be the same appeal: same caller, or same town and category."""
    cond = Q()
    phone = (phone or "").strip()
    if len(phone) >= 5:
        cond |= Q(caller_phone=phone)
    if town_id and category_id:
        cond |= Q(town_id=town_id, category_id=category_id)
    if not cond:
        return []
    return list(_caller_scope(user).filter(cond, received_at__gte=now - dt.timedelta(days=days))
                .exclude(status=Status.MERGED).select_related(*LIST_RELATED)
                .order_by("-received_at", "-id")[:limit])


def merge_target(user, number: str) -> WorkOrder | None:
    """The order an intake repeat is merged into, looked up within the caller-history scope."""
    return _caller_scope(user).filter(number=(number or "").strip()).first()


def suggest_units(order: WorkOrder) -> list:
    """Suggested lead units from the dispatch catalog (category, and town when the rule names one)."""
    from django.db.models import F

    from hotline.catalog.models import DispatchRule
    from hotline.directory.models import Unit

    if not order.category_id:
        return [order.town] if order.town_id else []
    rules = DispatchRule.objects.filter(category_id=order.category_id).filter(
        Q(town__isnull=True) | Q(town_id=order.town_id)).select_related("unit").order_by(
        F("town_id").desc(nulls_last=True), "position")  # a town-specific rule first
    result = []
    for rule in rules:
        unit = rule.unit or (order.town if order.town_id else None)
        if unit is not None and unit not in result:
            result.append(unit)
    if not result and order.town_id:
        result.append(order.town)
    return [u for u in result if isinstance(u, Unit)]


def dispatch_queue(user, *, limit: int = 200) -> list[WorkOrder]:
    return list(WorkOrder.objects.visible_to(user).filter(status=Status.AWAITING_DISPATCH)
                .select_related(*LIST_RELATED).order_by("handle_deadline", "received_at")[:limit])


def pending_requests(user, kind: str, *, limit: int = 200) -> list[Request]:
    visible = WorkOrder.objects.visible_to(user).values("pk")
    return list(Request.objects.filter(kind=kind, state=Request.State.PENDING, order__in=visible)
                .select_related("order", "order__appeal_type", "order__lead_unit", "assignment__unit",
                                "requested_by")
                .order_by("requested_at")[:limit])


def replies_awaiting_review(user, *, limit: int = 200) -> list[WorkOrder]:
    return list(WorkOrder.objects.visible_to(user).filter(status=Status.REPLIED)
                .select_related(*LIST_RELATED).order_by("replied_at")[:limit])


def callback_queue(user, *, limit: int = 200) -> list[WorkOrder]:
    return list(WorkOrder.objects.visible_to(user).filter(status=Status.AWAITING_CALLBACK)
                .select_related(*LIST_RELATED).order_by("replied_at", "id")[:limit])


INBOX_LIMIT = 200  # like the other queues: the most urgent first
# Every open state but the callback queue: where an order can wait on a unit's active assignment.
INBOX_STATUSES = sorted(s.value for s in Status if s not in (Status.CLOSED, Status.MERGED, Status.AWAITING_CALLBACK))


def unit_inbox(user, now: dt.datetime, *, limit: int = INBOX_LIMIT) -> dict[str, list[Assignment]]:
    """A handler's active assignments grouped: to sign, sent back, overdue, near-due, handling.

    Bounded by ``limit`` (the most urgent first). Assignments stay active after an order closes,
    so starting from the unit's assignments reads its whole history: the lead part starts from the
    unit's open orders by deadline instead (partial index ``wo_unit_open_deadline_idx`` on
    PostgreSQL), then fetches their assignments; co-handling assignments are few and read
    directly. Three queries; the order, its lookups and its last event's action come with each
    assignment.
    """
    from itertools import chain

    from django.db.models import OuterRef, Subquery

    groups = {"to_sign": [], "sent_back": [], "overdue": [], "near_due": [], "handling": []}
    if not getattr(user, "unit_id", None):
        return groups
    led = list(WorkOrder.objects.filter(lead_unit_id=user.unit_id, status__in=INBOX_STATUSES)
               .order_by("handle_deadline", "id").values_list("id", flat=True)[:limit])
    last = Event.objects.filter(order=OuterRef("order")).order_by("-at", "-id").values("action")[:1]
    base = (Assignment.objects.filter(unit_id=user.unit_id, active=True, order__status__in=INBOX_STATUSES,
                                      order__in=WorkOrder.objects.visible_to(user).values("pk"))
            .select_related("order", *[f"order__{f}" for f in LIST_RELATED])
            .annotate(last_action=Subquery(last)).order_by("order__handle_deadline", "order_id"))
    lead = base.filter(role=Assignment.Role.LEAD, order_id__in=led)
    co = base.filter(role=Assignment.Role.CO)[:limit]
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    rows = sorted(chain(lead, co), key=lambda a: (a.order.handle_deadline or far, a.order_id))[:limit]
    soon = near_due_window(now)
    for a in rows:
        o = a.order
        deadline = o.handle_deadline
        if a.signed_at is None and (a.role == Assignment.Role.CO or o.status == Status.DISPATCHED):
            key = "to_sign"
        elif a.role == Assignment.Role.LEAD and o.status == Status.HANDLING and a.last_action in {
                "send_back", "callback_rework"}:
            key = "sent_back"
        elif deadline and o.status in UNIT_HOLDS and deadline < now:
            key = "overdue"
        elif deadline and o.status in UNIT_HOLDS and deadline < soon:
            key = "near_due"
        else:
            key = "handling"
        groups[key].append(a)
    return groups


def supervision_lists(user, now: dt.datetime, *, limit: int = 200) -> dict:
    """Near-due and overdue orders across units, with counts per lead unit (one aggregate query)."""
    holds = [s.value for s in UNIT_HOLDS]
    qs = WorkOrder.objects.visible_to(user)
    soon = near_due_window(now)
    per_unit = list(qs.filter(status__in=holds, handle_deadline__lt=soon)
                    .values("lead_unit__short_name")
                    .annotate(overdue=Count("id", filter=Q(handle_deadline__lt=now)),
                              near_due=Count("id", filter=Q(handle_deadline__gte=now)))
                    .order_by("-overdue", "-near_due", "lead_unit__short_name"))
    rel = qs.select_related(*LIST_RELATED)
    return {
        "overdue": list(rel.overdue(now).order_by("handle_deadline")[:limit]),
        "near_due": list(rel.near_due(now, soon).order_by("handle_deadline")[:limit]),
        "per_unit": per_unit,
    }


def dashboard(user, now: dt.datetime, *, as_of: dt.date | None = None) -> dict:
    """A day and its month over what the user may see (today unless ``as_of`` picks a past day):
    aggregate queries only. Open, near-due and overdue are always counted as of ``now``."""
    from django.db.models.functions import TruncDate
    from django.utils import timezone

    local = timezone.localtime(now)
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if as_of is not None:
        today = today.replace(year=as_of.year, month=as_of.month, day=as_of.day)
    end = today + dt.timedelta(days=1)
    month = today.replace(day=1)
    start_trend = today - dt.timedelta(days=29)
    holds = [s.value for s in UNIT_HOLDS]
    qs = WorkOrder.objects.visible_to(user)
    totals = qs.aggregate(
        today_new=Count("id", filter=Q(received_at__gte=today, received_at__lt=end)),
        month_new=Count("id", filter=Q(received_at__gte=month, received_at__lt=end)),
        today_closed=Count("id", filter=Q(closed_at__gte=today, closed_at__lt=end)),
        month_closed=Count("id", filter=Q(closed_at__gte=month, closed_at__lt=end)),
        open=Count("id", filter=~Q(status__in=[Status.CLOSED, Status.MERGED])),
        near_due=Count("id", filter=Q(status__in=holds, handle_deadline__gte=now,
                                      handle_deadline__lt=near_due_window(now))),
        overdue=Count("id", filter=Q(status__in=holds, handle_deadline__lt=now)),
    )
    this_month = qs.filter(received_at__gte=month, received_at__lt=end)
    by_unit = list(this_month.filter(lead_unit__isnull=False).values("lead_unit__short_name")
                   .annotate(n=Count("id"), overdue=Count("id", filter=Q(status__in=holds, handle_deadline__lt=now)))
                   .order_by("-n", "lead_unit__short_name")[:15])
    by_category = list(this_month.filter(category__isnull=False).values("category__full_name")
                       .annotate(n=Count("id")).order_by("-n", "category__full_name")[:10])
    by_day = dict(qs.filter(received_at__gte=start_trend, received_at__lt=end)
                  .annotate(day=TruncDate("received_at", tzinfo=timezone.get_current_timezone()))
                  .values("day").annotate(n=Count("id")).values_list("day", "n"))
    days = [(start_trend + dt.timedelta(days=i)).date() for i in range(30)]
    return {"totals": totals, "by_unit": by_unit, "by_category": by_category, "day": today.date(),
            "trend": {"days": [d.strftime("%m-%d") for d in days], "counts": [by_day.get(d, 0) for d in days]}}
