"""The demo month carries the seed briefing's figures exactly (ruzhou-2023-07-figures.json)."""

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
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


@pytest.fixture(scope="module")
def assessed(july, django_db_blocker):
    """The month's assessment computed and published by ``hotline assess --publish``: what it printed."""
    with django_db_blocker.unblock():
        out = io.StringIO()
        call_command("assess", "--month", "2023-07", "--publish", stdout=out)
        return out.getvalue()


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


def test_every_order_goes_where_the_dispatch_catalog_and_its_place_say(july):
    """Demo orders are dispatched as a dispatcher following the catalog would: the catalog's first
    unit for the order's category at its town (a town's own orders to the town); co-handling
    units are among the category's usual units."""
    from hotline.catalog import data as catalog_data
    from hotline.workorders.models import Assignment
    from hotline.workorders.queries import suggest_units

    dispatched = list(month().filter(disposition="dispatch").select_related("town", "category", "lead_unit"))
    assert len(dispatched) == 1422 + 336
    wrong = [(o.title, o.lead_unit.short_name) for o in dispatched if suggest_units(o)[:1] != [o.lead_unit]]
    assert wrong == []
    leads = Assignment.objects.filter(order__in=month(), role=Assignment.Role.LEAD)
    assert leads.count() == len(dispatched)  # one round each: nothing had to be redispatched
    towns = set(catalog_data.TOWNS)
    elsewhere = [o.title for o in dispatched if o.lead_unit.short_name in towns and o.lead_unit != o.town]
    assert elsewhere == []
    for co in Assignment.objects.filter(order__in=month(), role=Assignment.Role.CO).select_related(
            "unit", "order__category", "order__town"):
        hints = catalog_data.LEAF_ROUTING[co.order.category.code]
        assert co.unit.short_name in hints or (catalog_data.TOWN in hints and co.unit == co.order.town)


def test_live_orders_go_where_the_catalog_says(july):
    import datetime as dt

    from hotline.demo.generate import generate_live
    from hotline.workorders.queries import suggest_units

    now = dt.datetime(2023, 8, 20, 15, 0, tzinfo=dt.UTC)
    generate_live(count=60, now=now)
    live = list(WorkOrder.objects.filter(received_at__gte=now - dt.timedelta(days=10), lead_unit__isnull=False)
                .select_related("town", "category", "lead_unit"))
    assert live and all(suggest_units(o)[:1] == [o.lead_unit] for o in live)
    named = {"杨楼镇", "寄料镇", "住房和城乡建设局"}
    assert named & {o.lead_unit.short_name for o in live}


def _seed_rows(key):
    from hotline.assessment.engine import format_score

    return [(unit, format_score(Decimal(str(score))), rank) for unit, score, rank in FIGURES[key]]


def _by_rank(rows):
    """Rows in rank order; units sharing a rank in name order (the seed lists ties its own way)."""
    return sorted(rows, key=lambda r: (r[2], r[0]))


def _printed_tables(text: str) -> dict[str, list[tuple[str, str, int]]]:
    tables, current = {}, None
    for line in text.splitlines():
        if line.endswith("考核表"):
            current = tables.setdefault(line, [])
        elif current is not None and line.count("\t") == 2 and not line.startswith("单位"):
            unit, score, rank = line.split("\t")
            current.append((unit, score, int(rank)))
    return tables


def test_assess_prints_the_seeds_annexes_score_for_score(assessed):
    """``hotline assess --month 2023-07`` on the demo month: both seed annexes, every unit, score
    and rank (ties shared), from what the units did in the month and the shipped default scorecards."""
    tables = _printed_tables(assessed)
    assert _by_rank(tables["乡镇街道考核表"]) == _by_rank(_seed_rows("assessment_townships"))
    assert _by_rank(tables["市直单位考核表"]) == _by_rank(_seed_rows("assessment_departments"))


def test_scores_come_from_the_months_events_and_the_default_scorecards(assessed):
    """No adjustment is entered and every group is scored with the shipped default scorecard; each
    sheet's lines add up to its score, and the deductions name the orders behind them."""
    from hotline.assessment.default_scorecard import DEFAULT_SCORECARDS, load_scorecard, scorecard_to_data
    from hotline.assessment.models import ManualAdjustment, MonthlyResult, ScorecardVersion
    from hotline.assessment.results import group_results

    assert not ManualAdjustment.objects.exists() and not ScorecardVersion.objects.exists()
    result = MonthlyResult.objects.get(year=2023, month=7, state=MonthlyResult.State.PUBLISHED)
    for group in group_results(result):
        assert group.scorecard == scorecard_to_data(load_scorecard(DEFAULT_SCORECARDS[group.key]))
        for score in group.result.scores():
            assert score.base + sum(line.points for line in score.lines) == score.score
            assert not [line for line in score.lines if line.kind == "adjustment"]
            for line in score.lines:
                if line.kind in ("rate", "count") and line.points < 0 and line.code != "stationing":
                    assert line.evidence, (score.unit_name, line.label)


def test_the_briefing_names_the_seeds_better_and_worse_units(assessed):
    """The first and the last of each group, ties included (杨楼镇 and 临汝镇 share the first place)."""
    from hotline.briefing.build import build_briefing_data

    data = build_briefing_data(2023, 7, charts=False)
    assert sorted(data.best_units) == sorted(FIGURES["best_units"])
    assert sorted(data.worst_units) == sorted(FIGURES["worst_units"])


def test_the_built_docx_carries_the_seeds_figures(assessed, tmp_path):
    """``hotline briefing build`` read back with python-docx: every figure of the seed's 工作概况,
    数据分析 and both annexes, except the four shares the seed computed wrongly (printed here as
    computed: 4.03%, 2.18%, 2.04% and the total's 46.68%)."""
    from docx import Document

    from hotline.lib.shares import format_share, share

    path = tmp_path / "july.docx"
    call_command("briefing", "build", "--month", "2023-07", "-o", str(path), "--issue-date", "2023-08-22",
                 "--no-charts", stdout=io.StringIO())
    doc = Document(str(path))
    text = "\n".join(p.text for p in doc.paragraphs)
    f = FIGURES
    local, upstream = f["local_registered"], f["upstream"]
    (pds, pds_n), (henan, henan_n) = upstream["by_platform"].items()
    assert (f"七月份，汝州市12345民呼必应热线总话务量约{f['call_volume_approx']}人次，"
            f"办理本级登记事项{local['total']}件，办理上级交办事项{upstream['total']}件。") in text
    assert (f"（一）本级登记事项{local['total']}件。其中，协调办理{local['coordinated']}件，"
            f"交办处理{local['dispatched']}件。") in text
    assert (f"（二）上级交办事项{upstream['total']}件。其中，{pds}交办事项{pds_n}件；"
            f"{henan}交办事项{henan_n}件。") in text
    better = text.split("办理较好的单位有", 1)[1].split("。", 1)[0]
    worse = text.split("办理较差的单位有", 1)[1].split("。", 1)[0]
    assert sorted(better.split("、")) == sorted(f["best_units"])
    assert sorted(worse.split("、")) == sorted(f["worst_units"])
    stationing = text.split("（四）", 1)[1].split("未按规定完成人员派驻工作。", 1)[0]
    assert sorted(stationing.split("、")) == sorted(f["stationing_noncompliant"])

    appeal, hotspot, townships, departments = ([[c.text.strip() for c in row.cells] for row in t.rows]
                                               for t in doc.tables[:4])
    total = f["appeal_types"]["total"]
    # The seed prints the total's share as 100%, the platform as 100.00%.
    assert appeal[1:] == [[n, str(c), s] for n, c, s in f["appeal_types"]["rows"]] + [["合计", str(total), "100.00%"]]
    seed_hot = f["hotspots_top10"]
    wrong = []
    for row, (l1, l2, count, printed) in zip(hotspot[1:], seed_hot["rows"], strict=False):
        computed = format_share(share(count, total))
        assert row[:2] == [f"{l1}—{l2}", str(count)]
        assert row[2] == computed
        if computed != printed:
            wrong.append(printed)
    total_row = hotspot[-1]
    assert total_row[:2] == ["合计", str(seed_hot["total_count"])]
    if total_row[2] != seed_hot["total_share_as_printed"]:
        wrong.append(seed_hot["total_share_as_printed"])
    assert wrong == ["4.02%", "2.22%", "2.00%", "46.67%"]  # the seed's four miscomputed shares

    def rows(table):
        return _by_rank([(u, s, int(r)) for u, s, r in table[1:]])

    assert rows(townships) == _by_rank(_seed_rows("assessment_townships"))
    assert rows(departments) == _by_rank(_seed_rows("assessment_departments"))


# ---------------------------------------------------------------------------------------------
# One definition, every path: the demo month's indicators for all 45 units read through the
# statistics command, the dashboard, the assessment sheets, the briefing, the Excel exports and
# the JSON API all equal hotline.metrics' (docs/metrics.md).


def _pair(text: str) -> tuple[int, int]:
    """'14/15 = 93.33%' (or the engine's '0/0') as (14, 15)."""
    num, den = text.split("=")[0].strip().split("/")
    return int(num), int(den)


def test_every_indicator_agrees_on_every_path(assessed, client, tmp_path):
    import re

    from openpyxl import load_workbook

    from hotline.accounts.models import User
    from hotline.assessment.models import MonthlyResult
    from hotline.assessment.results import annex_tables
    from hotline.briefing.build import build_briefing_data
    from hotline.directory.models import Unit
    from hotline.metrics.definitions import UNIT_RATES
    from hotline.metrics.units import month_unit_metrics
    from hotline.workorders.workflow import Role

    truth = {m.short_name: m for m in month_unit_metrics(2023, 7, as_of=dt_now()).values()}
    assert len(truth) == Unit.objects.filter(active=True, group__isnull=False).count() == 45
    expected = {name: {d.key: (m.rate(d.key).numerator, m.rate(d.key).denominator) for d in UNIT_RATES}
                | {"overdue": m.counts["overdue"]} for name, m in truth.items()}
    assert all(m.counts["orders"] >= 6 for m in truth.values())

    # 1. hotline stats --month 2023-07 --units
    out = io.StringIO()
    call_command("stats", "--month", "2023-07", "--units", stdout=out)
    printed = {}
    for line in out.getvalue().splitlines():
        m = re.fullmatch(r"  (\S+)：(.+)；超期工单 (\d+) 件", line)
        if m and m.group(1) in truth:
            parts = dict(part.split(" ", 1) for part in m.group(2).split("；"))
            printed[m.group(1)] = {d.key: _pair(parts[d.name]) for d in UNIT_RATES} | {"overdue": int(m.group(3))}
    assert printed == expected

    zhou = User.objects.create_user("metrics_check", password="x", role=Role.SUPERVISOR, display_name="周")
    client.force_login(zhou)

    # 2. The dashboard's table of the month.
    page = client.get("/dashboard/", {"date": "2023-07-31"})
    assert page.status_code == 200
    shown = {m.short_name: {d.key: (m.rate(d.key).numerator, m.rate(d.key).denominator) for d in UNIT_RATES}
             | {"overdue": m.overdue} for m in page.context["unit_metrics"]}
    assert shown == expected
    assert page.content.decode().count('<tr data-unit="') == 45

    # 3. Every unit's assessment sheet: each rate line and the overdue line.
    result = MonthlyResult.objects.get(year=2023, month=7, state=MonthlyResult.State.PUBLISHED)
    by_pair = {(d.numerator, d.denominator): d.key for d in UNIT_RATES}
    for name, m in truth.items():
        sheet = client.get(f"/assessment/2023-7/units/{m.unit_id}/").context["sheet"]
        card = {r["code"]: r for r in sheet.group.scorecard["indicators"]}
        for line in sheet.score.lines:
            if line.kind == "rate":
                key = by_pair[(card[line.code]["numerator"], card[line.code]["denominator"])]
                assert _pair(line.figures) == expected[name][key], (name, line.label)
            elif line.code == "overdue":
                assert line.figures == f"{expected[name]['overdue']} 件", name
        assert sheet.score.order_count == m.counts["orders"]

    # 4. The briefing: the statistics page it is built beside, and its annexes are the published version's.
    stats = client.get("/briefing/stats/", {"month": "2023-07"}).context["stats"]
    assert {u.short_name: {d.key: (u.rates[d.key].numerator, u.rates[d.key].denominator) for d in UNIT_RATES}
            | {"overdue": u.overdue} for u in stats.unit_rates if u.short_name in truth} == expected
    data = build_briefing_data(2023, 7, charts=False)
    assert data.assessment_version == result.version and list(data.annexes) == annex_tables(result)

    # 5. The Excel exports: the statistics workbook and the assessment's line-by-line sheet.
    response = client.get("/briefing/stats/", {"month": "2023-07", "format": "xlsx"})
    path = tmp_path / "stats.xlsx"
    path.write_bytes(response.content)
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    header = rows[1]
    col = {h: i for i, h in enumerate(header)}
    exported = {}
    for row in rows[2:]:
        if row[0] in truth:
            exported[row[0]] = {d.key: (row[col[f"{d.name}（分子）"]], row[col[f"{d.name}（分母）"]]) for d in UNIT_RATES} \
                | {"overdue": row[col["超期工单"]]}
    assert exported == expected
    response = client.get("/assessment/2023-7/export.xlsx")
    path = tmp_path / "assessment.xlsx"
    path.write_bytes(response.content)
    detail = load_workbook(path)["得分明细"]
    checked = 0
    for _group, unit_name, label, figures, *_ in detail.iter_rows(min_row=2, values_only=True):
        key = next((d.key for d in UNIT_RATES if d.name == label), None)
        if key is not None and "/" in (figures or ""):
            assert _pair(figures) == expected[unit_name][key], (unit_name, label)
            checked += 1
    assert checked >= 45 * 4

    # 6. The JSON API.
    body = client.get("/api/metrics/2023-07/").json()
    api = {u["short_name"]: {k: (v["numerator"], v["denominator"]) for k, v in u["rates"].items()}
           | {"overdue": u["counts"]["overdue"]} for u in body["units"]}
    assert api == expected


def dt_now():
    from django.utils import timezone

    return timezone.now()
