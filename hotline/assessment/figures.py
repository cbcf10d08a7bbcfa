"""A month's orders as the engine's ``UnitFigures``: set-based queries, no per-order loops.

The population of a unit's month is its **lead assignments (主办) dispatched in the month**
(``Assignment.dispatched_at`` in the center's local month, ``hotline.lib.clock``), sub-units rolled into their parent
(车管所 counts for 公安局), except assignments that ended with an *approved* return (the order was
not the unit's to handle). Orders judged unreasonable or malicious on review
(``WorkOrder.excluded_from_assessment``) are taken out before anything is counted.

Each count (docs/assessment.md, "数据库部分", has the table):

``dispatched``         lead assignments in the population
``signed_on_time``     dispatched − signed late (signed after the sign-for limit, or still
                       unsigned when the limit had passed at the cut-off)
``due``                assignments whose handling is decided at the cut-off: replied, or unreplied
                       with the handling deadline passed (suspended orders are not due)
``closed_on_time``     replied no later than the order's handling deadline (approved extensions
                       move that deadline, so they count as on time)
``callbacks``          orders reached on callback with a satisfaction given (the latest callback)
``satisfied``          of them 非常满意 / 满意 / 基本满意
``solved``             of them answered "solved"
``upstream_*``         the same two for upstream orders (上级交办)
``replies``            replies standing at the cut-off (sent back / reworked ones are gone)
``replies_compliant``  of them with 是否属实 filled in and a public reply of at least
                       ``REPLY_MIN_CHARS`` characters
``overdue``            orders stamped overdue by the SLA sweep, or unreplied past the deadline
``unjustified_returns`` return requests (退单) the center rejected
``reworks``            callbacks that sent the order back for rework (Σ ``rework_count``)
``supervision_failed`` formal supervisions (督办) of the unit marked not carried out
``stationing_noncompliant`` 1 if the unit must station staff and did not cover the whole month

Evidence (the order numbers behind each deduction) is read in one more query, only for the
rows that fall short, so its size is bounded by the deductions themselves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connections
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Max,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Length

from hotline.assessment.engine import UnitFigures
from hotline.directory.models import Unit, stationing_compliance
from hotline.lib import clock
from hotline.lib.planner import joins_by_key
from hotline.workorders.models import SATISFIED_LEVELS, Assignment, Reminder, Request
from hotline.workorders.workflow import Status

REPLY_MIN_CHARS = 15

COUNT_KEYS = (
    "dispatched", "signed_on_time", "due", "closed_on_time", "callbacks", "satisfied", "solved",
    "upstream_callbacks", "upstream_satisfied", "upstream_solved", "replies", "replies_compliant",
    "overdue", "unjustified_returns", "reworks", "supervision_failed", "stationing_noncompliant",
)


def month_range(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """[first instant, first instant of next month) on the center's clock."""
    return clock.month_bounds(year, month)


@dataclass
class UnitMonth:
    """What figures.py knows about one assessed unit besides the counts."""

    unit: Unit
    order_count: int = 0
    excluded_orders: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    evidence: dict[str, list[str]] = field(default_factory=dict)

    def to_figures(self, **extra) -> UnitFigures:
        return UnitFigures(
            unit_id=self.unit.pk,
            unit_name=self.unit.short_name,
            order_count=self.order_count,
            counts=dict(self.counts),
            evidence={k: tuple(v) for k, v in self.evidence.items()},
            excluded_count=len(self.excluded_orders),
            excluded_orders=tuple(self.excluded_orders),
            **extra,
        )


def assessed_units() -> list[Unit]:
    """Active units with an assessment group, in the directory's order."""
    return list(Unit.objects.filter(active=True, group__isnull=False).select_related("group")
                .order_by("group__position", "position", "code"))


def _conditions(cutoff: dt.datetime) -> dict[str, Q]:
    """The Q of every counted condition on a lead assignment row (order fields via ``order__``)."""
    replied = Q(replied_at__isnull=False)
    callback = Q(order__callback_at__isnull=False) & ~Q(order__satisfaction="")
    upstream = Q(order__source="upstream")
    unreplied_past = (Q(replied_at__isnull=True) & Q(order__handle_deadline__isnull=False)
                      & Q(order__handle_deadline__lt=cutoff) & ~Q(order__status=Status.SUSPENDED))
    replied_on_time = replied & (Q(order__handle_deadline__isnull=True)
                                 | Q(replied_at__lte=F("order__handle_deadline")))
    replied_late = replied & Q(order__handle_deadline__isnull=False) & Q(replied_at__gt=F("order__handle_deadline"))
    compliant = replied & ~Q(reply_is_true="") & Q(reply_len__gte=REPLY_MIN_CHARS)
    dissatisfied = callback & ~Q(order__satisfaction__in=[s.value for s in SATISFIED_LEVELS])
    unsolved = callback & ~Q(order__callback_solved=True)
    return {
        "signed_late": ((Q(signed_at__isnull=False) & Q(sign_deadline__isnull=False)
                         & Q(signed_at__gt=F("sign_deadline")))
                        | (Q(signed_at__isnull=True) & Q(sign_deadline__isnull=False)
                           & Q(sign_deadline__lt=cutoff))),
        "closed_on_time": replied_on_time,
        "closed_late": replied_late | unreplied_past,
        "callbacks": callback,
        "satisfied": callback & Q(order__satisfaction__in=[s.value for s in SATISFIED_LEVELS]),
        "dissatisfied": dissatisfied,
        "solved": callback & Q(order__callback_solved=True),
        "unsolved": unsolved,
        "upstream_callbacks": callback & upstream,
        "upstream_satisfied": callback & upstream & Q(order__satisfaction__in=[s.value for s in SATISFIED_LEVELS]),
        "upstream_dissatisfied": dissatisfied & upstream,
        "upstream_solved": callback & upstream & Q(order__callback_solved=True),
        "replies": replied,
        "replies_compliant": compliant,
        "replies_noncompliant": replied & (Q(reply_is_true="") | Q(reply_len__lt=REPLY_MIN_CHARS)),
        "overdue": Q(order__overdue_at__isnull=False) | unreplied_past,
        "reworks": Q(order__rework_count__gt=0),
    }


PER_ROW = ("dispatched", "signed_late", "closed_on_time", "closed_late", "replies", "replies_compliant", "reworks")
PER_ORDER = ("overdue", "callbacks", "satisfied", "solved", "upstream_callbacks", "upstream_satisfied",
             "upstream_solved")
# The evidence lists the default scorecards read, and the condition behind each.
EVIDENCE_KEYS = ("signed_late", "closed_late", "dissatisfied", "unsolved", "upstream_dissatisfied",
                 "replies_noncompliant", "overdue", "reworks")


@dataclass
class _MonthRows:
    counts: dict[int, dict[str, int]]  # assessed unit id -> counts
    evidence: list[tuple[int, str, int]]  # (assessed, order number, bit i set: EVIDENCE_KEYS[i]), by number
    excluded: list[tuple[int, str]]  # (assessed, order number) of orders taken out of the assessment, by number


def _month_rows(population, cond: dict[str, Q]) -> _MonthRows:
    """The month's counts, evidence and excluded orders from one pass over the population.

    Inside, one row per (assessed unit, order) with every count and flag (counting distinct
    orders under seven filters directly, ``COUNT(DISTINCT …) FILTER``, sorted a busy month's rows
    once per filter). Outside, three readings of that one result (PostgreSQL materialises a CTE
    read more than once): the sums per unit over the counted orders, the orders that fall short of
    something with a flag per evidence list, and the excluded orders. Reading the population three
    times (counts, evidence, exclusions) cost three joins of the month's assignments to its orders.
    """
    def flag(q: Q):
        return Max(Case(When(q, then=Value(1)), default=Value(0), output_field=IntegerField()))

    inner = population.order_by().values("assessed", "order_id").annotate(
        number=Max("order__number"),
        excluded=flag(Q(order__excluded_from_assessment=True)),
        dispatched=Count("id"),
        signed_late=Count("id", filter=cond["signed_late"]),
        closed_on_time=Count("id", filter=cond["closed_on_time"]),
        closed_late=Count("id", filter=cond["closed_late"]),
        replies=Count("id", filter=cond["replies"]),
        replies_compliant=Count("id", filter=cond["replies_compliant"]),
        reworks=Coalesce(Sum("order__rework_count"), 0),
        **{key: flag(cond[key]) for key in PER_ORDER},
        **{f"e_{key}": flag(cond[key]) for key in EVIDENCE_KEYS},
    )
    sql, params = inner.query.sql_with_params()
    summed = (*PER_ROW, *PER_ORDER)
    nulls = ", ".join("NULL" for _ in summed)
    mask = " + ".join(f"e_{key} * {1 << i}" for i, key in enumerate(EVIDENCE_KEYS))
    # Evidence rows carry their flags as one bit mask (bit i: EVIDENCE_KEYS[i]) and come sorted by
    # order number; a busy month has hundreds of thousands of them, so they are kept small.
    statement = f"""
        WITH per_order AS ({sql})
        SELECT 0, assessed, '', 0, COUNT(*), {", ".join(f"SUM({k})" for k in summed)}
          FROM per_order WHERE excluded = 0 GROUP BY assessed
        UNION ALL
        SELECT 1, assessed, number, {mask}, NULL, {nulls}
          FROM per_order WHERE excluded = 0 AND {mask} > 0
        UNION ALL
        SELECT 2, assessed, number, 0, NULL, {nulls} FROM per_order WHERE excluded = 1
        ORDER BY 1, 3"""
    result = _MonthRows({}, [], [])
    for kind, assessed, number, flags, orders, *values in _stream(inner.db, statement, params):
        if kind == 0:
            result.counts[assessed] = {"orders": orders, **{k: int(v or 0) for k, v in zip(summed, values, strict=True)}}
        elif kind == 1:
            result.evidence.append((assessed, number, flags))
        else:
            result.excluded.append((assessed, number))
    return result


def _stream(db: str, statement: str, params):
    """Rows of ``statement``, turned into Python a few thousand at a time.

    Not a server-side cursor: PostgreSQL plans a cursor without parallel workers (twice as slow
    here); the client holds the raw result, compact since most columns of most rows are NULL."""
    with connections[db].cursor() as cursor:
        cursor.execute(statement, params)
        while batch := cursor.fetchmany(5000):
            yield from batch


def _population(year: int, month: int):
    start, end = month_range(year, month)
    return (Assignment.objects
            .filter(role=Assignment.Role.LEAD, dispatched_at__gte=start, dispatched_at__lt=end)
            .exclude(end_reason="returned")
            .annotate(assessed=Coalesce("unit__parent_id", "unit_id"))
            .alias(reply_len=Length("reply_public")))


def build_unit_months(year: int, month: int, *, as_of: dt.datetime) -> dict[int, UnitMonth]:
    """Every assessed unit's counts and evidence for the month, keyed by unit id.

    ``as_of`` is the cut-off: a limit that had not passed by then is not (yet) a failure.
    """
    cutoff = as_of
    units = assessed_units()
    months = {u.pk: UnitMonth(unit=u, counts=dict.fromkeys(COUNT_KEYS, 0)) for u in units}
    cond = _conditions(cutoff)
    population = _population(year, month)
    counted = population.filter(order__excluded_from_assessment=False)

    with joins_by_key(population.db):
        rows = _month_rows(population, cond)
    for assessed, row in rows.counts.items():
        m = months.get(assessed)
        if m is None:
            continue  # a unit without a group (the center) or inactive
        m.order_count = row["orders"]
        c = m.counts
        c["dispatched"] = row["dispatched"]
        c["signed_on_time"] = row["dispatched"] - row["signed_late"]
        c["closed_on_time"] = row["closed_on_time"]
        c["due"] = row["closed_on_time"] + row["closed_late"]
        for key in ("callbacks", "satisfied", "solved", "upstream_callbacks", "upstream_satisfied",
                    "upstream_solved", "replies", "replies_compliant", "overdue", "reworks"):
            c[key] = row[key]

    # Evidence: the order numbers behind each list, in number order (one row per unit and order).
    bits = tuple((1 << i, key) for i, key in enumerate(EVIDENCE_KEYS))
    for assessed, number, flags in rows.evidence:
        m = months.get(assessed)
        if m is None:
            continue
        for bit, key in bits:
            if flags & bit:
                m.evidence.setdefault(key, []).append(number)

    # Excluded orders, for the orders line.
    for assessed, number in rows.excluded:
        if assessed in months:
            months[assessed].excluded_orders.append(number)

    # Returns the center refused (不当退单), on the month's assignments.
    for assessed, number in (Request.objects
                             .filter(kind=Request.Kind.RETURN, state=Request.State.REJECTED,
                                     assignment__in=counted.values("pk"))
                             .annotate(assessed=Coalesce("assignment__unit__parent_id", "assignment__unit_id"))
                             .values_list("assessed", "order__number").order_by("order__number")):
        if assessed in months:
            months[assessed].counts["unjustified_returns"] += 1
            months[assessed].evidence.setdefault("unjustified_returns", []).append(number)

    # Formal supervisions (督办) of the unit on the month's orders, marked not carried out.
    for assessed, number in (Reminder.objects
                             .filter(kind=Reminder.Kind.SUPERVISION, failed=True, unit__isnull=False,
                                     order__in=counted.values("order_id"))
                             .annotate(assessed=Coalesce("unit__parent_id", "unit_id"))
                             .values_list("assessed", "order__number").order_by("order__number")):
        if assessed in months:
            months[assessed].counts["supervision_failed"] += 1
            months[assessed].evidence.setdefault("supervision_failed", []).append(number)

    for unit, complies in stationing_compliance(year, month).items():
        if unit.pk in months and not complies:
            months[unit.pk].counts["stationing_noncompliant"] = 1
    return months
