"""The only writers of work orders.

Each public function is one action of ``workflow.TRANSITIONS``: it locks every order row it
changes (several in primary-key order), checks the table, the actor's role and unit, changes the
fields it owns (saved with ``update_fields``), computes and stores deadlines, and writes its
``Event`` — one, plus one per request it cancels and the target's ``merged_in`` on a merge — all
in one transaction, so a refused action changes nothing. The web console, the JSON API, Open311,
imports, upstream sync and the demo generator all call these functions.

Every action takes ``at`` (defaults to now) so imports and the demo month can replay history
with the real rules; tests pin it instead of patching the clock. "Now" is read only once the row
locks are held: an action that waited for another one to commit is stamped after it, so every
order's timeline is in commit order (see docs/workflow.md, "Locks and time").
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from hotline.accounts.access import role_of, unit_search_text
from hotline.catalog.models import Source, Urgency
from hotline.directory.models import Unit
from hotline.lib import clock, compiled, parsing
from hotline.lib.bulk import any_of, insert_rows, instances, reserve_ids
from hotline.lib.files import CleanFile
from hotline.lib.text import NUL_MESSAGE, scrub
from hotline.lib.workcalendar import WORKING_DAYS, compute_deadline, earliest
from hotline.workorders import sla
from hotline.workorders.attachments import attach, check_new_files
from hotline.workorders.models import (
    SATISFIED_LEVELS,
    Assignment,
    Attachment,
    Callback,
    Disposition,
    Event,
    NumberSequence,
    OverdueWatch,
    Reminder,
    Request,
    Satisfaction,
    TransferTarget,
    Truth,
    WorkOrder,
)
from hotline.workorders.preconditions import refuse_unless_possible
from hotline.workorders.signals import ORDER_FACTS, OrderFacts, event_recorded, order_registering
from hotline.workorders.textindex import search_units_with
from hotline.workorders.visibility import restrict_work_orders
from hotline.workorders.workflow import (
    CANCEL_REQUEST,
    CENTER_DISPATCH,
    NOT_DUPLICATE,
    OPEN,
    UNIT_HOLDS,
    Role,
    Status,
    UnitScope,
    WorkflowError,
    check,
    transition,
)


@dataclass(frozen=True)
class Actor:
    """Who acts: a user with a role, or the system (imports, sweeps, upstream sync)."""

    user: object | None
    role: Role
    unit_id: int | None

    @classmethod
    def of(cls, user) -> Actor:
        if user is None:
            return SYSTEM
        role = role_of(user)
        if role is None:
            raise WorkflowError("账号无效或未登录")
        return cls(user, role, getattr(user, "unit_id", None))


SYSTEM = Actor(None, Role.SYSTEM, None)


def _now(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return clock.now()
    return clock.local(at)


# PostgreSQL's answers when it broke a conflict between transactions: deadlock_detected and
# serialization_failure. Both roll the whole transaction back, so the action may simply run again.
LOCK_CONFLICTS = frozenset({"40P01", "40001"})
LOCK_ATTEMPTS = 3
BUSY = "工单正由他人同时办理，请稍后重试"


def _lock_conflict(exc: DatabaseError) -> bool:
    cause = exc.__cause__
    return (getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)) in LOCK_CONFLICTS


def _action(fn):
    """Run ``fn`` as one transaction; a deadlock or serialization failure never surfaces as a 500.

    Actions lock orders in primary-key order, so two actions cannot deadlock on orders; this is
    the net for whatever the database still breaks. In a transaction of its own the action runs
    again (a few times, with a short random pause); inside a caller's transaction it cannot, so
    its savepoint is rolled back and the caller gets a refusal that says to try again.
    """
    atomic = transaction.atomic(fn)

    @functools.wraps(fn)
    def run(*args, **kwargs):
        nested = transaction.get_connection().in_atomic_block
        for attempt in range(1, LOCK_ATTEMPTS + 1):
            try:
                return atomic(*args, **kwargs)
            except DatabaseError as exc:
                if not _lock_conflict(exc):
                    raise
                if nested or attempt == LOCK_ATTEMPTS:
                    raise WorkflowError(BUSY) from exc
            time.sleep(random.uniform(0.005, 0.03) * attempt)
        raise AssertionError("unreachable")

    return run


# The same transaction and retry for the writers in other apps' actions.py (hotline.portal.actions).
one_transaction = _action


def _pk(order: WorkOrder | int | None) -> int | None:
    return order.pk if isinstance(order, WorkOrder) else order


def _lock(order: WorkOrder | int, actor: Actor) -> WorkOrder:
    order_id = _pk(order)
    qs = WorkOrder.objects.select_for_update()
    if actor.role != Role.SYSTEM:
        qs = restrict_work_orders(qs, actor.user)
    try:
        return qs.get(pk=order_id)
    except WorkOrder.DoesNotExist:
        raise WorkflowError("工单不存在或无权操作") from None


def _active_assignment(order: WorkOrder, unit_id: int | None, role: str | None = None) -> Assignment | None:
    qs = Assignment.objects.filter(order=order, active=True)
    if unit_id is not None:
        qs = qs.filter(unit_id=unit_id)
    if role:
        qs = qs.filter(role=role)
    return qs.select_for_update().first()


def _begin(order, action: str, actor: Actor, note: str = "") -> tuple[WorkOrder, Assignment | None]:
    """Lock the order and check that ``actor`` may take ``action`` now; return the actor's assignment."""
    locked = _lock(order, actor)
    return locked, _authorize(locked, action, actor, note)


def _authorize(locked: WorkOrder, action: str, actor: Actor, note: str = "") -> Assignment | None:
    """Check the table, the reason and the actor's unit on an order already locked."""
    t = check(action, locked.status, actor.role)
    if t.needs_note and not (note or "").strip():
        raise WorkflowError(f"“{t.label}”必须填写理由")
    assignment = None
    if actor.role == Role.HANDLER and t.scope != UnitScope.NONE:
        wanted = {UnitScope.LEAD: Assignment.Role.LEAD, UnitScope.CO: Assignment.Role.CO}.get(t.scope)
        assignment = _active_assignment(locked, actor.unit_id, wanted)
        if assignment is None:
            what = {UnitScope.LEAD: "主办", UnitScope.CO: "协办"}.get(t.scope, "承办")
            raise WorkflowError(f"本单位不是该工单的{what}单位，不能执行“{t.label}”")
    elif actor.role == Role.HANDLER:
        if not Assignment.objects.filter(order=locked, unit_id=actor.unit_id, active=True).exists():
            raise WorkflowError(f"本单位未承办该工单，不能执行“{t.label}”")
    return assignment


def _possible(order: WorkOrder, action: str, actor: Actor, at: dt.datetime) -> None:
    """Refuse what ``workflow.refusal`` refuses (pending requests, an overdue deadline…), the same
    check that decides whether the console shows the action's button."""
    refuse_unless_possible(order, transition(action), at=at, unit_id=actor.unit_id)


def _record(order: WorkOrder, action: str, actor: Actor, at: dt.datetime, *, from_status: str,
            note: str = "", fields: Iterable[str] = (), **data) -> Event:
    fields = set(fields)
    if order.status != from_status:
        fields.add("status")
    if fields:
        order.save(update_fields=sorted(fields | {"updated_at"}))
    if (order.status in OPEN) != (from_status in OPEN):
        # The order opened or closed: its assignments say so (``Assignment.order_open``), all of
        # them, ended ones too — the door admits the unit of any of them.
        Assignment.objects.filter(order=order).update(order_open=order.status in OPEN)
    if fields & {"status", "handle_deadline"} and (from_status in WATCHED or order.status in WATCHED):
        _watch(order)
    event = Event.objects.create(
        order=order, at=at, action=action, actor=actor.user, actor_role=actor.role.value,
        actor_unit_id=actor.unit_id, from_status=from_status, to_status=order.status,
        note=note or "", data={k: v for k, v in data.items() if v not in (None, "", [], {})},
    )
    event_recorded.send(sender=Event, events=[event])
    return event


# The statuses in which a unit holds an order: the SLA sweep watches its deadline (``OverdueWatch``).
WATCHED = frozenset(s.value for s in UNIT_HOLDS)

# Watch the order's deadline unless it was ever stamped overdue (its ``overdue`` event): one
# statement, the same on SQLite and PostgreSQL.
_WATCH = ("INSERT INTO {watch} (order_id, handle_deadline, status) SELECT %s, %s, %s WHERE NOT EXISTS "
          "(SELECT 1 FROM {event} WHERE order_id = %s AND action = 'overdue') "
          "ON CONFLICT (order_id) DO UPDATE SET handle_deadline = excluded.handle_deadline, status = excluded.status")


def _watch(order: WorkOrder) -> None:
    """Put the order on the sweep's watch list (``OverdueWatch``), with its deadline and status, or
    take it off, as its status and deadline now say; the caller holds the order's lock."""
    if order.status in WATCHED and order.handle_deadline is not None:
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(_WATCH.format(watch=quote(OverdueWatch._meta.db_table), event=quote(Event._meta.db_table)),
                           [order.pk, connection.ops.adapt_datetimefield_value(order.handle_deadline), order.status,
                            order.pk])
    else:
        OverdueWatch.objects.filter(order_id=order.pk).delete()


def watched_orders():
    """The orders ``OverdueWatch`` must hold, by its definition: held by a unit, with a deadline,
    never stamped overdue. What the list is checked against; the sweep reads the list itself."""
    stamped = Event.objects.filter(order=OuterRef("pk"), action="overdue")
    return WorkOrder.objects.filter(status__in=sorted(WATCHED), handle_deadline__isnull=False).filter(~Exists(stamped))


def _move(order: WorkOrder, action: str) -> str:
    """Set the order's status to the transition's target; return the old status."""
    old = order.status
    order.status = transition(action).leads_to(Status(old)).value
    return old


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


# ---------------------------------------------------------------------------------------------
# Intake


_DRAW_NUMBER = (
    'INSERT INTO {t} (period, last) VALUES (%s, 1) ON CONFLICT (period) DO UPDATE SET last = {t}.last + 1 '
    'RETURNING last'
)


def _reserve_pk(model) -> int | None:
    """On PostgreSQL, the next primary key of ``model`` from its sequence; None elsewhere."""
    if connection.vendor != "postgresql":
        return None
    with compiled.cursor(connection) as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s))",
                       [model._meta.db_table, model._meta.pk.column])
        return cursor.fetchone()[0]


def _next_number(at: dt.datetime) -> str:
    """Draw the month's next order number; the caller must be inside the registration's transaction.

    Numbers are gap-free and unique per month: the counter row stays locked until the
    registration commits, and a rolled-back one (an import's dry run) returns its number. Every
    registration queues on that lock, so it is taken by one statement (the upsert also creates
    the month's row) as late as possible, right before the order's insert.
    """
    from django.conf import settings

    period = timezone.localtime(at).strftime("%y%m")
    with compiled.cursor(connection) as cursor:
        cursor.execute(_DRAW_NUMBER.format(t=connection.ops.quote_name(NumberSequence._meta.db_table)), [period])
        last = cursor.fetchone()[0]
    return f"{settings.HOTLINE['NUMBER_PREFIX']}{period}-{last:06d}"


def _handle_deadline(order: WorkOrder, start: dt.datetime) -> None:
    limits = sla.limits_for(order.appeal_type_id, order.urgency, order.source)
    sign = sla.deadline_after(start, limits["sign"])
    handle = sla.deadline_after(start, limits["handle"])
    order.sign_deadline = sign.at
    order.handle_deadline = earliest(handle.at, order.upstream_deadline)
    notes = []
    if order.upstream_deadline and order.handle_deadline == order.upstream_deadline:
        notes.append("按上级平台时限")
    if handle.warning():
        notes.append(handle.warning())
    order.deadline_note = "；".join(notes)


def register_order(*, acting_user, at: dt.datetime | None = None, title: str, content: str, appeal_type,
                   category=None, urgency: str = Urgency.NORMAL, source: str = Source.PHONE,
                   caller_name: str = "", caller_phone: str = "", confidential: bool = False,
                   town: Unit | None = None, address: str = "", latitude=None, longitude=None,
                   upstream_platform=None, upstream_number: str = "",
                   upstream_deadline: dt.datetime | None = None, note: str = "",
                   attachments: Sequence[CleanFile] = ()) -> WorkOrder:
    """Register (登记) a new order in state ``received`` with its deadlines.

    Its ``register`` event reaches ``workorders.signals.event_recorded`` in the transaction, after
    the insert: notify queues the caller's SMS receipt and the operators' notice with it (the
    outbox). ``attachments`` (checked by ``hotline.lib.files``) are stored with the registration:
    the citizen's photos in the portal (the system actor), the operator's material at intake.
    Everything is checked before the transaction starts,
    so a refused registration has written nothing and leaves the caller's transaction usable; the
    writes then join the caller's transaction without a savepoint (a failure there rolls the
    caller back too).
    """
    actor = Actor.of(acting_user)
    if actor.role not in {Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.SYSTEM}:
        raise WorkflowError("只有话务员、派单员或督办人员可以登记工单")
    at = _now(at)
    if any("\x00" in (v or "") for v in (title, content, caller_name, caller_phone, address, upstream_number)):
        raise WorkflowError(f"工单内容{NUL_MESSAGE}")
    # Entry points clean text at the boundary (hotline.lib.text); the writer cleans again so that no
    # path can store a control character that would break an export later.
    title, content = scrub(title, single_line=True).strip(), scrub(content).strip()
    caller_name, caller_phone = scrub(caller_name, single_line=True), scrub(caller_phone, single_line=True)
    address, upstream_number = scrub(address, single_line=True), scrub(upstream_number, single_line=True)
    if not title or not content:
        raise WorkflowError("工单标题和诉求内容不能为空")
    for name, value in (("caller_name", caller_name), ("caller_phone", caller_phone), ("address", address),
                        ("upstream_number", upstream_number)):
        model_field = WorkOrder._meta.get_field(name)
        if len((value or "").strip()) > model_field.max_length:
            raise WorkflowError(f"{model_field.verbose_name}不能超过 {model_field.max_length} 个字符")
    if urgency not in Urgency.values:
        raise WorkflowError(f"未知的紧急程度：{urgency[:20]}")
    if source not in Source.values:
        raise WorkflowError(f"未知的来源渠道：{source[:20]}")
    if category is not None and (category.level < 2 or not category.active):
        raise WorkflowError("请选择一个启用的二级或三级热点分类")
    if town is not None and not town.is_locality:
        raise WorkflowError("所在地须为乡镇或街道")
    if source == Source.UPSTREAM:
        if upstream_platform is None or not upstream_number.strip():
            raise WorkflowError("上级交办工单须填写上级平台和上级工单号")
        # The unique constraint's own condition (source), so its index answers: without it the
        # check read every order of the platform (297 ms at 1M orders, through its FK index).
        if WorkOrder.objects.filter(source=Source.UPSTREAM, upstream_platform=upstream_platform,
                                    upstream_number=upstream_number.strip()).exists():
            raise WorkflowError(f"上级工单号 {upstream_number} 已登记，不能重复登记")
    elif upstream_platform is not None:
        raise WorkflowError("只有来源为上级平台的工单才能填写上级平台")
    try:  # one spelling of every number, so search, caller history and masking meet one form
        caller_phone = parsing.parse_phone(caller_phone, "联系电话")
    except parsing.ParseError as exc:
        raise WorkflowError(str(exc)) from None
    check_new_files(attachments)
    order = WorkOrder(
        title=title[:120], content=content, appeal_type=appeal_type, category=category,
        urgency=urgency, source=source, caller_name=caller_name.strip(), caller_phone=caller_phone,
        confidential=confidential, town=town, address=address.strip(), latitude=latitude, longitude=longitude,
        upstream_platform=upstream_platform, upstream_number=upstream_number.strip(),
        upstream_deadline=upstream_deadline, registered_by=actor.user, received_at=at,
        status=Status.RECEIVED,
    )
    order.masked_text = unit_search_text(order)
    _handle_deadline(order, at)

    events = []

    def write_dependents():
        event = Event(
            order=order, at=at, action="register", actor=actor.user, actor_role=actor.role.value,
            actor_unit_id=actor.unit_id, from_status="", to_status=order.status, note=note,
            data={"handle_deadline": _iso(order.handle_deadline), "source": source,
                  **({"attachments": len(attachments)} if attachments else {})})
        compiled.insert(event)
        events.append(event)
        attach(order, attachments, at=at, actor=actor, event=events[-1],
               kind=Attachment.Kind.PHOTO if actor.role == Role.SYSTEM else Attachment.Kind.INTAKE)
        order_registering.send(sender=WorkOrder, order=order)

    with transaction.atomic(savepoint=False):
        # Registrations queue on the month's number until each commits (see _next_number), so on
        # PostgreSQL the order's id is drawn first and the rows pointing at it are written ahead
        # of it (foreign keys are checked at commit): only the number and the order's own insert
        # remain between lock and commit. SQLite locks the whole database from the first write,
        # so the order there does not matter.
        order.pk = reserved = _reserve_pk(WorkOrder)
        if reserved is not None:
            write_dependents()
        order.number = _next_number(at)
        # The order's 60 columns through a statement compiled once (the ORM's save() spent most of
        # an intake's INSERT building it); the same row, without save()'s signals, which nothing
        # listens to for orders (hotline.lib.compiled).
        compiled.insert(order)
        if reserved is None:
            write_dependents()
        # After the insert: the receipt SMS and the operators' notice need the order's number.
        event_recorded.send(sender=Event, events=events)
    return order


@_action
def direct_answer(order, *, acting_user, answer: str, article=None, at=None) -> WorkOrder:
    """Answer at once, usually from the knowledge base (``article``: the one read out, which counts
    the answer in its usage); the order waits for its callback."""
    if article is not None and (not article.active or not article.version):
        raise WorkflowError("该知识库条目未发布或已停用，不能用作直接答复")
    return _center_answer(order, "direct_answer", Disposition.DIRECT_ANSWER, acting_user, answer, at, article)


@_action
def coordinate(order, *, acting_user, answer: str, at=None) -> WorkOrder:
    """The center resolves the order itself (协调办理) and records its answer."""
    return _center_answer(order, "coordinate", Disposition.COORDINATE, acting_user, answer, at)


def _center_answer(order, action, disposition, acting_user, answer, at, article=None):
    actor = Actor.of(acting_user)
    if not (answer or "").strip():
        raise WorkflowError("请填写答复内容")
    order, _ = _begin(order, action, actor)
    at = _now(at)
    old = _move(order, action)
    order.disposition = disposition
    order.answer = answer.strip()
    order.replied_at = at
    order.kb_article = article
    _record(order, action, actor, at, from_status=old, note=answer.strip(),
            article=article.pk if article is not None else None,
            fields=["disposition", "answer", "replied_at", "kb_article"])
    return order


@_action
def transfer(order, *, acting_user, target: str, note: str = "", at=None) -> WorkOrder:
    """Hand an emergency to 110/119/120/122; the order closes here."""
    actor = Actor.of(acting_user)
    if target not in TransferTarget.values:
        raise WorkflowError("转接号码只能是 110、119、120 或 122")
    order, _ = _begin(order, "transfer", actor, note)
    at = _now(at)
    old = _move(order, "transfer")
    order.disposition, order.transfer_target, order.closed_at = Disposition.TRANSFER, target, at
    _record(order, "transfer", actor, at, from_status=old, note=note, target=target,
            fields=["disposition", "transfer_target", "closed_at"])
    return order


@_action
def inform(order, *, acting_user, note: str, at=None) -> WorkOrder:
    """Tell the caller the legal channel (诉讼、仲裁、信访…); the order closes."""
    return _close_at_intake(order, "inform", Disposition.INFORM, acting_user, note, at)


@_action
def not_accept(order, *, acting_user, note: str, at=None) -> WorkOrder:
    """Refuse the appeal (not within the hotline's remit); the reason is mandatory."""
    return _close_at_intake(order, "not_accept", Disposition.NOT_ACCEPTED, acting_user, note, at)


def _close_at_intake(order, action, disposition, acting_user, note, at):
    actor = Actor.of(acting_user)
    order, _ = _begin(order, action, actor, note)
    at = _now(at)
    old = _move(order, action)
    order.disposition, order.closed_at, order.answer = disposition, at, (note or "").strip()
    _record(order, action, actor, at, from_status=old, note=note, fields=["disposition", "closed_at", "answer"])
    return order


@_action
def merge(order, *, acting_user, into: WorkOrder | int | None, note: str = "", at=None) -> WorkOrder:
    """Merge a repeat appeal into an existing order (并单); the repeat ends here.

    Both orders are locked in primary-key order before anything is checked — two merges of the same
    pair queue on the lower one first, so A→B racing B→A cannot deadlock — and concurrent merges
    see each other: a merge target is never itself merged (no chains), an order that others were
    merged into is never merged away (A→B then B→C is refused), and no merge closes a cycle. Three
    racing merges A→B, B→C, C→A therefore leave at least two orders open, never none.
    """
    actor = Actor.of(acting_user)
    source_id, target_id = _pk(order), _pk(into)
    if target_id is None:
        raise WorkflowError("请指定要并入的工单")
    if target_id == source_id:
        raise WorkflowError("不能将工单并入其自身")
    # The target is what the caller looked up (the intake's caller history: any order of the same
    # caller), not necessarily one this operator works, and it is only noted (merged_in): it is
    # locked without the visibility door, the repeat through it.
    locked = {pk: _lock(pk, actor if pk == source_id else SYSTEM) for pk in sorted((source_id, target_id))}
    order, target = locked[source_id], locked[target_id]
    _authorize(order, "merge", actor, note)
    at = _now(at)
    _merge_into(order, target, actor, at, note)
    return order


def _merge_into(order: WorkOrder, target: WorkOrder, actor: Actor, at: dt.datetime, note: str) -> None:
    """Merge the locked ``order`` into the locked ``target`` after the rules allow it: the repeat's
    ``merge`` event and the target's ``merged_in`` fact."""
    _check_merge(order, target, at)
    old = _move(order, "merge")
    order.disposition, order.merged_into, order.is_repeat, order.closed_at = Disposition.MERGE, target, True, at
    _record(order, "merge", actor, at, from_status=old, note=note, into=target.number,
            fields=["disposition", "merged_into", "is_repeat", "closed_at"])
    _fact(target, "merged_in", actor, at, note=f"并入重复件 {order.number}", data={"from": order.number})


def _fact(order: WorkOrder, action: str, actor: Actor, at: dt.datetime, *, note: str, data: dict) -> Event:
    """A fact noted on another order the action holds locked (its state does not change)."""
    event = Event.objects.create(order=order, at=at, action=action, actor=actor.user, actor_role=actor.role.value,
                                 actor_unit_id=actor.unit_id, from_status=order.status, to_status=order.status,
                                 note=note, data=data)
    event_recorded.send(sender=Event, events=[event])
    return event


def repeat_window() -> dt.timedelta:
    from django.conf import settings

    return dt.timedelta(days=settings.HOTLINE["REPEAT_WINDOW_DAYS"])


REPEAT_POLICIES = {"linked": "新建关联重办件", "reopen": "重新打开原工单"}


@_action
def repeat_closed(order, *, acting_user, of: WorkOrder | int | None, note: str = "", at=None) -> WorkOrder:
    """A new call (``order``, just registered) repeats ``of``, an order closed within the repeat
    window (国办函〔2025〕66号: 重复诉求原则上并单处理 — but never into a closed order, where the
    repeat would disappear). By ``HOTLINE["REPEAT_POLICY"]``:

    - ``linked``: ``order`` goes to dispatch as a 重办 linked to ``of`` (``repeat_of``, a repeat);
      ``of`` notes the repeat (``repeat_noted``) and stays closed, its month's figures unchanged;
    - ``reopen``: ``of`` is reopened for dispatch (``reopen``, its rework count up, its units'
      assignments ended) and ``order`` is merged into it.

    Both orders are locked in primary-key order, as a merge locks them. Returns ``order``.
    """
    from django.conf import settings

    actor = Actor.of(acting_user)
    policy = settings.HOTLINE["REPEAT_POLICY"]
    if policy not in REPEAT_POLICIES:
        raise WorkflowError(f"重复诉求处理方式配置无效：{policy[:20]}（应为 linked 或 reopen）")
    source_id, target_id = _pk(order), _pk(of)
    if target_id is None:
        raise WorkflowError("请指定重复诉求对应的已办结工单")
    if target_id == source_id:
        raise WorkflowError("不能将工单作为其自身的重复诉求")
    locked = {pk: _lock(pk, actor if pk == source_id else SYSTEM) for pk in sorted((source_id, target_id))}
    order, closed = locked[source_id], locked[target_id]
    _authorize(order, "repeat_rework" if policy == "linked" else "merge", actor, note)
    at = _now(at)
    if closed.status != Status.CLOSED or closed.closed_at is None or closed.closed_at > at:
        raise WorkflowError(f"工单 {closed.number} 未办结，重复诉求请直接并单")
    days = settings.HOTLINE["REPEAT_WINDOW_DAYS"]
    if at - closed.closed_at > repeat_window():
        raise WorkflowError(f"工单 {closed.number} 办结已超过 {days} 天，请按新诉求登记办理")
    why = (note or "").strip() or f"重复诉求 {order.number}：原工单办结后 {days} 天内再次反映"
    if policy == "linked":
        old = _move(order, "repeat_rework")
        order.disposition, order.is_repeat, order.repeat_of = Disposition.DISPATCH, True, closed
        _record(order, "repeat_rework", actor, at, from_status=old, note=why, of=closed.number,
                fields=["disposition", "is_repeat", "repeat_of"])
        _fact(closed, "repeat_noted", actor, at, note=f"重复诉求 {order.number} 已作为关联重办件派单",
              data={"repeat": order.number})
        return order
    _authorize(closed, "reopen", actor, why)
    ended = Assignment.objects.filter(order=closed, active=True).update(active=False, ended_at=at,
                                                                          end_reason="reopened")
    old = _move(closed, "reopen")
    closed_at, closed.closed_at, closed.lead_unit = closed.closed_at, None, None
    closed.rework_count += 1
    closed.replied_at = None
    _record(closed, "reopen", actor, at, from_status=old, note=why, repeat=order.number, closed_at=_iso(closed_at),
            assignments_ended=ended or None, fields=["closed_at", "lead_unit", "rework_count", "replied_at"])
    _merge_into(order, closed, actor, at, note or f"重复诉求，原工单 {closed.number} 已重新办理")
    return order


@_action
def note_not_duplicate(order, *, acting_user, of: WorkOrder | int, note: str = "", at=None, **data) -> WorkOrder:
    """The center judged ``order`` not to be a repeat of ``of`` (a near-duplicate the nightly text
    comparison found): one ``not_duplicate`` fact on ``order``'s timeline, neither order changed.
    Both orders are locked through the door in primary-key order, as a merge locks them, so an
    order the reviewer may not see is refused like a missing one. ``data`` (the similarity) is kept
    on the event."""
    actor = Actor.of(acting_user)
    if actor.role not in CENTER_DISPATCH:
        raise WorkflowError("只有派单员、督办人员可以核实疑似重复件")
    source_id, other_id = _pk(order), _pk(of)
    if other_id is None or other_id == source_id:
        raise WorkflowError("请指定与之比对的另一张工单")
    locked = {pk: _lock(pk, actor) for pk in sorted((source_id, other_id))}
    order, other = locked[source_id], locked[other_id]
    at = _now(at)
    why = (note or "").strip() or f"经核实，与 {other.number} 不是重复诉求"
    _record(order, NOT_DUPLICATE, actor, at, from_status=order.status, note=why, of=other.number, **data)
    return order


def _check_merge(order: WorkOrder, target: WorkOrder, at: dt.datetime) -> None:
    """The merge rules, on both orders locked. ``order`` may be merged by the table (received or
    awaiting dispatch, so it is not merged itself)."""
    seen, hop = {target.pk}, target
    while hop.merged_into_id is not None:  # a chain left from before these rules: follow it to its end
        if hop.merged_into_id == order.pk:
            raise WorkflowError(f"工单 {target.number} 已并入 {order.number}，再将 {order.number} 并入它会形成循环")
        if hop.merged_into_id in seen:
            break
        seen.add(hop.merged_into_id)
        hop = WorkOrder.objects.only("pk", "number", "merged_into_id").get(pk=hop.merged_into_id)
    if target.status == Status.MERGED:
        raise WorkflowError(f"工单 {target.number} 本身已并入 {hop.number}，不能作为并单目标，请并入 {hop.number}")
    # Closed at ``at`` or before: an import or the demo replaying history may merge into an order
    # that was still open at the time of the merge, though it has been closed since.
    if target.status == Status.CLOSED and (target.closed_at is None or target.closed_at <= at):
        raise WorkflowError(f"工单 {target.number} 已办结，不能并入已办结的工单；"
                            f"办结 {repeat_window().days} 天内再次反映的，请按“重复诉求重办”处理")
    repeat = WorkOrder.objects.filter(merged_into=order).values_list("number", flat=True).first()
    if repeat is not None:
        raise WorkflowError(f"工单 {order.number} 已有重复件 {repeat} 并入，是主工单，不能再并入其他工单")


@_action
def submit_for_dispatch(order, *, acting_user, note: str = "", at=None) -> WorkOrder:
    """Decide at intake that a unit must handle the order (交办); it joins the dispatch queue."""
    actor = Actor.of(acting_user)
    order, _ = _begin(order, "submit_for_dispatch", actor, note)
    at = _now(at)
    old = _move(order, "submit_for_dispatch")
    order.disposition = Disposition.DISPATCH
    _record(order, "submit_for_dispatch", actor, at, from_status=old, note=note, fields=["disposition"])
    return order


# ---------------------------------------------------------------------------------------------
# Dispatch and the unit's work


@_action
def dispatch(order, *, acting_user, lead_unit: Unit, co_units: Iterable[Unit] = (),
             handle_deadline: dt.datetime | None = None, note: str = "", at=None) -> WorkOrder:
    """Send the order to a lead unit and any co-handling units (派单 / 改派).

    The handling clock starts at dispatch, so a unit that receives a redispatched order gets its
    full time limit; the upstream deadline still wins when earlier. A dispatcher may set an
    earlier or later deadline by hand; it is recorded on the event.
    """
    actor = Actor.of(acting_user)
    co_units = [u for u in co_units if u.pk != lead_unit.pk]
    for unit in [lead_unit, *co_units]:
        if not unit.active or unit.kind == Unit.Kind.CENTER:
            raise WorkflowError(f"单位“{unit}”不可承办工单")
    order, _ = _begin(order, "dispatch", actor, note)
    at = _now(at)
    _end_requests(order, actor, at, order.status, "工单已重新派单")
    previous_rounds = (Assignment.objects.filter(order=order, role=Assignment.Role.LEAD)
                       .order_by("-round").values_list("round", flat=True).first() or 0)
    round_no = previous_rounds + 1
    limits = sla.limits_for(order.appeal_type_id, order.urgency, order.source)
    sign = sla.deadline_after(at, limits["sign"])
    handle = sla.deadline_after(at, limits["handle"])
    if handle_deadline is not None:
        if handle_deadline <= at:
            raise WorkflowError("办理时限必须晚于派单时间")
        deadline, how = handle_deadline, "派单员指定"
    else:
        deadline, how = earliest(handle.at, order.upstream_deadline), handle.warning()
        if order.upstream_deadline and deadline == order.upstream_deadline:
            how = "按上级平台时限"
    for unit, role in [(lead_unit, Assignment.Role.LEAD), *[(u, Assignment.Role.CO) for u in co_units]]:
        Assignment.objects.create(order=order, unit=unit, role=role, round=round_no, dispatched_at=at,
                                  dispatched_by=actor.user, sign_deadline=sign.at)
    order.search_units = search_units_with(order.search_units, [lead_unit.pk, *(u.pk for u in co_units)])
    old = _move(order, "dispatch")
    order.lead_unit = lead_unit
    order.dispatched_at = order.dispatched_at or at
    order.sign_deadline, order.handle_deadline, order.deadline_note = sign.at, deadline, how
    order.disposition = Disposition.DISPATCH
    _record(order, "dispatch", actor, at, from_status=old, note=note, lead=lead_unit.short_name,
            co=[u.short_name for u in co_units], round=round_no, handle_deadline=_iso(deadline),
            fields=["lead_unit", "dispatched_at", "sign_deadline", "handle_deadline", "deadline_note",
                    "disposition", "search_units"])
    return order


@_action
def sign(order, *, acting_user, note: str = "", at=None) -> WorkOrder:
    """The lead unit acknowledges the order (签收) and starts handling it."""
    actor = Actor.of(acting_user)
    order, assignment = _begin(order, "sign", actor, note)
    at = _now(at)
    assignment = assignment or _active_assignment(order, None, Assignment.Role.LEAD)
    assignment.signed_at, assignment.signed_by = at, actor.user
    assignment.save(update_fields=["signed_at", "signed_by"])
    old = _move(order, "sign")
    late = assignment.sign_deadline is not None and at > assignment.sign_deadline
    _record(order, "sign", actor, at, from_status=old, note=note, late=late or None)
    return order


@_action
def co_sign(order, *, acting_user, note: str = "", at=None) -> WorkOrder:
    actor = Actor.of(acting_user)
    order, assignment = _begin(order, "co_sign", actor, note)
    at = _now(at)
    _possible(order, "co_sign", actor, at)
    assignment.signed_at, assignment.signed_by = at, actor.user
    assignment.save(update_fields=["signed_at", "signed_by"])
    _record(order, "co_sign", actor, at, from_status=order.status, note=note)
    return order


def _new_request(order, assignment, kind, actor, at, reason, basis="", requested_deadline=None) -> Request:
    pending = (Request.objects.select_for_update(of=("self",)).select_related("assignment")
               .filter(order=order, kind=kind, state=Request.State.PENDING).first())
    if pending is not None and pending.assignment.active:
        raise WorkflowError(f"该工单已有待审核的{Request.Kind(kind).label}申请")
    if pending is not None:  # left by an assignment that has ended: it must not block the unit now holding it
        _cancel(pending, order, actor, at, order.status, "原承办单位的派单已结束")
    return Request.objects.create(order=order, assignment=assignment, kind=kind, reason=reason.strip(),
                                  basis=(basis or "").strip(), requested_deadline=requested_deadline,
                                  requested_at=at, requested_by=actor.user)


def _pending(order, kind) -> Request:
    """The pending request of ``kind`` filed by the order's active assignment. One left by an
    assignment that has ended is never decided: it would move another unit's deadline."""
    request = Request.objects.select_for_update().filter(order=order, kind=kind, state=Request.State.PENDING,
                                                         assignment__active=True).first()
    if request is None:
        raise WorkflowError(f"该工单没有待审核的{Request.Kind(kind).label}申请")
    return request


def _end_requests(order: WorkOrder, actor: Actor, at: dt.datetime, status: str, why: str) -> None:
    """Cancel the order's pending requests: the assignment that filed them has ended or answered,
    so nobody may decide them any more. ``status`` is the order's state before the action: these
    events come ahead of the action's own."""
    pending = (Request.objects.select_for_update(of=("self",)).select_related("assignment")
               .filter(order=order, state=Request.State.PENDING).order_by("requested_at", "id"))
    for request in pending:
        _cancel(request, order, actor, at, status, why)


def _cancel(request: Request, order: WorkOrder, actor: Actor, at: dt.datetime, status: str, why: str) -> None:
    request.state = Request.State.CANCELLED
    request.decided_at, request.decided_by, request.decision_note = at, actor.user, why
    request.save(update_fields=["state", "decided_at", "decided_by", "decision_note"])
    Event.objects.create(order=order, at=at, action=CANCEL_REQUEST, actor=actor.user, actor_role=actor.role.value,
                         actor_unit_id=actor.unit_id, from_status=status, to_status=status,
                         note=f"{Request.Kind(request.kind).label}申请已撤销：{why}",
                         data={k: v for k, v in {"kind": request.kind, "request": request.pk,
                                                 "unit_id": request.assignment.unit_id,
                                                 "requested_deadline": _iso(request.requested_deadline)}.items()
                               if v is not None})


def _decide(request: Request, actor: Actor, at, approved: bool, note: str) -> None:
    request.state = Request.State.APPROVED if approved else Request.State.REJECTED
    request.decided_at, request.decided_by, request.decision_note = at, actor.user, (note or "").strip()
    request.save(update_fields=["state", "decided_at", "decided_by", "decision_note"])


@_action
def request_return(order, *, acting_user, reason: str, basis: str = "", at=None,
                   basis_files: Sequence[CleanFile] = ()) -> WorkOrder:
    """The lead unit asks to give the order back (退单): not its duty. Reason and basis required."""
    actor = Actor.of(acting_user)
    order, assignment = _begin(order, "request_return", actor, reason)
    at = _now(at)
    _possible(order, "request_return", actor, at)
    if not (basis or "").strip():
        raise WorkflowError("申请退单须写明依据（职责文件或法规条款）")
    request = _new_request(order, assignment, Request.Kind.RETURN, actor, at, reason, basis)
    old = _move(order, "request_return")
    event = _record(order, "request_return", actor, at, from_status=old, note=reason, basis=basis,
                    attachments=len(basis_files) or None)
    attach(order, basis_files, kind=Attachment.Kind.BASIS, actor=actor, at=at, event=event, request=request)
    return order


@_action
def approve_return(order, *, acting_user, note: str = "", at=None) -> WorkOrder:
    """Accept a return: every assignment of the round ends and the order waits for redispatch."""
    actor = Actor.of(acting_user)
    order, _ = _begin(order, "approve_return", actor, note)
    at = _now(at)
    _possible(order, "approve_return", actor, at)
    request = _pending(order, Request.Kind.RETURN)
    _decide(request, actor, at, True, note)
    _end_requests(order, actor, at, order.status, "退单已同意，原承办单位的派单结束")
    Assignment.objects.filter(order=order, active=True).update(active=False, ended_at=at, end_reason="returned")
    old = _move(order, "approve_return")
    order.lead_unit = None
    _record(order, "approve_return", actor, at, from_status=old, note=note,
            unit=request.assignment.unit.short_name, fields=["lead_unit"])
    return order


@_action
def reject_return(order, *, acting_user, note: str, at=None) -> WorkOrder:
    """Refuse a return: the unit keeps the order and is deemed to have signed for it."""
    actor = Actor.of(acting_user)
    order, _ = _begin(order, "reject_return", actor, note)
    at = _now(at)
    _possible(order, "reject_return", actor, at)
    request = _pending(order, Request.Kind.RETURN)
    _decide(request, actor, at, False, note)
    assignment = request.assignment
    if assignment.signed_at is None:
        assignment.signed_at = at
        assignment.save(update_fields=["signed_at"])
    old = _move(order, "reject_return")
    _record(order, "reject_return", actor, at, from_status=old, note=note)
    return order


@_action
def request_extension(order, *, acting_user, new_deadline: dt.datetime, reason: str, basis: str = "",
                      at=None, basis_files: Sequence[CleanFile] = ()) -> WorkOrder:
    """Ask for more time (延期) — only before the deadline, with a reason."""
    actor = Actor.of(acting_user)
    order, assignment = _begin(order, "request_extension", actor, reason)
    at = _now(at)
    _possible(order, "request_extension", actor, at)
    if new_deadline is None or (order.handle_deadline and new_deadline <= order.handle_deadline):
        raise WorkflowError("申请延期的日期必须晚于当前办理时限")
    request = _new_request(order, assignment, Request.Kind.EXTENSION, actor, at, reason, basis, new_deadline)
    event = _record(order, "request_extension", actor, at, from_status=order.status, note=reason,
                    requested_deadline=_iso(new_deadline), basis=basis, attachments=len(basis_files) or None)
    attach(order, basis_files, kind=Attachment.Kind.BASIS, actor=actor, at=at, event=event, request=request)
    return order


@_action
def approve_extension(order, *, acting_user, note: str = "", deadline: dt.datetime | None = None,
                      at=None) -> WorkOrder:
    """Grant an extension: the handling deadline moves to the requested (or a decided) date."""
    actor = Actor.of(acting_user)
    order, _ = _begin(order, "approve_extension", actor, note)
    at = _now(at)
    _possible(order, "approve_extension", actor, at)
    request = _pending(order, Request.Kind.EXTENSION)
    new_deadline = deadline or request.requested_deadline
    if order.handle_deadline and new_deadline <= order.handle_deadline:
        raise WorkflowError("批准的日期必须晚于当前办理时限")
    _decide(request, actor, at, True, note)
    old_deadline = order.handle_deadline
    order.handle_deadline = new_deadline
    order.deadline_note = "已延期"
    _record(order, "approve_extension", actor, at, from_status=order.status, note=note,
            old_deadline=_iso(old_deadline), handle_deadline=_iso(new_deadline),
            fields=["handle_deadline", "deadline_note"])
    return order


@_action
def reject_extension(order, *, acting_user, note: str, at=None) -> WorkOrder:
    actor = Actor.of(acting_user)
    order, _ = _begin(order, "reject_extension", actor, note)
    at = _now(at)
    _possible(order, "reject_extension", actor, at)
    _decide(_pending(order, Request.Kind.EXTENSION), actor, at, False, note)
    _record(order, "reject_extension", actor, at, from_status=order.status, note=note)
    return order


@_action
def request_suspension(order, *, acting_user, reason: str, basis: str = "", at=None,
                       basis_files: Sequence[CleanFile] = ()) -> WorkOrder:
    """Ask to handle the order as a long-term commitment (承诺办理), pausing the clock."""
    actor = Actor.of(acting_user)
    order, assignment = _begin(order, "request_suspension", actor, reason)
    at = _now(at)
    _possible(order, "request_suspension", actor, at)
    request = _new_request(order, assignment, Request.Kind.SUSPENSION, actor, at, reason, basis)
    event = _record(order, "request_suspension", actor, at, from_status=order.status, note=reason, basis=basis,
                    attachments=len(basis_files) or None)
    attach(order, basis_files, kind=Attachment.Kind.BASIS, actor=actor, at=at, event=event, request=request)
    return order


@_action
def approve_suspension(order, *, acting_user, note: str = "", at=None) -> WorkOrder:
    actor = Actor.of(acting_user)
    order, _ = _begin(order, "approve_suspension", actor, note)
    at = _now(at)
    _possible(order, "approve_suspension", actor, at)
    _decide(_pending(order, Request.Kind.SUSPENSION), actor, at, True, note)
    old = _move(order, "approve_suspension")
    order.suspended_at = at
    _record(order, "approve_suspension", actor, at, from_status=old, note=note, fields=["suspended_at"])
    return order


@_action
def reject_suspension(order, *, acting_user, note: str, at=None) -> WorkOrder:
    actor = Actor.of(acting_user)
    order, _ = _begin(order, "reject_suspension", actor, note)
    at = _now(at)
    _possible(order, "reject_suspension", actor, at)
    _decide(_pending(order, Request.Kind.SUSPENSION), actor, at, False, note)
    _record(order, "reject_suspension", actor, at, from_status=order.status, note=note)
    return order


@_action
def resume(order, *, acting_user, note: str = "", at=None) -> WorkOrder:
    """End a suspension: the deadline moves on by the time the clock was paused."""
    actor = Actor.of(acting_user)
    order, _ = _begin(order, "resume", actor, note)
    at = _now(at)
    paused = at - order.suspended_at if order.suspended_at else dt.timedelta(0)
    old_deadline = order.handle_deadline
    if order.handle_deadline:
        order.handle_deadline = order.handle_deadline + paused
    order.suspended_at = None
    old = _move(order, "resume")
    _record(order, "resume", actor, at, from_status=old, note=note, paused_hours=round(paused.total_seconds() / 3600, 1),
            old_deadline=_iso(old_deadline), handle_deadline=_iso(order.handle_deadline),
            fields=["handle_deadline", "suspended_at"])
    return order


@_action
def reply(order, *, acting_user, public_reply: str, internal_note: str = "", is_true: str = "",
          solved: bool | None = None, contacted_at: dt.datetime | None = None, at=None,
          evidence: Sequence[CleanFile] = (), evidence_public: bool = False) -> WorkOrder:
    """The lead unit's answer (回复): what the citizen hears, what the center should know, and facts.

    ``evidence`` — photos or documents proving the work — is stored with the reply's event;
    ``evidence_public`` lets the citizen see it in the portal once the center approves the reply."""
    actor = Actor.of(acting_user)
    if not (public_reply or "").strip():
        raise WorkflowError("请填写答复内容")
    if is_true and is_true not in Truth.values:
        raise WorkflowError("“是否属实”取值无效")
    if solved is None:
        raise WorkflowError("请选择是否解决")
    order, assignment = _begin(order, "reply", actor)
    at = _now(at)
    assignment = assignment or _active_assignment(order, None, Assignment.Role.LEAD)
    _end_requests(order, actor, at, order.status, "承办单位已回复")
    assignment.replied_at, assignment.replied_by = at, actor.user
    assignment.reply_public, assignment.reply_internal = public_reply.strip(), (internal_note or "").strip()
    assignment.reply_is_true, assignment.reply_solved, assignment.contacted_at = is_true, solved, contacted_at
    assignment.save(update_fields=["replied_at", "replied_by", "reply_public", "reply_internal",
                                   "reply_is_true", "reply_solved", "contacted_at"])
    old = _move(order, "reply")
    order.replied_at = at
    on_time = order.handle_deadline is None or at <= order.handle_deadline
    event = _record(order, "reply", actor, at, from_status=old, note=public_reply.strip(), on_time=on_time,
                    solved=solved, is_true=is_true, attachments=len(evidence) or None, fields=["replied_at"])
    attach(order, evidence, kind=Attachment.Kind.EVIDENCE, actor=actor, at=at, event=event,
           public=bool(evidence_public))
    return order


@_action
def co_reply(order, *, acting_user, public_reply: str, internal_note: str = "", at=None) -> WorkOrder:
    actor = Actor.of(acting_user)
    if not (public_reply or "").strip():
        raise WorkflowError("请填写协办意见")
    order, assignment = _begin(order, "co_reply", actor)
    at = _now(at)
    assignment.signed_at = assignment.signed_at or at
    assignment.replied_at, assignment.replied_by = at, actor.user
    assignment.reply_public, assignment.reply_internal = public_reply.strip(), (internal_note or "").strip()
    assignment.save(update_fields=["signed_at", "replied_at", "replied_by", "reply_public", "reply_internal"])
    _record(order, "co_reply", actor, at, from_status=order.status, note=public_reply.strip())
    return order


@_action
def approve_reply(order, *, acting_user, note: str = "", at=None) -> WorkOrder:
    """The center accepts the unit's reply (审核通过); the order waits for its callback."""
    actor = Actor.of(acting_user)
    order, _ = _begin(order, "approve_reply", actor, note)
    at = _now(at)
    lead = _active_assignment(order, None, Assignment.Role.LEAD)
    old = _move(order, "approve_reply")
    order.answer, order.is_true, order.is_solved = lead.reply_public, lead.reply_is_true, lead.reply_solved
    _record(order, "approve_reply", actor, at, from_status=old, note=note,
            fields=["answer", "is_true", "is_solved"])
    return order


@_action
def send_back(order, *, acting_user, note: str, at=None) -> WorkOrder:
    """The reply is not good enough: back to the unit with the reason (退回重办)."""
    actor = Actor.of(acting_user)
    order, _ = _begin(order, "send_back", actor, note)
    at = _now(at)
    lead = _active_assignment(order, None, Assignment.Role.LEAD)
    lead.replied_at = None
    lead.save(update_fields=["replied_at"])
    old = _move(order, "send_back")
    order.replied_at = None
    _record(order, "send_back", actor, at, from_status=old, note=note, fields=["replied_at"])
    return order


# ---------------------------------------------------------------------------------------------
# Callback


def callback_policy() -> dict:
    """The callback retry policy from settings (HOTLINE_CALLBACK_*; docs/workflow.md)."""
    from django.conf import settings

    return {"attempts": max(1, int(settings.HOTLINE["CALLBACK_ATTEMPTS"])),
            "retry": dt.timedelta(hours=max(0, int(settings.HOTLINE["CALLBACK_RETRY_HOURS"]))),
            "sms_survey": bool(settings.HOTLINE["CALLBACK_SMS_SURVEY"])}


@_action
def record_callback(order, *, acting_user, satisfaction: str = "", solved: bool | None = None,
                    reached: bool = True, rework: bool = False, reasonable: bool = True, note: str = "",
                    at=None) -> WorkOrder:
    """Call the citizen back (回访) and close the order, or reopen it for rework (重办).

    Rework is only for a reasonable dissatisfied caller: an unreasonable one is closed and the
    unit is not held to it. A dispatched order goes back to its lead unit; one the center
    answered itself goes back to the dispatch queue.

    An unreached call (未接通) does not close the order: it stays in the callback queue, due again
    after the policy's interval (``callback_policy``), and only the last attempt the policy allows
    closes it as 无法联系 — out of the satisfaction base, counted apart (``callback_unreachable``).
    """
    actor = Actor.of(acting_user)
    if reached and satisfaction not in Satisfaction.values:
        raise WorkflowError("请选择满意度")
    if reached and solved is None:
        raise WorkflowError("请选择是否解决")
    if rework and (not reached or satisfaction in SATISFIED_LEVELS or not reasonable):
        raise WorkflowError("只有接通、不满意且诉求合理的回访才能转重办")
    order = _lock(order, actor)
    at = _now(at)
    if not reached:
        return _unreached(order, actor, at, note)
    lead = _active_assignment(order, None, Assignment.Role.LEAD) if rework else None
    action = "callback_close" if not rework else ("callback_rework" if lead else "callback_redispatch")
    _authorize(order, action, actor, note)
    outcome = {"callback_close": Callback.Outcome.CLOSE, "callback_rework": Callback.Outcome.REWORK,
               "callback_redispatch": Callback.Outcome.REDISPATCH}[action]
    Callback.objects.create(order=order, at=at, by=actor.user, reached=reached, satisfaction=satisfaction or "",
                            solved=solved, reasonable=reasonable, outcome=outcome, note=(note or "").strip())
    old = _move(order, action)
    order.satisfaction, order.callback_solved, order.callback_at = satisfaction or "", solved, at
    order.next_callback_at = None
    fields = ["satisfaction", "callback_solved", "callback_at", "next_callback_at"]
    if rework:
        # A new reply earns a new callback round with the policy's full attempts.
        order.rework_count += 1
        order.replied_at = None
        order.callback_attempts = 0
        fields += ["rework_count", "replied_at", "callback_attempts"]
        limits = sla.limits_for(order.appeal_type_id, order.urgency, order.source)
        if lead:
            lead.replied_at = None
            lead.save(update_fields=["replied_at"])
            order.handle_deadline = sla.deadline_after(at, limits["handle"]).at
            fields.append("handle_deadline")
        else:
            order.lead_unit = None
            fields.append("lead_unit")
    else:
        order.closed_at = at
        fields.append("closed_at")
    _record(order, action, actor, at, from_status=old, note=note, satisfaction=satisfaction, solved=solved,
            reached=reached, reasonable=reasonable, fields=fields)
    return order


def _unreached(order: WorkOrder, actor: Actor, at: dt.datetime, note: str) -> WorkOrder:
    """One unreached callback attempt on a locked order: into the retry queue, or — the policy's
    last attempt — closed as 无法联系."""
    policy = callback_policy()
    attempt = order.callback_attempts + 1
    last = attempt >= policy["attempts"]
    action = "callback_unreachable" if last else "callback_unreached"
    _authorize(order, action, actor, note)
    outcome = Callback.Outcome.UNREACHABLE if last else Callback.Outcome.RETRY
    Callback.objects.create(order=order, at=at, by=actor.user, reached=False, outcome=outcome,
                            note=(note or "").strip())
    old = _move(order, action)
    # The latest callback decides every callback figure (docs/metrics.md): an unreached one leaves
    # the answer's satisfaction unknown, whatever an earlier round's callback said.
    order.callback_attempts = attempt
    order.satisfaction, order.callback_solved, order.callback_at = "", None, at
    fields = ["callback_attempts", "next_callback_at", "satisfaction", "callback_solved", "callback_at"]
    # The citizen who cannot be reached by phone may still rate the answer: the first miss sends the
    # satisfaction link by SMS (delivered by notify's rule for this event), if the policy says so.
    survey = (not last and attempt == 1 and policy["sms_survey"] and bool(order.caller_phone)) or None
    if last:
        order.next_callback_at = None
        order.callback_unreachable, order.closed_at = True, at
        fields += ["callback_unreachable", "closed_at"]
    else:
        order.next_callback_at = at + policy["retry"]
    _record(order, action, actor, at, from_status=old, note=note or ("多次回访未接通，按无法联系办结" if last else ""),
            reached=False, attempt=attempt, attempts=policy["attempts"], retry_at=_iso(order.next_callback_at),
            sms_survey=survey, fields=fields)
    return order


# ---------------------------------------------------------------------------------------------
# Chasing and other facts


def _lead_of(order: WorkOrder) -> Assignment | None:
    return Assignment.objects.filter(order=order, active=True, role=Assignment.Role.LEAD).first()


@_action
def remind(order, *, acting_user, notice: str = "", at=None) -> WorkOrder:
    """A reminder (催办) to the unit holding the order."""
    actor = Actor.of(acting_user)
    order, _ = _begin(order, "remind", actor, notice)
    at = _now(at)
    Reminder.objects.create(order=order, kind=Reminder.Kind.REMINDER, unit=order.lead_unit, at=at, by=actor.user,
                            notice=(notice or "").strip(), assignment=_lead_of(order))
    _record(order, "remind", actor, at, from_status=order.status, note=notice,
            unit=order.lead_unit.short_name if order.lead_unit else None, unit_id=order.lead_unit_id)
    return order


@_action
def supervise(order, *, acting_user, notice: str, respond_within_days: int = 2, at=None,
              documents: Sequence[CleanFile] = ()) -> WorkOrder:
    """Formal supervision (督办) with a written notice (and its documents, if any) and a date by
    which the unit must respond."""
    actor = Actor.of(acting_user)
    order, _ = _begin(order, "supervise", actor, notice)
    at = _now(at)
    respond_by = compute_deadline(sla.work_calendar(), at, respond_within_days, WORKING_DAYS).at
    reminder = Reminder.objects.create(order=order, kind=Reminder.Kind.SUPERVISION, unit=order.lead_unit, at=at,
                                       by=actor.user, notice=notice.strip(), respond_by=respond_by,
                                       assignment=_lead_of(order))
    order.supervised = True
    event = _record(order, "supervise", actor, at, from_status=order.status, note=notice,
                    respond_by=_iso(respond_by), unit=order.lead_unit.short_name if order.lead_unit else None,
                    unit_id=order.lead_unit_id, attachments=len(documents) or None, fields=["supervised"])
    attach(order, documents, kind=Attachment.Kind.SUPERVISION, actor=actor, at=at, event=event, reminder=reminder)
    return order


@_action
def acknowledge_reminders(order, *, acting_user, note: str = "", at=None) -> WorkOrder:
    """The unit confirms it received the 催办/督办 addressed to it on this order (all of them at once)."""
    actor = Actor.of(acting_user)
    order, _ = _begin(order, "acknowledge_reminder", actor, note)
    at = _now(at)
    _possible(order, "acknowledge_reminder", actor, at)
    pending = list(Reminder.objects.unacknowledged(order, actor.unit_id).select_for_update().order_by("at", "id"))
    if not pending:
        raise WorkflowError("本单位没有待确认的催办或督办")
    for reminder in pending:
        reminder.acknowledged_at, reminder.acknowledged_by = at, actor.user
        reminder.save(update_fields=["acknowledged_at", "acknowledged_by"])
    _record(order, "acknowledge_reminder", actor, at, from_status=order.status, note=note,
            reminders=[r.pk for r in pending], kinds=sorted({r.kind for r in pending}))
    return order


@_action
def respond_supervision(order, *, acting_user, response: str, at=None) -> WorkOrder:
    """The unit's written response (督办反馈) to the earliest 督办 waiting for one; it also confirms
    receipt. A response after ``respond_by`` is recorded as late; a 督办 already found failed stays so."""
    actor = Actor.of(acting_user)
    response = scrub(response or "").strip()
    order, _ = _begin(order, "respond_supervision", actor, response)
    at = _now(at)
    _possible(order, "respond_supervision", actor, at)
    reminder = Reminder.objects.awaiting_response(order, actor.unit_id).select_for_update().order_by("at", "id").first()
    if reminder is None:
        raise WorkflowError("本单位没有待反馈的督办")
    reminder.response, reminder.responded_at, reminder.responded_by = response, at, actor.user
    fields = ["response", "responded_at", "responded_by"]
    if reminder.acknowledged_at is None:
        reminder.acknowledged_at, reminder.acknowledged_by = at, actor.user
        fields += ["acknowledged_at", "acknowledged_by"]
    reminder.save(update_fields=fields)
    late = reminder.respond_by is not None and at > reminder.respond_by
    _record(order, "respond_supervision", actor, at, from_status=order.status, note=response,
            reminder=reminder.pk, respond_by=_iso(reminder.respond_by), late=late or None)
    return order


@_action
def annotate(order, *, acting_user, note: str, at=None) -> WorkOrder:
    actor = Actor.of(acting_user)
    order, _ = _begin(order, "annotate", actor, note)
    at = _now(at)
    _record(order, "annotate", actor, at, from_status=order.status, note=note)
    return order


@_action
def report_back(order, *, acting_user, note: str = "", at=None) -> WorkOrder:
    """Record that the result was reported to the upstream platform (回复上级)."""
    actor = Actor.of(acting_user)
    order, _ = _begin(order, "report_back", actor, note)
    at = _now(at)
    _possible(order, "report_back", actor, at)
    order.reported_back_at = at
    _record(order, "report_back", actor, at, from_status=order.status, note=note,
            platform=order.upstream_platform.name, upstream_number=order.upstream_number,
            fields=["reported_back_at"])
    return order


@_action
def set_assessment_exclusion(order, *, acting_user, excluded: bool, reason: str, at=None) -> WorkOrder:
    """Take an order out of the assessment (不合理/恶意诉求, judged on review) or put it back."""
    actor = Actor.of(acting_user)
    order, _ = _begin(order, "exclude_from_assessment", actor, reason)
    at = _now(at)
    if order.excluded_from_assessment == bool(excluded):
        raise WorkflowError("该工单已不计入考核" if excluded else "该工单本来就计入考核")
    order.excluded_from_assessment = bool(excluded)
    _record(order, "exclude_from_assessment", actor, at, from_status=order.status, note=reason.strip(),
            excluded=bool(excluded), fields=["excluded_from_assessment"])
    return order


SYSTEM_FACTS = {"near_due", "receipt_sent", "supervision_failed"}

# How the SLA sweep's passes write (docs/deployment.md, "Background tasks"): a catch-up after a
# day of downtime stamps tens of thousands of orders, so each batch is locked in one statement,
# re-checked in another, and written with one UPDATE and one multi-row INSERT per table, never one
# row at a time; its events reach ``event_recorded`` together, so notify loads recipients once per
# batch.


def _lock_batch(order_ids: Iterable[int], *columns: str, **conditions) -> tuple[list[tuple], dict[int, OrderFacts]]:
    """Lock a sweep's batch of orders a unit holds, in primary-key order like every other action
    (a merge holding two of them cannot deadlock with the sweep), and read ``columns``, and with
    them the orders' ``OrderFacts`` for the batch's events (notify read each batch's orders again).
    The time is taken after this, so the filter on deadlines is applied by the caller."""
    return _facts_of(WorkOrder.objects.select_for_update()
                     .filter(any_of("pk", order_ids), status__in=[s.value for s in UNIT_HOLDS], **conditions)
                     .order_by("pk"), columns)


def _facts_of(orders, columns: tuple[str, ...]) -> tuple[list[tuple], dict[int, OrderFacts]]:
    """``orders``' rows of ``columns`` and their ``OrderFacts`` (by order id), read in one statement."""
    names = list(dict.fromkeys((*columns, *ORDER_FACTS)))
    picked = [names.index(c) for c in columns]
    facts = [names.index(c) for c in ORDER_FACTS]
    rows = list(orders.values_list(*names))
    return ([tuple(row[i] for i in picked) for row in rows],
            {row[facts[0]]: OrderFacts(*(row[i] for i in facts)) for row in rows})


# The columns of a system fact written by a sweep's batch (``insert_rows``), primary key first.
EVENT_COLUMNS = ("id", "order_id", "at", "action", "actor_id", "actor_role", "actor_unit_id", "from_status",
                 "to_status", "note", "data")


def _system_event(order_id: int, action: str, at: dt.datetime, status: str, note: str = "", **data) -> tuple:
    """The event ``record_system_fact`` would write for an order whose status does not change
    (the same fields, the same empty values left out), as a row of ``EVENT_COLUMNS`` without its
    primary key, for a batch written in one statement."""
    return (order_id, at, action, None, Role.SYSTEM.value, None, status, status, note or "",
            {k: v for k, v in data.items() if v not in (None, "", [], {})})


def _write_events(rows: list[tuple], orders: dict[int, OrderFacts]) -> list[Event]:
    """One INSERT for a batch's events, then one ``event_recorded`` for all of them (with the
    ``orders``' facts the batch read).

    A catch-up writes tens of thousands: as rows, not model instances through ``bulk_create``
    (which cost more CPU than the database spent writing them). The primary keys are drawn first,
    so the instances handed to ``event_recorded`` carry them without reading anything back."""
    if not rows:
        return []
    rows = [(pk, *row) for pk, row in zip(reserve_ids(Event, len(rows)), rows, strict=True)]
    insert_rows(Event, EVENT_COLUMNS, rows)
    events = instances(Event, EVENT_COLUMNS, rows)
    event_recorded.send(sender=Event, events=events, orders=orders)
    return events


def record_system_fact(order: WorkOrder, action: str, *, at: dt.datetime, note: str = "", **data) -> Event:
    """A fact the system notes on an order it has locked, without changing it (near-due notice,
    receipt SMS). The caller holds the transaction and the row lock, as the SLA sweep does."""
    if action not in SYSTEM_FACTS:
        raise WorkflowError(f"未知的系统记录：{action}")
    return _record(order, action, SYSTEM, _now(at), from_status=order.status, note=note, **data)


@_action
def mark_overdue(order_ids: Iterable[int], *, at=None) -> int:
    """SLA sweep: stamp orders that passed their deadline once, with one event each.

    Set-based (one DELETE, one multi-row INSERT per batch) because a sweep after downtime may have
    tens of thousands to stamp. The stamp is the ``overdue`` event; the order leaves the watch list
    (``OverdueWatch``) and its own row is not written. The orders are locked first, then (a new
    statement) the watch list read, so what a concurrent sweep stamped meanwhile is not stamped twice.
    """
    rows, facts = _lock_batch(order_ids, "pk", "status", "handle_deadline")
    at = _now(at)
    watched = set(OverdueWatch.objects.filter(any_of("order_id", [row[0] for row in rows]))
                  .values_list("order_id", flat=True))
    rows = [row for row in rows if row[0] in watched and row[2] is not None and row[2] < at]
    if not rows:
        return 0
    OverdueWatch.objects.filter(any_of("order_id", [pk for pk, _, _ in rows])).delete()
    return len(_write_events([_system_event(pk, "overdue", at, status, handle_deadline=_iso(deadline))
                              for pk, status, deadline in rows], facts))


# A unit is chased while it works the order: not once it has replied (the center reviews then).
CHASED = frozenset({Status.DISPATCHED.value, Status.HANDLING.value})


def _lead_assignments(order_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Order id -> (assignment id, unit id) of the active lead assignments."""
    return {order_id: (pk, unit_id) for pk, order_id, unit_id in Assignment.objects.filter(
        any_of("order_id", order_ids), active=True, role=Assignment.Role.LEAD).order_by()
        .values_list("pk", "order_id", "unit_id")}


@_action
def near_due(order_ids: Iterable[int], *, at=None, window: dt.timedelta) -> tuple[int, int]:
    """SLA sweep: for each order whose deadline is within ``window``, a near-due notice once per
    ``window``, and one automatic 催办 to its lead unit where its SLA policy asks for it — once per
    lead assignment, however often the sweep runs (the unique constraint
    ``reminder_auto_once_per_assignment`` backs it). Returns (notices, 催办).

    Both are facts about the same orders, so the batch is locked once for both (a catch-up locked
    and rewrote the same rows twice before), then (new statements, so what a concurrent sweep
    committed meanwhile is seen) the notices and 催办 already written are skipped. A 催办 is a
    ``remind`` event by the system, so it reads and is delivered like a dispatcher's. The batch's
    reminders and events are written with one statement each (the order's row is not: its 催办 are
    its ``Reminder`` rows), and its events reach notify together."""
    rows, facts = _lock_batch(order_ids, "pk", "status", "handle_deadline", "lead_unit_id", "appeal_type_id",
                              "urgency", "source")
    at = _now(at)
    rows = [row for row in rows if row[2] is not None and at <= row[2] < at + window]
    notices = _near_due_notices(rows, at, window)
    reminders, reminded = _automatic_reminders([row for row in rows if row[1] in CHASED], at)
    if reminders:
        insert_rows(Reminder, ("order_id", "kind", "unit_id", "at", "by_id", "notice", "assignment_id",
                               "automatic"), reminders)
    _write_events(notices + reminded, facts)
    return len(notices), len(reminded)


def _near_due_notices(rows: list[tuple], at: dt.datetime, window: dt.timedelta) -> list[tuple]:
    """The ``near_due`` events of the locked ``rows`` not noticed within ``window``."""
    noticed = set(Event.objects.filter(any_of("order_id", [r[0] for r in rows]), action="near_due",
                                       at__gte=at - window).order_by().values_list("order_id", flat=True))
    events = []
    for pk, status, deadline, unit_id, *_ in rows:
        if pk in noticed:
            continue
        hours_left = round((deadline - at).total_seconds() / 3600, 1)
        events.append(_system_event(pk, "near_due", at, status, note=f"距办理时限还剩 {hours_left} 小时",
                                    handle_deadline=_iso(deadline), unit_id=unit_id, hours_left=hours_left))
    return events


def automatic_reminder_notice(deadline: dt.datetime, at: dt.datetime) -> str:
    """The text of the automatic 催办 issued at ``at`` (the bench's loader writes the same)."""
    hours_left = round((deadline - at).total_seconds() / 3600, 1)
    return f"工单临近办理时限（剩余 {hours_left} 小时），请抓紧办理并按时回复"


def _automatic_reminders(rows: list[tuple], at: dt.datetime) -> tuple[list[tuple], list[tuple]]:
    """The automatic 催办 of the locked, chased ``rows`` whose lead assignment has none yet and whose
    policy asks for one: (reminder rows, ``remind`` events)."""
    leads = _lead_assignments([row[0] for row in rows])
    issued = set(Reminder.objects.filter(any_of("assignment_id", [a for a, _ in leads.values()]), automatic=True)
                 .order_by().values_list("assignment_id", flat=True))
    # The policy's switch, looked up once per kind of order in the batch (each lookup reads the
    # policies from the cache, which is Redis in production).
    wanted = {}
    for key in {row[4:7] for row in rows}:
        wanted[key] = sla.auto_remind(*key)
    rows = [row for row in rows if row[0] in leads and leads[row[0]][0] not in issued and wanted[row[4:7]]]
    if not rows:
        return [], []
    names = dict(Unit.objects.filter(pk__in={row[3] for row in rows if row[3]}).values_list("pk", "short_name"))
    reminders, events = [], []
    for pk, status, deadline, lead_unit_id, *_ in rows:
        lead, unit_id = leads[pk]
        notice = automatic_reminder_notice(deadline, at)
        reminders.append((pk, Reminder.Kind.REMINDER.value, unit_id, at, None, notice, lead, True))
        events.append(_system_event(pk, "remind", at, status, note=notice, automatic=True,
                                    unit=names.get(lead_unit_id), unit_id=unit_id,
                                    handle_deadline=_iso(deadline)))
    return reminders, events


@_action
def mark_supervision_failed(reminder_ids: Iterable[int], *, at=None) -> int:
    """SLA sweep: a 督办 left without the unit's written response past ``respond_by`` is 督办未落实
    (the assessment's deduction, ``metrics`` count ``supervision_failed``), with one
    ``supervision_failed`` event on its order. The orders are locked in primary-key order first,
    then the reminders re-read, so a response committed meanwhile wins and nothing is marked twice.
    """
    reminder_ids = list(reminder_ids)
    order_ids = sorted(set(Reminder.objects.filter(any_of("pk", reminder_ids)).order_by()
                           .values_list("order_id", flat=True)))
    statuses, facts = _facts_of(WorkOrder.objects.select_for_update().filter(any_of("pk", order_ids))
                                .order_by("pk"), ("pk", "status"))
    statuses = dict(statuses)
    at = _now(at)
    rows = list(Reminder.objects.select_for_update(of=("self",))
                .filter(any_of("pk", reminder_ids), kind=Reminder.Kind.SUPERVISION, responded_at__isnull=True,
                        failed=False, respond_by__lt=at)
                .order_by("order_id", "id").values_list("pk", "order_id", "respond_by", "unit_id", "unit__short_name"))
    if not rows:
        return 0
    Reminder.objects.filter(any_of("pk", [row[0] for row in rows])).update(failed=True, failed_at=at)
    return len(_write_events([
        _system_event(order_id, "supervision_failed", at, statuses[order_id], reminder=pk,
                      respond_by=_iso(respond_by), unit=unit_name, unit_id=unit_id,
                      note=f"督办未在 {clock.local(respond_by):%Y-%m-%d %H:%M} 前书面反馈，认定督办未落实")
        for pk, order_id, respond_by, unit_id, unit_name in rows], facts))
