"""Hot problems found in the orders' text (hotline.triage.hotspots): surges planted in texts whose
categories are spread across the tree are found, with their members, place and units; stable
topics are not; the briefing's 热点问题 draft and `hotline triage hotspots` use the pass; the
未诉先办 early warning reaches the supervisors once per place and topic."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from hotline.catalog.data import LEAF_CODES, TOWNS
from hotline.demo import corpus
from hotline.triage import hotspots
from tests.conftest import at

# Two surges of July 2023 and a topic as common every month. Each appeal is told in its own words.
CHARGING = ["{place}的电动车充电桩损坏，夜里充电时冒烟，存在火灾隐患",
            "{place}新装的电动车充电桩一直无法充电，扫码付费后不通电",
            "{place}电动车充电桩被占用，充电桩插座烧坏无人维修",
            "{place}楼下电动车充电桩线路老化，充电时跳闸"]
GAS = ["{place}燃气管道改造后一直停气，做不了饭", "{place}燃气管道改造施工结束多日，仍未恢复供气",
       "{place}因燃气管道改造停气，燃气公司没有提前通知", "{place}燃气管道改造后通气，燃气灶打不着火"]
BARBECUE = ["{place}路边烧烤摊油烟很大，影响周边居民", "{place}烧烤摊夜间经营，油烟和噪音扰民"]


def _appeal(rng, template: str, town: str) -> tuple[str, str]:
    place = corpus.place_in_town(rng, town)
    detail = template.format(place=place)
    return detail[:30], f"来电人反映：{detail}，希望相关部门尽快处理。联系电话13812345678。"


def _background(rng, n: int) -> list[tuple[str, str, str, str]]:
    """(title, content, leaf code, town) of ordinary appeals, in the demo generator's words."""
    out = []
    for _ in range(n):
        town, leaf = rng.choice(TOWNS), rng.choice(LEAF_CODES)
        title, content = corpus.compose_appeal(leaf, rng, town=town, place=corpus.place_in_town(rng, town))
        out.append((title, content, leaf, town))
    return out


def _planted(rng, templates, n: int, towns) -> list[tuple[str, str, str, str]]:
    """Appeals on one topic, filed under categories drawn from the whole tree."""
    out = []
    for i in range(n):
        town = towns[i % len(towns)]
        title, content = _appeal(rng, rng.choice(templates), town)
        out.append((title, content, rng.choice(LEAF_CODES), town))
    return out


def _month_plan(seed: int = 7, background: int = 110):
    """Per month (April–July 2023): the appeals, with what they are. July has the two surges."""
    rng = random.Random(seed)
    plan = {}
    for month in (4, 5, 6, 7):
        rows = [(*r, "background") for r in _background(rng, background)]
        rows += [(*r, "barbecue") for r in _planted(rng, BARBECUE, 8, TOWNS)]
        rows += [(*r, "gas") for r in _planted(rng, GAS, 1, TOWNS)]
        if month == 7:
            # The charging piles of 杨楼镇 above all; the gas complaints all over the city.
            rows += [(*r, "charging") for r in _planted(rng, CHARGING, 24, ["杨楼镇"] * 5 + ["寄料镇"])]
            rows += [(*r, "gas") for r in _planted(rng, GAS, 18, TOWNS)]
        rng.shuffle(rows)
        plan[month] = rows
    return plan


def _corpus(rows, month: int) -> hotspots.Corpus:
    return hotspots.Corpus(texts=[f"{t}。{c}" for t, c, *_ in rows], ids=[f"{month}-{i}" for i in range(len(rows))],
                           times=[at(2023, month, 1 + i % 28, 9) for i in range(len(rows))],
                           places=[r[3] for r in rows])


def _find(found, rows_by_id, kind):
    """The found topic whose members are mostly ``kind``."""
    for h in found:
        share = sum(rows_by_id[i] == kind for i in h.member_ids) / len(h.member_ids)
        if share >= 0.8:
            return h
    return None


# ---------------------------------------------------------------------------------------------
# The pure engine


def test_the_surges_are_found_and_the_stable_topic_is_not():
    plan = _month_plan()
    history_rows = [(r, m) for m in (4, 5, 6) for r in plan[m]]
    history = hotspots.Corpus(texts=[f"{r[0]}。{r[1]}" for r, _ in history_rows])
    current = _corpus(plan[7], 7)
    kind_of = {f"7-{i}": r[4] for i, r in enumerate(plan[7])}
    assert len({leaf[:2] for *_, leaf, _town, kind in plan[7] if kind in ("charging", "gas")}) >= 10

    found = hotspots.detect(current, history, history_months=3, top=5, place_names=TOWNS)
    charging, gas = _find(found, kind_of, "charging"), _find(found, kind_of, "gas")
    assert charging is not None and gas is not None, [(h.title, h.count) for h in found]
    assert found[0] is charging or found[0] is gas  # the biggest excess first
    # Members: nearly every planted order, nothing of the stable topic.
    assert sum(kind_of[i] == "charging" for i in charging.member_ids) >= 20
    assert sum(kind_of[i] == "gas" for i in gas.member_ids) >= 15
    assert _find(found, kind_of, "barbecue") is None
    # Named by their words, not by a category.
    assert "充电" in charging.keywords and "燃气" in "".join(gas.keywords)
    # The place: the charging piles are 杨楼镇's; the gas complaints are spread.
    assert charging.places[0][0] == "杨楼镇" and charging.places[0][1] >= 15
    assert "主要集中在杨楼镇" in charging.paragraph
    assert "主要集中在" not in gas.paragraph
    assert charging.first.month == charging.last.month == 7
    assert len(charging.representatives) == 3 and all("充电桩" in text for _, text in charging.representatives)
    # No identity in anything drafted.
    assert all("13812345678" not in text for _, text in charging.representatives)
    assert "（保密）" in charging.representatives[0][1]
    assert charging.paragraph.startswith("本月反映") and "前3个月" in charging.paragraph


def test_an_ordinary_month_has_no_hot_problem():
    """The same city, the same kind of month: the test's thresholds and multiple-testing control
    keep chance rises out."""
    rng = random.Random(11)
    history = hotspots.Corpus(texts=[f"{t}。{c}" for t, c, *_ in _background(rng, 900)])
    current = hotspots.Corpus(texts=[f"{t}。{c}" for t, c, *_ in _background(rng, 300)])
    assert hotspots.detect(current, history, history_months=3) == []


def test_no_history_no_test():
    current = _corpus(_month_plan()[7], 7)
    assert hotspots.detect(current, hotspots.Corpus(texts=[])) == []


def test_benjamini_hochberg_and_poisson():
    import numpy as np

    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205])
    assert hotspots.benjamini_hochberg(p, 0.05).tolist() == [True, True] + [False] * 6
    assert hotspots.poisson_sf(np.array([0]), np.array([3.0]))[0] == pytest.approx(1.0)
    assert hotspots.poisson_sf(np.array([10]), np.array([2.0]))[0] == pytest.approx(4.65e-5, rel=0.01)


# ---------------------------------------------------------------------------------------------
# The platform's own orders: the briefing's draft


@pytest.fixture
def planted_orders(new_order, people, unit):
    return plant_orders(new_order, people, unit)


def plant_orders(new_order, people, unit) -> dict:
    """April–July 2023 registered through the actions; July's charging-pile orders dispatched to
    the town they are in. The kind of each order by its id."""
    from hotline.catalog.models import Category
    from hotline.workorders import actions as order_actions

    categories = {c.code: c for c in Category.objects.filter(code__in=LEAF_CODES)}
    kinds = {}
    for month, rows in _month_plan().items():
        for i, (title, content, leaf, town, kind) in enumerate(rows):
            order = new_order(at=at(2023, month, 1 + i % 28, 8 + i % 10), title=title, content=content,
                              category=categories[leaf], town=unit(town))
            kinds[order.pk] = kind
            if month == 7 and kind == "charging" and i % 2 == 0:
                order_actions.submit_for_dispatch(order, acting_user=people["operator_li"])
                order_actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit(town))
    return kinds


def test_the_briefing_drafts_the_surges_from_the_text(planted_orders):
    from hotline.briefing import drafting
    from hotline.triage.hotspot_data import month_hotspots
    from hotline.workorders.models import WorkOrder

    found = month_hotspots(2023, 7, using="default")
    charging = _find(found, planted_orders, "charging")
    gas = _find(found, planted_orders, "gas")
    assert charging and gas, [(h.title, h.count) for h in found]
    assert _find(found, planted_orders, "barbecue") is None
    planted = WorkOrder.objects.filter(pk__in=[pk for pk, k in planted_orders.items() if k in ("charging", "gas")],
                                       received_at__month=7)
    assert len({o.category.code[:2] for o in planted.select_related("category")}) >= 10  # across the tree
    assert charging.places[0][0] == "杨楼镇"
    assert charging.units and charging.units[0][0] == "杨楼镇"
    assert "承办较多的单位为杨楼镇" in charging.paragraph
    drafted = drafting.hot_problems(2023, 7)
    assert [d.title for d in drafted] == [h.title for h in found]
    assert [d.text for d in drafted] == [h.paragraph for h in found]
    assert all("前3个月" in d.text for d in drafted)
    # The month's briefing build drafts the same.
    from hotline.briefing.build import build_briefing_data

    assert build_briefing_data(2023, 7, charts=False).hot_problems == drafted


# ---------------------------------------------------------------------------------------------
# hotline triage hotspots --csv


PREFIX = {"background": "BG", "barbecue": "BQ", "gas": "GA", "charging": "CH"}


def _csv_bytes(encoding: str = "utf-8", month_names=None) -> bytes:
    plan = _month_plan(seed=3)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["工单编号", "登记时间", "标题", "诉求内容", "所属镇街"])
    for month, rows in plan.items():
        for i, (title, content, _leaf, town, kind) in enumerate(rows):
            writer.writerow([f"{PREFIX[kind]}{month:02d}{i:04d}", f"2023/{month}/{1 + i % 28} 9:{i % 60:02d}",
                             title, content, town])
    return buf.getvalue().encode(encoding)


def _run(*args) -> str:
    out = io.StringIO()
    call_command("triage", "hotspots", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_hotspots_command_on_a_centers_export(tmp_path, encoding):
    path = tmp_path / "export.csv"
    path.write_bytes(_csv_bytes(encoding))
    args = ["--csv", str(path), "--text-column", "诉求内容", "--time-column", "登记时间", "--id-column", "工单编号",
            "--title-column", "标题", "--place-column", "所属镇街", "--top", "3"]
    report = json.loads(_run(*args, "--json"))
    assert report["month"] == "2023-07" and report["history_months"] == 3 and report["encoding"] == encoding
    assert 1 <= len(report["hotspots"]) <= 3
    mostly = [max(PREFIX.values(), key=[i[:2] for i in h["member_ids"]].count) for h in report["hotspots"]]
    assert {"CH", "GA"} <= set(mostly) and "BQ" not in mostly, mostly
    top = report["hotspots"][0]
    assert top["representatives"] and top["places"] and top["first"].startswith("2023-07")
    assert top["paragraph"].startswith("本月反映")
    text = _run(*args)
    assert "1. " in text and "简报段落：本月反映" in text and "工单（" in text and "地点：" in text


@pytest.mark.django_db
def test_hotspots_command_refuses_bad_files_in_chinese(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(_csv_bytes())
    base = ["--csv", str(path), "--text-column", "诉求内容", "--time-column", "登记时间", "--id-column", "工单编号"]
    with pytest.raises(CommandError, match="找不到列 “受理时间”"):
        _run("--csv", str(path), "--text-column", "诉求内容", "--time-column", "受理时间", "--id-column", "工单编号")
    with pytest.raises(CommandError, match="没有 2022年1月 的数据行"):
        _run(*base, "--month", "2022-01")
    with pytest.raises(CommandError, match="之前的数据"):
        _run(*base, "--month", "2023-04")
    with pytest.raises(CommandError, match="不是有效的月份"):
        _run(*base, "--month", "七月")
    bad = tmp_path / "bad.csv"
    bad.write_text("工单编号,登记时间,诉求内容\nA1,2023-07-01,停水\nA2,昨天下午,停电\n", encoding="utf-8")
    with pytest.raises(CommandError, match="第 3 行的时间无法识别"):
        _run("--csv", str(bad), "--text-column", "诉求内容", "--time-column", "登记时间", "--id-column", "工单编号")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match="是空的"):
        _run("--csv", str(empty), "--text-column", "诉求内容", "--time-column", "登记时间", "--id-column", "工单编号")
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("工单编号,登记时间,诉求内容\n".encode("utf-16"))
    with pytest.raises(CommandError, match="UTF-16"):
        _run("--csv", str(utf16), "--text-column", "诉求内容", "--time-column", "登记时间", "--id-column", "工单编号")


# ---------------------------------------------------------------------------------------------
# 未诉先办: the early warning


def test_early_warning_reaches_the_supervisor_once(new_order, people, unit):
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from hotline.catalog.models import Category
    from hotline.notify.models import Kind, Notification
    from hotline.triage.models import HotspotAlert
    from hotline.triage.tasks import early_warning, schedule_early_warning

    rng = random.Random(5)
    categories = {c.code: c for c in Category.objects.filter(code__in=LEAF_CODES)}
    now = timezone.now()
    for i, (title, content, leaf, town) in enumerate(_background(rng, 160)):
        new_order(at=now - dt.timedelta(days=8 + i % 80, hours=i % 7), title=title, content=content,
                  category=categories[leaf], town=unit(town))
    # This week's other orders are elsewhere: 杨楼镇's count is the charging piles' alone.
    recent = [row for row in _background(rng, 50) if row[3] != "杨楼镇"][:40]
    for i, (title, content, leaf, town) in enumerate(recent):
        new_order(at=now - dt.timedelta(days=i % 6, hours=1 + i % 5), title=title, content=content,
                  category=categories[leaf], town=unit(town))

    def charging(n, town="杨楼镇", days_ago=2):
        for title, content, leaf, _town in _planted(rng, CHARGING, n, [town]):
            new_order(at=now - dt.timedelta(days=days_ago, minutes=rng.randrange(600)), title=title, content=content,
                      category=categories[leaf], town=unit(town))

    charging(4)  # four in a week: below the default of five
    queued = schedule_early_warning()
    assert queued and schedule_early_warning() == []  # one run per period, however many schedulers
    assert DBTaskResult.objects.filter(task_path=early_warning.module_path).count() == 1
    first = early_warning.call(period="test")["alerts"]
    assert first == [], [str(a) for a in HotspotAlert.objects.all()]
    charging(2, days_ago=1)
    (alert_id,) = early_warning.call(period="test")["alerts"]
    alert = HotspotAlert.objects.get(pk=alert_id)
    assert alert.place == "杨楼镇" and alert.count == 6 and "充电" in alert.keywords
    note = Notification.objects.get(kind=Kind.HOTSPOT_ALERT)
    assert note.recipient == people["supervisor_zhou"]
    assert note.title.startswith("未诉先办预警：杨楼镇") and "6 件" in note.body and note.url.startswith("/orders/")
    # The next sweeps, and more of the same: no second alert within the window.
    charging(2, days_ago=0)
    assert early_warning.call(period="test")["alerts"] == []
    assert Notification.objects.filter(kind=Kind.HOTSPOT_ALERT).count() == 1
