"""Every unit indicator of a period, set-based: the one query statistics and assessment both read.

The population of a unit's period is its **lead assignments (主办) dispatched in the period**
(``Assignment.dispatched_at`` in [lo, hi)), sub-units rolled into their parent (车管所 counts for
公安局), except assignments that ended with an *approved* return (the order was not the unit's to
handle: the unit it was redispatched to answers for it). Orders judged unreasonable or malicious
on review (``WorkOrder.excluded_from_assessment``) are listed apart and counted in nothing.
``hotline.metrics.definitions`` says what each count is; this module is the only place that
counts them.

Per assignment (each dispatch round): ``dispatched``, ``signed_on_time``, ``replies``,
``replies_compliant``. Per order (one order handled twice by a unit in a period is one order):
everything else — so ``overdue`` is exactly ``due − closed_on_time``, and a late reply is always
an overdue order.
"""

from __future__ import annotations

import datetime as dt
import heapq
from dataclasses import dataclass

from django.conf import settings
from django.db import connections
from django.db.models import Case, Count, DateTimeField, F, IntegerField, Max, Min, Q, Value, When
from django.db.models.functions import Coalesce, Length, Mod
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from hotline.catalog.models import Source
from hotline.directory.models import Unit
from hotline.lib import clock, parallel
from hotline.lib.parallel import side_by_side
from hotline.lib.planner import joins_by_key
from hotline.metrics import store
from hotline.metrics.definitions import UNIT_COUNT_KEYS
from hotline.metrics.values import Counted, Rate, Rates
from hotline.workorders.models import SATISFIED_LEVELS, Assignment, Reminder, Request
from hotline.workorders.workflow import Status

REPLY_MIN_CHARS = 15
# The unit figures' main pass in this many parts by order id, each on a connection of its own where
# the reads may run side by side (``count_units``).
PARTS = 2

# The evidence lists (order numbers behind a shortfall) and the condition behind each.
EVIDENCE_KEYS = ("signed_late", "closed_late", "dissatisfied", "unsolved", "upstream_dissatisfied",
                 "replies_noncompliant", "overdue", "reworks")


@dataclass(kw_only=True)
class UnitMetrics(Counted):
    """One unit's counts for a period (sub-units included), the order numbers behind each
    shortfall, and the orders taken out (``Counted``), with the unit as the directory names it."""

    unit_id: int
    short_name: str
    name: str
    group: str  # UnitGroup.key; "" for a unit assessed with its parent or not at all
    parent_id: int | None

    def rate(self, key: str) -> Rate:
        from hotline.metrics.definitions import unit_rate

        return unit_rate(key, self.counts)

    @property
    def rates(self) -> Rates:
        return Rates(self.counts)

    def __getattr__(self, key: str) -> int:
        # ``u.overdue``, ``u.assignments``…: the counts read as attributes.
        counts = self.__dict__.get("counts")
        if counts is not None and key in counts:
            return counts[key]
        if key == "excluded":
            return len(self.__dict__.get("excluded_orders", ()))
        raise AttributeError(key)


def total_counts(metrics) -> dict[str, int]:
    """Center-wide counts (全部单位): the sum of every unit's."""
    total = dict.fromkeys(UNIT_COUNT_KEYS, 0)
    for m in metrics:
        for key, value in m.counts.items():
            total[key] = total.get(key, 0) + value
    return total


def _conditions(cutoff: dt.datetime) -> dict[str, Q]:
    """The Q of every counted condition on a lead assignment row (order fields via ``order__``)."""
    satisfied_levels = [s.value for s in SATISFIED_LEVELS]
    replied = Q(replied_at__isnull=False)
    # A non-empty satisfaction: the latest callback reached the citizen (a failed one clears it).
    callback = Q(order__callback_at__isnull=False) & ~Q(order__satisfaction="")
    upstream = Q(order__source=Source.UPSTREAM)
    unreplied_past = (Q(replied_at__isnull=True) & Q(order__handle_deadline__isnull=False)
                      & Q(order__handle_deadline__lt=cutoff) & ~Q(order__status=Status.SUSPENDED))
    replied_on_time = replied & (Q(order__handle_deadline__isnull=True)
                                 | Q(replied_at__lte=F("order__handle_deadline")))
    replied_late = replied & Q(order__handle_deadline__isnull=False) & Q(replied_at__gt=F("order__handle_deadline"))
    compliant = replied & ~Q(reply_is_true="") & Q(reply_len__gte=REPLY_MIN_CHARS)
    dissatisfied = callback & ~Q(order__satisfaction__in=satisfied_levels)
    unsolved = callback & ~Q(order__callback_solved=True)
    answered = (Q(order__status__in=[Status.AWAITING_CALLBACK, Status.CLOSED])
                | Q(order__callback_at__isnull=False))
    return {
        # The limits still running at the cut-off: the only way the figures depend on it (a later
        # cut-off past one of them makes it a failure). The earliest is the stored figures' valid_until.
        "sign_pending": (Q(signed_at__isnull=True) & Q(sign_deadline__isnull=False)
                         & Q(sign_deadline__gte=cutoff)),
        "handle_pending": (Q(replied_at__isnull=True) & Q(order__handle_deadline__isnull=False)
                           & Q(order__handle_deadline__gte=cutoff) & ~Q(order__status=Status.SUSPENDED)),
        "signed_late": ((Q(signed_at__isnull=False) & Q(sign_deadline__isnull=False)
                         & Q(signed_at__gt=F("sign_deadline")))
                        | (Q(signed_at__isnull=True) & Q(sign_deadline__isnull=False)
                           & Q(sign_deadline__lt=cutoff))),
        "closed_on_time": replied_on_time,
        "closed_late": replied_late | unreplied_past,
        "answered": answered,
        "callbacks": callback,
        "satisfied": callback & Q(order__satisfaction__in=satisfied_levels),
        "dissatisfied": dissatisfied,
        "solved": callback & Q(order__callback_solved=True),
        "unsolved": unsolved,
        "upstream_callbacks": callback & upstream,
        "upstream_satisfied": callback & upstream & Q(order__satisfaction__in=satisfied_levels),
        "upstream_dissatisfied": dissatisfied & upstream,
        "upstream_solved": callback & upstream & Q(order__callback_solved=True),
        "replies": replied,
        "replies_compliant": compliant,
        "replies_noncompliant": replied & (Q(reply_is_true="") | Q(reply_len__lt=REPLY_MIN_CHARS)),
        "reworks": Q(order__rework_count__gt=0),
        "unreachable": Q(order__callback_unreachable=True),
    }


PER_ROW = ("dispatched", "signed_late", "replies", "replies_compliant")
PER_ORDER = ("closed_on_time", "closed_late", "answered", "callbacks", "satisfied", "solved",
             "upstream_callbacks", "upstream_satisfied", "upstream_solved", "unreachable")
# Evidence flags read from the per-order row; "overdue" is the late flag itself.
_EVIDENCE_FLAGS = {key: key for key in EVIDENCE_KEYS if key != "overdue"} | {"overdue": "closed_late"}


@dataclass
class _Rows:
    counts: dict[int, dict[str, int]]  # assessed unit id -> counts
    evidence: list[tuple[int, str, int]]  # (assessed, order number, bit i set: EVIDENCE_KEYS[i]), by number
    excluded: list[tuple[int, str]]  # (assessed, order number) of orders taken out, by number
    pending: dt.datetime | None = None  # the earliest limit still running at the cut-off (counted orders)


def _rows(every, cond: dict[str, Q]) -> _Rows:
    """The period's counts, evidence and excluded orders from one pass over the period's lead
    assignments (``every``, the returned ones included).

    Inside, one row per (assessed unit, order) with every count and flag (counting distinct
    orders under several filters directly, ``COUNT(DISTINCT …) FILTER``, sorted a busy month's rows
    once per filter). The population is the assignments not returned: each count and flag is
    filtered on it, and ``assigned`` counts them all (the ``assignments`` figure), so the month's
    assignments are read once, not again for that one count. An order the unit only returned has
    ``dispatched`` 0 and is in nothing else. Outside, three readings of that one result (PostgreSQL
    materialises a CTE read more than once): the sums per unit over the counted orders, the orders
    that fall short of something with a flag per evidence list, and the excluded orders. The first
    reading also takes the earliest sign-for and handling limits still running at the cut-off.
    """
    kept = ~Q(end_reason="returned")

    def any_of(q: Q):
        return Max(Case(When(q, then=Value(1)), default=Value(0), output_field=IntegerField()))

    def flag(q: Q):
        return any_of(kept & q)

    def earliest(q: Q, limit: str):
        return Min(Case(When(kept & q, then=F(limit)), output_field=DateTimeField()))

    inner = every.order_by().values("assessed", "order_id").annotate(
        number=Max("order__number"),
        excluded=any_of(Q(order__excluded_from_assessment=True)),
        assigned=Count("id"),
        dispatched=Count("id", filter=kept),
        signed_late=Count("id", filter=kept & cond["signed_late"]),
        replies=Count("id", filter=kept & cond["replies"]),
        replies_compliant=Count("id", filter=kept & cond["replies_compliant"]),
        rework_times=Max(Case(When(kept, then=F("order__rework_count")), output_field=IntegerField())),
        sign_pending=earliest(cond["sign_pending"], "sign_deadline"),
        handle_pending=earliest(cond["handle_pending"], "order__handle_deadline"),
        **{key: flag(cond[key]) for key in PER_ORDER},
        **{f"e_{key}": flag(cond[_EVIDENCE_FLAGS[key]]) for key in EVIDENCE_KEYS},
    )
    sql, params = inner.query.sql_with_params()
    # An order replied once on time and once late (a rework) in the period is late: on time only
    # when nothing about it was late, so due = on time + late exactly.
    sums = {
        "assignments": "SUM(assigned)",
        **{key: f"SUM({key})" for key in PER_ROW},
        **{key: f"SUM({key})" for key in PER_ORDER if key not in ("closed_on_time",)},
        "closed_on_time": "SUM(CASE WHEN closed_late = 0 THEN closed_on_time ELSE 0 END)",
        "reworks": "SUM(rework_times)",
        "reworked": "SUM(CASE WHEN rework_times > 0 THEN 1 ELSE 0 END)",
    }
    summed = tuple(sums)
    nulls = ", ".join("NULL" for _ in summed)
    mask = " + ".join(f"e_{key} * {1 << i}" for i, key in enumerate(EVIDENCE_KEYS))
    # Evidence rows carry their flags as one bit mask (bit i: EVIDENCE_KEYS[i]) and come sorted by
    # order number; a busy month has hundreds of thousands of them, so they are kept small.
    statement = f"""
        WITH per_order AS ({sql})
        SELECT 0, assessed, '', 0, SUM(CASE WHEN dispatched > 0 THEN 1 ELSE 0 END), MIN(sign_pending),
               MIN(handle_pending), {", ".join(sums.values())}
          FROM per_order WHERE excluded = 0 GROUP BY assessed
        UNION ALL
        SELECT 1, assessed, number, {mask}, NULL, NULL, NULL, {nulls}
          FROM per_order WHERE excluded = 0 AND {mask} > 0
        UNION ALL
        SELECT 2, assessed, number, 0, NULL, NULL, NULL, {nulls} FROM per_order WHERE excluded = 1 AND dispatched > 0
        ORDER BY 1, 3"""
    result = _Rows({}, [], [])
    for kind, assessed, number, flags, orders, sign_pending, handle_pending, *values in _stream(
            inner.db, statement, params):
        if kind == 0:
            result.counts[assessed] = {"orders": int(orders or 0),
                                       **{k: int(v or 0) for k, v in zip(summed, values, strict=True)}}
            for limit in (sign_pending, handle_pending):
                limit = _instant(limit)
                if limit is not None and (result.pending is None or limit < result.pending):
                    result.pending = limit
        elif kind == 1:
            result.evidence.append((assessed, number, flags))
        else:
            result.excluded.append((assessed, number))
    return result


def _merged(parts: list[_Rows]) -> _Rows:
    """One ``_Rows`` from the rows of parts with no (unit, order) in common: the sums added, the
    lists merged by order number (each part's came sorted), the earliest pending limit."""
    if len(parts) == 1:
        return parts[0]
    counts: dict[int, dict[str, int]] = {}
    for part in parts:
        for assessed, row in part.counts.items():
            into = counts.setdefault(assessed, dict.fromkeys(row, 0))
            for key, value in row.items():
                into[key] += value
    by_number = lambda row: row[1]  # noqa: E731
    pending = [p.pending for p in parts if p.pending is not None]
    return _Rows(counts, list(heapq.merge(*(p.evidence for p in parts), key=by_number)),
                 list(heapq.merge(*(p.excluded for p in parts), key=by_number)), min(pending, default=None))


def _instant(value) -> dt.datetime | None:
    """A timestamp from a raw row: PostgreSQL gives it aware; SQLite gives the text Django stored (UTC)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = parse_datetime(value)
    return timezone.make_aware(parsed, dt.UTC) if timezone.is_naive(parsed) else parsed


def _stream(db: str, statement: str, params):
    """Rows of ``statement``, turned into Python a few thousand at a time.

    Not a server-side cursor: PostgreSQL plans a cursor without parallel workers (twice as slow
    here); the client holds the raw result, compact since most columns of most rows are NULL."""
    with connections[db].cursor() as cursor:
        cursor.execute(statement, params)
        while batch := cursor.fetchmany(5000):
            yield from batch


def lead_assignments(lo: dt.datetime, hi: dt.datetime, *, using: str | None = None, orders: Q | None = None,
                     unit: Unit | None = None):
    """Lead assignments dispatched in [lo, hi), each with the unit it counts for (``assessed``)."""
    qs = (Assignment.objects.using(using or settings.ANALYTICS_DATABASE)
          .filter(role=Assignment.Role.LEAD, dispatched_at__gte=lo, dispatched_at__lt=hi)
          .annotate(assessed=Coalesce("unit__parent_id", "unit_id")))
    if orders is not None:
        qs = qs.filter(orders)
    if unit is not None:
        qs = qs.filter(Q(unit=unit) | Q(unit__parent=unit))
    return qs


def unit_metrics(lo: dt.datetime, hi: dt.datetime, *, as_of: dt.datetime, using: str | None = None,
                 orders: Q | None = None, unit: Unit | None = None,
                 units: list[Unit] | None = None) -> dict[int, UnitMetrics]:
    """Every unit indicator of [lo, hi) per unit, keyed by unit id (the unit it counts for).

    ``as_of`` is the cut-off: a limit that had not passed by then is not (yet) a failure.
    ``orders`` (a Q over ``order__``) and ``unit`` narrow the population (the statistics page's
    filters). ``units``: the units to report, with zeros when they had nothing (default: the
    units that had something).

    The whole center's figures of one calendar month that ended before ``as_of`` come from the
    month's store while it still holds (``hotline.metrics.store``: the statistics, the assessment
    and the briefing of a closed month read the month once); everything else is counted now.
    """
    db = using or settings.ANALYTICS_DATABASE
    month = store.closed_month(lo, hi, as_of) if orders is None and unit is None else None
    if month is None:
        counted, _ = count_units(lo, hi, as_of=as_of, using=db, orders=orders, unit=unit)
    else:
        counted = store.month_figures(*month, as_of=as_of, using=db,
                                      count=lambda: count_units(lo, hi, as_of=as_of, using=db))
    return _assemble(counted, units, db)


def _assemble(counted: dict[int, Counted], units: list[Unit] | None, db: str) -> dict[int, UnitMetrics]:
    """The figures of ``units`` (default: every unit with something counted, in the directory's
    order), zeros for those with nothing. Names and groups are the directory's now."""
    if units is None:
        units = list(Unit.objects.using(db).filter(pk__in=counted).select_related("group").order_by("position", "code"))
    result = {}
    for u in units:
        m = UnitMetrics(unit_id=u.pk, short_name=u.short_name, name=u.name,
                        group=u.group.key if u.group_id else "", parent_id=u.parent_id)
        c = counted.get(u.pk)
        if c is not None:
            m.counts, m.evidence, m.excluded_orders = c.counts, c.evidence, c.excluded_orders
        result[u.pk] = m
    return result


def count_units(lo: dt.datetime, hi: dt.datetime, *, as_of: dt.datetime, using: str, orders: Q | None = None,
                unit: Unit | None = None) -> tuple[dict[int, Counted], dt.datetime | None]:
    """Count [lo, hi) now: (every unit that had something, by the unit it counts for; the earliest
    sign-for or handling limit of a counted order still running at ``as_of``, None if none — the
    figures hold for any later cut-off before it)."""
    db = using
    every = lead_assignments(lo, hi, using=db, orders=orders, unit=unit)
    population = every.exclude(end_reason="returned")

    def main_pass(part: int | None = None) -> _Rows:
        # Serial: a parallel plan has to start from a scan its workers can share, and for that
        # PostgreSQL took the whole of an index on the assignments (every one in the history,
        # filtered to the month) over the month's range of ``asg_lead_dispatched_idx``. Serial, it
        # reads the month's range: at a million orders 0.56–0.74 s against 0.63–1.02 s, on one core
        # instead of three, so the passes beside it have the other.
        rows = every if part is None else every.alias(part=Mod("order_id", PARTS)).filter(part=part)
        with joins_by_key(db, parallel=False):
            return _rows(rows.alias(reply_len=Length("reply_public")), _conditions(as_of))

    # The main pass, the returns and the 督办 read the month each on its own: side by side. Where
    # they can run so, the main pass is itself cut in ``PARTS`` by order id, each part on a
    # connection of its own: every count is per (unit, order), so no order is in two parts and
    # the parts add up (``_merged``); PostgreSQL's own parallel plan cannot do this (above).
    parts = range(PARTS) if PARTS > 1 and parallel.can_run_side_by_side(db) else [None]
    *pieces, (returns, rejected), supervised = side_by_side(
        *(lambda part=part: main_pass(part) for part in parts), lambda: _returns(every, db),
        lambda: _failed_supervisions(population, db), using=db)
    rows = _merged(pieces)

    ids = set(rows.counts) | set(returns) | {a for a, _ in supervised} | {a for a, _ in rows.excluded}
    result = {assessed: Counted() for assessed in sorted(ids)}
    for assessed, row in rows.counts.items():
        c = result[assessed].counts
        for key in ("orders", "assignments", "dispatched", "closed_on_time", "answered", "callbacks", "satisfied", "solved",
                    "upstream_callbacks", "upstream_satisfied", "upstream_solved", "replies",
                    "replies_compliant", "reworks", "reworked", "unreachable"):
            c[key] = row[key]
        c["signed_on_time"] = row["dispatched"] - row["signed_late"]
        c["due"] = row["closed_on_time"] + row["closed_late"]
        c["overdue"] = row["closed_late"]
    for assessed, r in returns.items():
        result[assessed].counts.update(r)

    bits = tuple((1 << i, key) for i, key in enumerate(EVIDENCE_KEYS))
    for assessed, number, flags in rows.evidence:
        evidence = result[assessed].evidence
        for bit, key in bits:
            if flags & bit:
                evidence.setdefault(key, []).append(number)
    for assessed, number in rows.excluded:
        result[assessed].excluded_orders.append(number)
    for assessed, number in rejected:
        result[assessed].evidence.setdefault("unjustified_returns", []).append(number)
    for assessed, number in supervised:
        result[assessed].counts["supervision_failed"] += 1
        result[assessed].evidence.setdefault("supervision_failed", []).append(number)
    return result, rows.pending


def _returns(every, db: str) -> tuple[dict[int, dict[str, int]], list[tuple[int, str]]]:
    """The returns asked for on the period's assignments (excluded orders out), per unit it counts
    for, and the rejected ones (unit, order number) by number."""
    # From the period's assignments to their requests (one row per return request), not from the
    # requests to a subquery of the assignments: that way round PostgreSQL hashed every assignment
    # in the history (a sequential scan of the table, growing with the years kept) to find the
    # month's; this way it reads the month's range of ``asg_lead_dispatched_idx`` and hashes the
    # return requests (1M orders: 0.33 → 0.11 s, docs/performance.md).
    counted = every.filter(order__excluded_from_assessment=False, requests__kind=Request.Kind.RETURN)
    returns: dict[int, dict[str, int]] = {}
    rejected: list[tuple[int, str]] = []
    for assessed, state, number in (counted.values_list("assessed", "requests__state", "requests__order__number")
                                    .order_by("requests__order__number")):
        r = returns.setdefault(assessed, {"return_requests": 0, "returns_approved": 0, "unjustified_returns": 0})
        r["return_requests"] += 1
        if state == Request.State.APPROVED:
            r["returns_approved"] += 1
        elif state == Request.State.REJECTED:
            r["unjustified_returns"] += 1
            rejected.append((assessed, number))
    return returns, rejected


def _failed_supervisions(population, db: str) -> list[tuple[int, str]]:
    """Formal supervisions (督办) of the unit on the period's orders, marked not carried out:
    (unit it counts for, order number) by number."""
    return list(Reminder.objects.using(db)
                .filter(kind=Reminder.Kind.SUPERVISION, failed=True, unit__isnull=False,
                        order__in=population.filter(order__excluded_from_assessment=False).values("order_id"))
                .annotate(assessed=Coalesce("unit__parent_id", "unit_id"))
                .values_list("assessed", "order__number").order_by("order__number"))


def overdue_order_ids(lo: dt.datetime, hi: dt.datetime, *, as_of: dt.datetime, using: str | None = None,
                      orders: Q | None = None, unit: Unit | None = None, limit: int = 200) -> list[int]:
    """Ids of the first ``limit`` overdue orders of [lo, hi) by handling deadline (the same
    condition as the ``overdue`` count: late in the population, excluded orders out)."""
    late = (lead_assignments(lo, hi, using=using, orders=orders, unit=unit).exclude(end_reason="returned")
            .filter(order__excluded_from_assessment=False).filter(_conditions(as_of)["closed_late"]))
    ids: list[int] = []
    for order_id in (late.order_by("order__handle_deadline", "order_id")
                     .values_list("order_id", flat=True)[:limit * 2]):
        if order_id not in ids:
            ids.append(order_id)
    return ids[:limit]


def month_unit_metrics(year: int, month: int, *, as_of: dt.datetime, using: str | None = None) -> dict[int, UnitMetrics]:
    """Every unit with an assessment group (active), zeros included, for a calendar month —
    the units the assessment ranks, in the directory's order."""
    db = using or settings.ANALYTICS_DATABASE
    units = list(Unit.objects.using(db).filter(active=True, group__isnull=False).select_related("group")
                 .order_by("group__position", "position", "code"))
    return unit_metrics(*clock.month_bounds(year, month), as_of=as_of, using=db, units=units)
