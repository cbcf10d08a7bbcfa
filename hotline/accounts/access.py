"""Who may see what: the one place that decides.

``order_scope`` decides which work orders a user may see; ``hotline.workorders.visibility``
turns that decision into the one row-level filter every read goes through
(``WorkOrder.objects.visible_to(user)``, ``access_work_order_by_id``). Accounts sit below work
orders (DESIGN.md §5), so the decision is stated here in plain values and nothing here imports
the work orders.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from hotline.accounts.roles import Role
from hotline.lib.masking import mask_name, mask_phone, mask_text_phones

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


@dataclass(frozen=True)
class OrderScope:
    """Which work orders a user may see: all, or the union of the parts that are set."""

    everything: bool = False
    registered_by_id: int | None = None  # the orders this user registered
    callback_queue: bool = False  # the orders awaiting a callback
    unit_id: int | None = None  # the orders ever assigned to this unit (lead or co-handler, any round)


NOTHING = OrderScope()


def order_scope(user) -> OrderScope:
    role = role_of(user)
    if role in ALL_ORDERS_ROLES:
        return OrderScope(everything=True)
    if role == Role.OPERATOR:
        # An operator works the orders they registered and the callback queue.
        return OrderScope(registered_by_id=user.pk, callback_queue=True)
    if role == Role.HANDLER and user.unit_id:
        # A unit sees every order it has been assigned, now or in an earlier round (a unit whose
        # return was approved still sees what it handled).
        return OrderScope(unit_id=user.unit_id)
    return NOTHING


def require_role(request, *roles: Role) -> Role:
    """The request's role if it is one of ``roles`` (an admin always is); otherwise refused."""
    r = role_of(request.user)
    if r not in roles and r != Role.ADMIN:
        raise PermissionDenied("无权访问该页面")
    return r


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
    if not may_reveal_contact(user, order):
        raise PermissionDenied("无权查看该工单的联系方式")
    audit(user, "reveal_contact", obj=order, ip=ip)
    return order.caller_name, order.caller_phone
