"""Generate a month of orders shaped like the seed briefing (July 2023), through the real actions.

The plan (who calls about what, where, when, and how each unit behaves) is drawn first from a
seeded ``random.Random``; then every order is registered in time order and walked through the
action functions as the people who would act on it, so its event log, deadlines, assignments,
requests, reminders and callbacks are exactly what the platform would have recorded.

The seed shape is reproduced exactly: 4707 local orders (3285 handled by the center, 1422
dispatched), 336 upstream (287 + 49), appeal types 2049/831/1019/30/1114, the ten hotspot
categories with the seed's counts and every other category below them, about 9000 calls, and
each unit's behaviour such that the published assessment is the seed's two annexes. Other sizes
scale the same shape (``hotline generate --orders N``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from hotline.assessment.default_scorecard import DEPARTMENT, TOWNSHIP, default_scorecard
from hotline.assessment.engine import Scorecard
from hotline.assessment.models import ScorecardVersion
from hotline.catalog import data as catalog_data
from hotline.catalog.models import AppealType, Category, DispatchRule, Source, Urgency
from hotline.demo import corpus
from hotline.demo.behaviour import Behaviour, plan_behaviour, rough_behaviour
from hotline.demo.defaults import load_defaults
from hotline.demo.people import DEMO_PASSWORD, _hashed, ensure_people, unit_handler
from hotline.directory.models import Stationing, Unit, UnitGroup, UpstreamPlatform
from hotline.intake.models import Call
from hotline.lib import clock
from hotline.workorders import actions
from hotline.workorders.models import Satisfaction, Truth, WorkOrder
from hotline.workorders.workflow import WorkflowError

Router = Callable[[str, str], str]  # (leaf code, town) -> lead unit's short name
MIN_UNIT_ORDERS = 8  # every assessed unit gets at least this many dispatched orders (rule: >= 6)


@dataclass(frozen=True)
class MonthShape:
    """The counts a generated month must carry."""

    local_coordinated: int = 3285
    local_dispatched: int = 1422
    upstream: tuple[tuple[str, int], ...] = (("pds", 287), ("henan", 49))
    appeal_types: tuple[tuple[str, int], ...] = (("consult", 2049), ("problem", 831), ("complaint", 1019),
                                                 ("suggestion", 30), ("other", 1114))
    hotspots: tuple[tuple[str, str, int], ...] = (
        ("政务服务", "网点服务", 770), ("民主法制", "政策咨询", 404), ("公共服务", "水电气暖", 203),
        ("农村管理", "人居环境", 182), ("文体科教", "教育管理", 162), ("工资薪金", "拖欠工资", 157),
        ("政务服务", "行政效能", 135), ("社会保险", "医疗保险", 128), ("市场管理", "消费纠纷", 110),
        ("市政管理", "市容市貌", 103))
    calls: int = 9000

    def ordinary(self) -> MonthShape:
        """The same month without the seed's hot problems: a hotspot row that is one of them
        carries half its count (the rest spreads over other categories)."""
        theme_labels = {catalog_data.LEAF_LABELS[t["leaf_code"]] for t in catalog_data.HOT_PROBLEM_THEMES.values()}
        hot = tuple((a, b, n // 2 if f"{a}—{b}" in theme_labels else n) for a, b, n in self.hotspots)
        return dataclasses.replace(self, hotspots=hot)

    @property
    def total(self) -> int:
        return self.local_coordinated + self.local_dispatched + sum(n for _, n in self.upstream)

    def scaled(self, orders: int) -> MonthShape:
        """The same proportions for about ``orders`` orders (largest-remainder rounding)."""
        factor = orders / self.total

        def spread(values: list[int]) -> list[int]:
            raw = [v * factor for v in values]
            out = [math.floor(r) for r in raw]
            for i in sorted(range(len(raw)), key=lambda i: raw[i] - out[i], reverse=True)[: orders - sum(out)]:
                out[i] += 1
            return out

        parts = spread([self.local_coordinated, self.local_dispatched, *[n for _, n in self.upstream]])
        types = spread([n for _, n in self.appeal_types])
        hot = [max(1, round(n * factor)) for *_, n in self.hotspots]
        return MonthShape(parts[0], parts[1], tuple((k, n) for (k, _), n in zip(self.upstream, parts[2:], strict=True)),
                          tuple((k, n) for (k, _), n in zip(self.appeal_types, types, strict=True)),
                          tuple((a, b, n) for (a, b, _), n in zip(self.hotspots, hot, strict=True)),
                          round(self.calls * factor))


SEED_SHAPE = MonthShape()

# The seed's annex scores are what each unit's month is planned to earn (``plan_behaviours``): the
# demo plants the late sign-fors, late replies, dissatisfied callers, refused returns and bonuses
# that the group's scorecard scores at exactly this figure. The assessment never reads this table.
SEED_SCORES = {name: score for name, score, _ in [
    ("杨楼镇", 99.5, 1), ("临汝镇", 99.5, 1), ("蟒川镇", 98, 3), ("焦村镇", 98, 3), ("陵头镇", 97.5, 5),
    ("洗耳河街道", 95.75, 6), ("夏店镇", 94.5, 7), ("大峪镇", 94, 8), ("煤山街道", 93, 9), ("风穴路街道", 92.5, 10),
    ("骑岭乡", 92, 11), ("温泉镇", 90.57, 12), ("钟楼街道", 88.5, 13), ("紫云路街道", 88.5, 13), ("庙下镇", 88, 15),
    ("米庙镇", 86, 16), ("汝南街道", 85, 17), ("王寨乡", 84.67, 18), ("小屯镇", 83.5, 19), ("纸坊镇", 80, 20),
    ("寄料镇", 77, 21), ("住房和城乡建设局", 101.5, 1), ("教育体育局（教育）", 101, 2), ("国网汝州市供电公司", 100, 3),
    ("生态环境局", 98, 4), ("税务局", 97.5, 5), ("商务局", 97.5, 5), ("医疗保障局", 97, 7), ("煤矿安全监察局", 96, 8),
    ("文广旅游局", 95, 9), ("融媒体中心", 94, 10), ("自来水公司", 92.78, 11), ("人力资源和社会保障局", 92.5, 12),
    ("公安局", 91, 13), ("移动公司", 90, 14), ("农业农村局", 88, 15), ("教育体育局（体育）", 88, 15),
    ("公路管理局", 88, 15), ("联通公司", 86, 18), ("城市管理局", 85.5, 19), ("国资事务中心", 84, 20),
    ("市场监督管理局", 83, 21), ("自然资源和规划局", 79.46, 22), ("卫生健康委员会", 78.5, 23), ("交通运输局", 77.06, 24),
]}
STATIONING_MISSING = ("自然资源和规划局", "人力资源和社会保障局", "城市管理局")

# How likely each appeal type is for a category whose name hints at it.
TYPE_HINTS = [
    (("咨询", "政策", "办理", "查询", "服务", "登记", "报名", "考试", "备案", "手续"), {"consult": 6, "other": 2}),
    (("拖欠", "纠纷", "投诉", "举报", "违法", "违章", "欺诈", "污染", "噪声", "乱"), {"complaint": 6, "problem": 2}),
    (("建议",), {"suggestion": 8}),
]
DEFAULT_TYPE_WEIGHTS = {"consult": 3, "problem": 3, "complaint": 2, "suggestion": 0.05, "other": 2.2}
DISPATCH_WEIGHT = {"consult": 0.25, "problem": 5, "complaint": 4, "suggestion": 2, "other": 0.6}


@dataclass
class PlannedOrder:
    received_at: dt.datetime
    leaf: str
    appeal_type: str = ""
    town: str = ""
    source: str = Source.PHONE
    platform: str = ""
    dispatched: bool = False
    disposition: str = ""
    lead: str = ""
    theme: str | None = None
    urgency: str = Urgency.NORMAL
    caller: tuple[str, str] = ("", "")
    repeat_of: int | None = None
    # What the lead unit does (``plan_behaviours``): nothing set is an order handled well.
    late_sign: bool = False
    late_reply: bool = False
    refused_return: bool = False
    callback: str = "satisfied"  # or "dissatisfied", "unreached"
    bonus: str = ""  # a bonus item (表扬, 典型案例, 主动治理) the order earns its unit


@dataclass
class Report:
    orders: int = 0
    calls: int = 0
    events: int = 0
    by_disposition: Counter = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)


def _weighted_sample(rng: random.Random, items: list[int], weights: list[float], k: int) -> list[int]:
    """k items without replacement, probability proportional to weight (Efraimidis–Spirakis)."""
    keyed = sorted(((rng.random() ** (1.0 / w) if w > 0 else 0.0), i) for i, w in zip(items, weights, strict=True))
    return [i for _, i in keyed[-k:]] if k else []


def _type_weights(leaf_name: str) -> dict[str, float]:
    weights = dict(DEFAULT_TYPE_WEIGHTS)
    for words, boost in TYPE_HINTS:
        if any(w in leaf_name for w in words):
            for key, value in boost.items():
                weights[key] += value
    return weights


def _received_times(rng: random.Random, year: int, month: int, n: int) -> list[dt.datetime]:
    first = dt.date(year, month, 1)
    days = [first + dt.timedelta(days=i) for i in range(31) if (first + dt.timedelta(days=i)).month == month]
    day_weights = [1.0 if d.weekday() < 5 else 0.55 for d in days]
    hour_weights = [0.15, 0.08, 0.05, 0.05, 0.06, 0.1, 0.3, 0.8, 1.6, 1.9, 1.8, 1.5, 1.0, 1.2, 1.6, 1.7, 1.6,
                    1.3, 0.9, 0.8, 0.7, 0.5, 0.35, 0.22]
    out = []
    for day in rng.choices(days, weights=day_weights, k=n):
        hour = rng.choices(range(24), weights=hour_weights)[0]
        out.append(clock.aware(dt.datetime.combine(day, dt.time(hour, rng.randrange(60), rng.randrange(60)))))
    return sorted(out)


THEME_BOOST = 4.0  # how much more often a hot problem's category is called about in its month


def plan_month(year: int, month: int, shape: MonthShape, rng: random.Random, *,
               themes: bool = True, route: Router = catalog_data.catalog_lead,
               cards: dict[str, Scorecard] | None = None) -> list[PlannedOrder]:
    """Who calls about what, where, when; pure apart from reading the category tree's data.

    With ``themes`` the seed's five hot problems are this month's: their categories are called
    about more often than usual and their orders tell those stories. A month without them is
    the ordinary background the briefing's hot-problem detection compares against.

    ``route(leaf code, town)`` names the lead unit of a dispatched order: by default the default
    dispatch catalog; ``generate_month`` passes the database's catalog (``catalog_router``).
    """
    total = shape.total
    leaves = [(code, f"{l1}—{l2}") for l1, _c, children in
              [(n, c, ch) for c, n, ch in catalog_data.CATEGORY_TREE] for code, l2 in children]
    label_to_code = {label: code for code, label in leaves}
    # Categories: the hotspot rows exactly, the rest spread below the smallest hotspot.
    slots: list[str] = []
    for l1, l2, count in shape.hotspots:
        slots += [label_to_code[f"{l1}—{l2}"]] * count
    hot_codes = set(slots)
    others = [code for code, _ in leaves if code not in hot_codes]
    remaining = total - len(slots)
    # Keep every other category below the smallest hotspot row, so the top ten stay the seed's.
    # (An ordinary month keeps the city's natural proportions: it is only history to compare with.)
    cap = max(min(n for *_, n in shape.hotspots) - 10, math.ceil(remaining / len(others)) + 2) if themes \
        else remaining
    # How often each category is called about is a property of the city, not of the month.
    city = random.Random(1729)
    weights = {code: city.lognormvariate(0, 0.8) for code in others}
    theme_leaves = {t["leaf_code"] for t in catalog_data.HOT_PROBLEM_THEMES.values()}
    if themes:
        typical = sorted(weights.values())[len(weights) // 2]
        weights = {code: max(w, typical) * THEME_BOOST if code in theme_leaves else w for code, w in weights.items()}
    else:  # out of season: the hot problems of the seed month are quieter than usual
        weights = {code: w / 2 if code in theme_leaves else w for code, w in weights.items()}
    counts = Counter()
    while remaining > 0:
        code = rng.choices(others, weights=[weights[c] if counts[c] < cap else 0 for c in others])[0]
        counts[code] += 1
        remaining -= 1
    for code, n in counts.items():
        slots += [code] * n
    rng.shuffle(slots)
    times = _received_times(rng, year, month, total)
    orders = [PlannedOrder(received_at=t, leaf=leaf) for t, leaf in zip(times, slots, strict=True)]
    names = dict(leaves)

    # Appeal types: exact quotas, drawn by each category's affinity.
    quota = dict(shape.appeal_types)
    for index in rng.sample(range(total), total):
        order = orders[index]
        w = _type_weights(names[order.leaf])
        keys = [k for k in quota if quota[k] > 0]
        choice = rng.choices(keys, weights=[w[k] * quota[k] for k in keys])[0]
        order.appeal_type = choice
        quota[choice] -= 1

    # Sources: upstream orders lean to problems and complaints; all of them go to units.
    indices = list(range(total))
    up_total = sum(n for _, n in shape.upstream)
    upstream = _weighted_sample(rng, indices, [DISPATCH_WEIGHT[o.appeal_type] for o in orders], up_total)
    rng.shuffle(upstream)
    start = 0
    for platform, n in shape.upstream:
        for index in upstream[start:start + n]:
            orders[index].source, orders[index].platform, orders[index].dispatched = Source.UPSTREAM, platform, True
        start += n
    local = [i for i in indices if orders[i].source != Source.UPSTREAM]
    for index in _weighted_sample(rng, local, [DISPATCH_WEIGHT[orders[i].appeal_type] for i in local],
                                  shape.local_dispatched):
        orders[index].dispatched = True
    channels = [Source.PHONE] * 86 + [Source.WECHAT] * 7 + [Source.WEB] * 4 + [Source.LETTER, Source.APP, Source.LEADER]
    for order in orders:
        if order.source != Source.UPSTREAM:
            order.source = rng.choice(channels)

    # Places: the city's streets see more calls than the mountain towns.
    town_weights = [2.2 if t.endswith("街道") else 1.0 for t in catalog_data.TOWNS]
    for order in orders:
        order.town = rng.choices(catalog_data.TOWNS, weights=town_weights)[0]
        order.caller = (corpus.person_name(rng), corpus.mobile_phone(rng))
        order.urgency = rng.choices([Urgency.NORMAL, Urgency.URGENT, Urgency.CRITICAL], weights=[96, 3.5, 0.5])[0]

    # Hot problems: a share of the theme's category tells the theme's story.
    for key, theme in catalog_data.HOT_PROBLEM_THEMES.items() if themes else ():
        members = [o for o in orders if o.leaf == theme["leaf_code"]]
        for order in rng.sample(members, k=min(len(members), max(12, len(members) // 2))):
            order.theme = key

    # Dispatched orders go where the dispatch catalog sends the category at the order's town.
    for order in orders:
        if order.dispatched:
            order.lead = route(order.leaf, order.town)
    _top_up_units(orders, rng, route)

    # What the center does with the orders it keeps.
    by_caller: dict[str, int] = {}
    for index, order in enumerate(orders):
        if order.dispatched:
            order.disposition = "dispatch"
            continue
        roll = rng.random()
        if order.appeal_type == "consult":
            order.disposition = "direct_answer" if roll < 0.78 else "coordinate"
        elif roll < 0.006:
            order.disposition = "transfer"
        elif roll < 0.024:
            order.disposition = "inform"
        elif roll < 0.03:
            order.disposition = "not_accept"
        else:
            order.disposition = "coordinate"
        key = order.leaf + order.town
        if key in by_caller and rng.random() < 0.12:
            # The same appeal again from the same caller: merged into the earlier order.
            first = orders[by_caller[key]]
            order.caller, order.repeat_of, order.disposition = first.caller, by_caller[key], "merge"
        else:
            by_caller[key] = index
    plan_behaviours(orders, rng, route, cards or default_cards(), fit=shape == SEED_SHAPE)
    return orders


def default_cards() -> dict[str, Scorecard]:
    return {group: default_scorecard(group) for group in (TOWNSHIP, DEPARTMENT)}


def assessed_name(lead: str) -> str:
    """The unit assessed for a lead unit: a sub-unit (车管所) counts for its parent (公安局)."""
    return catalog_data.SUB_UNIT_PARENTS.get(lead, lead)


def plan_behaviours(orders: list[PlannedOrder], rng: random.Random, route: Router, cards: dict[str, Scorecard],
                    *, fit: bool) -> dict[str, Behaviour]:
    """Each assessed unit's behaviour this month (``hotline.demo.behaviour``), planted on its orders.

    A unit behaves so that its group's scorecard gives it the seed's score. Some scores cannot be
    reached with the number of orders the catalog sent a unit (温泉镇's 90.57 needs a denominator
    that 7 divides); with ``fit`` (the seed-shaped month) such a unit gets or gives up one to four
    orders, taken from or given to the busiest unit of its group not yet planned, until it can.
    Elsewhere (smaller or ordinary months) the nearest plain behaviour is used.
    """
    group_of = {name: TOWNSHIP if name in catalog_data.TOWNS else DEPARTMENT for name in SEED_SCORES}

    def members(name: str) -> list[PlannedOrder]:
        return [o for o in orders if o.dispatched and assessed_name(o.lead) == name]

    def solve(name: str) -> Behaviour | None:
        mine = members(name)
        return plan_behaviour(cards[group_of[name]], Decimal(str(SEED_SCORES[name])), len(mine),
                              upstream_orders=sum(o.source == Source.UPSTREAM for o in mine),
                              stationing_noncompliant=name in STATIONING_MISSING)

    behaviours: dict[str, Behaviour] = {}
    pending = sorted(SEED_SCORES, key=lambda n: (len(members(n)), n))
    while pending:
        name = pending.pop(0)
        found = solve(name) if fit else None
        reservoirs = [n for n in pending if group_of[n] == group_of[name]]
        for shift in ((1, -1, 2, -2, 3, -3, 4, -4) if fit and found is None and reservoirs else ()):
            reservoir = max(reservoirs, key=lambda n: (len(members(n)), n))
            if shift < 0 and len(members(name)) + shift < MIN_UNIT_ORDERS:
                continue
            saved = [(o, o.leaf, o.town, o.lead) for o in orders if o.dispatched]
            for _ in range(abs(shift)):
                giver, taker = (reservoir, name) if shift > 0 else (name, reservoir)
                _move_order(orders, rng, route, giver, taker)
            found = solve(name)
            if found is not None:
                break
            for o, leaf, town, lead in saved:
                o.leaf, o.town, o.lead = leaf, town, lead
        if found is None:
            mine = members(name)
            found = rough_behaviour(SEED_SCORES[name], len(mine), sum(o.source == Source.UPSTREAM for o in mine))
        behaviours[name] = found
        _plant(members(name), found, rng)
    return behaviours


def _plant(mine: list[PlannedOrder], b: Behaviour, rng: random.Random) -> None:
    """Mark which of a unit's orders carry each planted event."""
    def pick(pool: list[PlannedOrder], k: int) -> list[PlannedOrder]:
        return rng.sample(pool, min(k, len(pool)))

    for o in pick([o for o in mine if o.urgency == Urgency.NORMAL], b.refused_returns):
        o.refused_return = True
    for o in pick([o for o in mine if not o.refused_return], b.late_signs):
        o.late_sign = True
    for o in pick(mine, b.late_replies):
        o.late_reply = True
    local = [o for o in mine if o.source != Source.UPSTREAM]
    for o in pick(local, b.unreached):
        o.callback = "unreached"
    for o in pick([o for o in local if o.callback == "satisfied"], b.dissatisfied):
        o.callback = "dissatisfied"
    for o in pick([o for o in mine if o.source == Source.UPSTREAM], b.upstream_dissatisfied):
        o.callback = "dissatisfied"
    exemplary = [o for o in mine if o.callback == "satisfied" and not (o.late_sign or o.late_reply
                                                                         or o.refused_return)] or mine
    for kind in b.bonuses:
        rng.choice([o for o in exemplary if not o.bonus] or exemplary).bonus = kind


def _top_up_units(orders: list[PlannedOrder], rng: random.Random, route: Router) -> None:
    """Give every assessed unit enough orders to be ranked, taking from the busiest units.

    A unit gets more orders the way a real one would: more calls about what it handles. An order
    of the busiest unit (not a hot problem, not in a hotspot category, so the month's top ten stay
    exact) becomes an appeal about a category the catalog sends to the short unit, at a town where
    it does; its lead unit is still the catalog's.
    """
    counts = Counter(o.lead for o in orders if o.dispatched)
    # A small generated month cannot give every unit eight orders; share what there is.
    floor = min(MIN_UNIT_ORDERS, sum(counts.values()) // (2 * len(SEED_SCORES)))
    for name in SEED_SCORES:
        while counts[name] < floor:
            donor = max((n for n in counts if n in SEED_SCORES), key=lambda n: (counts[n], n))
            _move_order(orders, rng, route, donor, name)
            counts[donor] -= 1
            counts[name] += 1


def _hotspot_leaves() -> set[str]:
    return {catalog_data.leaf_code_for(a, b) for a, b, _ in SEED_SHAPE.hotspots}


def _move_order(orders: list[PlannedOrder], rng: random.Random, route: Router, donor: str, recipient: str) -> None:
    """Re-plan one dispatched order of ``donor`` as an appeal the catalog sends to ``recipient``."""
    hot = _hotspot_leaves()
    candidates = [o for o in orders if o.dispatched and o.lead == donor and not o.theme and o.leaf not in hot]
    order = rng.choice(candidates)
    towns = [order.town, *[t for t in catalog_data.TOWNS if t != order.town]]
    places = [(leaf, town) for leaf in catalog_data.LEAF_CODES if leaf not in hot
              for town in (towns if recipient not in catalog_data.TOWNS else [recipient])
              if route(leaf, town) == recipient]
    if not places:
        raise ValueError(f"派单目录中没有派往“{recipient}”的分类")
    # Keep the caller's town when the catalog allows it there.
    here = [p for p in places if p[1] == order.town] or places
    order.leaf, order.town = rng.choice(here)
    order.lead = recipient


def _working_hour(rng: random.Random, at: dt.datetime, hours: float) -> dt.datetime:
    """``hours`` later, moved into office hours (08:30–18:00) the way units actually work."""
    t = at + dt.timedelta(hours=hours)
    if t.hour < 8:
        t = t.replace(hour=8, minute=rng.randrange(30, 60))
    elif t.hour >= 18:
        t = (t + dt.timedelta(days=1)).replace(hour=8, minute=rng.randrange(30, 60))
    return t


class Walker:
    """Walks planned orders through the action functions as the people who act on them."""

    def __init__(self, rng: random.Random, people: dict, units: dict[str, Unit], password: str = DEMO_PASSWORD):
        self.rng = rng
        self.people = people
        self.password = password
        self.units = units
        self.operators = [people["operator_li"], *self._extra("operator", ["operator_chen", "operator_liu",
                                                                             "operator_yang", "operator_huang"])]
        self.dispatchers = [people["dispatcher_wang"], *self._extra("dispatcher", ["dispatcher_xu"])]
        self.supervisor = people["supervisor_zhou"]
        self.handlers: dict[int, object] = {}
        self._articles: dict | None = None
        for username in ("handler_zhao", "handler_qian", "handler_sun"):
            self.handlers[people[username].unit_id] = people[username]

    def _extra(self, role: str, usernames: list[str]) -> list:
        from hotline.accounts.models import User

        out = []
        surnames = {"chen": "陈", "liu": "刘", "yang": "杨", "huang": "黄", "xu": "徐"}
        for username in usernames:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User(username=username, role=role, display_name=surnames[username.split("_")[1]],
                            password=_hashed(self.password))
                user.save()
            out.append(user)
        return out

    def handler(self, unit: Unit):
        if unit.id not in self.handlers:
            self.handlers[unit.id] = unit_handler(unit, self.password)
        return self.handlers[unit.id]

    def operator(self):
        return self.rng.choice(self.operators)

    def dispatcher(self):
        return self.rng.choice(self.dispatchers)

    def article(self, title: str | None):
        """The published knowledge-base article of that title (the seed's), or None."""
        if title is None:
            return None
        if self._articles is None:
            from hotline.catalog.models import KnowledgeArticle

            self._articles = {a.title: a for a in KnowledgeArticle.objects.filter(active=True, version__gt=0)}
        return self._articles.get(title)

    # -- one order's life ------------------------------------------------------------------

    def center_handles(self, order: WorkOrder, plan: PlannedOrder, merge_target: WorkOrder | None) -> None:
        rng, t = self.rng, plan.received_at
        who = order.registered_by or self.operator()
        after = t + dt.timedelta(minutes=rng.randint(2, 25))
        if plan.disposition == "merge" and merge_target is not None:
            closed_at = WorkOrder.objects.filter(pk=merge_target.pk).values_list("closed_at", flat=True).get()
            if closed_at is None or closed_at > after:
                actions.merge(order, acting_user=who, into=merge_target, note="同一来电人同一诉求", at=after)
            else:
                # Nothing is merged into a closed order: a repeat of an appeal closed before it came
                # in, with nothing new, is not accepted and the caller is told the earlier result.
                actions.not_accept(order, acting_user=who, at=after,
                                   note=f"重复诉求，工单 {merge_target.number} 已办结，已告知来电人办理结果")
            return
        if plan.disposition == "transfer":
            actions.transfer(order, acting_user=who, target=rng.choice(["110", "119", "120", "122"]),
                             note="涉及紧急警情，已转接", at=after)
            return
        if plan.disposition == "inform":
            actions.inform(order, acting_user=who, at=after,
                           note="属于民事纠纷，已告知来电人通过人民调解或诉讼途径解决")
            return
        if plan.disposition == "not_accept":
            actions.not_accept(order, acting_user=who, at=after, note="不属于热线受理范围，已向来电人说明")
            return
        if plan.disposition == "direct_answer":
            # The article read out is recorded as the intake records it (the knowledge base's
            # 直接答复 figure counts the answers that name one).
            answer, title = corpus.compose_direct_answer(plan.leaf, rng)
            actions.direct_answer(order, acting_user=who, answer=answer, article=self.article(title),
                                  at=t + dt.timedelta(minutes=rng.randint(3, 12)))
        else:
            actions.coordinate(order, acting_user=who, at=t + dt.timedelta(hours=rng.uniform(0.5, 30)),
                               answer=corpus.compose_reply(plan.leaf, rng, unit="热线中心", solved=True))
        self.callback(order, plan, quality=0.9)

    def unit_handles(self, order: WorkOrder, plan: PlannedOrder) -> None:
        rng = self.rng
        t = plan.received_at
        # The center dispatches within its month: an order of the month's last evening is not left
        # for the next month (the month's orders and the month's dispatches are the same orders).
        month_end = _next_month(t)
        if order.status == "received":
            t = min(t + dt.timedelta(minutes=rng.randint(3, 30)), t + (month_end - t) / 3)
            actions.submit_for_dispatch(order, acting_user=order.registered_by or self.dispatcher(), at=t)
        unit = self.units[plan.lead]
        # Co-handling units are the other units the category's routing hints name for the place.
        hints = [plan.town if n == catalog_data.TOWN else n for n in catalog_data.LEAF_ROUTING.get(plan.leaf, ())]
        others = [n for n in dict.fromkeys(hints) if n != plan.lead and n in self.units]
        co = [self.units[rng.choice(others)]] if others and rng.random() < 0.06 else []
        dispatch_at = _working_hour(rng, t, rng.uniform(0.2, 3))
        if dispatch_at >= month_end:
            dispatch_at = t + (month_end - t) / 2
        t = dispatch_at
        order = actions.dispatch(order, acting_user=self.dispatcher(), lead_unit=unit, co_units=co, at=t)
        for co_unit in co:
            co_at = _working_hour(rng, t, rng.uniform(1, 20))
            actions.co_sign(order, acting_user=self.handler(co_unit), at=co_at)
            actions.co_reply(order, acting_user=self.handler(co_unit), at=co_at + dt.timedelta(hours=rng.uniform(4, 40)),
                             public_reply=corpus.compose_reply(plan.leaf, rng, unit=co_unit.short_name, solved=True))
        self.lead_handles(order, plan, unit, t)

    def lead_handles(self, order: WorkOrder, plan: PlannedOrder, unit: Unit, t: dt.datetime) -> None:
        """The lead unit's part, as planned (``plan_behaviours``): every failing is deliberate."""
        rng = self.rng
        handler = self.handler(unit)
        sign_limit = order.sign_deadline
        if plan.refused_return:
            # Asked and refused within the sign-for limit: the unit is deemed to have signed then.
            ask_at = t + (sign_limit - t) * rng.uniform(0.1, 0.4)
            order = actions.request_return(order, acting_user=handler, at=ask_at,
                                           reason=corpus.compose_return_reason(rng),
                                           basis="依据本单位“三定”方案，该事项不属于本单位职责")
            t = ask_at + (sign_limit - ask_at) * rng.uniform(0.2, 0.8)
            order = actions.reject_return(order, acting_user=self.dispatcher(), at=t,
                                          note="该事项属于本单位职责范围，请按时办理")
        else:
            deadline = order.handle_deadline
            if plan.late_sign:
                room = (deadline - sign_limit).total_seconds() / 3600 if deadline else 48
                sign_at = sign_limit + dt.timedelta(hours=rng.uniform(0.2, 0.5) * min(60.0, room))
            else:
                sign_at = t + min((sign_limit - t) * rng.uniform(0.05, 0.7), dt.timedelta(hours=6))
            order = actions.sign(order, acting_user=handler, at=sign_at)
            t = sign_at
        deadline = order.handle_deadline
        if plan.late_reply:
            remind_at = deadline - dt.timedelta(hours=rng.uniform(2, 12))
            if remind_at > t:
                order = actions.remind(order, acting_user=self.dispatcher(), at=remind_at,
                                       notice="工单即将到期，请抓紧办理并按时回复")
            reply_at = deadline + dt.timedelta(hours=rng.uniform(3, 90))
            supervise_at = _working_hour(rng, deadline, 26)
            if reply_at - deadline > dt.timedelta(hours=30) and supervise_at < reply_at:
                order = actions.supervise(order, acting_user=self.supervisor, at=supervise_at,
                                          notice=f"工单已超期，请{unit.short_name}于2个工作日内办结并书面说明原因")
        else:
            if rng.random() < 0.05 and deadline - t > dt.timedelta(hours=30):
                # An extension asked for and decided; the unit still replies within the first limit.
                ask = t + (deadline - t) * rng.uniform(0.3, 0.6)
                order = actions.request_extension(order, acting_user=handler, at=ask,
                                                  new_deadline=deadline + dt.timedelta(days=rng.choice([3, 5, 7])),
                                                  reason=corpus.compose_extension_reason(rng),
                                                  basis="需协调多个部门现场处置")
                decide = ask + (deadline - ask) * rng.uniform(0.05, 0.2)
                if rng.random() < 0.8:
                    order = actions.approve_extension(order, acting_user=self.dispatcher(), at=decide,
                                                      note="情况属实，同意延期")
                else:
                    order = actions.reject_extension(order, acting_user=self.dispatcher(), at=decide,
                                                     note="理由不充分，请按原时限办结")
                t = decide
            reply_at = _on_time(rng, t, deadline)
        order = actions.reply(order, acting_user=handler, at=reply_at, solved=plan.callback != "dissatisfied",
                              public_reply=corpus.compose_reply(plan.leaf, rng, unit=unit.short_name,
                                                                solved=plan.callback != "dissatisfied"),
                              internal_note="已电话联系来电人说明办理情况" if rng.random() < 0.6 else "",
                              is_true=rng.choices([Truth.TRUE, Truth.PARTLY, Truth.FALSE], weights=[7, 2, 1])[0],
                              contacted_at=reply_at - dt.timedelta(hours=rng.uniform(0.5, 6)))
        review_at = _working_hour(rng, reply_at, rng.uniform(0.3, 6))
        again = _working_hour(rng, review_at, rng.uniform(2, 30))
        if not plan.late_reply and rng.random() < 0.04 and again < deadline - dt.timedelta(minutes=10):
            # Sent back for a fuller answer, and answered again within the limit.
            order = actions.send_back(order, acting_user=self.dispatcher(), at=review_at,
                                      note="答复内容未说明具体处理结果，请补充后重新回复")
            order = actions.reply(order, acting_user=handler, at=again, solved=plan.callback != "dissatisfied",
                                  is_true=Truth.TRUE,
                                  public_reply=corpus.compose_reply(plan.leaf, rng, unit=unit.short_name,
                                                                    solved=plan.callback != "dissatisfied"))
            review_at = _working_hour(rng, again, rng.uniform(0.3, 6))
        order = actions.approve_reply(order, acting_user=self.dispatcher(), at=review_at)
        reported = None
        if order.is_upstream:
            # The upstream platform's report is due once the reply is approved, not after the
            # local callback (hotline.intake.upstream.due_for_report).
            reported = review_at + dt.timedelta(minutes=10)
            order = actions.report_back(order, acting_user=self.dispatcher(), at=reported)
        order = self.unit_callback(order, plan, not_before=reported)
        if order.is_upstream and order.status == "closed":
            # The report's delay used to be drawn here: the draw stays, so the rest of the month's
            # random stream (and with it the seed's figures) is what it was.
            rng.uniform(0.2, 4)

    def unit_callback(self, order: WorkOrder, plan: PlannedOrder, *,
                      not_before: dt.datetime | None = None) -> WorkOrder:
        """The callback of a unit's order, as planned: reached or not, satisfied or not; no rework."""
        rng = self.rng
        at = _working_hour(rng, order.replied_at or plan.received_at, rng.uniform(14, 30))
        if not_before is not None and at <= not_before:
            at = not_before + dt.timedelta(minutes=5)
        if plan.callback == "unreached":
            return self.unreached(order, at)
        satisfied = plan.callback == "satisfied"
        if satisfied:
            level = rng.choices([Satisfaction.VERY_SATISFIED, Satisfaction.SATISFIED,
                                 Satisfaction.BASICALLY_SATISFIED], weights=[5, 4, 1])[0]
        else:
            level = rng.choice([Satisfaction.DISSATISFIED, Satisfaction.VERY_DISSATISFIED])
        return actions.record_callback(order, acting_user=self.operator(), reached=True, satisfaction=level,
                                       solved=satisfied, reasonable=True, rework=False,
                                       note=corpus.compose_callback_note(rng, satisfied=satisfied), at=at)

    def unreached(self, order: WorkOrder, at: dt.datetime) -> WorkOrder:
        """A citizen who never answers: every attempt the retry policy allows, each when it falls
        due, the last closing the order as 无法联系. Draws nothing from the plan's random stream
        (the month's other figures stay where they were)."""
        while True:
            order = actions.record_callback(order, acting_user=self.operator(), reached=False, at=at,
                                            note="回访未接通")
            if order.status != "awaiting_callback":
                return order
            at = order.next_callback_at

    def callback(self, order: WorkOrder, plan: PlannedOrder, *, quality: float, solved: bool = True,
                 rounds: int = 1) -> WorkOrder:
        """The callback of an order the center answered itself (no unit is assessed on it)."""
        rng = self.rng
        at = _working_hour(rng, order.replied_at or plan.received_at, rng.uniform(14, 30))
        reached = rng.random() < 0.93
        if not reached:
            return self.unreached(order, at)
        p_good = (0.92 + 0.07 * quality) if solved else (0.55 + 0.2 * quality)
        if rng.random() < p_good:
            level = rng.choices([Satisfaction.VERY_SATISFIED, Satisfaction.SATISFIED,
                                 Satisfaction.BASICALLY_SATISFIED], weights=[5, 4, 1])[0]
        else:
            level = rng.choice([Satisfaction.DISSATISFIED, Satisfaction.VERY_DISSATISFIED])
        dissatisfied = level in (Satisfaction.DISSATISFIED, Satisfaction.VERY_DISSATISFIED)
        return actions.record_callback(order, acting_user=self.operator(), reached=True, satisfaction=level,
                                       solved=solved and not dissatisfied, reasonable=not dissatisfied
                                       or rng.random() < 0.6,
                                       note=corpus.compose_callback_note(rng, satisfied=not dissatisfied), at=at)


def _next_month(t: dt.datetime) -> dt.datetime:
    """The first instant of the center's month after ``t``'s."""
    return clock.month_bounds(*clock.month_of(t))[1]


def _on_time(rng: random.Random, start: dt.datetime, deadline: dt.datetime | None) -> dt.datetime:
    """A reply time after ``start`` and before ``deadline``, in office hours when there is room."""
    if deadline is None:
        return _working_hour(rng, start, rng.uniform(2, 48))
    span = deadline - start
    at = start + span * rng.uniform(0.1, 0.85)
    moved = _working_hour(rng, at, 0)
    if moved < deadline - dt.timedelta(minutes=10):
        at = moved
    return max(min(at, deadline - dt.timedelta(minutes=5)), start + min(span / 2, dt.timedelta(minutes=20)))


def _stationing(year: int, month: int) -> None:
    """Stationed staff for every unit that must keep some, except the briefing's three."""
    first = dt.date(year, month, 1)
    rng = random.Random(f"stationing-{year}-{month}")
    for unit in Unit.objects.filter(must_station=True):
        if unit.stationings.exists():
            continue
        if unit.short_name in STATIONING_MISSING:
            if unit.short_name == "人力资源和社会保障局":
                # Stationed until the end of the previous month, not replaced.
                Stationing.objects.create(unit=unit, staff_name=corpus.person_name(rng),
                                          start_date=first - dt.timedelta(days=200),
                                          end_date=first - dt.timedelta(days=1), note="调回原单位，未补派")
            continue
        Stationing.objects.create(unit=unit, staff_name=corpus.person_name(rng),
                                  staff_phone=corpus.mobile_phone(rng), start_date=first - dt.timedelta(days=120))


def _calls(rng: random.Random, year: int, month: int, created: list[tuple[WorkOrder, PlannedOrder]],
           total: int, operators: list) -> int:
    """Call detail records: one per phoned-in order, the rest follow-ups, quick answers, hang-ups."""
    rows = []
    for order, plan in created:
        if plan.source == Source.PHONE:
            rows.append(Call(started_at=plan.received_at - dt.timedelta(minutes=rng.randint(3, 9)),
                             caller_phone=plan.caller[1], agent=order.registered_by, order=order,
                             wait_seconds=int(rng.expovariate(1 / 9)), talk_seconds=rng.randint(90, 600),
                             result=Call.Result.ORDER))
    extra = max(0, total - len(rows))
    times = _received_times(rng, year, month, extra)
    kinds = [Call.Result.FOLLOW_UP] * 40 + [Call.Result.ANSWERED] * 35 + [Call.Result.ABANDONED] * 18 + \
        [Call.Result.INVALID] * 7
    phones = [p.caller[1] for _, p in created]
    for t in times:
        kind = rng.choice(kinds)
        answered = kind != Call.Result.ABANDONED
        rows.append(Call(started_at=t, caller_phone=rng.choice(phones) if kind == Call.Result.FOLLOW_UP
                         else corpus.mobile_phone(rng), agent=rng.choice(operators) if answered else None,
                         wait_seconds=int(rng.expovariate(1 / (9 if answered else 40))),
                         talk_seconds=rng.randint(30, 300) if answered else 0, answered=answered, result=kind))
    Call.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def generate_month(year: int = 2023, month: int = 7, *, seed: int = 2023, orders: int | None = None,
                   themes: bool = True, password: str = DEMO_PASSWORD,
                   progress: Callable[[int, int], None] | None = None) -> Report:
    """Fill the database with one month; returns what was created. Idempotence is the caller's job:
    generating the same month twice adds a second month's worth of orders.

    ``themes=False`` makes an ordinary month (no hot problems), the history a briefing's
    hot-problem detection compares the seed month against."""
    shape = SEED_SHAPE if orders is None or orders == SEED_SHAPE.total else SEED_SHAPE.scaled(orders)
    if not themes:
        shape = shape.ordinary()
    rng = random.Random(seed)
    load_defaults()
    people = ensure_people(password)
    units = {u.short_name: u for u in Unit.objects.select_related("parent")}
    cards = {g.key: ScorecardVersion.for_month(g, year, month)[0] for g in UnitGroup.objects.all()}
    plan = plan_month(year, month, shape, rng, themes=themes, route=catalog_router(),
                      cards={k: cards.get(k) or default_scorecard(k) for k in (TOWNSHIP, DEPARTMENT)})
    types = {t.code: t for t in AppealType.objects.all()}
    categories = {c.code: c for c in Category.objects.filter(level=2)}
    platforms = {p.code: p for p in UpstreamPlatform.objects.all()}
    walker = Walker(rng, people, units, password)
    report = Report()
    with transaction.atomic():
        _stationing(year, month)
        created: list[tuple[WorkOrder, PlannedOrder]] = []
        for item in plan:
            title, content = corpus.compose_appeal(item.leaf, rng, town=item.town,
                                                   place=corpus.place_in_town(rng, item.town), theme=item.theme)
            upstream = item.source == Source.UPSTREAM
            order = actions.register_order(
                acting_user=None if upstream else walker.operator(), at=item.received_at, title=title,
                content=content, appeal_type=types[item.appeal_type], category=categories[item.leaf],
                urgency=item.urgency, source=item.source, caller_name=item.caller[0], caller_phone=item.caller[1],
                confidential=rng.random() < 0.02, town=units[item.town],
                address=corpus.place_in_town(rng, item.town),
                upstream_platform=platforms[item.platform] if upstream else None,
                upstream_number=f"{item.platform.upper()}{item.received_at:%Y%m%d}{len(created):05d}" if upstream
                else "",
                upstream_deadline=item.received_at + dt.timedelta(days=rng.choice([5, 7, 10])) if upstream else None)
            created.append((order, item))
        for done, (order, item) in enumerate(created, start=1):
            try:
                if item.dispatched:
                    walker.unit_handles(order, item)
                else:
                    target = created[item.repeat_of][0] if item.repeat_of is not None else None
                    walker.center_handles(order, item, target)
            except WorkflowError as error:  # a planning mistake must be visible, not silent
                report.refused.append(f"{order.number}: {error}")
            report.by_disposition[item.disposition] += 1
            if progress and done % 250 == 0:
                progress(done, len(created))
        report.orders = len(created)
        report.calls = _calls(rng, year, month, created, shape.calls, walker.operators)
        _bonuses(created, units, walker.supervisor, year, month)
    from hotline.workorders.models import Event

    lo, hi = clock.month_bounds(year, month)
    report.events = Event.objects.filter(order__received_at__gte=lo, order__received_at__lt=hi).count()
    return report


def catalog_router() -> Router:
    """The dispatch catalog in the database as a ``Router``: the same rule as the dispatcher's
    suggestion (``hotline.workorders.queries.suggest_units``): a rule for the order's town first,
    then the category's rules by position; a rule without a unit, or no rule, means the town."""
    rules: dict[str, list[tuple[str | None, str | None]]] = {}
    for leaf, town, unit in (DispatchRule.objects.order_by(F("town_id").desc(nulls_last=True), "position", "id")
                             .values_list("category__code", "town__short_name", "unit__short_name")):
        rules.setdefault(leaf, []).append((town, unit))

    def route(leaf: str, town: str) -> str:
        for rule_town, unit in rules.get(leaf, ()):
            if rule_town is None or rule_town == town:
                return unit or town
        return town

    return route


def _bonuses(created: list[tuple[WorkOrder, PlannedOrder]], units: dict[str, Unit], supervisor, year: int,
             month: int) -> None:
    """The bonus items the month's orders earned their units, entered by the supervisor after the month."""
    from hotline.assessment.actions import award_bonus

    notes = {"praise": "来电人致电热线表扬承办单位办理及时、态度热情",
             "typical_case": "办理过程规范、效果良好，选为本月典型案例",
             "proactive_governance": "举一反三，对同类问题开展源头治理"}
    when = _next_month(created[0][1].received_at) + dt.timedelta(days=3, hours=10) if created else None
    for order, plan in created:
        if plan.bonus:
            unit = units[assessed_name(plan.lead)]
            award_bonus(unit, year, month, acting_user=supervisor, kind=plan.bonus, order=order,
                        note=notes[plan.bonus], at=when)


def generate_live(*, seed: int = 7, count: int = 120, now: dt.datetime | None = None,
                  password: str = DEMO_PASSWORD) -> int:
    """Orders of the last days at every stage, so inboxes, queues and overdue lists have work in them."""
    from django.utils import timezone

    now = now or timezone.now()
    rng = random.Random(seed)
    people = ensure_people_if_missing(password)
    units = {u.short_name: u for u in Unit.objects.select_related("parent")}
    walker = Walker(rng, people, units, password)
    types = {t.code: t for t in AppealType.objects.all()}
    categories = {c.code: c for c in Category.objects.filter(level=2)}
    route = catalog_router()
    named = ["杨楼镇", "寄料镇", "住房和城乡建设局"]  # the units of the named demo handlers
    made = 0
    with transaction.atomic():
        for _ in range(count):
            leaf = rng.choice(list(catalog_data.LEAF_ROUTING))
            town = rng.choice(catalog_data.TOWNS)
            if rng.random() < 0.25:
                # Work for the named demo handlers: an appeal the catalog sends to one of them.
                wanted = rng.choice(named)
                places = [(lf, tw) for lf in catalog_data.LEAF_ROUTING
                          for tw in ([wanted] if wanted in catalog_data.TOWNS else [town])
                          if route(lf, tw) == wanted]
                leaf, town = rng.choice(places)
            received = now - dt.timedelta(hours=rng.uniform(0.5, 24 * 9))
            title, content = corpus.compose_appeal(leaf, rng, town=town, place=corpus.place_in_town(rng, town))
            order = actions.register_order(
                acting_user=walker.operator(), at=received, title=title, content=content,
                appeal_type=types[rng.choice(["problem", "complaint", "consult", "other"])], category=categories[leaf],
                town=units[town], address=corpus.place_in_town(rng, town), caller_name=corpus.person_name(rng),
                caller_phone=corpus.mobile_phone(rng))
            made += 1
            stage = rng.random()
            if stage < 0.1:
                continue  # just registered
            t = received + dt.timedelta(minutes=10)
            order = actions.submit_for_dispatch(order, acting_user=order.registered_by, at=t)
            if stage < 0.25:
                continue  # waiting in the dispatch queue
            unit = units[route(leaf, town)]
            t = min(now, t + dt.timedelta(hours=rng.uniform(0.3, 4)))
            order = actions.dispatch(order, acting_user=walker.dispatcher(), lead_unit=unit, at=t)
            if stage < 0.45:
                continue  # waiting to be signed for
            t = min(now, t + dt.timedelta(hours=rng.uniform(0.2, 12)))
            order = actions.sign(order, acting_user=walker.handler(unit), at=t)
            if stage < 0.8:
                continue  # in handling (some near-due, some overdue)
            t = min(now, t + dt.timedelta(hours=rng.uniform(1, 30)))
            order = actions.reply(order, acting_user=walker.handler(unit), at=t, solved=True, is_true=Truth.TRUE,
                                  public_reply=corpus.compose_reply(leaf, rng, unit=unit.short_name, solved=True))
            if stage < 0.9:
                continue  # reply awaiting review
            order = actions.approve_reply(order, acting_user=walker.dispatcher(), at=min(now, t + dt.timedelta(hours=1)))
    return made


def ensure_people_if_missing(password: str = DEMO_PASSWORD) -> dict:
    from hotline.accounts.models import User
    from hotline.demo.people import PEOPLE

    existing = {u.username: u for u in User.objects.filter(username__in=[p[0] for p in PEOPLE])}
    if len(existing) == len(PEOPLE):
        return existing
    return ensure_people(password)
