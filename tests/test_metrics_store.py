"""A closed month's unit figures are counted once and kept (``hotline.metrics.store``), and counted
again after a late change: the July 2023 of ``test_analytics`` (A … K, told there) read on
1 August and after.

Every reading of the kept figures is compared with a fresh count (the month's row deleted first),
field by field and in order: counts, evidence lists, excluded orders, names.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from hotline.lib import clock
from hotline.metrics import store
from hotline.metrics.models import MonthUnitFigures
from hotline.metrics.units import unit_metrics
from hotline.workorders import actions as a
from hotline.workorders.models import Assignment, Reminder
from tests.conftest import at
from tests.test_analytics import FAR_LATER, JULY, build_july

JULY_BOUNDS = clock.month_bounds(2023, 7)
AUGUST_1 = at(2023, 8, 1, 9, 0)


@pytest.fixture
def july(people, unit, new_order):
    return build_july(people, unit, new_order)


def snapshot(metrics) -> list:
    """Everything a reader sees of ``unit_metrics``' answer, in its order."""
    return [(m.unit_id, m.short_name, m.name, m.group, m.parent_id, list(m.counts.items()),
             [(k, list(v)) for k, v in m.evidence.items()], list(m.excluded_orders)) for m in metrics.values()]


def read(as_of=FAR_LATER, **kwargs):
    """(snapshot, how many passes over the month's lead assignments the reading made)."""
    with CaptureQueriesContext(connection) as queries:
        metrics = unit_metrics(*JULY_BOUNDS, as_of=as_of, using="default", **kwargs)
    return snapshot(metrics), sum("per_order" in q["sql"] for q in queries.captured_queries)


def fresh(as_of=FAR_LATER, **kwargs) -> list:
    """A count from scratch: the month's kept row deleted first."""
    MonthUnitFigures.objects.filter(year=2023, month=7).delete()
    figures, passes = read(as_of, **kwargs)
    assert passes == 1
    return figures


def assessed_units():
    from hotline.assessment.figures import assessed_units

    return assessed_units()


def test_the_kept_figures_are_the_counted_ones(july, unit):
    first, passes = read()
    assert passes == 1
    row = MonthUnitFigures.objects.get(year=2023, month=7)
    assert row.as_of == FAR_LATER and row.valid_until is None  # by December every limit had passed
    again, passes = read()
    assert passes == 0 and again == first
    # A later cut-off is answered from the same row: nothing of July was still running.
    assert read(at(2024, 3, 1))[1] == 0

    # The assessment's reading (every assessed unit, zeros included) from the kept row.
    units = assessed_units()
    kept, passes = read(units=units)
    assert passes == 0
    assert kept == fresh(units=units)
    yanglou = next(r for r in kept if r[0] == unit("杨楼镇").pk)
    assert dict(yanglou[5])["dispatched"] == 1  # A (C's assignment was returned)
    quiet = next(r for r in kept if r[0] == unit("城市管理局").pk)
    assert set(dict(quiet[5]).values()) == {0} and quiet[6] == [] and quiet[7] == []

    # Names come from the directory at each reading; a renamed unit is not a late change.
    zhujian = unit("住房和城乡建设局")
    zhujian.short_name = "住建局"
    zhujian.save(update_fields=["short_name"])
    renamed, passes = read()
    assert passes == 0 and renamed == fresh()
    assert "住建局" in {r[1] for r in renamed}


def test_evidence_and_exclusions_survive_the_store_in_order(july, people, unit, new_order):
    """Several orders behind one shortfall, an excluded order and a rejected return, read back in
    the order counted (PostgreSQL's jsonb sorts object keys: the row keeps lists)."""
    from hotline.assessment import actions as assess

    li, wang, zhao = people["operator_li"], people["dispatcher_wang"], people["handler_zhao"]
    yanglou = unit("杨楼镇")
    for day in (10, 11, 12, 13):
        order = new_order(at=at(2023, 7, day, 9), title=f"路灯不亮（{day}日）")
        a.submit_for_dispatch(order, acting_user=li, at=at(2023, 7, day, 9, 30))
        a.dispatch(order, acting_user=wang, lead_unit=yanglou, at=at(2023, 7, day, 10))
        if day == 11:  # 赵 asks to return it, 王 refuses: deemed signed on time
            a.request_return(order, acting_user=zhao, reason="不属于本镇", basis="三定方案", at=at(2023, 7, day, 11))
            a.reject_return(order, acting_user=wang, note="属地管理", at=at(2023, 7, day, 12))
        if day == 12:
            assess.decide_exclusion(order, acting_user=people["supervisor_zhou"], reason="恶意诉求",
                                    at=at(2023, 7, day, 13))
    counted, _ = read()
    kept, passes = read()
    assert passes == 0 and kept == counted == fresh()
    row = next(r for r in kept if r[0] == yanglou.pk)
    evidence = dict(row[6])
    assert len(evidence["signed_late"]) == 2 and evidence["signed_late"] == sorted(evidence["signed_late"])
    assert len(evidence["unjustified_returns"]) == 1 and len(row[7]) == 1


def _reply_b(o, people):
    a.reply(o["B"], acting_user=people["handler_qian"], public_reply="已再次约谈商户并复秤，处理完毕。", solved=True,
            at=at(2023, 8, 2, 10))


def _approve_b(o, people):
    _reply_b(o, people)
    a.approve_reply(o["B"], acting_user=people["dispatcher_wang"], at=at(2023, 8, 2, 11))


def _callback_b(o, people):
    a.record_callback(o["B"], acting_user=people["operator_li"], satisfaction="satisfied", solved=True,
                      at=at(2023, 8, 3, 15))


def _exclude_a(o, people):
    from hotline.assessment import actions as assess

    assess.decide_exclusion(o["A"], acting_user=people["supervisor_zhou"], reason="经核查为恶意诉求",
                            at=at(2023, 8, 4, 9))


def _ask_return_h(o, people):
    a.request_return(o["H"], acting_user=people["handler_sun"], reason="不属于本局职责", basis="三定方案",
                     at=at(2023, 8, 1, 10))


def _reject_return_h(o, people):
    a.reject_return(o["H"], acting_user=people["dispatcher_wang"], note="属行业管理，应由住建局办理",
                    at=at(2023, 8, 1, 15))


def _supervise_h(o, people):
    a.supervise(o["H"], acting_user=people["supervisor_zhou"], notice="请于两日内书面反馈", respond_within_days=2,
                at=at(2023, 8, 1, 9))


def _sweep_fails_supervision(o, people):
    ids = list(Reminder.objects.filter(order=o["H"], kind=Reminder.Kind.SUPERVISION).values_list("pk", flat=True))
    assert a.mark_supervision_failed(ids, at=at(2023, 8, 10, 9)) == 1


@pytest.mark.parametrize(("before", "change", "unit_name", "key"), [
    (None, _reply_b, "寄料镇", "replies"),
    (_approve_b, _callback_b, "寄料镇", "satisfied"),
    (None, _exclude_a, "杨楼镇", "dispatched"),
    (_ask_return_h, _reject_return_h, "住房和城乡建设局", "unjustified_returns"),
    (_supervise_h, _sweep_fails_supervision, "住房和城乡建设局", "supervision_failed"),
], ids=["reply", "callback", "exclusion", "return_rejected", "supervision_failed_by_the_sweep"])
def test_an_action_on_the_month_after_it_was_kept_counts_it_again(july, people, unit, before, change,
                                                                   unit_name, key):
    """Each action is dated in August 2023, long before the row was computed: late changes are
    found by the event's id, not its time."""
    if before is not None:
        before(july, people)
    kept, passes = read()
    assert passes == 1
    computed = MonthUnitFigures.objects.get(year=2023, month=7).computed_at
    change(july, people)
    after, passes = read()
    assert passes == 1 and after != kept
    assert MonthUnitFigures.objects.get(year=2023, month=7).computed_at > computed  # replaced
    assert read()[1] == 0  # and kept again
    assert after == fresh()
    target = unit(unit_name).pk

    def figure(rows):
        return dict(next(r for r in rows if r[0] == target)[5])[key]

    assert figure(after) == figure(kept) + (-1 if key == "dispatched" else 1)


def test_an_action_on_another_month_leaves_the_row(july, people, new_order, unit):
    read()
    order = new_order(at=at(2023, 8, 2, 9))
    a.submit_for_dispatch(order, acting_user=people["operator_li"], at=at(2023, 8, 2, 9, 30))
    a.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"), at=at(2023, 8, 2, 10))
    assert read()[1] == 0


def test_a_sub_unit_given_to_another_parent_counts_the_month_again(people, unit, new_order):
    order = new_order()
    a.submit_for_dispatch(order, acting_user=people["operator_li"], at=at(2023, 7, 3, 9, 30))
    a.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("车管所"), at=at(2023, 7, 3, 10))
    kept, _ = read()
    assert unit("公安局").pk in {r[0] for r in kept}
    cheguansuo = unit("车管所")
    cheguansuo.parent = None  # an admin's edit: no event, no change time on units
    cheguansuo.save(update_fields=["parent"])
    moved, passes = read()
    assert passes == 1
    assert {r[0] for r in moved} == {cheguansuo.pk} and moved == fresh()


def test_a_cut_off_past_a_running_limit_counts_again(july, people, unit, new_order):
    """An order dispatched on 31 July: on 1 August its sign-for and handling limits are still
    running. Its figures hold until the earlier of them; a cut-off past it counts the month again,
    and the unsigned order is then signed late."""
    order = new_order(at=at(2023, 7, 31, 15))
    a.submit_for_dispatch(order, acting_user=people["operator_li"], at=at(2023, 7, 31, 15, 30))
    a.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"),
               handle_deadline=at(2023, 8, 10, 18), at=at(2023, 7, 31, 16))
    lead = Assignment.objects.get(order=order, role=Assignment.Role.LEAD)
    assert lead.sign_deadline > AUGUST_1
    running = min(lead.sign_deadline, at(2023, 8, 10, 18))

    kept, passes = read(AUGUST_1)
    assert passes == 1
    assert MonthUnitFigures.objects.get(year=2023, month=7).valid_until == running
    assert read(running - dt.timedelta(seconds=1))[1] == 0
    assert read(AUGUST_1)[1] == 0
    # An earlier cut-off than the row's is not answered from it.
    assert read(at(2023, 8, 1, 8))[1] == 1
    assert read(AUGUST_1)[1] == 0  # valid again from 08:00 (nothing passed between 08:00 and 09:00)

    # At the limit itself the month is counted again, though the limit has not passed yet (a
    # limit fails when the cut-off is after it): the row is not used at or past valid_until.
    at_limit, passes = read(running)
    assert passes == 1 and at_limit == kept
    later, passes = read(running + dt.timedelta(seconds=1))
    assert passes == 1
    row = MonthUnitFigures.objects.get(year=2023, month=7)
    assert row.as_of == running + dt.timedelta(seconds=1) and row.valid_until == at(2023, 8, 10, 18)
    yanglou = unit("杨楼镇").pk
    before = dict(next(r for r in kept if r[0] == yanglou)[5])
    now = dict(next(r for r in later if r[0] == yanglou)[5])
    assert now["signed_on_time"] == before["signed_on_time"] - 1
    assert later == fresh(running + dt.timedelta(seconds=1))


def test_filtered_readings_and_open_months_are_always_counted(july, unit):
    """A unit's or a town's figures, half a month, and July read before it ended: never kept."""
    yanglou = unit("杨楼镇")
    for kwargs in ({"unit": yanglou}, {"orders": Q(order__town=yanglou)}):
        assert read(**kwargs)[1] == 1
        assert read(**kwargs)[1] == 1
    assert read(at(2023, 7, 20, 12))[1] == 1  # July is still running
    assert read(at(2023, 7, 20, 12))[1] == 1
    with CaptureQueriesContext(connection) as queries:
        unit_metrics(*clock.days_bounds(dt.date(2023, 7, 1), dt.date(2023, 7, 15)), as_of=FAR_LATER, using="default")
    assert sum("per_order" in q["sql"] for q in queries.captured_queries) == 1
    assert not MonthUnitFigures.objects.exists()
    # The whole month once it has ended: kept.
    read()
    assert MonthUnitFigures.objects.count() == 1


def test_statistics_and_assessment_of_a_closed_month_count_it_once(july, people):
    from hotline.analytics.stats import period_statistics
    from hotline.assessment.actions import compute_month

    with CaptureQueriesContext(connection) as queries:
        stats = period_statistics(*JULY, as_of=AUGUST_1)
        result = compute_month(2023, 7, acting_user=people["supervisor_zhou"], at=AUGUST_1, as_of=AUGUST_1)
    assert sum("per_order" in q["sql"] for q in queries.captured_queries) == 1
    assert MonthUnitFigures.objects.count() == 1
    assert stats.rates.sign.denominator > 0 and result.groups


def test_other_counting_code_counts_again(july, monkeypatch):
    read()
    monkeypatch.setattr(store, "code_version", lambda: "a release that changed a definition")
    assert read()[1] == 1
    assert read()[1] == 0


def test_too_many_events_since_to_look_through_count_again(july, people, monkeypatch):
    read()
    monkeypatch.setattr(store, "CHECK_LIMIT", 0)
    assert read()[1] == 0  # nothing recorded since
    a.annotate(july["K"], acting_user=people["dispatcher_wang"], note="备注", at=at(2023, 9, 1, 9))
    assert read()[1] == 1  # one event (on an order of no unit) is already more than the limit
