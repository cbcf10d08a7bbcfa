"""A confidential caller is never found, nor spelled out, by anyone who may not see them.

司马光明 (13700008888) calls 12345 about a street lamp and asks that units not learn who called.
李 registers the order as confidential and quotes the caller in the content — by name, and the
number in five spellings — and 王 dispatches it to 杨楼镇. Then every role searches for every
substring of the name and the number (two characters or more), every spelling of the number and
each with a neighbouring character of the content (人司马, 话137): in the search page, its Excel
export (read back with openpyxl), the phone filter, the order page and its print sheet, the JSON
API and Open311. Center staff find the order; 赵 of 杨楼镇 finds it only by words that name nobody
and reads it with the caller hidden; 钱 of 寄料镇, 吴 the auditor and the public find nothing.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from html import escape
from urllib.parse import urlencode

import pytest
from conftest import at
from openpyxl import load_workbook

from hotline.lib.masking import HIDDEN
from hotline.workorders import actions
from hotline.workorders.models import WorkOrder

NAME, PHONE = "司马光明", "13700008888"
SPELLINGS = ["13700008888", "137-0000-8888", "１３７－００００－８８８８", "+86 137 0000 8888",
             "一三七零零零零八八八八", "137 0000 8888", "137.0000.8888", "１３７００００８８８８", "0086-13700008888"]
CONTENT = ("来电人司马光明反映：门口路灯不亮。联系电话13700008888，又留137-0000-8888、１３７－００００－８８８８、"
           "+86 137 0000 8888、一三七零零零零八八八八，司马先生请回电。")


def substrings(word: str) -> list[str]:
    return sorted({word[i:j] for i in range(len(word)) for j in range(i + 2, len(word) + 1)})


PROBES = sorted(set(substrings(NAME) + substrings(PHONE) + SPELLINGS
                    + ["人司马", "人司马光明", "明反", "光明反映", "话137", "话13700008888", "话1", "留137",
                       "137-0000", "0000-8888", "１３７", "８８８８", "零零零零", "三七零", "+86", "86 137", "司马先生"]))


def leaks(text: str) -> list[str]:
    """The identity's forms found in ``text``: the name or a part of it, the number in any spelling."""
    found = [part for part in ("司马", "马光", "光明") if part in text]
    found += [s for s in SPELLINGS if s in text]
    folded = text.translate({ord("０") + d: str(d) for d in range(10)} | {ord("－"): "-"})
    joined = re.sub(r"(?<=\d)[ \-.()/\u3000\u200b]+(?=\d)", "", folded)
    if PHONE in joined:
        found.append("13700008888 (joined)")
    if "零零零零" in text or "八八八八" in text:
        found.append("Chinese numerals")
    return found


def without_echo(page: str, field: str, probe: str) -> str:
    """The page without the searcher's own words echoed back in the form and the links."""
    return (page.replace(f'value="{escape(probe)}"', 'value=""')
            .replace(urlencode({field: probe}), f"{field}="))


def xlsx_rows(response) -> list[tuple]:
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content), read_only=True)
    return [tuple("" if v is None else str(v) for v in row) for row in wb.active.iter_rows(values_only=True)]


@pytest.fixture
def lamp(people, unit, new_order):
    """The confidential order, dispatched to 杨楼镇; beside it an ordinary order of 杨楼镇 whose caller
    wrote a number into the content."""
    li, wang = people["operator_li"], people["dispatcher_wang"]
    order = new_order(title="门口路灯不亮", content=CONTENT, caller_name=NAME, caller_phone=PHONE,
                      confidential=True)
    other = new_order(title="路灯不亮影响出行", content="路灯不亮。联系电话13912345678。", caller_name="欧阳明",
                      caller_phone="13912345678", at=at(2023, 7, 3, 10, 0))
    for o in (order, other):
        actions.submit_for_dispatch(o, acting_user=li)
        actions.dispatch(o, acting_user=wang, lead_unit=unit("杨楼镇"))
    return order, other


def test_the_stored_search_text_holds_no_identity(lamp):
    order, other = lamp
    order.refresh_from_db()
    assert order.masked_text.startswith("门口路灯不亮\n来电人（保密）反映") and not leaks(order.masked_text)
    assert order.masked_text.count(HIDDEN) == 7
    other.refresh_from_db()
    assert "139****5678" in other.masked_text and "1234" not in other.masked_text
    plain = WorkOrder.objects.exclude(pk__in=[order.pk, other.pk]).values_list("masked_text", flat=True)
    assert set(plain) <= {""}


@pytest.mark.parametrize("who", ["handler_zhao", "handler_qian", "auditor_wu"])
def test_nobody_who_may_not_see_the_caller_finds_them(client, people, lamp, who):
    order, other = lamp
    client.force_login(people[who])
    for probe in PROBES:
        page = client.get("/orders/", {"q": probe}).content.decode()
        assert order.number not in page, (who, probe)
        assert not leaks(without_echo(page, "q", probe)), (who, probe)
        rows = xlsx_rows(client.get("/orders/export.xlsx", {"q": probe}))
        assert all(order.number not in row for row in rows), (who, probe)
        assert not any(leaks(cell) for row in rows for cell in row), (who, probe)
    for spelling in SPELLINGS:
        page = client.get("/orders/", {"phone": spelling}).content.decode()
        assert order.number not in page and not leaks(without_echo(page, "phone", spelling)), (who, spelling)
        rows = xlsx_rows(client.get("/orders/export.xlsx", {"phone": spelling}))
        assert all(order.number not in row for row in rows), (who, spelling)
    # The ordinary order's masked middle digits are not searchable either; its visible end is.
    assert other.number not in client.get("/orders/", {"q": "1234"}).content.decode()


def test_the_unit_finds_its_order_by_what_it_may_read(client, people, lamp):
    """赵 finds the confidential order by its words and reads it with the caller hidden everywhere:
    search, export, order page, print sheet, inbox, JSON API."""
    order, other = lamp
    client.force_login(people["handler_zhao"])
    page = client.get("/orders/", {"q": "路灯不亮"}).content.decode()
    assert order.number in page and other.number in page and not leaks(page)
    assert other.number in client.get("/orders/", {"q": "5678"}).content.decode()  # shown as 139****5678
    rows = xlsx_rows(client.get("/orders/export.xlsx", {"q": "路灯"}))
    mine = [row for row in rows if order.number in row]
    assert len(mine) == 1 and HIDDEN in "".join(mine[0]) and not any(leaks(c) for row in rows for c in row)
    assert any("139****5678" in cell for row in rows for cell in row)
    for url in (f"/orders/{order.number}/", f"/orders/{order.number}/?print=1", "/inbox/"):
        page = client.get(url).content.decode()
        assert order.number in page and not leaks(page), url
    detail = client.get(f"/orders/{order.number}/").content.decode()
    assert "来电人（保密）反映" in detail and "联系电话（保密）" in detail
    api = client.get(f"/api/orders/{order.number}/")
    assert api.status_code == 200 and not leaks(api.content.decode("utf-8"))
    other_detail = client.get(f"/orders/{other.number}/").content.decode()
    assert "联系电话139****5678" in other_detail and "13912345678" not in other_detail


def test_the_other_unit_sees_nothing(client, people, lamp):
    order, _ = lamp
    client.force_login(people["handler_qian"])
    assert order.number not in client.get("/orders/", {"q": "路灯"}).content.decode()
    assert client.get(f"/orders/{order.number}/").status_code == 404
    assert client.get(f"/api/orders/{order.number}/").status_code == 404


@pytest.mark.parametrize("who", ["operator_li", "dispatcher_wang", "supervisor_zhou"])
def test_center_staff_find_the_caller(client, people, lamp, who):
    order, _ = lamp
    client.force_login(people[who])
    for probe in ("司马光明", "人司马", "话137", "137-0000-8888", "１３７－００００"):
        assert order.number in client.get("/orders/", {"q": probe}).content.decode(), (who, probe)
    assert order.number in client.get("/orders/", {"phone": "137-0000-8888"}).content.decode()


def test_the_public_reads_no_identity(client, people, lamp):
    order, other = lamp
    assert client.get("/orders/", {"q": "司马"}).status_code == 302  # to the login page
    params = {"start_date": "2023-07-01T00:00:00+08:00", "end_date": "2023-07-31T00:00:00+08:00"}
    for fmt in ("json", "xml"):
        body = client.get(f"/open311/v2/requests.{fmt}", params).content.decode("utf-8")
        assert order.number in body and other.number in body and not leaks(body), fmt
        assert "13912345678" not in body
        if fmt == "xml":
            ET.fromstring(body.encode())
    # The portal shows the order to whoever holds its number and phone, identities masked still.
    page = client.post("/portal/track/", {"number": order.number, "phone": PHONE}, follow=True).content.decode()
    assert order.number in page and not leaks(page)


def test_remask_rewrites_what_an_older_rule_left(lamp):
    """Orders stored before the column existed (or under an older masking rule) get their search
    text from ``hotline remask``, the backfill the migration runs."""
    from django.core.management import call_command

    order, other = lamp
    WorkOrder.objects.filter(pk__in=[order.pk, other.pk]).update(masked_text="")
    out = io.StringIO()
    call_command("remask", batch=1, stdout=out)
    assert "已更新 2 件" in out.getvalue()
    order.refresh_from_db()
    assert order.masked_text.startswith("门口路灯不亮\n来电人（保密）反映")
    call_command("remask", stdout=out)
    assert "已更新 0 件" in out.getvalue()
