"""The demo month carries the seed briefing's figures exactly (ruzhou-2023-07-figures.json)."""

import json
from pathlib import Path

import pytest
from django.db.models import Count

from hotline.intake.models import Call
from hotline.workorders.models import Event, WorkOrder

FIGURES = json.loads((Path(__file__).parent / "data" / "ruzhou-2023-07-figures.json").read_text("utf-8"))

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture(scope="module")
def july(django_db_setup, django_db_blocker):
    from hotline.demo.generate import generate_month

    with django_db_blocker.unblock():
        report = generate_month(2023, 7, seed=2023)
        yield report
        # Module-scoped data lives outside the per-test transactions: clean up for the next module.
        from django.core.management import call_command

        call_command("flush", interactive=False, verbosity=0)


def month():
    return WorkOrder.objects.filter(received_at__year=2023, received_at__month=7)


def test_local_and_upstream_totals(july):
    assert july.refused == []
    local = month().exclude(source="upstream")
    assert local.count() == FIGURES["local_registered"]["total"] == 4707
    assert local.filter(disposition="dispatch").count() == FIGURES["local_registered"]["dispatched"]
    assert local.exclude(disposition="dispatch").count() == FIGURES["local_registered"]["coordinated"]
    by_platform = dict(month().filter(source="upstream").values_list("upstream_platform__name")
                       .annotate(n=Count("id")))
    assert by_platform == FIGURES["upstream"]["by_platform"]


def test_appeal_types(july):
    rows = dict(month().values_list("appeal_type__name").annotate(n=Count("id")))
    assert rows == {name: count for name, count, _ in FIGURES["appeal_types"]["rows"]}
    assert sum(rows.values()) == FIGURES["appeal_types"]["total"]


def test_top_ten_hotspots(july):
    rows = list(month().values_list("category__parent__name", "category__name").annotate(n=Count("id"))
                .order_by("-n")[:11])
    expected = [(l1, l2, n) for l1, l2, n, _ in FIGURES["hotspots_top10"]["rows"]]
    assert rows[:10] == expected
    assert rows[10][2] < expected[-1][2]  # the eleventh category is below the tenth
    assert sum(n for *_, n in rows[:10]) == FIGURES["hotspots_top10"]["total_count"]


def test_calls_and_every_order_has_a_complete_log(july):
    assert Call.objects.filter(started_at__year=2023, started_at__month=7).count() == FIGURES["call_volume_approx"]
    assert not month().filter(events__isnull=True).exists()
    registered = Event.objects.filter(action="register", order__in=month()).count()
    assert registered == 5043
    # Every dispatched order was signed for or returned, and nearly all reached a callback and closed.
    open_orders = month().exclude(status__in=["closed", "merged"]).count()
    assert open_orders == 0


def test_units_behave_differently_and_all_are_rankable(july):
    from hotline.directory.models import Unit

    per_unit = dict(month().filter(disposition="dispatch").values_list("lead_unit__short_name")
                    .annotate(n=Count("id")))
    grouped = Unit.objects.filter(group__isnull=False)
    assert all(per_unit.get(u.short_name, 0) >= 6 for u in grouped), per_unit
    late = dict(Event.objects.filter(action="reply", data__on_time=False, order__in=month())
                .values_list("actor_unit__short_name").annotate(n=Count("id")))
    assert late.get("寄料镇", 0) > late.get("杨楼镇", 0)


def test_text_is_varied(july):
    titles = list(month().values_list("title", flat=True))
    assert len(set(titles)) > 0.85 * len(titles)


def test_stationing_matches_the_briefing(july):
    from hotline.directory.models import stationing_compliance

    missing = sorted(u.short_name for u, ok in stationing_compliance(2023, 7).items() if not ok)
    assert missing == sorted(FIGURES["stationing_noncompliant"])
