"""A month's hot problems are computed once and stored (hotline.triage.models.MonthHotProblems):
the briefing's draft reads the stored result; an order registered into the month, or into the
months that are its history, makes it stale; the scheduler computes a month once it has closed;
`hotline triage hotspots --month` stores it; a history larger than the cap is read as a uniform
sample whose counts are scaled back up."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from hotline.triage import hotspot_data, hotspots
from hotline.triage.models import MonthHotProblems
from tests.conftest import at
from tests.test_hotspots import PREFIX, _find, plant_orders


@pytest.fixture
def planted_orders(new_order, people, unit):
    return plant_orders(new_order, people, unit)


@pytest.fixture
def detections(monkeypatch):
    """How many times the text pass ran."""
    calls = []
    real = hotspot_data.detect

    def counted(*args, **kwargs):
        calls.append(kwargs.get("history_weight"))
        return real(*args, **kwargs)

    monkeypatch.setattr(hotspot_data, "detect", counted)
    return calls


def test_the_draft_reads_the_stored_pass_until_the_month_changes(planted_orders, detections, new_order):
    from hotline.briefing import drafting

    first = drafting.hot_problems(2023, 7)
    assert len(detections) == 1
    stored = MonthHotProblems.objects.get(year=2023, month=7)
    assert [i["title"] for i in stored.items[:len(first)]] == [d.title for d in first]
    assert stored.history_months == 3 and stored.history_read == stored.history_orders > 0
    found = [hotspots.Hotspot(**{**_HOTSPOT_DEFAULTS, "label": i["label"], "member_ids": [int(m) for m in i["member_ids"]]})
             for i in stored.items]
    assert _find(found, planted_orders, "charging") and _find(found, planted_orders, "gas")
    assert all(isinstance(r, str) for i in stored.items for r in i["representatives"])  # ids, not texts

    # Drafted again (the supervisor rebuilds the briefing): read, not computed.
    assert drafting.hot_problems(2023, 7) == first
    assert len(detections) == 1

    # An order registered into July afterwards (an import dated in it) drops July and the three
    # months whose history July is; the next draft computes July again.
    for month in (8, 9, 10, 11):
        MonthHotProblems.objects.create(year=2023, month=month, orders=0, computed_at=at(2023, 12, 1))
    new_order(at=at(2023, 7, 30, 10), title="补录的工单", content="七月底的来电，导入时补录")
    left = set(MonthHotProblems.objects.values_list("month", flat=True))
    assert left == {11}
    drafting.hot_problems(2023, 7)
    assert len(detections) == 2
    assert MonthHotProblems.objects.get(year=2023, month=7).orders == stored.orders + 1


def test_a_stored_result_is_not_used_for_a_month_with_other_orders(planted_orders, detections):
    from hotline.briefing import drafting

    drafting.hot_problems(2023, 7)
    # Orders added without registration (a bulk load): the count no longer matches.
    MonthHotProblems.objects.filter(year=2023, month=7).update(orders=1)
    drafting.hot_problems(2023, 7, month_orders=None)
    assert len(detections) == 2


def test_a_large_history_is_sampled_and_its_counts_scaled(planted_orders, detections, monkeypatch):
    whole = hotspot_data.store_month(2023, 7)
    monkeypatch.setattr(hotspot_data, "HISTORY_CAP", whole.history_orders // 3)
    sampled = hotspot_data.store_month(2023, 7)
    assert sampled.history_orders == whole.history_orders
    assert sampled.history_read < whole.history_orders // 2
    assert detections[-1] == pytest.approx(whole.history_orders / sampled.history_read)
    found = [hotspots.Hotspot(**{**_HOTSPOT_DEFAULTS, "label": i["label"], "member_ids": [int(m) for m in i["member_ids"]]})
             for i in sampled.items]
    # The charging surge (24 this month against 1 before) stands out of any sample. The gas surge
    # (21 against 10 before) does not have to: a third of a 357-order history holds 3 ± 1.5 of
    # those 10, and 5 of them scaled back up is already more than the month's rise allows. At the
    # cap's real size (a million orders) that noise is a fraction of a percent.
    assert _find(found, planted_orders, "charging")
    # The months before are told at their whole size, not the sample's.
    by_title = {i["title"]: i for i in whole.items}
    for item in sampled.items:
        if item["title"] in by_title and by_title[item["title"]]["history_count"] >= 30:
            assert item["history_count"] == pytest.approx(by_title[item["title"]]["history_count"], rel=0.5)
            assert item["history_count"] > 2 * round(item["history_count"] / detections[-1])


def test_the_scheduler_stores_a_closed_month_once(planted_orders):
    from django_tasks_db.models import DBTaskResult

    from hotline.triage.tasks import month_hot_problems, schedule_month_hot_problems

    august_first = at(2023, 8, 1, 0, 20)
    queued = schedule_month_hot_problems(august_first)
    assert queued == ["triage.month_hot_problems 2023-07"]
    assert schedule_month_hot_problems(august_first + dt.timedelta(minutes=5)) == []  # claimed once
    task = DBTaskResult.objects.get(task_path=month_hot_problems.module_path)
    assert task.args_kwargs["kwargs"] == {"month": "2023-07"}
    result = month_hot_problems.call(month="2023-07")
    assert result["hot_problems"] >= 2 and MonthHotProblems.objects.filter(year=2023, month=7).exists()
    # Stored after the month closed: a later tick queues nothing, even once the claim has expired.
    MonthHotProblems.objects.filter(year=2023, month=7).update(computed_at=august_first)
    DBTaskResult.objects.all().delete()
    from django.core.cache import cache

    cache.clear()
    assert schedule_month_hot_problems(august_first + dt.timedelta(days=2)) == []


def test_the_command_stores_the_platforms_month(planted_orders):
    out = io.StringIO()
    call_command("triage", "hotspots", "--month", "2023-07", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["month"] == "2023-07" and report["history_months"] == 3 and report["hotspots"]
    assert MonthHotProblems.objects.get(year=2023, month=7).orders == report["orders"]
    out = io.StringIO()
    call_command("triage", "hotspots", "--month", "2023-07", stdout=out)
    assert "结果已存" in out.getvalue() and "简报段落：本月反映" in out.getvalue()


@pytest.mark.django_db
def test_the_command_says_what_is_missing_in_chinese(tmp_path):
    with pytest.raises(CommandError, match="--month"):
        call_command("triage", "hotspots")
    path = tmp_path / "export.csv"
    path.write_text("工单编号,登记时间,诉求内容\nA1,2023-07-01,停水\n", encoding="utf-8")
    with pytest.raises(CommandError, match="--time-column、--id-column"):
        call_command("triage", "hotspots", "--csv", str(path), "--text-column", "诉求内容")
    assert PREFIX  # the export's id prefixes are shared with test_hotspots


_HOTSPOT_DEFAULTS = dict(keywords=[], count=0, expected=0.0, history_count=0, history_per_month=None, p_value=1.0,
                         representatives=[], places=[], units=[], first=None, last=None)
