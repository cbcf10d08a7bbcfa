"""Who hears about which work-order event: the rules table, in one place.

``RULES`` maps an ``Event.action`` to the notifications it causes. Each ``Rule`` names the kind
(which template, which preference), the audiences and, optionally, a condition on the event and
its order. Adding a notification is one line here, e.g. for the 督办未落实 event::

    "supervision_failed": (Rule(Kind.SUPERVISION_FAILED, (SUPERVISORS,)),),

Audiences:

- ``LEAD_UNIT`` — the unit holding the order (its handlers in-app, the unit's channels);
- ``ASSIGNED_UNITS`` — the lead and co-handling units of the current dispatch;
- ``REQUESTING_UNIT`` — the unit whose return/extension/suspension request was just decided;
- ``EVENT_UNIT`` — the unit named by the event's ``data["unit_id"]`` (events about a unit that
  need not hold the order any more);
- ``DISPATCHERS``, ``OPERATORS``, ``SUPERVISORS`` — every active person with that role, in-app
  (and their own preferences' channels);
- ``CITIZEN`` — the caller, by SMS, when ``citizen_may_get_sms`` allows it;
- ``MERGED_CALLERS`` — the callers of the orders merged into this one (并单), each by SMS about
  their own order number, when ``citizen_may_get_sms`` allows it for their order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hotline.catalog.models import Source
from hotline.lib.masking import phone_digits
from hotline.notify.models import Channel, Kind

LEAD_UNIT = "lead_unit"
ASSIGNED_UNITS = "assigned_units"
REQUESTING_UNIT = "requesting_unit"
EVENT_UNIT = "event_unit"
DISPATCHERS = "dispatcher"
OPERATORS = "operator"
SUPERVISORS = "supervisor"
CITIZEN = "citizen"
MERGED_CALLERS = "merged_callers"
ROLE_AUDIENCES = (DISPATCHERS, OPERATORS, SUPERVISORS)

# Orders that reach the centre without an operator having talked to the citizen: someone must
# take them in (受理) from the 已登记 queue.
TAKE_IN_SOURCES = frozenset({Source.WEB, Source.WECHAT, Source.APP, Source.UPSTREAM})


def is_mobile(phone: str) -> bool:
    digits = phone_digits(phone or "")
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return len(digits) == 11 and digits.startswith("1")


def citizen_may_get_sms(event, order) -> bool:
    """A receipt or answer SMS goes to the caller's mobile unless the order is confidential (保密:
    an SMS on a shared phone would tell others that this person reported something) or came from
    an upstream platform (that platform acknowledges its own citizens)."""
    return bool(is_mobile(order.caller_phone) and not order.confidential and order.source != Source.UPSTREAM)


def arrived_to_take_in(event, order) -> bool:
    """Registered by the portal, an app, Open311, the API's clients or an upstream platform — not by
    an operator who is on the phone with the caller and takes it in at once."""
    return event.actor_role == "system" or order.source in TAKE_IN_SOURCES


def asks_for_survey(event, order) -> bool:
    """The unreached callback's event says the policy sends the satisfaction link (``sms_survey``)."""
    return bool((event.data or {}).get("sms_survey")) and citizen_may_get_sms(event, order)


def acknowledges_supervision(event, order) -> bool:
    """A unit confirming a 督办 is news to supervisors; confirming a 催办 only shows on the order."""
    return "supervision" in (event.data or {}).get("kinds", ())


@dataclass(frozen=True)
class Rule:
    kind: str
    audiences: tuple[str, ...]
    when: Callable | None = None


RULES: dict[str, tuple[Rule, ...]] = {
    # Units
    "dispatch": (Rule(Kind.DISPATCHED, (ASSIGNED_UNITS,)),),
    "near_due": (Rule(Kind.NEAR_DUE, (LEAD_UNIT,)),),
    "overdue": (Rule(Kind.OVERDUE, (LEAD_UNIT,)),),
    "remind": (Rule(Kind.REMINDER, (LEAD_UNIT,)),),
    "supervise": (Rule(Kind.SUPERVISION, (LEAD_UNIT,)),),
    "send_back": (Rule(Kind.SENT_BACK, (LEAD_UNIT,)),),
    "callback_rework": (Rule(Kind.REWORK, (LEAD_UNIT,)),),
    "approve_return": (Rule(Kind.REQUEST_DECIDED, (REQUESTING_UNIT,)),),
    "reject_return": (Rule(Kind.REQUEST_DECIDED, (REQUESTING_UNIT,)),),
    "approve_extension": (Rule(Kind.REQUEST_DECIDED, (REQUESTING_UNIT,)),),
    "reject_extension": (Rule(Kind.REQUEST_DECIDED, (REQUESTING_UNIT,)),),
    "approve_suspension": (Rule(Kind.REQUEST_DECIDED, (REQUESTING_UNIT,)),),
    "reject_suspension": (Rule(Kind.REQUEST_DECIDED, (REQUESTING_UNIT,)),),
    # Dispatchers: what waits for their review
    "request_return": (Rule(Kind.TO_REVIEW, (DISPATCHERS,)),),
    "request_extension": (Rule(Kind.TO_REVIEW, (DISPATCHERS,)),),
    "request_suspension": (Rule(Kind.TO_REVIEW, (DISPATCHERS,)),),
    "reply": (Rule(Kind.TO_REVIEW, (DISPATCHERS,)),),
    # Operators and citizens at registration
    "register": (Rule(Kind.TO_TAKE_IN, (OPERATORS,), arrived_to_take_in),
                 Rule(Kind.RECEIPT, (CITIZEN,), citizen_may_get_sms)),
    # Citizens: the answer is final and waits for their rating
    "approve_reply": (Rule(Kind.ANSWERED, (CITIZEN,), citizen_may_get_sms),),
    "coordinate": (Rule(Kind.ANSWERED, (CITIZEN,), citizen_may_get_sms),),
    "direct_answer": (Rule(Kind.ANSWERED, (CITIZEN,), citizen_may_get_sms),),
    # Callers whose repeat was merged into an order hear when that order closes (their own order
    # closed at the merge, with nothing to tell them then).
    "callback_close": (Rule(Kind.MERGED_CLOSED, (MERGED_CALLERS,)),),
    "transfer": (Rule(Kind.MERGED_CLOSED, (MERGED_CALLERS,)),),
    "inform": (Rule(Kind.MERGED_CLOSED, (MERGED_CALLERS,)),),
    "not_accept": (Rule(Kind.MERGED_CLOSED, (MERGED_CALLERS,)),),
    "callback_unreachable": (Rule(Kind.MERGED_CLOSED, (MERGED_CALLERS,)),),
    # Citizens the callback could not reach: the satisfaction link instead (first miss, by policy)
    "callback_unreached": (Rule(Kind.SURVEY, (CITIZEN,), asks_for_survey),),
    # Supervisors: the unit's side of a 督办 (docs/workflow.md, "Chase loops that close")
    "supervision_failed": (Rule(Kind.SUPERVISION_FAILED, (SUPERVISORS, EVENT_UNIT)),),
    "respond_supervision": (Rule(Kind.CHASE_ANSWERED, (SUPERVISORS,)),),
    "acknowledge_reminder": (Rule(Kind.CHASE_ANSWERED, (SUPERVISORS,), acknowledges_supervision),),
}

# Which outbound channels a unit gets for a kind when it has no Preference row. In-app always.
# E-mail and robots go only where the unit has an address (UnitContact), so offering them for
# every kind costs nothing for units without one; SMS is for what must not wait for a login.
UNIT_KINDS = frozenset({Kind.DISPATCHED, Kind.NEAR_DUE, Kind.OVERDUE, Kind.REMINDER, Kind.SUPERVISION,
                        Kind.SENT_BACK, Kind.REWORK, Kind.REQUEST_DECIDED, Kind.SUPERVISION_FAILED})
DEFAULT_UNIT_CHANNELS: dict[str, frozenset[str]] = {
    kind: frozenset({Channel.EMAIL, Channel.WECOM, Channel.DINGTALK}
                    | ({Channel.SMS} if kind in {Kind.DISPATCHED, Kind.REMINDER, Kind.SUPERVISION} else set()))
    for kind in UNIT_KINDS
}
# Kinds that are not held back by quiet hours.
URGENT_KINDS = frozenset({Kind.SUPERVISION, Kind.OVERDUE})

# What each person and unit may choose on the preferences pages (docs/notifications.md,
# "Preferences"): the kinds the rules above actually send them, on the channels they have an
# address for. A person has a phone and an e-mail address; group robots belong to a unit.
UNIT_AUDIENCES = (LEAD_UNIT, ASSIGNED_UNITS, REQUESTING_UNIT, EVENT_UNIT)
PERSON_CHANNELS = (Channel.SMS, Channel.EMAIL)
UNIT_CHANNELS = (Channel.SMS, Channel.EMAIL, Channel.WECOM, Channel.DINGTALK)


def kinds_for(audiences) -> list[str]:
    """The kinds some rule sends to one of ``audiences``, in ``Kind``'s order."""
    wanted = set(audiences)
    sent = {rule.kind for rules_ in RULES.values() for rule in rules_ if wanted & set(rule.audiences)}
    return [kind for kind in Kind.values if kind in sent]


def kinds_for_role(role: str) -> list[str]:
    """The kinds a person of ``role`` hears about: handlers through their unit, the centre's roles
    as themselves. Others (auditors, admins) are told nothing by the rules."""
    if role == "handler":
        return kinds_for(UNIT_AUDIENCES)
    if role in ROLE_AUDIENCES:
        return kinds_for((role,))
    return []


def unit_kinds() -> list[str]:
    return kinds_for(UNIT_AUDIENCES)
