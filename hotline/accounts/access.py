"""Who may see what: the one place that decides.

Every read of work orders goes through ``WorkOrder.objects.visible_to(user)`` or
``access_work_order_by_id``; a missing order and someone else's order answer the same
``Http404`` so a handler cannot probe order numbers of another unit.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from hotline.lib.masking import mask_name, mask_phone, mask_text_phones
from hotline.workorders.workflow import Role, Status

ALL_ORDERS_ROLES = {Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}
# Roles whose work needs the caller's contact details (on request, audited).
REVEAL_ROLES = {Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.HANDLER}


def role_of(user) -> Role | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    try:
        return Role(user.role)
    except ValueError:
        return None


def restrict_work_orders(queryset, user):
    from hotline.workorders.models import Assignment

    role = role_of(user)
    if role in ALL_ORDERS_ROLES:
        return queryset
    if role == Role.OPERATOR:
        # An operator works the orders they registered and the callback queue.
        return queryset.filter(Q(registered_by=user) | Q(status=Status.AWAITING_CALLBACK))
    if role == Role.HANDLER and user.unit_id:
        # A unit sees every order it has been assigned, as lead or co-handler, now or in an earlier
        # round (a unit whose return was approved still sees what it handled). The lead unit is
        # covered too: ``lead_unit`` is only ever set by ``actions.dispatch``, which writes the lead
        # assignment in the same transaction, so an order led by the unit always has one.
        # Why not ``Q(lead_unit=…) | Exists(…)``: under an OR PostgreSQL cannot turn the EXISTS into
        # a semi-join and hashes the unit's whole assignment history on every query (150 ms for a
        # large bureau at 10M orders); a lone EXISTS lets a first page probe by key and stop early.
        # Should an order ever get a lead unit without an assignment, the unit would not see it:
        # the door fails closed.
        return queryset.filter(Exists(Assignment.objects.filter(order=OuterRef("pk"), unit_id=user.unit_id)))
    return queryset.none()


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


# Roles that may take callers' contacts out of the system in bulk (an Excel export): the center
# staff who call citizens back. A unit reveals one caller at a time, each reveal audited.
EXPORT_CONTACT_ROLES = {Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}


def may_export_contacts(user) -> bool:
    return role_of(user) in EXPORT_CONTACT_ROLES


def may_reveal_contact(user, order) -> bool:
    role = role_of(user)
    if role not in REVEAL_ROLES:
        return False
    if order.confidential and role == Role.HANDLER:
        return False  # a confidential caller is never shown to units
    return True


def caller_for(user, order, *, revealed: bool = False) -> tuple[str, str]:
    """(name, phone) as this user may see them: masked unless revealed by an audited action."""
    if hides_caller(user, order):
        return "（保密）", "（保密）"
    if revealed and may_reveal_contact(user, order):
        return order.caller_name, order.caller_phone
    return mask_name(order.caller_name), mask_phone(order.caller_phone)


def hides_caller(user, order) -> bool:
    """A confidential order seen by a unit: the caller is hidden everywhere, free text included."""
    return bool(order.confidential) and role_of(user) == Role.HANDLER


def shield_text(user, order, text: str) -> str:
    """``text`` as this user may read it: for a unit on a confidential order, the caller's name and
    phone (and any mobile number) written inside contents, notes and replies are hidden."""
    if not text or not hides_caller(user, order):
        return text
    for secret in (order.caller_phone, order.caller_name):
        secret = (secret or "").strip()
        if len(secret) >= 2:
            text = text.replace(secret, "（保密）")
    return mask_text_phones(text)


def audit(actor, action: str, *, obj=None, object_type: str = "", object_id: str = "", ip=None, **detail):
    from hotline.accounts.models import AuditLog

    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(getattr(obj, "number", None) or obj.pk)
    return AuditLog.objects.create(actor=actor if getattr(actor, "pk", None) else None, action=action,
                                   object_type=object_type, object_id=object_id, detail=detail, ip=ip)


def reveal_contact(user, order, *, ip=None) -> tuple[str, str]:
    """Show the caller's real name and phone to a role that needs them; writes an audit row."""
    from django.core.exceptions import PermissionDenied

    if not may_reveal_contact(user, order):
        raise PermissionDenied("无权查看该工单的联系方式")
    audit(user, "reveal_contact", obj=order, ip=ip)
    return order.caller_name, order.caller_phone
