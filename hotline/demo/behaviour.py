"""How each unit behaves in the demo month: the late sign-fors, late replies, dissatisfied callers,
refused returns and bonuses the generator plants, so that the month scores as the seed's annexes.

The seed briefing prints each unit's score (杨楼镇 99.5, 温泉镇 90.57 …) but not the behaviour
behind it. The demo works backwards once, at planning time: for a unit with ``orders`` lead orders
it looks for the plainest behaviour that the group's scorecard scores at the seed's figure, and the
generator then plays that behaviour out through the real workflow actions (a late sign-for is a
``sign`` after the limit, a dissatisfied caller a ``record_callback`` saying 不满意). The
assessment never sees this module: it counts the month's events like any other month, so a
scorecard or a definition that changes changes the demo's scores too (tests/test_demo_month.py
holds them to the seed).

Pure: standard library and the assessment engine only.

The counts each behaviour leaves behind (``expected_counts``) follow the one definition of each
figure (docs/assessment.md, "How the figures are counted"): every lead order of the month is
dispatched, signed (or its return refused within the sign-for limit), replied and called back
within the planning; a late reply is replied after its handling deadline; a dissatisfied callback
is reached, not satisfied and not solved, and is not reworked; an unreached callback leaves the
order out of 满意率 and 解决率.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from hotline.assessment.engine import BonusClaim, Scorecard, UnitFigures, score_unit

# Share of callbacks that do not reach the caller, as in the center's ordinary month.
UNREACHED_SHARE = 0.07
# A reply after the handling deadline is an overdue order (超期): hotline.metrics defines 超期 as
# the due orders not closed on time (docs/metrics.md), so the two can never disagree.
LATE_REPLY_IS_OVERDUE = True
BONUS_KINDS = ("praise", "typical_case", "proactive_governance")


@dataclass(frozen=True)
class Behaviour:
    """What one unit does with its month's lead orders (counts of orders)."""

    orders: int
    late_signs: int = 0
    late_replies: int = 0
    dissatisfied: int = 0
    upstream_orders: int = 0
    upstream_dissatisfied: int = 0
    unreached: int = 0
    refused_returns: int = 0
    bonuses: tuple[str, ...] = field(default=())

    def describe(self) -> str:
        parts = [f"{self.orders} 件"]
        for label, value in (("超时签收", self.late_signs), ("超期答复", self.late_replies),
                             ("回访不满意", self.dissatisfied),
                             ("上级交办回访不满意", self.upstream_dissatisfied), ("回访未接通", self.unreached),
                             ("不当退单", self.refused_returns)):
            if value:
                parts.append(f"{label} {value}")
        if self.bonuses:
            parts.append("加分 " + "、".join(self.bonuses))
        return "，".join(parts)


def expected_counts(b: Behaviour, *, stationing_noncompliant: bool = False) -> dict[str, int]:
    """The counts the month's figures give a unit that behaves as ``b``."""
    reached = b.orders - b.unreached
    unhappy = b.dissatisfied + b.upstream_dissatisfied
    return {
        "dispatched": b.orders,
        "signed_on_time": b.orders - b.late_signs,
        "due": b.orders,
        "closed_on_time": b.orders - b.late_replies,
        "callbacks": reached,
        "satisfied": reached - unhappy,
        "solved": reached - unhappy,
        # Unreached callbacks are planted on local orders: every upstream caller is reached.
        "upstream_callbacks": b.upstream_orders,
        "upstream_satisfied": b.upstream_orders - b.upstream_dissatisfied,
        "upstream_solved": b.upstream_orders - b.upstream_dissatisfied,
        "replies": b.orders,
        "replies_compliant": b.orders,
        "overdue": b.late_replies if LATE_REPLY_IS_OVERDUE else 0,
        "unjustified_returns": b.refused_returns,
        "reworks": 0,
        "supervision_failed": 0,
        "stationing_noncompliant": int(stationing_noncompliant),
    }


def score_of(card: Scorecard, b: Behaviour, *, stationing_noncompliant: bool = False) -> Decimal:
    """The score ``card`` gives a unit that behaves as ``b``."""
    counts = expected_counts(b, stationing_noncompliant=stationing_noncompliant)
    claims = tuple(BonusClaim(kind=k, count=n) for k, n in sorted(_tally(b.bonuses).items()))
    figures = UnitFigures(unit_id=0, unit_name="", order_count=b.orders,
                          counts={k: counts.get(k, 0) for k in card.count_keys()}, bonuses=claims)
    return score_unit(card, figures).score


def _tally(kinds: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for k in kinds:
        out[k] = out.get(k, 0) + 1
    return out


def plan_behaviour(card: Scorecard, target: Decimal, orders: int, *, upstream_orders: int = 0,
                   stationing_noncompliant: bool = False) -> Behaviour | None:
    """The plainest behaviour that ``card`` scores exactly ``target``, or None when there is none.

    Each lever moves its own lines of the score sheet only (sign-for: 及时签收率; late replies:
    按时办结率, and 超期 when late replies count as overdue; dissatisfied and unreached callbacks:
    满意率 and 解决率, and 上级交办满意率 for an upstream caller; refused returns: 不当退单; bonuses:
    the bonus lines), so the sheet is the perfect month's plus each lever's own change, and the
    search combines levers by their changes. "Plainest" is the fewest planted events, with about the
    usual share of unreached callbacks; dissatisfied upstream callers only when nothing else fits.
    """
    target = Decimal(target)
    local = orders - upstream_orders
    st = stationing_noncompliant
    perfect = Behaviour(orders, upstream_orders=upstream_orders)
    base = score_of(card, perfect, stationing_noncompliant=st)
    perfect_counts = expected_counts(perfect, stationing_noncompliant=st)
    cards: dict[frozenset, tuple[Scorecard, Decimal]] = {}

    def delta(**levers) -> Decimal:
        # Only the lines the lever moves are scored (a lever's change is the same on the whole card).
        b = Behaviour(orders, upstream_orders=upstream_orders, **levers)
        moved = frozenset(k for k, v in expected_counts(b, stationing_noncompliant=st).items()
                          if v != perfect_counts[k]) | ({"bonuses"} if b.bonuses else set())
        if moved not in cards:
            part = dataclasses.replace(
                card, rates=tuple(r for r in card.rates if {r.numerator, r.denominator} & moved),
                deductions=tuple(d for d in card.deductions if d.key in moved),
                bonuses=card.bonuses if "bonuses" in moved else ())
            cards[moved] = (part, score_of(part, perfect, stationing_noncompliant=st))
        part, part_base = cards[moved]
        return score_of(part, b, stationing_noncompliant=st) - part_base

    def cheapest(options):
        """value -> levers with the fewest events for that change."""
        best: dict[Decimal, tuple[float, dict]] = {}
        for cost, levers in options:
            d = delta(**levers)
            if d not in best or cost < best[d][0]:
                best[d] = (cost, levers)
        return best

    usual = round(orders * UNREACHED_SHARE)
    signs = cheapest((s, {"late_signs": s}) for s in range(orders // 2 + 1))
    replies = cheapest((n, {"late_replies": n}) for n in range(orders // 2 + 1))

    def callback_options(unreached: range, upstream: range):
        return cheapest((d + 3 * e + 0.5 * abs(u - usual), {"unreached": u, "dissatisfied": d,
                                                             "upstream_dissatisfied": e})
                        for u in unreached if u <= local
                        for d in range(0, min(local - u, 60) // 2 + 1)
                        for e in upstream)

    returns = cheapest((r, {"refused_returns": r}) for r in range(0, min(orders, 12) + 1))
    bonus_options = []
    for counts in itertools.product(range(3), repeat=len(BONUS_KINDS)):
        kinds = tuple(k for k, n in zip(BONUS_KINDS, counts, strict=True) for _ in range(n))
        bonus_options.append((4 * len(kinds), {"bonuses": kinds}))
    bonuses = cheapest(bonus_options)

    want = target - base
    found: tuple[float, dict] | None = None
    # Widening steps: unreached callbacks near the usual share; then up to a sixth of the orders;
    # then dissatisfied upstream callers too.
    near = range(max(0, usual - 3), usual + 4)
    wide = range(0, max(2, orders // 6) + 1)
    for unreached, upstream in ((near, range(1)), (wide, range(1)), (wide, range(1, min(upstream_orders // 2, 6) + 1))):
        callbacks = callback_options(unreached, upstream)
        for (ds, (cs, ls)), (dr, (cr, lr)), (dt_, (ct, lt)), (db, (cb, lb)) in itertools.product(
                signs.items(), replies.items(), returns.items(), bonuses.items()):
            hit = callbacks.get(want - ds - dr - dt_ - db)
            if hit is None:
                continue
            cost = cs + cr + ct + cb + hit[0]
            if found is None or cost < found[0]:
                found = (cost, {**ls, **lr, **lt, **lb, **hit[1]})
        if found is not None:
            break
    if found is None:
        return None
    behaviour = Behaviour(orders, upstream_orders=upstream_orders, **found[1])
    assert score_of(card, behaviour, stationing_noncompliant=st) == target
    return behaviour


def rough_behaviour(score: float, orders: int, upstream_orders: int = 0) -> Behaviour:
    """A plain behaviour in proportion to a score, for months the seed's scores cannot be fitted to
    (a small or ordinary month): the lower the score, the more of each failing."""
    weak = min(1.0, max(0.0, (101 - float(score)) / 25))
    unreached = round(orders * UNREACHED_SHARE)
    local = orders - upstream_orders
    return Behaviour(orders, upstream_orders=upstream_orders, late_signs=round(orders * weak * 0.12),
                     late_replies=round(orders * weak * 0.1),
                     dissatisfied=min(max(local - unreached, 0), round(orders * weak * 0.15)),
                     unreached=min(unreached, local), refused_returns=round(orders * weak * 0.08),
                     bonuses=("praise",) if score > 100 else ())
