"""The facts ``workflow.refusal`` judges, read from the database for one order or a page of them.

The action functions call ``refuse_unless_possible`` on the order they have locked; the console
filters its buttons with ``possible`` over the same facts, so a button is shown exactly when the
action would not refuse for a reason the page already knows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from hotline.workorders.models import Assignment, Reminder, Request, WorkOrder
from hotline.workorders.workflow import (
    MAX_DISPATCH_ROUNDS,
    RequestKind,
    Situation,
    Transition,
    WorkflowError,
    refusal,
)


def situation_of(order: WorkOrder, *, at: dt.datetime, assignments: Iterable[Assignment],
                 pending: Iterable[str], unit_id: int | None = None) -> Situation:
    """``assignments``: the order's assignments (any); ``pending``: kinds of its pending requests
    filed by an active assignment; ``unit_id``: the acting handler's unit, if any."""
    active = [a for a in assignments if a.active]
    lead = next((a for a in active if a.role == Assignment.Role.LEAD), None)
    mine_co = next((a for a in active if a.role == Assignment.Role.CO and a.unit_id == unit_id), None)
    return Situation(
        pending=frozenset(RequestKind(k) for k in pending),
        overdue=bool(order.handle_deadline and at > order.handle_deadline),
        last_round=bool(lead and lead.round >= MAX_DISPATCH_ROUNDS),
        has_lead=lead is not None,
        co_signed=bool(mine_co and mine_co.signed_at),
        upstream=order.is_upstream,
        reported_back=order.reported_back_at is not None,
        # The unit's answers to a chase (two small indexed reads, only for a handler).
        unacknowledged=unit_id is not None and Reminder.objects.unacknowledged(order, unit_id).exists(),
        awaiting_response=unit_id is not None and Reminder.objects.awaiting_response(order, unit_id).exists(),
    )


def pending_kinds(order_ids: Iterable[int]) -> dict[int, set[str]]:
    """Kinds of the pending requests filed by an active assignment, per order, in one query."""
    found = defaultdict(set)
    rows = Request.objects.filter(order_id__in=list(order_ids), state=Request.State.PENDING,
                                  assignment__active=True).values_list("order_id", "kind")
    for order_id, kind in rows:
        found[order_id].add(kind)
    return found


def possible(transitions: Iterable[Transition], situation: Situation) -> list[Transition]:
    """The transitions that would not be refused in ``situation``."""
    return [t for t in transitions if refusal(t, situation) is None]


def refuse_unless_possible(order: WorkOrder, t: Transition, *, at: dt.datetime, unit_id: int | None) -> None:
    """Inside an action, on the locked order: raise the refusal the console would have foreseen."""
    assignments = list(Assignment.objects.filter(order=order, active=True))
    situation = situation_of(order, at=at, assignments=assignments, pending=pending_kinds([order.pk])[order.pk],
                             unit_id=unit_id)
    why = refusal(t, situation)
    if why:
        raise WorkflowError(why)
