"""The one row-level door to work orders: ``hotline.accounts.access.order_scope`` as a filter.

Every read of work orders goes through ``WorkOrder.objects.visible_to(user)`` or
``access_work_order_by_id``; a missing order and someone else's order answer the same
``Http404`` so a handler cannot probe order numbers of another unit.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from hotline.accounts.access import order_scope
from hotline.workorders.workflow import Status


def restrict_work_orders(queryset, user):
    from hotline.workorders.models import Assignment

    scope = order_scope(user)
    if scope.everything:
        return queryset
    if scope.unit_id is not None:
        # The lead unit is covered by the assignments: ``lead_unit`` is only ever set by
        # ``actions.dispatch``, which writes the lead assignment in the same transaction.
        # Why not ``Q(lead_unit=…) | Exists(…)``: under an OR PostgreSQL cannot turn the EXISTS into
        # a semi-join and hashes the unit's whole assignment history on every query (150 ms for a
        # large bureau at 10M orders); a lone EXISTS lets a first page probe by key and stop early.
        # Should an order ever get a lead unit without an assignment, the unit would not see it:
        # the door fails closed.
        return queryset.filter(Exists(Assignment.objects.filter(order=OuterRef("pk"), unit_id=scope.unit_id)))
    condition = Q()
    if scope.registered_by_id is not None:
        condition |= Q(registered_by_id=scope.registered_by_id)
    if scope.callback_queue:
        condition |= Q(status=Status.AWAITING_CALLBACK)
    if scope.intake_queue:
        condition |= Q(status=Status.RECEIVED)
    return queryset.filter(condition) if condition else queryset.none()


def led_by_unit(queryset, user):
    """The orders the user's unit leads, without the EXISTS of ``restrict_work_orders``: for
    counting and for picking a page's keys, never for showing rows (those are read back through
    ``visible_to``). The door admits every one of them: ``lead_unit`` is only ever set by
    ``actions.dispatch``, with the lead assignment in the same transaction, and the door admits an
    order with any assignment of the unit. The EXISTS made PostgreSQL hash the unit's whole
    assignment history for each count (280 ms for a bureau with 75,000 open orders at 10M); without
    it a count reads one range of an index. Nobody but a unit's handler gets anything."""
    scope = order_scope(user)
    if scope.everything or scope.unit_id is None:
        return queryset.none()
    return queryset.filter(lead_unit_id=scope.unit_id)


def on_unit_assignments(queryset, user, assignments):
    """The orders of ``assignments`` (assignments of any unit, narrowed here to the user's unit's),
    without the door's EXISTS: the door admits an order with any assignment of the unit, which is
    what this asks for, so asking both probed the assignments twice. For counts and page keys, as
    ``led_by_unit``; nobody but a unit's handler gets anything."""
    scope = order_scope(user)
    if scope.everything or scope.unit_id is None:
        return queryset.none()
    return queryset.filter(pk__in=assignments.filter(unit_id=scope.unit_id).values("order_id"))


def access_work_order_by_id(user, order_id, *, for_update: bool = False):
    """The order with this id (or number) if ``user`` may see it; Http404 otherwise."""
    from hotline.workorders.models import WorkOrder

    qs = WorkOrder.objects.visible_to(user)
    if for_update:
        qs = qs.select_for_update()
    key = str(order_id).strip()
    # ASCII digits only: "²".isdigit() is true but int("²") fails; an absurdly long id is nobody's order.
    if key.isascii() and key.isdigit():
        if len(key) > 18:
            raise Http404("工单不存在或无权查看")
        lookup = {"pk": int(key)}
    else:
        lookup = {"number": key}
    try:
        return qs.get(**lookup)
    except WorkOrder.DoesNotExist:
        raise Http404("工单不存在或无权查看") from None
