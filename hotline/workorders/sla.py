"""Deadlines: the SLA policy that applies to an order and the working-day calendar from the database."""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save

from hotline.catalog.models import CalendarOverride, CalendarYear, SlaPolicy
from hotline.lib.workcalendar import HOURS, WORKING_DAYS, Deadline, WorkCalendar, compute_deadline

_CALENDAR_KEY = "hotline:workcalendar:v1"
_POLICIES_KEY = "hotline:slapolicies:v1"

# When no policy row matches at all (an admin deleted them), the platform still sets a deadline.
FALLBACK = {"sign": (24, HOURS), "handle": (5, WORKING_DAYS)}


def work_calendar() -> WorkCalendar:
    calendar = cache.get(_CALENDAR_KEY)
    if calendar is None:
        calendar = WorkCalendar(
            overrides=dict(CalendarOverride.objects.values_list("date", "is_workday")),
            configured_years=frozenset(CalendarYear.objects.values_list("year", flat=True)),
        )
        cache.set(_CALENDAR_KEY, calendar, 300)
    return calendar


def _policies() -> list[SlaPolicy]:
    policies = cache.get(_POLICIES_KEY)
    if policies is None:
        policies = list(SlaPolicy.objects.filter(active=True).order_by("position", "id"))
        cache.set(_POLICIES_KEY, policies, 300)
    return policies


def policy_for(appeal_type_id, urgency: str, source: str) -> SlaPolicy | None:
    matching = [p for p in _policies() if p.matches(appeal_type_id, urgency, source)]
    if not matching:
        return None
    return max(matching, key=lambda p: (p.specificity(), -p.position, -p.id))


def limits_for(appeal_type_id, urgency: str, source: str) -> dict[str, tuple[int, str]]:
    policy = policy_for(appeal_type_id, urgency, source)
    if policy is None:
        return dict(FALLBACK)
    return {"sign": (policy.sign_limit, policy.sign_limit_unit),
            "handle": (policy.handle_limit, policy.handle_limit_unit)}


def auto_remind(appeal_type_id, urgency: str, source: str) -> bool:
    """Whether the sweep chases this order with an automatic 催办 at near-due (on when no policy matches)."""
    policy = policy_for(appeal_type_id, urgency, source)
    return True if policy is None else policy.auto_remind


def deadline_after(start: dt.datetime, limit: tuple[int, str]) -> Deadline:
    amount, unit = limit
    return compute_deadline(work_calendar(), start, amount, unit)


def _invalidate(**_kwargs):
    cache.delete_many([_CALENDAR_KEY, _POLICIES_KEY])


for _model in (CalendarOverride, CalendarYear, SlaPolicy):
    post_save.connect(_invalidate, sender=_model, dispatch_uid=f"sla-invalidate-save-{_model.__name__}")
    post_delete.connect(_invalidate, sender=_model, dispatch_uid=f"sla-invalidate-del-{_model.__name__}")
