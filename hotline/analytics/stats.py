"""Statistics of any period (统计), computed in the database.

``period_statistics(start, end)`` counts the orders *registered* (``received_at``) between
``start`` and ``end`` inclusive, the center's local days (``hotline.lib.clock``), with a fixed handful of aggregate
queries (conditional ``Count``, ``GROUP BY``): no Python loop ever walks the orders. The result
is a frozen ``PeriodStats`` of counts only; shares (占比) and rates are derived from those counts
with ``hotline.lib.shares`` when they are shown, never stored.

Definitions (docs/briefing.md has the long version):

* local order (本级登记事项): ``source != upstream``; upstream order (上级交办事项): ``source = upstream``.
* coordinated (协调办理): a local order the center disposed of without a unit — disposition
  direct answer, coordinate, transfer, inform, not accepted or merge. Dispatched (交办处理):
  disposition ``dispatch``. An order still waiting for a disposition is ``undecided`` and counted
  in neither (the seed's 4707 = 3285 + 1422 has none).
* 签收及时率: lead assignments signed by their sign deadline ÷ all lead assignments of the
  period's orders (signed or not; each dispatch round is one assignment).
* 按时办结率: dispatched orders replied by the handling deadline ÷ dispatched orders that are due
  (replied, or past the deadline at ``as_of``).
* 回访率: orders with a reached callback ÷ orders answered (awaiting callback, closed after an
  answer, or called back at least once).
* 满意率: orders whose latest callback says 非常满意/满意/基本满意 ÷ orders whose latest callback
  reached the citizen; 解决率: the same denominator, callback says solved.
* 退单率: approved returns ÷ lead assignments; 退单申请率: requested returns ÷ lead assignments.
* 重办率: dispatched orders reworked at least once ÷ dispatched orders.

Per unit, order-level rates count the orders the unit currently leads; sign-for and returns
count the unit's own assignments.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connections
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from hotline.catalog.models import AppealType, Category, Source
from hotline.directory.models import Unit, UpstreamPlatform, month_bounds, stationing_compliance
from hotline.intake.models import Call
from hotline.lib import clock
from hotline.lib.planner import joins_by_key
from hotline.lib.shares import format_share, share
from hotline.workorders.models import (
    SATISFIED_LEVELS,
    Assignment,
    Callback,
    Disposition,
    Reminder,
    Request,
    WorkOrder,
)
from hotline.workorders.workflow import UNIT_HOLDS, Status

COORDINATED_DISPOSITIONS = (
    Disposition.DIRECT_ANSWER, Disposition.COORDINATE, Disposition.TRANSFER, Disposition.INFORM,
    Disposition.NOT_ACCEPTED, Disposition.MERGE,
)
DEFAULT_TOP = 10
OVERDUE_LIST_LIMIT = 200


# ---------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class Rate:
    """numerator ÷ denominator, shown as a percentage with the one rounding rule."""

    numerator: int
    denominator: int

    @property
    def percent(self) -> Decimal | None:
        return share(self.numerator, self.denominator) if self.denominator else None

    @property
    def text(self) -> str:
        """'94.00%', or '—' when there is nothing to divide by."""
        return format_share(self.percent) if self.denominator else "—"

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator} = {self.text}"


@dataclass(frozen=True)
class Change:
    """A count against the same count of an earlier period (环比 / 同比)."""

    current: int
    previous: int

    @property
    def delta(self) -> int:
        return self.current - self.previous

    @property
    def percent(self) -> Decimal | None:
        return share(self.delta, self.previous) if self.previous else None

    @property
    def text(self) -> str:
        if not self.previous:
            return "—"
        value = self.percent
        return ("+" if value > 0 else "") + format_share(value)


@dataclass(frozen=True)
class CountRow:
    name: str
    count: int


@dataclass(frozen=True)
class HotspotRow:
    """A level-2 category (政务服务—网点服务) and its count."""

    code: str
    level1: str
    level2: str
    count: int

    @property
    def label(self) -> str:
        return f"{self.level1}—{self.level2}" if self.level1 else self.level2


@dataclass(frozen=True)
class ChangeRow:
    key: str
    label: str
    month_on_month: Change
    year_on_year: Change


@dataclass(frozen=True)
class Rates:
    sign: Rate  # 签收及时率
    on_time: Rate  # 按时办结率
    callback: Rate  # 回访率
    satisfaction: Rate  # 满意率
    solved: Rate  # 解决率
    returns: Rate  # 退单率 (approved)
    return_requests: Rate  # 退单申请率
    rework: Rate  # 重办率

    LABELS = (("sign", "签收及时率"), ("on_time", "按时办结率"), ("callback", "回访率"),
              ("satisfaction", "满意率"), ("solved", "解决率"), ("returns", "退单率"),
              ("return_requests", "退单申请率"), ("rework", "重办率"))

    def items(self) -> list[tuple[str, str, Rate]]:
        return [(key, label, getattr(self, key)) for key, label in self.LABELS]


@dataclass(frozen=True)
class UnitRates:
    """One unit's figures for the period: counts behind every rate, and the rates."""

    unit_id: int
    short_name: str
    name: str
    group: str  # UnitGroup.key, "" when the unit is assessed with its parent or not at all
    parent_id: int | None
    assignments: int  # lead assignments (派单次数)
    orders: int  # dispatched orders the unit currently leads
    overdue: int
    returns_rejected: int
    supervision_failed: int
    upstream_callbacks: int
    upstream_satisfied: int
    replies: int
    excluded: int  # orders marked 不计入考核
    rates: Rates


@dataclass(frozen=True)
class OverdueOrder:
    number: str
    title: str
    unit: str
    handle_deadline: dt.datetime
    replied_at: dt.datetime | None  # None: still not replied


@dataclass(frozen=True)
class PeriodStats:
    start: dt.date
    end: dt.date
    as_of: dt.datetime
    unit: str
    town: str
    call_volume: int | None  # None when filtered by unit or town: calls have no unit
    grand_total: int
    local_total: int
    coordinated: int
    dispatched: int
    undecided: int
    upstream_total: int
    upstream_by_platform: tuple[CountRow, ...]
    appeal_types: tuple[CountRow, ...]
    hotspots: tuple[HotspotRow, ...]
    categorized: int  # orders with a category (the rest are not in any hotspot row)
    changes: tuple[ChangeRow, ...]
    rates: Rates
    unit_rates: tuple[UnitRates, ...]
    overdue: tuple[OverdueOrder, ...]
    overdue_total: int
    stationing_noncompliant: tuple[str, ...]
    # Orders per category id, every category of the period (the hotspots are its top rows): the
    # briefing's hot-problem draft compares these shares with the months before.
    category_counts: dict[int, int] = field(default_factory=dict, compare=False, repr=False)
    # Orders per (category id, lead unit id): which unit led most of a hot problem's orders.
    category_leads: dict[tuple[int, int], int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def hotspot_total(self) -> int:
        return sum(r.count for r in self.hotspots)

    @property
    def appeal_type_total(self) -> int:
        return sum(r.count for r in self.appeal_types)

    def share_text(self, count: int) -> str:
        """A count's share of the period's orders (the denominator of every table)."""
        return format_share(share(count, self.grand_total))

    @property
    def is_month(self) -> bool:
        return self.start.day == 1 and self.end == month_bounds(self.start.year, self.start.month)[1]


# ---------------------------------------------------------------------------------------------
# Periods


def local_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, end + 1 day 00:00) on the center's clock."""
    return clock.days_bounds(start, end)


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The calendar month before a whole month; otherwise the same number of days just before."""
    if start.day == 1 and end == month_bounds(start.year, start.month)[1]:
        year, month = (start.year - 1, 12) if start.month == 1 else (start.year, start.month - 1)
        return month_bounds(year, month)
    days = (end - start).days + 1
    return start - dt.timedelta(days=days), start - dt.timedelta(days=1)


def _year_back(d: dt.date) -> dt.date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def same_period_last_year(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    if start.day == 1 and end == month_bounds(start.year, start.month)[1]:
        return month_bounds(start.year - 1, start.month)
    return _year_back(start), _year_back(end)


def months_in(start: dt.date, end: dt.date) -> list[tuple[int, int]]:
    months, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        months.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


# ---------------------------------------------------------------------------------------------
# Queries


def period_orders(start: dt.date, end: dt.date, *, unit=None, town=None, using: str | None = None) -> QuerySet:
    """The orders registered in the period (optionally: ever led by ``unit``, located in ``town``)."""
    lo, hi = local_bounds(start, end)
    qs = WorkOrder.objects.using(using or settings.ANALYTICS_DATABASE).filter(received_at__gte=lo,
                                                                              received_at__lt=hi)
    if unit is not None:
        led = Assignment.objects.filter(order=OuterRef("pk"), unit=unit, role=Assignment.Role.LEAD)
        qs = qs.filter(Exists(led))
    if town is not None:
        qs = qs.filter(town=town)
    return qs


def _main_counts(orders: QuerySet) -> dict[str, int]:
    return orders.aggregate(**_main_aggregates())


def _main_aggregates() -> dict:
    local = ~Q(source=Source.UPSTREAM)
    return dict(
        grand_total=Count("id"),
        local_total=Count("id", filter=local),
        coordinated=Count("id", filter=local & Q(disposition__in=COORDINATED_DISPOSITIONS)),
        dispatched=Count("id", filter=local & Q(disposition=Disposition.DISPATCH)),
        undecided=Count("id", filter=local & Q(disposition="")),
        upstream_total=Count("id", filter=Q(source=Source.UPSTREAM)),
    )


def _call_volume(start: dt.date, end: dt.date, db: str) -> int:
    lo, hi = local_bounds(start, end)
    return Call.objects.using(db).filter(started_at__gte=lo, started_at__lt=hi).count()


def _dispatched() -> Q:
    return Q(disposition=Disposition.DISPATCH)


def _late_or_overdue(as_of: dt.datetime) -> Q:
    replied_late = Q(replied_at__isnull=False, handle_deadline__isnull=False, replied_at__gt=F("handle_deadline"))
    still_open = Q(replied_at__isnull=True, handle_deadline__lt=as_of, status__in=[s.value for s in UNIT_HOLDS])
    return _dispatched() & (replied_late | still_open)


def _answered() -> Q:
    """Orders the citizen can be called back about: answered by the center or a unit."""
    return (Q(status=Status.AWAITING_CALLBACK)
            | Q(status=Status.CLOSED, disposition__in=[Disposition.DIRECT_ANSWER, Disposition.COORDINATE,
                                                     Disposition.DISPATCH])
            | Q(callback_at__isnull=False))


def _reached_earlier_by_unit(orders: QuerySet) -> dict[int | None, int]:
    """Answered orders with no satisfaction (their latest callback did not get through) but an
    earlier callback that did: still called back. Counted per lead unit.

    The candidates are read first (``callback_at`` is implied: a reached callback sets a
    satisfaction, every callback sets ``callback_at`` and nothing clears it; spelled out, it keeps
    the candidates to orders that had a callback), then their callbacks are looked up by key. As
    one joined query PostgreSQL misjudged the candidates (an empty satisfaction and a callback
    time are each common, together rare: it expects 440k of a month's orders, finds 123k, of
    which 1.3k match). With the month's covering index it still probed callbacks order by order
    (0.43 s at 10M); without it (an index being rebuilt, a table not yet analyzed) it turned the
    join around and unique-sorted every reached callback ever made, 7 s at 3M orders and growing
    with the history. The materialized candidates cannot be turned around (0.41 s at 10M).
    """
    candidates = (orders.filter(_answered(), satisfaction="", callback_at__isnull=False).order_by()
                  .values_list("id", "lead_unit"))
    sql, params = candidates.query.sql_with_params()
    callbacks = Callback._meta.db_table
    order_id, reached = (Callback._meta.get_field(f).column for f in ("order", "reached"))
    statement = f"""
        WITH candidate (id, lead_unit) AS MATERIALIZED ({sql})
        SELECT lead_unit, COUNT(*) FROM candidate
         WHERE EXISTS (SELECT 1 FROM {callbacks} c WHERE c.{order_id} = candidate.id AND c.{reached})
         GROUP BY lead_unit"""
    with joins_by_key(orders.db), connections[orders.db].cursor() as cursor:
        cursor.execute(statement, params)
        return dict(cursor.fetchall())


def _order_aggregates(as_of: dt.datetime) -> dict:
    """Conditional counts over orders, the same for the whole period and per lead unit.

    ``called_back`` leaves out the orders ``_reached_earlier_by_unit`` counts (a lookup of callbacks):
    ``_one_pass`` adds them from a query of their own.
    """
    replied = Q(replied_at__isnull=False)
    on_time = replied & (Q(handle_deadline__isnull=True) | Q(replied_at__lte=F("handle_deadline")))
    due = replied | Q(handle_deadline__lt=as_of)
    # A non-empty satisfaction means the latest callback reached the citizen.
    reached_last = ~Q(satisfaction="")
    answered = _answered()
    upstream = Q(source=Source.UPSTREAM)
    return {
        "orders": Count("id", filter=_dispatched()),
        "due": Count("id", filter=_dispatched() & due),
        "on_time": Count("id", filter=_dispatched() & on_time),
        "answered": Count("id", filter=answered),
        "called_back": Count("id", filter=answered & reached_last),
        "reached": Count("id", filter=reached_last),
        "satisfied": Count("id", filter=Q(satisfaction__in=SATISFIED_LEVELS)),
        "solved": Count("id", filter=reached_last & Q(callback_solved=True)),
        "reworked": Count("id", filter=_dispatched() & Q(rework_count__gt=0)),
        "overdue": Count("id", filter=_late_or_overdue(as_of)),
        "upstream_callbacks": Count("id", filter=upstream & reached_last),
        "upstream_satisfied": Count("id", filter=upstream & Q(satisfaction__in=SATISFIED_LEVELS)),
        "replies": Count("id", filter=_dispatched() & replied),
        "excluded": Count("id", filter=_dispatched() & Q(excluded_from_assessment=True)),
    }


def _assignment_aggregates() -> dict:
    on_time = Q(signed_at__isnull=False) & (Q(sign_deadline__isnull=True) | Q(signed_at__lte=F("sign_deadline")))
    return {"assignments": Count("id"), "signed_on_time": Count("id", filter=on_time)}


def _return_aggregates() -> dict:
    return {
        "requested": Count("id"),
        "approved": Count("id", filter=Q(state=Request.State.APPROVED)),
        "rejected": Count("id", filter=Q(state=Request.State.REJECTED)),
    }


def _rates(o: dict, a: dict, r: dict) -> Rates:
    return Rates(
        sign=Rate(a.get("signed_on_time", 0), a.get("assignments", 0)),
        on_time=Rate(o.get("on_time", 0), o.get("due", 0)),
        callback=Rate(o.get("called_back", 0), o.get("answered", 0)),
        satisfaction=Rate(o.get("satisfied", 0), o.get("reached", 0)),
        solved=Rate(o.get("solved", 0), o.get("reached", 0)),
        returns=Rate(r.get("approved", 0), a.get("assignments", 0)),
        return_requests=Rate(r.get("requested", 0), a.get("assignments", 0)),
        rework=Rate(o.get("reworked", 0), o.get("orders", 0)),
    )


@dataclass(frozen=True)
class _Grouped:
    """The period's order, assignment and return counts per unit, each read once."""

    by_order: dict  # lead unit id (None: no lead unit) -> order aggregates
    by_assignment: dict  # unit id -> assignment aggregates
    by_return: dict  # unit id -> return aggregates

    def overall(self) -> tuple[dict, dict, dict]:
        """Whole-period totals: every aggregate is a count, so the sum of the groups."""
        return tuple(_sum_rows(d.values()) for d in (self.by_order, self.by_assignment, self.by_return))


def _sum_rows(rows) -> dict:
    total: dict[str, int] = {}
    for row in rows:
        for key, value in row.items():
            total[key] = total.get(key, 0) + (value or 0)
    return total


def _grouped(orders: QuerySet, since: dt.datetime, by_order: dict) -> _Grouped:
    """The assignment and return counts per unit beside ``by_order`` (from ``_one_pass``)."""
    db = orders.db
    # An order is dispatched after it is registered: bounding the assignments by the period's
    # start lets the scan use the dispatch-time index instead of reading every assignment ever.
    assignments = Assignment.objects.using(db).filter(order__in=orders.values("pk"), role=Assignment.Role.LEAD,
                                                      dispatched_at__gte=since)
    by_assignment = {row.pop("unit"): row for row in
                     assignments.order_by().values("unit").annotate(**_assignment_aggregates())}
    returns = Request.objects.using(db).filter(order__in=orders.values("pk"), kind=Request.Kind.RETURN)
    by_return = {row.pop("assignment__unit"): row for row in
                 returns.order_by().values("assignment__unit").annotate(**_return_aggregates())}
    return _Grouped(by_order, by_assignment, by_return)


def unit_figures(orders: QuerySet, grouped: _Grouped) -> tuple[UnitRates, ...]:
    """Per-unit counts and rates over ``orders`` (the supervision GROUP BY and one unit lookup)."""
    db = orders.db
    by_order = {k: v for k, v in grouped.by_order.items() if k is not None}
    by_assignment, by_return = grouped.by_assignment, grouped.by_return
    failed = dict(Reminder.objects.using(db).filter(order__in=orders.values("pk"), kind=Reminder.Kind.SUPERVISION,
                                                    failed=True, unit__isnull=False)
                  .order_by().values("unit").annotate(n=Count("id")).values_list("unit", "n"))
    ids = set(by_order) | set(by_assignment) | set(by_return) | set(failed)
    units = Unit.objects.using(db).filter(pk__in=ids).select_related("group").order_by("position", "code")
    result = []
    for u in units:
        o, a, r = by_order.get(u.pk, {}), by_assignment.get(u.pk, {}), by_return.get(u.pk, {})
        result.append(UnitRates(
            unit_id=u.pk, short_name=u.short_name, name=u.name, group=u.group.key if u.group else "",
            parent_id=u.parent_id, assignments=a.get("assignments", 0), orders=o.get("orders", 0),
            overdue=o.get("overdue", 0), returns_rejected=r.get("rejected", 0),
            supervision_failed=failed.get(u.pk, 0), upstream_callbacks=o.get("upstream_callbacks", 0),
            upstream_satisfied=o.get("upstream_satisfied", 0), replies=o.get("replies", 0),
            excluded=o.get("excluded", 0), rates=_rates(o, a, r),
        ))
    return tuple(result)


@dataclass(frozen=True)
class _Pass:
    """What one GROUP BY over the period's orders gives: every count of every table."""

    main: dict  # the main counts of the period
    types: dict  # appeal type id -> orders
    platforms: dict  # upstream platform id -> upstream orders
    categories: dict  # category id -> orders (categorized orders only)
    category_leads: dict  # (category id, lead unit id) -> orders (categorized orders with a lead unit)
    by_order: dict  # lead unit id (None: no lead unit) -> order aggregates


GROUP_KEYS = ("appeal_type", "upstream_platform", "category", "lead_unit")


def _one_pass(orders: QuerySet, as_of: dt.datetime) -> _Pass:
    """Group the period by (appeal type, platform, category, lead unit) with every count at once.

    Each table is a sum over these groups (all the aggregates are counts), so the period is read
    once instead of once per table: at 1.7 million orders a month, each pass is a range scan of
    the month in the covering index. The groups are few (categories follow units), some ten
    thousand at most, and summing them in Python costs milliseconds.
    """
    main_aggs, order_aggs = _main_aggregates(), _order_aggregates(as_of)
    main_keys, order_keys = tuple(main_aggs), tuple(order_aggs)
    # Without the callbacks EXISTS: a correlated subquery makes the pass parallel-unsafe, and
    # PostgreSQL answered it by hashing every reached callback ever made. The few answered orders
    # whose latest callback failed are counted apart, per lead unit, and added.
    rows = orders.order_by().values(*GROUP_KEYS).annotate(**main_aggs, **order_aggs)
    earlier = _reached_earlier_by_unit(orders)
    main = dict.fromkeys(main_keys, 0)
    types: dict[int, int] = {}
    platforms: dict[int, int] = {}
    categories: dict[int, int] = {}
    category_leads: dict[tuple[int, int], int] = {}
    by_order: dict[int | None, dict] = {}
    for r in rows:
        for key in main_keys:
            main[key] += r[key] or 0
        types[r["appeal_type"]] = types.get(r["appeal_type"], 0) + r["grand_total"]
        if r["upstream_platform"] is not None and r["upstream_total"]:
            platforms[r["upstream_platform"]] = platforms.get(r["upstream_platform"], 0) + r["upstream_total"]
        if r["category"] is not None:
            categories[r["category"]] = categories.get(r["category"], 0) + r["grand_total"]
            if r["lead_unit"] is not None:
                pair = (r["category"], r["lead_unit"])
                category_leads[pair] = category_leads.get(pair, 0) + r["grand_total"]
        unit = by_order.setdefault(r["lead_unit"], dict.fromkeys(order_keys, 0))
        for key in order_keys:
            unit[key] += r[key] or 0
    for lead_unit, n in earlier.items():
        by_order.setdefault(lead_unit, dict.fromkeys(order_keys, 0))["called_back"] += n
    return _Pass(main, types, platforms, categories, category_leads, by_order)


def appeal_type_rows(db: str, counts: dict) -> tuple[CountRow, ...]:
    """Every appeal type in position order, zero rows included."""
    types = AppealType.objects.using(db).order_by("position", "id")
    return tuple(CountRow(t.name, counts.get(t.pk, 0)) for t in types if t.active or counts.get(t.pk))


def platform_rows(db: str, counts: dict) -> tuple[CountRow, ...]:
    """Every upstream platform in position order (inactive ones only when they sent orders)."""
    platforms = UpstreamPlatform.objects.using(db).order_by("position", "code")
    return tuple(CountRow(p.name, counts.get(p.pk, 0)) for p in platforms if p.active or counts.get(p.pk))


def _top_categories(db: str, counts: dict[int, int], top: int) -> tuple[tuple[HotspotRow, ...], int]:
    """The ``top`` level-2 categories by count (ties by code) and the number of categorized orders.

    The counts are by the order's own ``category_id``; the ~130 categories are named afterwards.
    """
    cats = {c.pk: c for c in Category.objects.using(db).filter(pk__in=counts).select_related("parent")}
    ranked = sorted(counts, key=lambda pk: (-counts[pk], cats[pk].code))[:top]
    rows = tuple(HotspotRow(cats[pk].code, cats[pk].parent.name if cats[pk].parent else "", cats[pk].name, counts[pk])
                 for pk in ranked)
    return rows, sum(counts.values())


def category_counts_between(lo: dt.datetime, hi: dt.datetime, db: str) -> dict[int, int]:
    """Orders per category registered in [lo, hi) (categorized orders only, zeros left out).

    For spans of whole months (the hot problems' three months before): one GROUP BY, which
    PostgreSQL reads in parallel from the month's covering index. Counting each category on its own
    range of the narrow ``wo_category_received_idx`` reads a fifth of the bytes (150 MB against
    700 MB for three months at 10M) but runs serially, one correlated count per category: measured
    at 10M it won only while the visibility map was fresh (0.58 s against 0.85 s); after a day of
    the sweep's updates (6.5% of the rows needing a look at the table) it lost, 1.4 s against 0.75 s.
    """
    rows = (WorkOrder.objects.using(db).filter(received_at__gte=lo, received_at__lt=hi, category__isnull=False)
            .order_by().values("category").annotate(n=Count("id")).values_list("category", "n"))
    return dict(rows)


def overdue_orders(orders: QuerySet, as_of: dt.datetime, limit: int = OVERDUE_LIST_LIMIT,
                   total: int | None = None) -> tuple[tuple[OverdueOrder, ...], int]:
    qs = orders.filter(_late_or_overdue(as_of))
    total = qs.count() if total is None else total
    # The ids first (every column the condition needs is in the month's covering index), then the
    # page of rows: the wide rows of the whole period are never read.
    ids = list(qs.order_by("handle_deadline", "id").values_list("id", flat=True)[:limit])
    rows = (WorkOrder.objects.using(orders.db).filter(pk__in=ids).order_by("handle_deadline", "id")
            .values_list("number", "title", "lead_unit__short_name", "handle_deadline", "replied_at"))
    return tuple(OverdueOrder(n, t, u or "", d, r) for n, t, u, d, r in rows), total


def noncompliant_stationing(start: dt.date, end: dt.date) -> tuple[str, ...]:
    """Units that failed to keep staff at the center in any month of the period (full names)."""
    names: list[str] = []
    for year, month in months_in(start, end):
        for unit, complies in stationing_compliance(year, month).items():
            if not complies and unit.name not in names:
                names.append(unit.name)
    return tuple(names)


CHANGE_LABELS = (("grand_total", "受理总量"), ("local_total", "本级登记事项"), ("coordinated", "协调办理"),
                 ("dispatched", "交办处理"), ("upstream_total", "上级交办事项"), ("call_volume", "话务量"))


def period_statistics(start: dt.date, end: dt.date, *, unit=None, town=None, using: str | None = None,
                      top: int = DEFAULT_TOP, as_of: dt.datetime | None = None) -> PeriodStats:
    """Everything the statistics page and the briefing need for [start, end] (local dates)."""
    if end < start:
        raise ValueError("结束日期不能早于开始日期")
    db = using or settings.ANALYTICS_DATABASE
    as_of = as_of or clock.now()
    orders = period_orders(start, end, unit=unit, town=town, using=db)
    # Each pass over the period's orders costs the same at any history size; these are kept few:
    # one for every count of the orders (types, platforms, categories, per-unit figures; the overall
    # rates are the sum of the units'), assignments, returns, the overdue list — and the two
    # comparison periods' main counts.
    one = _one_pass(orders, as_of)
    main, type_counts, platform_counts = one.main, one.types, one.platforms
    with_calls = unit is None and town is None
    calls = _call_volume(start, end, db) if with_calls else None

    prev = previous_period(start, end)
    last_year = same_period_last_year(start, end)
    prev_main = _main_counts(period_orders(*prev, unit=unit, town=town, using=db))
    ly_main = _main_counts(period_orders(*last_year, unit=unit, town=town, using=db))
    if with_calls:
        prev_main["call_volume"] = _call_volume(*prev, db)
        ly_main["call_volume"] = _call_volume(*last_year, db)
    current = {**main, "call_volume": calls}
    changes = tuple(ChangeRow(key, label, Change(current[key], prev_main[key]), Change(current[key], ly_main[key]))
                    for key, label in CHANGE_LABELS if current.get(key) is not None)

    grouped = _grouped(orders, local_bounds(start, end)[0], one.by_order)
    overdue, overdue_total = overdue_orders(orders, as_of, total=grouped.overall()[0].get("overdue", 0))
    hotspots, categorized = _top_categories(db, one.categories, top)
    return PeriodStats(
        start=start, end=end, as_of=as_of,
        unit=unit.short_name if unit is not None else "", town=town.short_name if town is not None else "",
        call_volume=calls, upstream_by_platform=platform_rows(db, platform_counts),
        appeal_types=appeal_type_rows(db, type_counts),
        hotspots=hotspots, categorized=categorized,
        changes=changes, rates=_rates(*grouped.overall()), unit_rates=unit_figures(orders, grouped),
        overdue=overdue, overdue_total=overdue_total,
        stationing_noncompliant=noncompliant_stationing(start, end) if with_calls else (),
        category_counts=dict(one.categories), category_leads=dict(one.category_leads),
        **main,
    )
