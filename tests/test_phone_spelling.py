"""One spelling of every phone number: 李 types the caller's number as the caller says it
(``137-0000-8888``, full-width, with +86, a landline with its area code in brackets); the order
keeps one spelling, and a search, the caller history and masking find it by any of them."""

import pytest

from hotline.lib.parsing import ParseError, parse_phone, phone_spellings
from hotline.workorders import queries
from hotline.workorders.models import WorkOrder
from hotline.workorders.workflow import WorkflowError

MOBILE = ["13700008888", "137-0000-8888", "137 0000 8888", "１３７－００００－８８８８", "+86 137 0000 8888",
          "0086-13700008888", "137.0000.8888", "(137)0000 8888", "８６１３７００００８８８８"]
LANDLINE = ["0375-6012345", "(0375)6012345", "03756012345", "0375 601 2345", "（０３７５）６０１２３４５",
            "+86 375 6012345", "0086-375-6012345", "＋８６ ３７５ ６０１２３４５"]


@pytest.mark.parametrize("typed", MOBILE)
def test_a_mobile_has_one_spelling(typed):
    assert parse_phone(typed, "联系电话") == "13700008888"


@pytest.mark.parametrize("typed", LANDLINE)
def test_a_landline_keeps_its_area_code(typed):
    assert parse_phone(typed, "联系电话") == "0375-6012345"


def test_three_digit_area_codes_and_service_numbers():
    assert parse_phone("01012345678", "x") == "010-12345678"
    assert parse_phone("021 1234 5678", "x") == "021-12345678"
    assert parse_phone("12345", "x") == "12345" and parse_phone("", "x") == ""
    assert parse_phone("+86 10 1234 5678", "x") == "010-12345678"
    assert parse_phone("86123456", "x") == "86123456"  # a local number, not a country code


@pytest.mark.parametrize("bad", ["abc", "1234", "137-0000-888a", "一三七零零零零八八八八", "1" * 21, "137\n0000"])
def test_what_is_no_number_is_refused_naming_the_field(bad):
    with pytest.raises(ParseError) as error:
        parse_phone(bad, "联系电话")
    assert str(error.value).startswith("联系电话：")


def test_search_spellings_include_what_older_rows_may_hold():
    assert phone_spellings("137 0000 8888") == ["137 0000 8888", "13700008888"]
    assert phone_spellings("(0375)6012345") == ["(0375)6012345", "0375-6012345", "03756012345"]
    assert phone_spellings("司马") == []


@pytest.mark.django_db
def test_every_entry_stores_one_spelling_and_finds_it_by_any(client, people, new_order):
    typed = iter(MOBILE)
    orders = [new_order(caller_phone=next(typed)) for _ in range(3)]
    assert {o.caller_phone for o in WorkOrder.objects.all()} == {"13700008888"}
    li = people["operator_li"]
    for spelling in MOBILE:
        assert len(queries.caller_history(li, spelling)) == 3, spelling
    client.force_login(people["dispatcher_wang"])
    for spelling in MOBILE + ["13700008888"]:
        page = client.get("/orders/", {"phone": spelling}).content.decode()
        assert all(o.number in page for o in orders), spelling
    landline = new_order(caller_phone="(0375)6012345")
    assert landline.caller_phone == "0375-6012345"
    assert queries.caller_history(li, "03756012345") == [landline]
    with pytest.raises(WorkflowError, match="联系电话"):
        new_order(caller_phone="138abcd1234")


@pytest.mark.django_db
def test_remask_brings_older_rows_to_the_one_spelling(people, new_order):
    from hotline.workorders.remask import remask

    order = new_order()
    WorkOrder.objects.filter(pk=order.pk).update(caller_phone="138-1234-1234")
    assert remask(WorkOrder.objects.all()) == 1
    order.refresh_from_db()
    assert order.caller_phone == "13812341234"
