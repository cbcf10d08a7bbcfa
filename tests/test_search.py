"""Text search, newest first (``queries.search_orders``): the newest stretch is read in time
order, the rest from the text index or, for a unit and a phrase too short for trigrams, from the
unit's own orders a batch at a time. Whichever way a page is found, paging through the results
must give exactly the visible matches in time order."""

import datetime as dt

import pytest

from hotline.workorders import actions, queries

pytestmark = pytest.mark.django_db

TITLES = ("楼上漏水", "拖欠工资问题", "路灯不亮", "小区漏水严重", "工地拖欠工资", "噪音扰民")


@pytest.fixture
def history(people, unit, new_order):
    """36 orders over 36 days, every third dispatched to 杨楼镇 and every third to 寄料镇."""
    numbers = []
    for i in range(36):
        order = new_order(at=dt.datetime(2023, 5, 1, 9, tzinfo=dt.UTC) + dt.timedelta(days=i),
                          title=TITLES[i % len(TITLES)], content=f"来电反映第{i}号问题。")
        if i % 3:
            actions.submit_for_dispatch(order, acting_user=people["operator_li"])
            actions.dispatch(order, acting_user=people["dispatcher_wang"],
                             lead_unit=unit("杨楼镇" if i % 3 == 1 else "寄料镇"))
        numbers.append(order.number)
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


@pytest.mark.parametrize("window,batch", [(5, 2), (50_000, 5000)])
@pytest.mark.parametrize("term", ["漏水", "工资", "拖欠工资", "水", "魑魅魍魉"])
def test_paging_through_a_text_search_gives_every_visible_match_in_time_order(people, history, monkeypatch,
                                                                              window, batch, term):
    monkeypatch.setattr(queries, "TEXT_WINDOW", window)
    monkeypatch.setattr(queries, "UNIT_BATCH", batch)
    for who in ("dispatcher_wang", "handler_zhao", "handler_qian"):
        for extra in ({}, {"status": "dispatched"}):
            params = {"q": term, **extra}
            assert every_page(people[who], params) == expected(people[who], params), (who, params)


def test_a_unit_finds_its_old_matches_beyond_the_newest_stretch(people, history, monkeypatch):
    monkeypatch.setattr(queries, "TEXT_WINDOW", 3)
    monkeypatch.setattr(queries, "UNIT_BATCH", 1)
    zhao = people["handler_zhao"]
    found = every_page(zhao, {"q": "工资"}, page_size=2)
    # 杨楼镇 led orders 1, 4, 7, …, whose titles (拖欠工资问题, 工地拖欠工资) all hold 工资.
    assert found == [history[i] for i in reversed(range(36)) if i % 3 == 1]
    assert every_page(people["handler_qian"], {"q": "工资"}) == []
