"""Statistics of any period (统计), computed in the database.

``period_statistics(start, end)`` counts the orders *registered* (``received_at``) between
``start`` and ``end`` inclusive, the center's local days (``hotline.lib.clock``), with a fixed handful of aggregate
queries (conditional ``Count``, ``GROUP BY``): no Python loop ever walks the orders. The result
is a frozen ``PeriodStats`` of counts only; shares (占比) and rates are derived from those counts
with ``hotline.lib.shares`` when they are shown, never stored.

Every figure is defined once in ``hotline.metrics.definitions`` (docs/metrics.md): the center's
counts (time basis: registered) are ``hotline.metrics.center``'s aggregates, added to this
module's one GROUP BY over the period; every unit indicator (time basis: dispatched, sub-units in
their parent, excluded orders and approved returns out) is ``hotline.metrics.units.unit_metrics``,
and the center-wide rates are the sum of the units' counts. Nothing here defines a rate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from hotline.catalog.history import roll_up
from hotline.catalog.models import AppealType
from hotline.directory.models import UpstreamPlatform, month_bounds, stationing_compliance
from hotline.intake.models import Call
from hotline.lib import clock
from hotline.lib.parallel import side_by_side
from hotline.lib.shares import format_share, share
from hotline.metrics import units as unit_queries
from hotline.metrics.center import COORDINATED_DISPOSITIONS, direct_answer_rate, main_aggregates, repeat_rate
from hotline.metrics.knowledge import answer_aggregates, knowledge_counts
from hotline.metrics.units import UnitMetrics, total_counts
from hotline.metrics.values import Change, Rate, Rates
from hotline.workorders.models import Assignment, WorkOrder

__all__ = ["COORDINATED_DISPOSITIONS", "Change", "PeriodStats", "Rate", "Rates", "UnitMetrics", "period_statistics"]
UnitRates = UnitMetrics  # the name the statistics used before the metrics package
DEFAULT_TOP = 10
HOTSPOT_LEVEL = 2  # the hotspot table names 政务服务—网点服务; level-3 orders count under their level-2 ancestor
OVERDUE_LIST_LIMIT = 200


# ---------------------------------------------------------------------------------------------
# Values


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
    direct_answers: int
    callback_unreachable: int  # 回访无法联系 (registered in the period, closed as unreachable)
    direct_answer: Rate  # 直接答复率
    repeats: int
    repeat_rate: Rate  # 重复诉求率
    knowledge: dict[str, int]  # 知识库更新条目, 复核逾期条目, 知识库直接答复 (hotline.metrics.knowledge)
    upstream_by_platform: tuple[CountRow, ...]
    appeal_types: tuple[CountRow, ...]
    hotspots: tuple[HotspotRow, ...]
    categorized: int  # orders with a category (the rest are not in any hotspot row)
    changes: tuple[ChangeRow, ...]
    rates: Rates  # center-wide: the sum of every unit's counts
    unit_rates: tuple[UnitMetrics, ...]
    overdue: tuple[OverdueOrder, ...]
    overdue_total: int
    unreachable_total: int  # 回访无法联系 over every unit (dispatched basis, like the rates)
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
    return orders.aggregate(**main_aggregates())


def _call_volume(start: dt.date, end: dt.date, db: str) -> int:
    lo, hi = local_bounds(start, end)
    return Call.objects.using(db).filter(started_at__gte=lo, started_at__lt=hi).count()


@dataclass(frozen=True)
class _Pass:
    """What one GROUP BY over the period's orders gives: every count of every table."""

    main: dict  # the main counts of the period
    types: dict  # appeal type id -> orders
    platforms: dict  # upstream platform id -> upstream orders
    categories: dict  # category id -> orders (categorized orders only)
    category_leads: dict  # (category id, lead unit id) -> orders (categorized orders with a lead unit)
    kb_answers: int  # 知识库直接答复 (hotline.metrics.knowledge), counted in the same pass


GROUP_KEYS = ("appeal_type", "upstream_platform", "category", "lead_unit")


def _one_pass(orders: QuerySet) -> _Pass:
    """Group the period by (appeal type, platform, category, lead unit) with every count at once.

    Each table is a sum over these groups (all the aggregates are counts), so the period is read
    once instead of once per table: at 1.7 million orders a month, each pass is a range scan of
    the month in the covering index. The groups are few (categories follow units), some ten
    thousand at most, and summing them in Python costs milliseconds.
    """
    main_aggs = main_aggregates()
    main_keys = tuple(main_aggs)
    rows = orders.order_by().values(*GROUP_KEYS).annotate(**main_aggs, **answer_aggregates())
    kb_answers = 0
    main = dict.fromkeys(main_keys, 0)
    types: dict[int, int] = {}
    platforms: dict[int, int] = {}
    categories: dict[int, int] = {}
    category_leads: dict[tuple[int, int], int] = {}
    for r in rows:
        for key in main_keys:
            main[key] += r[key] or 0
        kb_answers += r["kb_answers"] or 0
        types[r["appeal_type"]] = types.get(r["appeal_type"], 0) + r["grand_total"]
        if r["upstream_platform"] is not None and r["upstream_total"]:
            platforms[r["upstream_platform"]] = platforms.get(r["upstream_platform"], 0) + r["upstream_total"]
        if r["category"] is not None:
            categories[r["category"]] = categories.get(r["category"], 0) + r["grand_total"]
            if r["lead_unit"] is not None:
                pair = (r["category"], r["lead_unit"])
                category_leads[pair] = category_leads.get(pair, 0) + r["grand_total"]
    return _Pass(main, types, platforms, categories, category_leads, kb_answers)


def appeal_type_rows(db: str, counts: dict) -> tuple[CountRow, ...]:
    """Every appeal type in position order, zero rows included."""
    types = AppealType.objects.using(db).order_by("position", "id")
    return tuple(CountRow(t.name, counts.get(t.pk, 0)) for t in types if t.active or counts.get(t.pk))


def platform_rows(db: str, counts: dict) -> tuple[CountRow, ...]:
    """Every upstream platform in position order (inactive ones only when they sent orders)."""
    platforms = UpstreamPlatform.objects.using(db).order_by("position", "code")
    return tuple(CountRow(p.name, counts.get(p.pk, 0)) for p in platforms if p.active or counts.get(p.pk))


def _top_categories(db: str, counts: dict[int, int], top: int, orders: QuerySet, start: dt.date, end: dt.date,
                    as_of: dt.datetime) -> tuple[tuple[HotspotRow, ...], int]:
    """The ``top`` hotspot rows by count (ties by code) and the number of categorized orders.

    A row is a level-2 category; a level-3 order counts under its level-2 ancestor as the tree stood
    on the day the order was registered (tree.py), so editing the tree later changes no past month.
    The counts are by the order's own ``category_id`` from the one pass and are rolled up by
    ``history.roll_up`` (no extra query unless a category moved inside the period).
    """
    rolled = roll_up(counts, orders, start, end, HOTSPOT_LEVEL, as_of=as_of, using=db)
    rows = tuple(HotspotRow(node.code, node.path[0] if node.level > 1 else "", node.name, n) for node, n in rolled[:top])
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


def overdue_orders(lo: dt.datetime, hi: dt.datetime, as_of: dt.datetime, *, using: str, orders: Q | None = None,
                   unit=None, limit: int = OVERDUE_LIST_LIMIT) -> tuple[OverdueOrder, ...]:
    """The first ``limit`` overdue orders of the units' population, by handling deadline."""
    ids = unit_queries.overdue_order_ids(lo, hi, as_of=as_of, using=using, orders=orders, unit=unit, limit=limit)
    rows = (WorkOrder.objects.using(using).filter(pk__in=ids).order_by("handle_deadline", "id")
            .values_list("number", "title", "lead_unit__short_name", "handle_deadline", "replied_at"))
    return tuple(OverdueOrder(n, t, u or "", d, r) for n, t, u, d, r in rows)


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
    prev = previous_period(start, end)
    last_year = same_period_last_year(start, end)
    lo, hi = local_bounds(start, end)
    narrow = Q(order__town=town) if town is not None else None
    # Each pass over the period costs the same at any history size; these are kept few: one over
    # the period's lead assignments for every unit indicator (hotline.metrics.units: the overall
    # rates are the sum of the units'; it reads the returns and 督办 beside it), one over the
    # orders for every count of the center (types, platforms, categories), the overdue list and
    # the comparison periods' counts. None needs another, so they run side by side, longest first.
    per_unit, one, overdue, prev_main, ly_main = side_by_side(
        lambda: unit_queries.unit_metrics(lo, hi, as_of=as_of, using=db, orders=narrow, unit=unit),
        lambda: _one_pass(orders),
        lambda: overdue_orders(lo, hi, as_of, using=db, orders=narrow, unit=unit),
        lambda: _main_counts(period_orders(*prev, unit=unit, town=town, using=db)),
        lambda: _main_counts(period_orders(*last_year, unit=unit, town=town, using=db)),
        using=db)
    main, type_counts, platform_counts = one.main, one.types, one.platforms
    with_calls = unit is None and town is None
    calls = _call_volume(start, end, db) if with_calls else None
    if with_calls:
        prev_main["call_volume"] = _call_volume(*prev, db)
        ly_main["call_volume"] = _call_volume(*last_year, db)
    current = {**main, "call_volume": calls}
    changes = tuple(ChangeRow(key, label, Change(current[key], prev_main[key]), Change(current[key], ly_main[key]))
                    for key, label in CHANGE_LABELS if current.get(key) is not None)

    totals = total_counts(per_unit.values())
    hotspots, categorized = _top_categories(db, one.categories, top, orders, start, end, as_of)
    return PeriodStats(
        start=start, end=end, as_of=as_of,
        unit=unit.short_name if unit is not None else "", town=town.short_name if town is not None else "",
        call_volume=calls, upstream_by_platform=platform_rows(db, platform_counts),
        appeal_types=appeal_type_rows(db, type_counts),
        hotspots=hotspots, categorized=categorized,
        changes=changes, rates=Rates(totals), unit_rates=tuple(per_unit.values()),
        direct_answer=direct_answer_rate(main), repeat_rate=repeat_rate(main),
        knowledge=knowledge_counts(start, end, using=db, answers=one.kb_answers),
        overdue=overdue, overdue_total=totals["overdue"], unreachable_total=totals["unreachable"],
        stationing_noncompliant=noncompliant_stationing(start, end) if with_calls else (),
        category_counts=dict(one.categories), category_leads=dict(one.category_leads),
        **main,
    )
