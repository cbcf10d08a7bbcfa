"""Text search, newest first (``queries.search_orders``): the newest stretch is read in time
order, the rest from an index — on PostgreSQL the character index (hotline.workorders.textindex)
for every phrase, with the unit's key beside it for a unit's search (the trigram indexes are
gone: migration 0022; the keys are in a side table kept by triggers: migration 0024); on SQLite in
time order. Whichever way a page is found, paging through the
results must give exactly what the plain query (``filter_orders`` in time order) gives, for every
role: 李 the operator, 王 the dispatcher, 周 the supervisor, the admin, 赵 of 杨楼镇, 钱 of 寄料镇,
孙 of 住建局 (a co-handler), 吴 the auditor (who sees nothing) — confidential orders and orders
whose text names their caller included."""

import datetime as dt
import importlib

import pytest
from django.db import connection

from hotline.workorders import actions, queries, tasks, textindex
from hotline.workorders.models import Assignment, WorkOrder
from hotline.workorders.remask import remask

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
    was returned by 杨楼镇 and redispatched to 寄料镇: 杨楼镇 still sees it. Two that name their caller
    had their unit search text rewritten by ``hotline remask``."""
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
    # Two orders naming their caller were stored under an older masking rule (nothing masked) and
    # brought up to date by ``hotline remask``: on PostgreSQL their keys are the rewritten ones.
    WorkOrder.objects.filter(number__in=[numbers[10], numbers[25]]).update(masked_text="")
    remask(WorkOrder.objects.all())
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


# (first stretch, window, few candidates): both stretches, then the index for the rest; the first
# stretch, then the index's few candidates (every phrase's, or only those found in no order);
# the first stretch, then one query for the rest (fewer orders than the window); one query.
STRETCHES = [(2, 5, 0), (2, 5, 1_000), (2, 50_000, 0), (50_000, 50_000, 1_000)]


@pytest.mark.parametrize(("first", "window", "few"), STRETCHES)
def test_every_search_path_gives_what_the_plain_query_gives_for_every_role(people, history, monkeypatch, first,
                                                                            window, few):
    """Whichever stretches are read in time order, and whether the character index's candidates
    are few enough to read alone (PostgreSQL), every page is the plain query's."""
    monkeypatch.setattr(queries, "FIRST_STRETCH", first)
    monkeypatch.setattr(queries, "TEXT_WINDOW", window)
    monkeypatch.setattr(queries, "FEW_CANDIDATES", few)
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
        assert textindex.TABLE in sql


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


@pytest.mark.parametrize("few", [0, 1_000])
def test_a_unit_finds_its_old_matches_beyond_the_newest_stretch(people, history, monkeypatch, few):
    monkeypatch.setattr(queries, "FIRST_STRETCH", 2)
    monkeypatch.setattr(queries, "TEXT_WINDOW", 3)
    monkeypatch.setattr(queries, "FEW_CANDIDATES", few)
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


# The side table (migration 0024): written by the database with the order and when its text or
# units change, never by the sweep's stamps or a change of state.
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the character index is PostgreSQL's")


def stored_keys(order_id: int):
    """The order's side-table row: its keys, and where and by which transaction the row version was
    written (a rewrite gives a new ctid; a savepoint's write a new xmin)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT keys, xmin::text, ctid::text FROM {textindex.TABLE} WHERE order_id = %s", [order_id])
        return cursor.fetchone()


def keys_now(order_id: int) -> list[str]:
    """The keys the order's columns make now."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {textindex.keys_of('o')} FROM {textindex.ORDERS} o WHERE o.id = %s", [order_id])
        return cursor.fetchone()[0]


@postgres_only
def test_postgres_keys_follow_the_text_and_the_units(people, unit, new_order):
    """李 registers an order, 王 dispatches it to 杨楼镇, 赵 returns it and 王 redispatches it to 寄料镇
    with 住建局 co-handling: at each step the row holds the keys of the order as it is now, the
    units' keys added. Then its masked text is rewritten (``hotline remask``) and its title and
    content corrected: the keys follow."""
    order = new_order(title="楼道灯不亮", content="来电人张三丰反映楼道灯坏了，电话13812341234。")
    assert stored_keys(order.pk)[0] == keys_now(order.pk)
    assert "灯不" in stored_keys(order.pk)[0] and not any(k.startswith("@") for k in stored_keys(order.pk)[0])
    yanglou, jiliao, sun = unit("杨楼镇"), unit("寄料镇"), people["handler_sun"].unit
    actions.submit_for_dispatch(order, acting_user=people["operator_li"])
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=yanglou)
    assert textindex.unit_key(yanglou.pk) in stored_keys(order.pk)[0]
    actions.request_return(order, acting_user=people["handler_zhao"], reason="不属于本镇", basis="三定方案")
    actions.approve_return(order, acting_user=people["dispatcher_wang"])
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=jiliao, co_units=[sun])
    keys = stored_keys(order.pk)[0]
    assert {textindex.unit_key(u.pk) for u in (yanglou, jiliao, sun)} <= set(keys) and keys == keys_now(order.pk)

    WorkOrder.objects.filter(pk=order.pk).update(masked_text="")  # an older rule masked nothing
    assert stored_keys(order.pk)[0] == keys_now(order.pk)
    before = stored_keys(order.pk)
    assert remask(WorkOrder.objects.filter(pk=order.pk)) == 1
    after = stored_keys(order.pk)
    assert after[2] != before[2] and after[0] != before[0] and after[0] == keys_now(order.pk)
    WorkOrder.objects.filter(pk=order.pk).update(title="路灯不亮", content="路口的路灯坏了。")
    keys = stored_keys(order.pk)[0]
    assert keys == keys_now(order.pk) and "路口" in keys and "楼道" in keys  # 楼道: still in masked_text
    order.refresh_from_db()
    order.masked_text = ""
    order.save()  # every column written, the text among them: a real change is a real change
    assert "楼道" not in stored_keys(order.pk)[0]


@postgres_only
def test_postgres_stamps_and_state_changes_leave_the_keys_row_alone(people, unit, new_order):
    """The row is not rewritten by anything but a change of the text or the units: not by 赵
    signing for the order, not by the sweep's overdue stamp and automatic 催办, not by a save that
    writes every column unchanged — the update that used to re-insert every key into the GIN index."""
    order = new_order(at=dt.datetime(2023, 7, 3, 9, tzinfo=dt.UTC))
    actions.submit_for_dispatch(order, acting_user=people["operator_li"])
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"),
                     at=dt.datetime(2023, 7, 3, 10, tzinfo=dt.UTC))
    before = stored_keys(order.pk)
    actions.sign(order, acting_user=people["handler_zhao"], at=dt.datetime(2023, 7, 3, 11, tzinfo=dt.UTC))
    order.refresh_from_db()
    swept = tasks.run_sweep(order.handle_deadline + dt.timedelta(hours=1))
    order.refresh_from_db()
    assert swept["overdue"] == 1 and order.status == "handling"
    WorkOrder.objects.filter(pk=order.pk).update(supervised=True)
    order.refresh_from_db()
    order.save()
    assert stored_keys(order.pk) == before


@postgres_only
def test_postgres_keys_go_with_the_order_deleted_and_the_table_truncated(people, unit, new_order):
    """Deleting an order deletes its row; Django's ``flush`` (tests, ``hotline demo --reset``), which
    truncates its models' tables only, empties the side table with them (no foreign key refuses it)."""
    from django.core.management.color import no_style

    kept, gone = new_order(), new_order(title="另一件")
    gone.delete()
    assert stored_keys(gone.pk) is None and stored_keys(kept.pk) is not None
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    assert textindex.TABLE not in tables
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's transaction still has FK checks queued
        for sql in connection.ops.sql_flush(no_style(), tables):
            cursor.execute(sql)
        cursor.execute(f"SELECT COUNT(*) FROM {textindex.TABLE}")
        assert cursor.fetchone()[0] == 0


@postgres_only
def test_postgres_triggers_work_with_an_empty_search_path(new_order):
    """pg_restore and maintenance sessions run with an empty search_path (migration 0020): the
    trigger functions carry their own, so an update there still rewrites the keys."""
    order = new_order()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
        cursor.execute("SET LOCAL search_path = ''")
        cursor.execute(f'UPDATE "{schema}".{textindex.ORDERS} SET title = %s WHERE id = %s', ["井盖丢失", order.pk])
        cursor.execute("RESET search_path")
    assert "井盖" in stored_keys(order.pk)[0]


@postgres_only
def test_postgres_the_one_statement_fill_writes_what_the_triggers_wrote(history):
    """Migration 0024's backfill and the bench loader write the keys with ``textindex.fill``; the
    triggers wrote them order by order as the story went. They agree, row for row."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT order_id, keys FROM {textindex.TABLE} ORDER BY order_id")
        by_triggers = cursor.fetchall()
        cursor.execute(f"DELETE FROM {textindex.TABLE}")
        cursor.execute(textindex.fill())
        cursor.execute(f"SELECT order_id, keys FROM {textindex.TABLE} ORDER BY order_id")
        assert cursor.fetchall() == by_triggers
    assert len(by_triggers) == WorkOrder.objects.count() == 36


@postgres_only
def test_postgres_migration_0024_reverses_and_replays(history):
    """Backwards: the expression index again, no side table, no triggers. Forwards again: every
    order's keys back, and every search path finds what the plain query finds."""
    migration = importlib.import_module("hotline.workorders.migrations.0024_search_keys_table")

    def exists(name: str) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            return cursor.fetchone()[0]

    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # DDL refuses a table with queued FK checks
    with connection.schema_editor() as editor:
        migration.backwards(None, editor)
    assert exists(textindex.EXPRESSION_INDEX) and not exists(textindex.TABLE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pg_trigger WHERE tgname = ANY(%s)", [list(textindex.TRIGGERS)])
        assert cursor.fetchone()[0] == 0
    with connection.schema_editor() as editor:
        migration.forwards(None, editor)
    assert exists(textindex.INDEX) and not exists(textindex.EXPRESSION_INDEX)
    for order_id in WorkOrder.objects.values_list("pk", flat=True):
        assert stored_keys(order_id)[0] == keys_now(order_id)
