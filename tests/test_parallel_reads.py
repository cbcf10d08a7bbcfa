"""Independent reads side by side (``hotline.lib.parallel``): the month's statistics count the same
whether their passes run at once on connections of their own or one after the other on one.

These tests commit (``transaction=True``): inside a test's transaction the reads run one after the
other, because another connection would not see the test's rows.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from hotline.analytics import stats
from hotline.analytics.stats import period_statistics
from hotline.lib import parallel
from hotline.metrics.models import MonthUnitFigures
from tests.test_analytics import FAR_LATER, JULY, build_july

pytestmark = pytest.mark.django_db(transaction=True)

ON_POSTGRES = connection.vendor == "postgresql"


def where_it_ran():
    """The thread a call ran in, and its connection (to see it closed afterwards)."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
    return threading.get_ident(), connections["default"]


def test_results_in_order_each_on_its_own_connection_closed_after():
    results = parallel.side_by_side(where_it_ran, lambda: "二", where_it_ran, lambda: "四", where_it_ran,
                                    using="default")
    assert results[1::2] == ["二", "四"]
    here = threading.get_ident()
    (first, first_conn), *others = results[0::2]
    # The first call runs here, on this thread's connection.
    assert first == here and first_conn is connections["default"] and first_conn.connection is not None
    if ON_POSTGRES:
        for ident, conn in others:
            assert ident != here and conn is not connections["default"]
            # Each pool thread closed what it opened: no backend left idle by a statistics page.
            assert conn.connection is None
    else:
        assert all(ident == here and conn is connections["default"] for ident, conn in others)


def test_inside_a_transaction_one_after_another_on_this_connection():
    with transaction.atomic():
        assert not parallel.can_run_side_by_side("default")
        results = parallel.side_by_side(where_it_ran, where_it_ran, using="default")
    assert [ident for ident, _ in results] == [threading.get_ident()] * 2
    assert all(conn is connections["default"] for _, conn in results)


def test_an_error_is_raised_once_the_calls_running_have_ended():
    ended = []

    def fails():
        raise ValueError("第一项失败")

    def slow():
        where_it_ran()
        ended.append(True)
        return 2

    with pytest.raises(ValueError, match="第一项失败"):
        parallel.side_by_side(fails, slow, using="default")
    # Side by side, the other call was already running and has ended; in turn, nothing runs after
    # a failure.
    assert ended == ([True] if ON_POSTGRES else [])
    with pytest.raises(ValueError, match="第一项失败"):
        parallel.side_by_side(slow, fails, using="default")
    assert ended == ([True, True] if ON_POSTGRES else [True])


def test_month_statistics_side_by_side_equal_one_after_another(people, unit, new_order, monkeypatch):
    build_july(people, unit, new_order)
    threads = []
    tables = stats._one_pass

    def tables_pass(*args, **kwargs):
        threads.append(threading.get_ident())
        return tables(*args, **kwargs)

    # The tables' pass is the second of the statistics' calls: in a thread of its own on PostgreSQL.
    monkeypatch.setattr(stats, "_one_pass", tables_pass)
    # The closed month's figures are kept after the first reading: each run counts afresh.
    MonthUnitFigures.objects.all().delete()
    at_once = period_statistics(*JULY, as_of=FAR_LATER)
    assert (threads[-1] != threading.get_ident()) is ON_POSTGRES
    # A unit's statistics page (its orders only) is never kept: counted afresh each time.
    unit_at_once = period_statistics(*JULY, as_of=FAR_LATER, unit=unit("杨楼镇"))

    monkeypatch.setattr(parallel, "can_run_side_by_side", lambda using: False)
    MonthUnitFigures.objects.all().delete()
    in_turn = period_statistics(*JULY, as_of=FAR_LATER)
    assert threads[-1] == threading.get_ident()
    unit_in_turn = period_statistics(*JULY, as_of=FAR_LATER, unit=unit("杨楼镇"))

    assert at_once == in_turn
    # Not an empty month compared with itself: the July of test_analytics has late replies,
    # evidence and returns in it.
    assert at_once.grand_total > 0 and at_once.overdue and any(m.evidence for m in at_once.unit_rates)
    assert sum(m.counts.get("return_requests", 0) for m in at_once.unit_rates) > 0
    assert unit_at_once == unit_in_turn and unit_at_once.grand_total > 0


def test_unit_figures_in_parts_by_order_equal_one_pass(people, unit, new_order, monkeypatch):
    """The unit figures' main pass cut in two by order id (a connection each, on PostgreSQL) gives
    the same counts, evidence lists in the same order, excluded orders and pending limit as one pass."""
    from hotline.lib import clock
    from hotline.metrics import units

    build_july(people, unit, new_order)
    lo, hi = clock.days_bounds(*JULY)
    parts = []
    main_pass = units._rows

    def counted_part(*args, **kwargs):
        parts.append(threading.get_ident())
        return main_pass(*args, **kwargs)

    monkeypatch.setattr(units, "_rows", counted_part)
    results = []
    for as_of in (FAR_LATER, lo + (hi - lo) / 2):  # every limit passed; mid-month, some still running
        monkeypatch.setattr(units, "PARTS", 2)
        parts.clear()
        in_parts = units.count_units(lo, hi, as_of=as_of, using="default")
        assert len(parts) == (2 if ON_POSTGRES else 1)
        monkeypatch.setattr(units, "PARTS", 1)
        whole = units.count_units(lo, hi, as_of=as_of, using="default")
        assert in_parts == whole
        assert list(in_parts[0]) == list(whole[0])
        results.append(whole)
    (counted, _), (_, pending) = results
    assert any(c.evidence for c in counted.values()) and pending is not None
    # Both parts had orders: the cut is not one part and an empty one.
    dispatched = units.lead_assignments(lo, hi, using="default").values_list("order_id", flat=True)
    assert {pk % 2 for pk in dispatched} == {0, 1}
