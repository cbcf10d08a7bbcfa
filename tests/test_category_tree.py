"""The category tree with history: versions with a valid-from day, up to three levels, and past
months that do not change when the tree is edited.

The story: July 2023 is the ten orders of ``test_analytics`` (A–K). On Thursday 2023-08-10 the
admin renames 农村管理—人居环境 to 人居环境整治 (from 08-01) and moves 市场管理—消费纠纷 under 政务服务
(from today); July's statistics, its ``hotline stats`` output and its published briefing stay as
they were, while an order registered after the edit shows the new name. A province-style third
level (政务服务—网点服务—不动产登记) takes orders that count under 政务服务—网点服务.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from docx import Document
from openpyxl import load_workbook

from hotline.analytics.stats import period_statistics
from hotline.briefing import actions as briefing_actions
from hotline.catalog import history
from hotline.catalog.models import Category, CategoryVersion
from hotline.catalog.tree import TreeError, TreeHistory, Version, check_valid_from
from hotline.workorders.models import WorkOrder
from tests.conftest import at
from tests.test_analytics import JULY, build_july

AUGUST_10 = at(2023, 8, 10, 10, 0)
AUGUST = (dt.date(2023, 8, 1), dt.date(2023, 8, 31))


def cat(full_name: str) -> Category:
    return Category.objects.get(full_name=full_name)


def tables_of(docx_bytes: bytes) -> list[list[list[str]]]:
    doc = Document(io.BytesIO(docx_bytes))
    return [[[c.text.strip() for c in row.cells] for row in t.rows] for t in doc.tables]


def stats_output(capsys, month: str) -> str:
    call_command("stats", "--month", month, "--units")
    return capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# The engine, on plain values

D = dt.date


def small_tree(*extra: Version) -> TreeHistory:
    # 1 政务服务 ─ 2 网点服务 ─ 4 不动产登记;  3 市场管理 ─ 5 消费纠纷
    versions = [Version(1, "政务服务", None, None), Version(2, "网点服务", 1, None), Version(3, "市场管理", None, None),
                Version(4, "不动产登记", 2, None), Version(5, "消费纠纷", 3, None), *extra]
    return TreeHistory({1: "01", 2: "0101", 3: "02", 4: "010101", 5: "0201"}, versions)


def test_a_category_is_its_version_of_the_day():
    tree = small_tree(Version(5, "消费维权", 1, D(2023, 8, 1)))
    before, after = tree.node(5, D(2023, 7, 31)), tree.node(5, D(2023, 8, 1))
    assert (before.full_name, before.level, before.ancestor(2)) == ("市场管理—消费纠纷", 2, 5)
    assert (after.full_name, after.level, after.ancestor(1)) == ("政务服务—消费维权", 2, 1)
    assert tree.node(4, D(2023, 7, 1)).full_name == "政务服务—网点服务—不动产登记"
    assert tree.node(4, D(2023, 7, 1)).ancestor(2) == 2
    assert tree.change_days(D(2023, 7, 1), D(2023, 7, 31)) == []
    assert tree.change_days(D(2023, 7, 1), D(2023, 8, 31)) == [D(2023, 8, 1)]


@pytest.mark.parametrize("edit, message", [
    (Version(1, "政务服务", 4, D(2023, 8, 1)), "循环"),  # 政务服务 under its own grandchild
    (Version(3, "市场管理", 4, D(2023, 8, 1)), "第4级"),  # 消费纠纷 would sit at level 4
    (Version(5, "网点服务", 1, D(2023, 8, 1)), "已有名为“网点服务”"),  # twin siblings
])
def test_an_invalid_tree_is_refused_with_the_reason(edit, message):
    with pytest.raises(TreeError, match=message):
        small_tree().with_version(edit).check(D(2023, 8, 1))
    small_tree().check(D(2023, 8, 1))  # the tree as it stands is valid


def test_a_later_edit_is_checked_against_the_days_after_it():
    # From 08-01 消费纠纷 has a child (退费, level 3); moving 市场管理 under 网点服务 from 09-01 would
    # put 消费纠纷 at level 4 (and 退费 at 5) on that day, though 08-01 alone is fine.
    tree = small_tree(Version(6, "退费", 5, D(2023, 8, 1)))
    tree.codes[6] = "020101"
    tree.check(D(2023, 8, 1))
    with pytest.raises(TreeError, match="2023-09-01 起分类“0201 消费纠纷”将成为第4级：分类最多3级"):
        tree.with_version(Version(3, "市场管理", 2, D(2023, 9, 1))).check(D(2023, 9, 1))


def test_roll_up_counts_each_day_under_its_own_ancestor():
    tree = small_tree(Version(4, "不动产登记", 5, D(2023, 7, 20)))  # moved from 网点服务 to 消费纠纷
    rows = tree.roll_up([(4, D(2023, 7, 1), 3), (4, D(2023, 7, 20), 2), (2, D(2023, 7, 20), 1), (1, D(2023, 7, 1), 1)],
                        level=2)
    assert [(n.full_name, c) for n, c in rows] == [("政务服务—网点服务", 4), ("市场管理—消费纠纷", 2), ("政务服务", 1)]


def test_no_edit_reaches_back_into_a_closed_month():
    with pytest.raises(TreeError, match="不能早于 2023-08-01"):
        check_valid_from(D(2023, 7, 31), D(2023, 8, 10))
    check_valid_from(D(2023, 8, 1), D(2023, 8, 10))


# ---------------------------------------------------------------------------------------------
# A past month through the real paths


@pytest.fixture
def july(people, unit, new_order):
    return build_july(people, unit, new_order)


@time_machine.travel(AUGUST_10, tick=False)
def test_a_past_month_and_its_published_briefing_stay_as_they_were(july, people, new_order, capsys):
    zhou, admin = people["supervisor_zhou"], people["admin"]
    before = period_statistics(*JULY)
    before_text = stats_output(capsys, "2023-07")
    assert ("农村管理", "人居环境", 3) in [(r.level1, r.level2, r.count) for r in before.hotspots]
    assert ("市场管理", "消费纠纷", 1) in [(r.level1, r.level2, r.count) for r in before.hotspots]
    briefing = briefing_actions.create_draft(2023, 7, acting_user=zhou)
    published = briefing_actions.publish(briefing, acting_user=zhou)
    published_tables = tables_of(bytes(published.docx))
    assert ["农村管理—人居环境", "3", "30.00%"] in published_tables[1]

    with pytest.raises(TreeError, match="不能早于 2023-08-01"):  # back-dated into July: refused
        history.add_version(cat("农村管理—人居环境"), name="人居环境整治", parent=cat("农村管理"),
                            valid_from=dt.date(2023, 7, 15), user=admin)
    assert CategoryVersion.objects.count() == Category.objects.count()  # nothing written
    history.add_version(cat("农村管理—人居环境"), name="人居环境整治", parent=cat("农村管理"),
                        valid_from=dt.date(2023, 8, 1), user=admin)
    history.add_version(cat("市场管理—消费纠纷"), name="消费纠纷", parent=cat("政务服务"),
                        valid_from=dt.date(2023, 8, 10), user=admin)
    assert Category.objects.filter(full_name__in=["农村管理—人居环境整治", "政务服务—消费纠纷"]).count() == 2

    assert period_statistics(*JULY) == before
    assert stats_output(capsys, "2023-07") == before_text
    rebuilt = briefing_actions.rebuild(briefing, acting_user=zhou)
    assert rebuilt.state == "published"  # the rebuilt figures are the published version's
    assert rebuilt.data["hotspot_rows"] == published.data["hotspot_rows"]
    published.refresh_from_db()
    assert tables_of(bytes(published.docx)) == published_tables
    # Each order keeps the name it was registered under; a new one takes the new name.
    road = WorkOrder.objects.get(pk=july["A"].pk)
    assert road.category_name == "农村管理—人居环境" and road.category.full_name == "农村管理—人居环境整治"
    august = new_order(at=at(2023, 8, 10, 9, 0), category=cat("农村管理—人居环境整治"))
    assert august.category_name == "农村管理—人居环境整治"
    hotspots = [(r.label, r.count) for r in period_statistics(*AUGUST).hotspots]
    assert hotspots == [("农村管理—人居环境整治", 1)]


def test_the_order_page_shows_the_category_as_registered(july, people, client):
    admin = people["admin"]
    with time_machine.travel(AUGUST_10, tick=False):
        history.add_version(cat("农村管理—人居环境"), name="人居环境整治", parent=cat("农村管理"),
                            valid_from=dt.date(2023, 8, 1), user=admin)
    client.force_login(people["dispatcher_wang"])
    page = client.get(f"/orders/{july['A'].number}/").content.decode()
    assert "农村管理—人居环境<" in page and "人居环境整治" not in page
    listed = client.get("/orders/", {"number": july["A"].number}).content.decode()
    table = listed[listed.index('id="order-table"'):]
    table = table[:table.index("</table>")]
    assert july["A"].number in table and "<td>人居环境</td>" in table and "人居环境整治" not in table
    sheet = load_workbook(io.BytesIO(client.get("/orders/export.xlsx", {"number": july["A"].number}).content)).active
    rows = list(sheet.iter_rows(values_only=True))
    column = rows[0].index("热点分类")
    assert [r[column] for r in rows[1:]] == ["农村管理—人居环境"]


# ---------------------------------------------------------------------------------------------
# Three levels


@pytest.fixture
def third_level(ruzhou):
    return history.create_category(code="010101", name="不动产登记", parent=cat("政务服务—网点服务"))


def test_a_level_three_order_counts_under_its_level_two_ancestor(third_level, people, client):
    assert (third_level.level, third_level.full_name) == (3, "政务服务—网点服务—不动产登记")
    client.force_login(people["operator_li"])
    order = {"title": "不动产证办理", "content": "询问不动产登记证办理流程。", "town": "杨楼镇",
             "category": "政务服务—网点服务—不动产登记", "appeal_type": "consult"}
    with time_machine.travel(at(2023, 7, 3, 9, 0), tick=False):
        for _ in range(2):
            assert client.post("/api/orders/", order, content_type="application/json").status_code == 201
        assert client.post("/api/orders/", {**order, "category": "政务服务—网点服务"},
                           content_type="application/json").status_code == 201
        client.force_login(people["supervisor_zhou"])
        dashboard = client.get("/dashboard/").content.decode()
        assert "<td>政务服务—网点服务</td><td>3</td>" in dashboard and "不动产登记</td>" not in dashboard
    with time_machine.travel(at(2023, 8, 2, 9, 0), tick=False):
        stats = period_statistics(*JULY)
        assert [(r.label, r.count) for r in stats.hotspots] == [("政务服务—网点服务", 3)]
        assert stats.category_counts == {third_level.pk: 2, cat("政务服务—网点服务").pk: 1}
        data = briefing_actions.create_draft(2023, 7, acting_user=people["supervisor_zhou"]).data
        assert data["hotspot_rows"] == [["政务服务", "网点服务", 3]]


def test_a_category_moved_within_the_month_counts_each_order_where_it_stood(third_level, new_order, people):
    for day in (3, 4, 20):
        new_order(at=at(2023, 7, day, 9, 0), category=third_level)
    with time_machine.travel(at(2023, 7, 10, 9, 0), tick=False):
        history.add_version(third_level, name="不动产登记", parent=cat("政务服务—行政效能"),
                            valid_from=dt.date(2023, 7, 15), user=people["admin"])
    with time_machine.travel(at(2023, 8, 2, 9, 0), tick=False):
        rows = [(r.label, r.count) for r in period_statistics(*JULY).hotspots]
        assert rows == [("政务服务—网点服务", 2), ("政务服务—行政效能", 1)]
        assert Category.objects.get(pk=third_level.pk).full_name == "政务服务—网点服务—不动产登记"
        history.apply_due_versions()  # the scheduler's job: today's copy follows the version of the day
        assert Category.objects.get(pk=third_level.pk).full_name == "政务服务—行政效能—不动产登记"


def test_a_fourth_level_is_refused(third_level):
    with pytest.raises(TreeError, match="最多3级"):
        history.create_category(code="01010101", name="首次登记", parent=third_level)
    with pytest.raises(ValueError, match="最多三级"):
        Category(code="01010101", name="首次登记", parent=third_level).save()
    assert not Category.objects.filter(code="01010101").exists()


def test_the_scheduler_applies_a_version_on_its_day(ruzhou, people):
    leaf = cat("政务服务—网点服务")
    with time_machine.travel(AUGUST_10, tick=False):
        history.add_version(leaf, name="政务网点", parent=cat("政务服务"), valid_from=dt.date(2023, 9, 1),
                            user=people["admin"])
        assert cat("政务服务—网点服务").pk == leaf.pk  # dated ahead: today's copy unchanged
    with time_machine.travel(at(2023, 9, 1, 0, 5), tick=False):
        assert [c.pk for c in history.apply_due_versions()] == [leaf.pk]
    assert Category.objects.get(pk=leaf.pk).full_name == "政务服务—政务网点"
    assert list(CategoryVersion.objects.filter(category=leaf).values_list("valid_from", "valid_to")) == [
        (None, dt.date(2023, 9, 1)), (dt.date(2023, 9, 1), None)]


def test_a_direct_rename_is_refused(ruzhou):
    leaf = cat("政务服务—网点服务")
    leaf.name = "政务网点"
    with pytest.raises(ValueError, match="新版本"):
        leaf.save()


# ---------------------------------------------------------------------------------------------
# The admin


@pytest.fixture
def admin_client(client, people):
    client.force_login(people["admin"])
    return client


def change(admin_client, category: Category, **fields):
    data = {"code": category.code, "name": category.name, "parent": category.parent_id or "",
            "active": "on" if category.active else "", "valid_from": "",
            "versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": str(category.versions.count()),
            "versions-MIN_NUM_FORMS": "0", "versions-MAX_NUM_FORMS": "1000"}
    data.update(fields)
    return admin_client.post(f"/admin/catalog/category/{category.pk}/change/", data)


@time_machine.travel(AUGUST_10, tick=False)
def test_the_admin_adds_a_version_with_a_valid_from_date(admin_client):
    leaf = cat("政务服务—网点服务")
    page = admin_client.get(f"/admin/catalog/category/{leaf.pk}/change/").content.decode()
    assert "生效日期" in page and "最早 2023-08-01" in page
    response = change(admin_client, leaf, name="政务网点", valid_from="2023-08-10")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(leaf.versions.values_list("name", "valid_from")) == [("网点服务", None),
                                                                     ("政务网点", dt.date(2023, 8, 10))]
    assert Category.objects.get(pk=leaf.pk).full_name == "政务服务—政务网点"
    assert "政务网点" in admin_client.get(f"/admin/catalog/category/{leaf.pk}/change/").content.decode()


@time_machine.travel(AUGUST_10, tick=False)
@pytest.mark.parametrize("edit, message", [
    ({"name": "政务网点", "valid_from": "2023-07-31"}, "生效日期不能早于 2023-08-01"),
    ({"name": "政务网点", "valid_from": ""}, "须填写生效日期"),
    ({"name": "行政效能"}, "已有名为“行政效能”的分类"),
    ({"parent": "网点服务"}, "分类最多3级"),
    ({"name": "政务—网点"}, "不能含“—”"),
])
def test_the_admin_refuses_an_invalid_edit_in_chinese(admin_client, edit, message):
    leaf = cat("政务服务—网点服务")
    child = history.create_category(code="010101", name="不动产登记", parent=leaf)
    target = leaf
    if edit.get("parent") == "网点服务":  # move 政务服务—行政效能 under 不动产登记: a fourth level
        target, edit = cat("政务服务—行政效能"), {"parent": child.pk}
    edit = {"valid_from": "2023-08-10", **edit}
    response = change(admin_client, target, **edit)
    assert response.status_code == 200 and message in response.content.decode()
    assert CategoryVersion.objects.filter(category=target).count() == 1
    assert Category.objects.get(pk=target.pk).full_name == target.full_name


@time_machine.travel(AUGUST_10, tick=False)
def test_the_admin_refuses_a_cycle_and_adds_a_third_level(admin_client):
    top = cat("政务服务")
    response = change(admin_client, top, parent=cat("政务服务—网点服务").pk, valid_from="2023-08-10")
    assert response.status_code == 200 and "循环" in response.content.decode()
    added = admin_client.post("/admin/catalog/category/add/", {
        "code": "010101", "name": "不动产登记", "parent": cat("政务服务—网点服务").pk, "active": "on",
        "versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0", "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000"})
    assert added.status_code == 302, added.content.decode()[:2000]
    third = Category.objects.get(code="010101")
    assert (third.level, third.full_name, third.versions.count()) == (3, "政务服务—网点服务—不动产登记", 1)
    deeper = admin_client.post("/admin/catalog/category/add/", {
        "code": "01010101", "name": "首次登记", "parent": third.pk, "active": "on",
        "versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0", "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000"})
    assert deeper.status_code == 200 and "分类最多3级" in deeper.content.decode()
