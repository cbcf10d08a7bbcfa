"""A closed month's unit figures, counted once and kept (``MonthUnitFigures``).

The month build reads a closed month's unit figures three times — the statistics, the assessment
and the briefing — and each reading is a pass over the month's lead assignments (five seconds at
ten million orders). ``unit_metrics`` asks ``month_figures`` for the whole center's figures of a
calendar month that ended before the cut-off; the first reading counts the month and keeps the
result, the next ones use it while it still holds. The rule for late changes is in
``MonthUnitFigures``' docstring and docs/metrics.md; the check never reads the month's population:
it reads the events recorded since the row was computed (by id, through the primary key), their
orders' lead assignments of the month (by order), and the directory's sub-units.

Filtered figures (a unit, a town), periods that are not one calendar month, and a month not yet
ended at the cut-off are always counted now: the present month changes with every action.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import time
from collections.abc import Callable
from pathlib import Path

from django.db.models import Max

from hotline.dbrouter import writable
from hotline.directory.models import Unit
from hotline.lib import clock
from hotline.metrics.values import Counted
from hotline.workorders.models import Assignment, Event

# Events dated this close to the moment a row was computed or checked are looked at again: an
# action whose transaction was still open then may commit after the count's snapshot with an id
# below the mark (ids are drawn at insert, commits land in any order), and a replica may lag.
SETTLE = dt.timedelta(seconds=60)
# More events than this since the row was checked and the month is counted again rather than
# looked through: the check must stay a small fraction of the count.
CHECK_LIMIT = 50_000
BATCH = 900  # order ids per look-up (SQLite's default limit on a statement's parameters is 999)

Count = Callable[[], tuple[dict[int, Counted], dt.datetime | None]]


def closed_month(lo: dt.datetime, hi: dt.datetime, as_of: dt.datetime) -> tuple[int, int] | None:
    """(year, month) when [lo, hi) is exactly one calendar month of the center's clock that ended
    at or before ``as_of``; None otherwise."""
    year, month = clock.month_of(lo)
    if (lo, hi) != clock.month_bounds(year, month) or hi > as_of:
        return None
    return year, month


@functools.cache
def code_version() -> str:
    """A digest of the code that counts and keeps the figures: a row counted by other code (a
    release that changed a definition) is not used."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in ("definitions.py", "units.py", "store.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def month_figures(year: int, month: int, *, as_of: dt.datetime, using: str, count: Count) -> dict[int, Counted]:
    """The whole center's figures of a closed month at the cut-off ``as_of``: the kept ones while
    they hold, else ``count()`` (which counts the month now), kept in place of the old ones."""
    from hotline.metrics.models import MonthUnitFigures

    write = writable(using)
    lo, hi = clock.month_bounds(year, month)
    # Read before anything else: whatever is recorded from here on is after the mark, or settling.
    now = clock.now()
    mark = last_event_id(using)
    parents = sub_units(using)
    stored = MonthUnitFigures.objects.using(write).filter(year=year, month=month).first()
    if stored is not None and _holds(stored, as_of=as_of, using=using, lo=lo, hi=hi, parents=parents):
        if mark > stored.last_event_id:
            # Nothing recorded since touched the month: the next check starts from here.
            (MonthUnitFigures.objects.using(write).filter(pk=stored.pk, last_event_id=stored.last_event_id)
             .update(checked_at=now, last_event_id=mark))
        return decode(stored.data)

    started = time.monotonic()
    counted, valid_until = count()
    row = MonthUnitFigures(year=year, month=month, as_of=as_of, computed_at=now, valid_until=valid_until,
                           checked_at=now, last_event_id=mark, parents=parents, code=code_version(),
                           data=encode(counted), seconds=round(time.monotonic() - started, 2))
    # One statement whether or not a row is there (two readers counting at once: the last one stays).
    MonthUnitFigures.objects.using(write).bulk_create(
        [row], update_conflicts=True, unique_fields=["year", "month"],
        update_fields=["as_of", "computed_at", "valid_until", "checked_at", "last_event_id", "parents", "code",
                       "data", "seconds"])
    return counted


def _holds(stored, *, as_of: dt.datetime, using: str, lo: dt.datetime, hi: dt.datetime, parents: list) -> bool:
    """The rule for late changes (``MonthUnitFigures``), cheapest test first."""
    if stored.code != code_version():
        return False
    if as_of < stored.as_of or (stored.valid_until is not None and as_of >= stored.valid_until):
        return False
    if stored.parents != parents:
        return False
    return not touched(lo, hi, using=using, after=stored.last_event_id, around=stored.checked_at)


def touched(lo: dt.datetime, hi: dt.datetime, *, using: str, after: int, around: dt.datetime) -> bool:
    """Whether an event recorded after the event id ``after`` (or dated within ``SETTLE`` of
    ``around``) is on an order with a lead assignment dispatched in [lo, hi) — or there are too many
    such events to look through."""
    events = Event.objects.using(using).order_by()
    since = list(events.filter(pk__gt=after).order_by("pk").values_list("order_id", flat=True)[:CHECK_LIMIT + 1])
    settling = list(events.filter(at__gt=around - SETTLE, at__lt=around + SETTLE)
                    .values_list("order_id", flat=True)[:CHECK_LIMIT + 1])
    if len(since) > CHECK_LIMIT or len(settling) > CHECK_LIMIT:
        return True
    orders = sorted(set(since) | set(settling))
    month = Assignment.objects.using(using).filter(role=Assignment.Role.LEAD, dispatched_at__gte=lo,
                                                   dispatched_at__lt=hi)
    return any(month.filter(order_id__in=orders[i:i + BATCH]).exists() for i in range(0, len(orders), BATCH))


def last_event_id(using: str) -> int:
    return Event.objects.using(using).aggregate(m=Max("pk"))["m"] or 0


def sub_units(using: str) -> list[list[int]]:
    """[[sub-unit id, parent id], …]: the one fact of the directory the kept figures depend on
    (whose figures a sub-unit's orders are rolled into)."""
    return [[pk, parent] for pk, parent in
            Unit.objects.using(using).filter(parent__isnull=False).order_by("pk").values_list("pk", "parent_id")]


def encode(counted: dict[int, Counted]) -> list:
    """JSON for ``MonthUnitFigures.data``: lists of pairs, not objects, so that the order of every
    count and evidence list survives PostgreSQL's jsonb (which sorts an object's keys)."""
    return [[unit_id, list(c.counts.items()), list(c.evidence.items()), c.excluded_orders]
            for unit_id, c in counted.items()]


def decode(data: list) -> dict[int, Counted]:
    return {unit_id: Counted(counts=dict(counts), evidence=dict(evidence), excluded_orders=list(excluded))
            for unit_id, counts, evidence, excluded in data}
