"""The work order's life as a declared table (pure: no Django, no database).

Every action an actor can take on an order is one row: the states it may start from, the state
it leads to (``None`` = the order stays where it is: reminders, extensions, co-handling replies),
the roles allowed, and whether the actor must belong to a unit assigned to the order. The action
functions in ``actions.py`` check this table before they write, the console reads its buttons
from it, and ``docs/workflow.md`` is generated from it — so the three can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

# Roles belong to the accounts (who a user is); the table below names them.
from hotline.accounts.roles import ROLE_LABELS, Role


class Status(StrEnum):
    RECEIVED = "received"
    AWAITING_DISPATCH = "awaiting_dispatch"
    DISPATCHED = "dispatched"
    HANDLING = "handling"
    RETURN_REQUESTED = "return_requested"
    SUSPENDED = "suspended"
    REPLIED = "replied"
    AWAITING_CALLBACK = "awaiting_callback"
    CLOSED = "closed"
    MERGED = "merged"


STATUS_LABELS = {
    Status.RECEIVED: "已登记",
    Status.AWAITING_DISPATCH: "待派单",
    Status.DISPATCHED: "待签收",
    Status.HANDLING: "办理中",
    Status.RETURN_REQUESTED: "退单审核中",
    Status.SUSPENDED: "承诺办理（挂起）",
    Status.REPLIED: "待审核",
    Status.AWAITING_CALLBACK: "待回访",
    Status.CLOSED: "已办结",
    Status.MERGED: "已并单",
}

TERMINAL = frozenset({Status.CLOSED, Status.MERGED})
# States in which a unit holds the order and its handling clock runs (overdue is counted here).
UNIT_HOLDS = frozenset({Status.DISPATCHED, Status.HANDLING, Status.RETURN_REQUESTED, Status.REPLIED})
OPEN = frozenset(set(Status) - TERMINAL)


class RequestKind(StrEnum):
    """A unit's request the center decides (the values of ``models.Request.Kind``)."""

    RETURN = "return"
    EXTENSION = "extension"
    SUSPENSION = "suspension"


REQUEST_LABELS = {RequestKind.RETURN: "退单", RequestKind.EXTENSION: "延期", RequestKind.SUSPENSION: "承诺办理"}


class UnitScope(StrEnum):
    NONE = "none"  # center staff: no unit needed
    LEAD = "lead"  # actor's unit holds the active lead assignment
    ANY = "any"  # actor's unit holds an active lead or co-handling assignment
    CO = "co"  # actor's unit holds an active co-handling assignment


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: frozenset[Status]
    target: Status | None
    roles: frozenset[Role]
    scope: UnitScope = UnitScope.NONE
    needs_note: bool = False  # a reason is mandatory (returns, send-backs, rework…)
    opens: RequestKind | None = None  # the unit's request this action files (one pending per kind)
    decides: RequestKind | None = None  # the pending request this action approves or rejects
    # The assignment that filed the order's pending requests ends (return approved, redispatch) or
    # has answered (reply): every request still pending is cancelled, each with its own event,
    # before the action's own event.
    ends_requests: bool = False

    def leads_to(self, current: Status) -> Status:
        return self.target if self.target is not None else current


def _t(action, label, sources, target, roles, scope=UnitScope.NONE, needs_note=False, **requests) -> Transition:
    return Transition(action, label, frozenset(sources), target, frozenset(roles), scope, needs_note, **requests)


RET, EXT, SUS = RequestKind.RETURN, RequestKind.EXTENSION, RequestKind.SUSPENSION
R, AD, D, H, RR, S, RP, AC = (
    Status.RECEIVED, Status.AWAITING_DISPATCH, Status.DISPATCHED, Status.HANDLING,
    Status.RETURN_REQUESTED, Status.SUSPENDED, Status.REPLIED, Status.AWAITING_CALLBACK,
)
OP, DI, HA, SU, SY = Role.OPERATOR, Role.DISPATCHER, Role.HANDLER, Role.SUPERVISOR, Role.SYSTEM
CENTER_INTAKE = {OP, DI, SU, SY}
CENTER_DISPATCH = {DI, SU, SY}
UNIT = {HA, SY}
WITH_UNIT = {D, H, RR, S, RP}

TRANSITIONS: tuple[Transition, ...] = (
    # Intake dispositions.
    _t("direct_answer", "直接答复", {R}, AC, CENTER_INTAKE),
    _t("coordinate", "协调办理", {R}, AC, CENTER_INTAKE),
    _t("transfer", "转110/119/120/122", {R}, Status.CLOSED, CENTER_INTAKE),
    _t("inform", "告知法定途径", {R}, Status.CLOSED, CENTER_INTAKE),
    _t("not_accept", "不予受理", {R}, Status.CLOSED, CENTER_INTAKE, needs_note=True),
    _t("merge", "并单", {R, AD}, Status.MERGED, CENTER_INTAKE),
    _t("submit_for_dispatch", "转派单", {R}, AD, CENTER_INTAKE),
    # A repeat of an order closed within the repeat window (国办函〔2025〕66号) is never merged into
    # it: by policy it becomes a linked 重办 order for dispatch, or the closed order is reopened.
    _t("repeat_rework", "重复诉求重办", {R}, AD, CENTER_INTAKE),
    _t("reopen", "重新办理", {Status.CLOSED}, AD, CENTER_INTAKE, needs_note=True),
    # Dispatch and the unit's side.
    _t("dispatch", "派单", {AD}, D, CENTER_DISPATCH, ends_requests=True),
    _t("sign", "签收", {D}, H, UNIT, UnitScope.LEAD),
    _t("co_sign", "协办签收", WITH_UNIT, None, UNIT, UnitScope.CO),
    _t("request_return", "申请退单", {D, H}, RR, UNIT, UnitScope.LEAD, needs_note=True, opens=RET),
    _t("approve_return", "同意退单", {RR}, AD, CENTER_DISPATCH, decides=RET, ends_requests=True),
    _t("reject_return", "驳回退单", {RR}, H, CENTER_DISPATCH, needs_note=True, decides=RET),
    _t("request_extension", "申请延期", {H}, None, UNIT, UnitScope.LEAD, needs_note=True, opens=EXT),
    _t("approve_extension", "同意延期", {H, S}, None, CENTER_DISPATCH, decides=EXT),
    _t("reject_extension", "驳回延期", {H, S}, None, CENTER_DISPATCH, needs_note=True, decides=EXT),
    _t("request_suspension", "申请承诺办理", {H}, None, UNIT, UnitScope.LEAD, needs_note=True, opens=SUS),
    _t("approve_suspension", "同意承诺办理", {H}, S, CENTER_DISPATCH, decides=SUS),
    _t("reject_suspension", "驳回承诺办理", {H}, None, CENTER_DISPATCH, needs_note=True, decides=SUS),
    _t("resume", "恢复办理", {S}, H, CENTER_DISPATCH | UNIT, UnitScope.NONE),
    _t("reply", "回复", {H}, RP, UNIT, UnitScope.LEAD, ends_requests=True),
    _t("co_reply", "协办回复", WITH_UNIT, None, UNIT, UnitScope.CO),
    _t("approve_reply", "审核通过", {RP}, AC, CENTER_DISPATCH),
    _t("send_back", "退回重办", {RP}, H, CENTER_DISPATCH, needs_note=True),
    # Callback.
    _t("callback_close", "回访办结", {AC}, Status.CLOSED, {OP, SU, DI, SY}),
    _t("callback_rework", "回访重办", {AC}, H, {OP, SU, DI, SY}, needs_note=True),
    _t("callback_redispatch", "回访重新派单", {AC}, AD, {OP, SU, DI, SY}, needs_note=True),
    # An unreached callback (未接通) keeps the order in the callback queue for another attempt; the
    # last attempt the policy allows closes it as 无法联系 (docs/workflow.md, "Callbacks that retry").
    _t("callback_unreached", "回访未接通", {AC}, None, {OP, SU, DI, SY}),
    _t("callback_unreachable", "无法联系办结", {AC}, Status.CLOSED, {OP, SU, DI, SY}),
    # Chasing: facts on the order, no state change.
    _t("remind", "催办", WITH_UNIT, None, {DI, SU, SY}),
    _t("supervise", "督办", WITH_UNIT | {AD}, None, {SU, SY}, needs_note=True),
    # The unit's side of a chase: it confirms it received its 催办/督办, and answers a 督办 in
    # writing by its respond_by. Offered for as long as the unit holds the order, answered or not.
    _t("acknowledge_reminder", "确认收到催办督办", WITH_UNIT | {AC, Status.CLOSED}, None, {HA}, UnitScope.ANY),
    _t("respond_supervision", "督办反馈", WITH_UNIT | {AC, Status.CLOSED}, None, {HA}, UnitScope.ANY,
       needs_note=True),
    _t("annotate", "备注", set(Status), None, {OP, DI, SU, HA, SY}, UnitScope.NONE, needs_note=True),
    _t("report_back", "回复上级", {AC, Status.CLOSED}, None, {DI, SU, SY}),
    # Assessment: a reviewed decision that the appeal was unreasonable or malicious.
    _t("exclude_from_assessment", "不计入考核", set(Status) - {Status.MERGED}, None, {SU, SY}, needs_note=True),
)

BY_ACTION: dict[str, Transition] = {t.action: t for t in TRANSITIONS}


class WorkflowError(Exception):
    """A refused action, with a message for people (Chinese)."""


def transition(action: str) -> Transition:
    try:
        return BY_ACTION[action]
    except KeyError:
        raise WorkflowError(f"未知的操作：{action}") from None


def check(action: str, status: Status | str, role: Role | str) -> Transition:
    """Return the transition if ``role`` may take ``action`` from ``status``; raise otherwise."""
    t = transition(action)
    status = Status(status)
    role = Role(role)
    if status not in t.sources:
        raise WorkflowError(f"工单当前状态为“{STATUS_LABELS[status]}”，不能执行“{t.label}”")
    if role not in t.roles:
        raise WorkflowError(f"{ROLE_LABELS[role]}无权执行“{t.label}”")
    return t


def allowed(status: Status | str, role: Role | str) -> list[Transition]:
    """Actions ``role`` may take from ``status`` (unit scope still to be checked by the caller)."""
    status, role = Status(status), Role(role)
    return [t for t in TRANSITIONS if status in t.sources and role in t.roles]


MAX_DISPATCH_ROUNDS = 3  # Anhui 2025: after three rounds the hotline designates the unit.


@dataclass(frozen=True)
class Situation:
    """What besides the state and the role decides whether an action can succeed now: facts of one
    order as they stand (built by ``preconditions.situation_of``). ``refusal`` reads them; the
    action functions refuse with its message and the console offers a button only where it is
    silent, so a button can never lead to a refusal the page could have foreseen."""

    pending: frozenset[RequestKind] = frozenset()  # requests of the active assignment awaiting a decision
    overdue: bool = False  # the handling deadline has passed
    last_round: bool = False  # the lead assignment is the last dispatch round a unit may return
    has_lead: bool = False  # an active lead assignment exists
    co_signed: bool = False  # the actor's co-handling part is signed for
    upstream: bool = False
    reported_back: bool = False
    unacknowledged: bool = False  # a 催办/督办 to the actor's unit awaits its confirmation
    awaiting_response: bool = False  # a 督办 to the actor's unit awaits its written response


def refusal(t: Transition, situation: Situation) -> str | None:
    """Why ``t`` cannot succeed now though the table allows it (Chinese, for people), or None."""
    if t.decides and t.decides not in situation.pending:
        return f"该工单没有待审核的{REQUEST_LABELS[t.decides]}申请"
    if t.opens and t.opens in situation.pending:
        return f"该工单已有待审核的{REQUEST_LABELS[t.opens]}申请"
    if t.action == "request_extension" and situation.overdue:
        return "已超过办理时限，不能再申请延期"
    if t.action == "request_return" and situation.last_round:
        return f"该工单已派单{MAX_DISPATCH_ROUNDS}轮，由热线中心指定承办单位，不能再退单"
    if t.action == "co_sign" and situation.co_signed:
        return "本单位已签收该协办工单"
    if t.action == "report_back" and not situation.upstream:
        return "只有上级交办工单需要回复上级"
    if t.action == "report_back" and situation.reported_back:
        return "该工单已回复上级"
    # Rework goes back to the active lead unit; without one the order goes back to dispatch.
    if t.action == "callback_rework" and not situation.has_lead:
        return "该工单没有主办单位，请选择回访重新派单"
    if t.action == "callback_redispatch" and situation.has_lead:
        return "该工单有主办单位，请选择回访重办"
    if t.action == "acknowledge_reminder" and not situation.unacknowledged:
        return "本单位没有待确认的催办或督办"
    if t.action == "respond_supervision" and not situation.awaiting_response:
        return "本单位没有待反馈的督办"
    return None


# Events that record a fact and never change the order's state. ``cancel_request`` is written by
# actions that end requests (``ends_requests``), one per cancelled request, its kind in ``data``.
CANCEL_REQUEST = "cancel_request"
# ``repeat_noted``: a closed order learns that a repeat call came (the linked 重办 or the reopen).
# ``supervision_failed`` is the SLA sweep's finding that a 督办 went unanswered past its respond_by.
SUPERVISION_FAILED = "supervision_failed"
# ``not_duplicate``: the center judged a near-duplicate the nightly pass found not to be a repeat.
NOT_DUPLICATE = "not_duplicate"
FACTS = frozenset({"merged_in", "overdue", "near_due", "receipt_sent", "repeat_noted", SUPERVISION_FAILED,
                   CANCEL_REQUEST, NOT_DUPLICATE})
# A pending request lives only while the unit that filed it holds the order and has not answered;
# a pending return is exactly the state ``return_requested``.
REQUEST_STATES = frozenset({Status.HANDLING, Status.RETURN_REQUESTED, Status.SUSPENDED})


@dataclass(frozen=True)
class Replayed:
    status: Status
    pending: frozenset[RequestKind]


def replay(events: Iterable[tuple[str, str, str, Mapping]]) -> Replayed:
    """Run one order's event log — ``(action, from_status, to_status, data)`` in timeline order —
    through the table and return the state and pending requests it explains.

    Raises ``WorkflowError`` naming the first event the table does not explain: a transition from
    a state other than the current one or to a state other than its target, a fact that moved the
    state, a request filed twice or decided without being pending, or a request left pending
    where no unit can still have it decided (after a reply, a return or a redispatch, or in a
    state no unit holds). Used by the concurrency tests to show every timeline is in commit order
    and accounts for the order as it stands.
    """
    status: Status | None = None
    pending: set[RequestKind] = set()
    for n, (action, from_status, to_status, data) in enumerate(events, 1):
        where = f"第{n}条日志（{action}）"
        if action == "register":
            if status is not None or to_status != Status.RECEIVED:
                raise WorkflowError(f"{where}：登记只能是第一条日志")
            status = Status.RECEIVED
            continue
        if status is None:
            raise WorkflowError(f"{where}：工单没有登记日志")
        if from_status != status:
            raise WorkflowError(f"{where}：记录的原状态 {from_status} 与重放状态 {status.value} 不符")
        if action in FACTS:
            if to_status != status:
                raise WorkflowError(f"{where}：该记录不应改变状态")
            if action == CANCEL_REQUEST:
                kind = (data or {}).get("kind")
                if kind not in pending:
                    raise WorkflowError(f"{where}：撤销的申请（{kind}）并未待审核")
                pending.discard(kind)
            continue
        t = transition(action)
        if status not in t.sources:
            raise WorkflowError(f"{where}：状态“{STATUS_LABELS[status]}”下不能执行“{t.label}”")
        if to_status != t.leads_to(status):
            raise WorkflowError(f"{where}：结果状态 {to_status} 不是表中的 {t.leads_to(status).value}")
        status = t.leads_to(status)
        if t.opens:
            if t.opens in pending:
                raise WorkflowError(f"{where}：已有待审核的{REQUEST_LABELS[t.opens]}申请")
            pending.add(t.opens)
        if t.decides:
            if t.decides not in pending:
                raise WorkflowError(f"{where}：没有待审核的{REQUEST_LABELS[t.decides]}申请")
            pending.discard(t.decides)
        if t.ends_requests and pending:
            raise WorkflowError(f"{where}：仍有待审核的申请未随派单结束撤销")
        if (pending and status not in REQUEST_STATES) or (
                (RequestKind.RETURN in pending) != (status == Status.RETURN_REQUESTED)):
            raise WorkflowError(f"{where}：状态“{STATUS_LABELS[status]}”与待审核的申请"
                                f"（{'、'.join(sorted(pending)) or '无'}）不符")
    if status is None:
        raise WorkflowError("工单没有登记日志")
    return Replayed(status, frozenset(pending))


def as_markdown() -> str:
    """The table as Markdown, for docs/workflow.md."""
    lines = ["| 操作 | action | 起始状态 | 结果状态 | 角色 | 单位范围 | 须填理由 |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    order = list(Status)
    for t in TRANSITIONS:
        sources = "、".join(STATUS_LABELS[s] for s in sorted(t.sources, key=order.index))
        target = STATUS_LABELS[t.target] if t.target else "（不变）"
        roles = "、".join(ROLE_LABELS[r] for r in Role if r in t.roles)
        lines.append(f"| {t.label} | `{t.action}` | {sources} | {target} | {roles} | {t.scope.value} | "
                     f"{'是' if t.needs_note else ''} |")
    return "\n".join(lines) + "\n"
