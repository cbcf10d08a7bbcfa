"""Text search, newest first (``queries.search_orders``): the newest stretch is read in time
order, the rest from an index — on PostgreSQL the character index (hotline.workorders.textindex)
for every phrase, with the unit's key beside it for a unit's search (the trigram indexes are
gone: migration 0022); on SQLite in time order. Whichever way a page is found, paging through the
results must give exactly what the plain query (``filter_orders`` in time order) gives, for every
role: 李 the operator, 王 the dispatcher, 周 the supervisor, the admin, 赵 of 杨楼镇, 钱 of 寄料镇,
孙 of 住建局 (a co-handler), 吴 the auditor (who sees nothing) — confidential orders and orders
whose text names their caller included."""

import datetime as dt
import importlib

import pytest
from django.db import connection

from hotline.workorders import actions, queries, textindex
from hotline.workorders.models import Assignment, WorkOrder

pytestmark = pytest.mark.django_db

TITLES = ("楼上漏水", "拖欠工资问题", "路灯不亮", "小区漏水严重", "工地拖欠工资", "噪音扰民")
PEOPLE = ("operator_li", "dispatcher_wang", "supervisor_zhou", "admin", "handler_zhao", "handler_qian",
          "handler_sun", "auditor_wu")
# One character common and rare, two common and rare, longer, a title's fragment, the caller's name
# and number and phrases running into them (masked for units), nothing at all.
TERMS = ("水", "鑫", "漏水", "上集", "拖欠工资", "小区漏水严重", "第7号", "张三", "三丰", "人张三", "1381",
         "13812341234", "魑魅魍魉")


@pytest.fixture
def history(people, unit, new_order):
    """36 orders over 36 days. Every third is dispatched to 杨楼镇, every third to 寄料镇; every
    fourth of those with 住建局 co-handling. Every fifth names its caller (张三丰, 13812341234) in
    the content, every seventh is confidential. One order, 鑫 in its title and 上集 in its content,
    was returned by 杨楼镇 and redispatched to 寄料镇: 杨楼镇 still sees it."""
    numbers = []
    for i in range(36):
        content = f"来电反映第{i}号问题。" + ("来电人张三丰，电话13812341234。" if i % 5 == 0 else "")
        order = new_order(at=dt.datetime(2023, 5, 1, 9, tzinfo=dt.UTC) + dt.timedelta(days=i),
                          title=TITLES[i % len(TITLES)] + ("鑫" if i == 4 else ""),
                          content=content + ("上集村" if i == 4 else ""), confidential=i % 7 == 0)
        if i % 3:
            actions.submit_for_dispatch(order, acting_user=people["operator_li"])
            actions.dispatch(order, acting_user=people["dispatcher_wang"],
                             lead_unit=unit("杨楼镇" if i % 3 == 1 else "寄料镇"),
                             co_units=[people["handler_sun"].unit] if i % 4 == 0 else [])
        numbers.append(order.number)
    order = WorkOrder.objects.get(number=numbers[4])
    actions.request_return(order, acting_user=people["handler_zhao"], reason="不属于本镇", basis="三定方案")
    actions.approve_return(order, acting_user=people["dispatcher_wang"])
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("寄料镇"))
    return numbers


def every_page(user, params, page_size=4):
    found, cursor = [], None
    while True:
        page = queries.search_orders(user, {**params, **({"cursor": cursor} if cursor else {})}, page_size=page_size)
        found += [o.number for o in page.orders]
        cursor = page.next_cursor
        if not cursor:
            return found


def expected(user, params):
    return list(queries.filter_orders(user, params).order_by("-received_at", "-id").values_list("number", flat=True))


@pytest.mark.parametrize("window", [5, 50_000])
def test_every_search_path_gives_what_the_plain_query_gives_for_every_role(people, history, monkeypatch, window):
    """Window 5: the newest stretch, then the indexes for the rest; 50,000: one query (fewer orders
    than the window), through the character index on PostgreSQL for a unit and short phrases."""
    monkeypatch.setattr(queries, "TEXT_WINDOW", window)
    for term in TERMS:
        for who in PEOPLE:
            for extra in ({}, {"status": "dispatched"}):
                params = {"q": term, **extra}
                assert every_page(people[who], params) == expected(people[who], params), (who, params)


def test_the_other_sorts_and_the_export_ask_the_index_and_find_the_same(people, history):
    """Sorted by deadline, or exported, a search asks the character index beside its own condition
    (``queries.with_text_keys``): the same orders as the plain query, for every role and phrase."""
    for term in TERMS:
        for who in PEOPLE:
            user = people[who]
            params = {"q": term}
            plain = queries.filter_orders(user, params)
            narrowed = queries.with_text_keys(plain, user, params)
            assert (sorted(narrowed.values_list("number", flat=True))
                    == sorted(plain.values_list("number", flat=True))), (who, term)
            by_deadline = {"q": term, "sort": "deadline"}
            expected_order = list(plain.filter(handle_deadline__isnull=False).order_by("handle_deadline", "id")
                                  .values_list("number", flat=True))
            assert every_page(user, by_deadline) == expected_order, (who, term)
    if connection.vendor == "postgresql":  # the condition is there, not only a no-op that agrees
        sql = str(queries.with_text_keys(queries.filter_orders(people["dispatcher_wang"], {"q": "漏水"}),
                                         people["dispatcher_wang"], {"q": "漏水"}).query)
        assert textindex.FUNCTION in sql


def test_the_comparison_has_something_to_compare(people, history):
    """The plain query itself finds what the story says, so the test above compares real pages."""
    zhao, qian, sun = people["handler_zhao"], people["handler_qian"], people["handler_sun"]
    assert expected(people["dispatcher_wang"], {"q": "鑫"}) == [history[4]]
    assert expected(zhao, {"q": "上集"}) == [history[4]]  # returned, still 杨楼镇's
    assert expected(qian, {"q": "上集"}) == [history[4]]
    assert expected(sun, {"q": "上集"}) == [history[4]]  # 住建局 co-handled it
    assert expected(people["handler_qian"], {"q": "拖欠工资"})
    # The center finds callers by name; a unit never does, on any order.
    assert expected(people["dispatcher_wang"], {"q": "张三"})
    assert expected(zhao, {"q": "张三"}) == expected(zhao, {"q": "人张三"}) == []
    assert expected(people["auditor_wu"], {"q": "水"}) == []


def test_a_unit_finds_its_old_matches_beyond_the_newest_stretch(people, history, monkeypatch):
    monkeypatch.setattr(queries, "TEXT_WINDOW", 3)
    zhao = people["handler_zhao"]
    found = every_page(zhao, {"q": "工资"}, page_size=2)
    # 杨楼镇 led orders 1, 4, 7, …, whose titles (拖欠工资问题, 工地拖欠工资) all hold 工资.
    assert found == [history[i] for i in reversed(range(36)) if i % 3 == 1]
    assert every_page(people["handler_qian"], {"q": "魑魅"}) == []


def test_dispatch_keeps_every_unit_ever_assigned_in_search_units(history):
    for order in WorkOrder.objects.all():
        assigned = list(Assignment.objects.filter(order=order).order_by("id").values_list("unit_id", flat=True))
        assert order.search_units.split() == [str(u) for u in dict.fromkeys(assigned)], order.number


def test_the_migration_backfill_writes_the_same_units_as_dispatch(history):
    before = dict(WorkOrder.objects.values_list("id", "search_units"))
    assert any(" " in units for units in before.values())  # a co-handled or redispatched order
    WorkOrder.objects.update(search_units="")
    migration = importlib.import_module("hotline.workorders.migrations.0019_search_keys")
    migration.fill_search_units(connection)
    assert dict(WorkOrder.objects.values_list("id", "search_units")) == before


def test_phrase_keys_and_units():
    assert textindex.phrase_keys("") == []
    assert textindex.phrase_keys("水") == ["水"]
    assert textindex.phrase_keys("漏水") == ["漏水"]
    assert textindex.phrase_keys("哈哈哈哈") == ["哈哈"]
    assert textindex.phrase_keys("拖欠工资") == ["拖欠", "欠工", "工资"]
    assert textindex.unit_key(7) == "@7@"
    assert textindex.search_units_with("", [3, 5]) == "3 5"
    assert textindex.search_units_with("3 5", [5, 12, 3]) == "3 5 12"


SAMPLES = ("楼上漏水，已三天", "a b  c\nd", "工地拖欠工资 2023年", "😀表情😀x", "", "水", "单\n行")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the character index is PostgreSQL's")
def test_postgres_keys_hold_every_phrase_of_the_text_and_the_units():
    with connection.cursor() as cursor:
        for text in SAMPLES:
            cursor.execute(f"SELECT {textindex.FUNCTION}(%s, %s, %s, %s)", [text, "", "", "3 12"])
            keys = set(cursor.fetchone()[0])
            for i in range(len(text)):
                for j in range(i + 1, len(text) + 1):
                    assert set(textindex.phrase_keys(text[i:j])) <= keys, (text, text[i:j])
            assert {"@3@", "@12@"} <= keys and "@1@" not in keys


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the character index is PostgreSQL's")
def test_postgres_can_read_the_character_index_for_the_condition_queries_write(people, history):
    """The condition is written as the index's own expression, so the index serves it (on these few
    rows the planner would rather read the table, or walk it in time order: both are switched off)."""
    from hotline.lib.planner import planner_without

    for phrase, unit_id in (("上集", people["handler_zhao"].unit_id), ("鑫", None)):
        qs = WorkOrder.objects.filter(textindex.holds_keys(phrase, unit_id))
        with planner_without("default", "seqscan", "indexscan"):  # the model orders by time
            plan = qs.explain()
            assert f"Bitmap Index Scan on {textindex.INDEX}" in plan, plan
            assert [o.number for o in qs] == [history[4]]
