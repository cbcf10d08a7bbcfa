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
from hotline.lib.masking import HIDDEN, mask_identities, mask_name, mask_phone

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
    intake_queue: bool = False  # the orders registered and not yet taken in (已登记), whoever registered them
    unit_id: int | None = None  # the orders ever assigned to this unit (lead or co-handler, any round)


NOTHING = OrderScope()


def order_scope(user) -> OrderScope:
    role = role_of(user)
    if role in ALL_ORDERS_ROLES:
        return OrderScope(everything=True)
    if role == Role.OPERATOR:
        # An operator works the orders they registered, the callback queue, and the intake queue:
        # orders the portal, Open311 or the API registered with no operator (or another account)
        # wait in 已登记 until one of the center's operators takes them in.
        return OrderScope(registered_by_id=user.pk, callback_queue=True, intake_queue=True)
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


# Knowledge base (GB/T 44191-2024): the center keeps it and reviews every change before it is
# published; a unit keeps the articles it owns (and proposes new ones as their owner).
KB_CENTER_EDITORS = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})
KB_REVIEWERS = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})
# Everyone on the staff reads the published articles; an auditor reads orders, not the answers.
KB_READERS = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.HANDLER, Role.ADMIN})


def may_read_knowledge(user) -> bool:
    return role_of(user) in KB_READERS


def may_edit_knowledge(user, owner_unit_id: int | None) -> bool:
    """May ``user`` propose a change to an article owned by ``owner_unit_id`` (None: the center's)?"""
    role = role_of(user)
    if role in KB_CENTER_EDITORS:
        return True
    return role == Role.HANDLER and owner_unit_id is not None and owner_unit_id == getattr(user, "unit_id", None)


def may_review_knowledge(user) -> bool:
    return role_of(user) in KB_REVIEWERS


def may_export_contacts(user) -> bool:
    return role_of(user) in EXPORT_CONTACT_ROLES


def may_see_attachment(user, order, uploader_unit_id: int | None) -> bool:
    """Whether ``user``, who may see ``order``, may see one of its files added by ``uploader_unit_id``
    (None: the center or the citizen). A confidential order's files reach a unit only when its own
    staff added them: a citizen's photo or the center's material may show who the caller is."""
    if order.confidential and role_of(user) == Role.HANDLER:
        return uploader_unit_id is not None and uploader_unit_id == user.unit_id
    return role_of(user) is not None


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
        return HIDDEN, HIDDEN
    if revealed and may_reveal_contact(user, order):
        return order.caller_name, order.caller_phone
    return mask_name(order.caller_name), mask_phone(order.caller_phone)


def hides_caller(user, order) -> bool:
    """A confidential order seen by a unit: the caller is hidden everywhere, free text included."""
    return bool(order.confidential) and role_of(user) == Role.HANDLER


# Roles that read an order's free text as it was written, identities included: the center's staff,
# who take the calls and call the citizens back. Everyone else — a unit, and anyone outside — reads
# every title, content, note and reply through ``mask_identities``.
TEXT_ROLES = {Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}


def sees_identities(user) -> bool:
    """Whether ``user`` reads free text unmasked (and searches it as written)."""
    return role_of(user) in TEXT_ROLES


def outside_text(order, text: str) -> str:
    """``text`` of ``order`` as anyone outside the center reads it — a unit, and the public (Open311,
    the portal, the briefing): phones, landlines and ID numbers in any spelling and the caller's
    name masked (138****8888, 司马**); on a confidential order all of them hidden (（保密）)."""
    return mask_identities(text, name=order.caller_name, phone=order.caller_phone, hide=bool(order.confidential))


def shield_text(user, order, text: str) -> str:
    """``text`` as this user may read it: as written for the center's staff, ``outside_text`` for
    everyone else (the one function every page, export and API answer calls)."""
    if not text or sees_identities(user):
        return text
    return outside_text(order, text)


def unit_search_text(order) -> str:
    """What a unit's text search reads for ``order``: its title and content as the unit reads them,
    one line break apart — or "" when masking changes neither, and the search reads the title and
    content columns themselves (most orders name nobody in their text). Stored on the order by the
    actions that write title, content, caller or confidentiality (``WorkOrder.masked_text``)."""
    title, content = outside_text(order, order.title or ""), outside_text(order, order.content or "")
    if title == (order.title or "") and content == (order.content or ""):
        return ""
    return f"{title}\n{content}"


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


def audit_order_view(user, order, *, ip=None, via: str = "page"):
    """A unit's handler opening an order (page, print sheet or API) leaves a row: a unit reads only
    its own orders, each one a citizen's appeal, so a leak is traced back to who opened what. The
    center's staff read orders all day as their work and are audited where they take data out
    (reveals and exports)."""
    if role_of(user) == Role.HANDLER:
        audit(user, "view_order", obj=order, ip=ip, via=via)
