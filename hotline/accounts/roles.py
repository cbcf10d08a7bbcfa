"""The roles a user can have (pure: no Django): who a person is decides what they may do and see."""

from __future__ import annotations

from enum import StrEnum


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
