"""Deadlines: the SLA policy that applies to an order and the working-day calendar from the database.

Every registration needs both, so each process keeps them (``_current``) under the version they
were read at and answers from memory; the calendar also remembers its answer for each day it was
asked about. The version is a token in the ``shared`` cache (Redis, or the database table every
process reads), changed after any policy, calendar override or calendar year is saved or deleted
and that transaction has committed:

* in the process that made the change, the next registration reads the tables again at once;
* another process compares its token with the shared one at most every ``CHECK_SECONDS`` and reads
  the tables again when it changed, so an edit reaches every process within that time (before,
  without Redis, each process kept its own copy for five minutes);
* a token the shared cache has lost (Redis restarted, the table culled) counts as a change too:
  it costs a reload, never a stale policy;
* whatever the token says, a copy older than ``MAX_AGE`` seconds by the wall clock is read again,
  so an edit that sent no signal (``QuerySet.update()``, SQL by hand) is seen within five minutes, as
  it was when the copy lived in the default cache for that long. Call ``changed()`` after such an
  edit to have it seen at once.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from dataclasses import dataclass

from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import post_delete, post_migrate, post_save

from hotline.catalog.models import CalendarOverride, CalendarYear, SlaPolicy
from hotline.lib.workcalendar import HOURS, WORKING_DAYS, Deadline, WorkCalendar, compute_deadline

VERSION_KEY = "hotline:sla:version"
# How long a process answers from its copy before asking the shared cache whether it is still current.
CHECK_SECONDS = 1.0
# The longest a copy is used, whatever the shared version says.
MAX_AGE = 300.0

# When no policy row matches at all (an admin deleted them), the platform still sets a deadline.
FALLBACK = {"sign": (24, HOURS), "handle": (5, WORKING_DAYS)}


@dataclass
class _Loaded:
    token: str | None  # the shared version when the tables were read
    read_at: float  # time.time() when the tables were read
    checked: float  # time.monotonic() of the last comparison with the shared version
    policies: tuple[SlaPolicy, ...]
    calendar: WorkCalendar

    def fresh(self, wall: float) -> bool:
        # Either way: a wall clock set back (or a test travelling in time) reads the tables again too.
        return abs(wall - self.read_at) <= MAX_AGE


_current: _Loaded | None = None
_lock = threading.Lock()


def _shared_token() -> str | None:
    return caches["shared"].get(VERSION_KEY)


def _loaded() -> _Loaded:
    global _current
    now, wall = time.monotonic(), time.time()
    current = _current
    if current is not None and now - current.checked < CHECK_SECONDS and current.fresh(wall):
        return current
    # The token is read before the tables: an edit committed in between is read now and, its token
    # being newer, read once more at the next check; never kept under the newer token.
    token = _shared_token()
    if current is not None and token == current.token and current.fresh(wall):
        current.checked = now
        return current
    loaded = _Loaded(
        token, wall, now,
        policies=tuple(SlaPolicy.objects.filter(active=True).order_by("position", "id")),
        calendar=WorkCalendar(
            overrides=dict(CalendarOverride.objects.values_list("date", "is_workday")),
            configured_years=frozenset(CalendarYear.objects.values_list("year", flat=True)),
        ),
    )
    with _lock:
        _current = loaded
    return loaded


def work_calendar() -> WorkCalendar:
    return _loaded().calendar


def _policies() -> tuple[SlaPolicy, ...]:
    return _loaded().policies


def policy_for(appeal_type_id, urgency: str, source: str) -> SlaPolicy | None:
    """The policy that applies (shared by the process's registrations: read it, never change it)."""
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


def forget() -> None:
    """Drop this process's copy: the next use reads the tables (and the shared version) again."""
    global _current
    with _lock:
        _current = None


def changed() -> None:
    """Policies or the calendar changed: this process forgets its copy now, and once the change has
    committed every process is told through the shared version (told before the commit, another
    process could read the old rows and keep them under the new version)."""
    forget()

    def publish():
        forget()  # this process too may have read the rows again before the commit
        caches["shared"].set(VERSION_KEY, uuid.uuid4().hex, None)

    transaction.on_commit(publish)


def _invalidate(**_kwargs):
    changed()


for _model in (CalendarOverride, CalendarYear, SlaPolicy):
    post_save.connect(_invalidate, sender=_model, dispatch_uid=f"sla-invalidate-save-{_model.__name__}")
    post_delete.connect(_invalidate, sender=_model, dispatch_uid=f"sla-invalidate-del-{_model.__name__}")
# A flush (tests, ``hotline demo --reset``) or a migration may rewrite the tables without signals.
post_migrate.connect(lambda **_kwargs: forget(), dispatch_uid="sla-forget-migrate", weak=False)
