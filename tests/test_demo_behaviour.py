"""The demo's behaviour planner (hotline/demo/behaviour.py): pure, no database."""

from decimal import Decimal

from hotline.assessment.default_scorecard import default_scorecard
from hotline.demo.behaviour import Behaviour, expected_counts, plan_behaviour, score_of


def test_a_perfect_month_scores_the_base_and_stationing_costs_a_department_five():
    card = default_scorecard("department")
    assert score_of(card, Behaviour(30)) == Decimal("100.00")
    assert score_of(card, Behaviour(30), stationing_noncompliant=True) == Decimal("95.00")


def test_each_lever_moves_its_own_counts():
    b = Behaviour(20, upstream_orders=4, late_signs=2, late_replies=3, dissatisfied=1, upstream_dissatisfied=1,
                  unreached=2, refused_returns=1)
    counts = expected_counts(b)
    assert (counts["dispatched"], counts["signed_on_time"]) == (20, 18)
    assert (counts["due"], counts["closed_on_time"]) == (20, 17)
    assert (counts["callbacks"], counts["satisfied"], counts["solved"]) == (18, 16, 16)
    assert (counts["upstream_callbacks"], counts["upstream_satisfied"]) == (4, 3)
    assert counts["unjustified_returns"] == 1 and counts["reworks"] == 0


def test_the_planner_reaches_a_score_off_the_half_point_grid_exactly_or_not_at_all():
    """温泉镇's 90.57 needs a per-point rate with the right denominator: some numbers of orders
    reach it exactly, others cannot (the generator then moves an order or two)."""
    card = default_scorecard("township")
    plans = {n: plan_behaviour(card, Decimal("90.57"), n) for n in range(14, 30)}
    reached = [n for n, b in plans.items() if b is not None]
    assert reached and len(reached) < len(plans)
    for n in reached:
        assert plans[n].orders == n and score_of(card, plans[n]) == Decimal("90.57")


def test_scores_above_a_hundred_come_from_bonuses():
    card = default_scorecard("department")
    b = plan_behaviour(card, Decimal("101.5"), 100)
    assert b is not None and len(b.bonuses) >= 2
    assert score_of(card, b) == Decimal("101.5")


def test_an_unreachable_score_has_no_plan():
    card = default_scorecard("township")
    assert plan_behaviour(card, Decimal("104"), 30) is None  # bonuses are capped at 3
    assert plan_behaviour(card, Decimal("99.99"), 6) is None
