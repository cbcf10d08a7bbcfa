"""The work order's life as a declared table (pure: no Django, no database).

Every action an actor can take on an order is one row: the states it may start from, the state
it leads to (``None`` = the order stays where it is: reminders, extensions, co-handling replies),
the roles allowed, and whether the actor must belong to a unit assigned to the order. The action
functions in ``actions.py`` check this table before they write, the console reads its buttons
from it, and ``docs/workflow.md`` is generated from it — so the three can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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


class Role(StrEnum):
    OPERATOR = "operator"
    DISPATCHER = "dispatcher"
    HANDLER = "handler"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"
    SYSTEM = "system"  # imports, upstream sync, sweeps, the demo generator's clock


ROLE_LABELS = {
    Role.OPERATOR: "话务员",
    Role.DISPATCHER: "派单员",
    Role.HANDLER: "承办人",
    Role.SUPERVISOR: "督办",
    Role.AUDITOR: "审计",
    Role.ADMIN: "管理员",
    Role.SYSTEM: "系统",
}


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

    def leads_to(self, current: Status) -> Status:
        return self.target if self.target is not None else current


def _t(action, label, sources, target, roles, scope=UnitScope.NONE, needs_note=False) -> Transition:
    return Transition(action, label, frozenset(sources), target, frozenset(roles), scope, needs_note)


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
    # Dispatch and the unit's side.
    _t("dispatch", "派单", {AD}, D, CENTER_DISPATCH),
    _t("sign", "签收", {D}, H, UNIT, UnitScope.LEAD),
    _t("co_sign", "协办签收", WITH_UNIT, None, UNIT, UnitScope.CO),
    _t("request_return", "申请退单", {D, H}, RR, UNIT, UnitScope.LEAD, needs_note=True),
    _t("approve_return", "同意退单", {RR}, AD, CENTER_DISPATCH),
    _t("reject_return", "驳回退单", {RR}, H, CENTER_DISPATCH, needs_note=True),
    _t("request_extension", "申请延期", {H}, None, UNIT, UnitScope.LEAD, needs_note=True),
    _t("approve_extension", "同意延期", {H, S}, None, CENTER_DISPATCH),
    _t("reject_extension", "驳回延期", {H, S}, None, CENTER_DISPATCH, needs_note=True),
    _t("request_suspension", "申请承诺办理", {H}, None, UNIT, UnitScope.LEAD, needs_note=True),
    _t("approve_suspension", "同意承诺办理", {H}, S, CENTER_DISPATCH),
    _t("reject_suspension", "驳回承诺办理", {H}, None, CENTER_DISPATCH, needs_note=True),
    _t("resume", "恢复办理", {S}, H, CENTER_DISPATCH | UNIT, UnitScope.NONE),
    _t("reply", "回复", {H}, RP, UNIT, UnitScope.LEAD),
    _t("co_reply", "协办回复", WITH_UNIT, None, UNIT, UnitScope.CO),
    _t("approve_reply", "审核通过", {RP}, AC, CENTER_DISPATCH),
    _t("send_back", "退回重办", {RP}, H, CENTER_DISPATCH, needs_note=True),
    # Callback.
    _t("callback_close", "回访办结", {AC}, Status.CLOSED, {OP, SU, DI, SY}),
    _t("callback_rework", "回访重办", {AC}, H, {OP, SU, DI, SY}, needs_note=True),
    _t("callback_redispatch", "回访重新派单", {AC}, AD, {OP, SU, DI, SY}, needs_note=True),
    # Chasing: facts on the order, no state change.
    _t("remind", "催办", WITH_UNIT, None, {DI, SU, SY}),
    _t("supervise", "督办", WITH_UNIT | {AD}, None, {SU, SY}, needs_note=True),
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
