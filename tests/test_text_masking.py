"""The one text boundary (hotline.lib.text) and the one masking function (hotline.lib.masking):
pure, no database. Property tests with Hypothesis: cleaned text never holds a control character;
masked text never holds a phone or ID number in any spelling."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.lib.masking import HIDDEN, mask_identities, mask_name, mask_phone, phone_digits
from hotline.lib.text import NUL_MESSAGE, TextError, clean_text, scrub, scrub_data

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# ---------------------------------------------------------------------------------------------
# Text


def test_clean_text_rules():
    assert clean_text("路灯\x01不亮\x07") == "路灯不亮"
    assert clean_text("第一行\r\n第二行\r第三行") == "第一行\n第二行\n第三行"
    assert clean_text("a\tb\nc") == "a\tb\nc"
    assert clean_text("标题\n换行\t制表", single_line=True) == "标题 换行 制表"
    assert clean_text("1\u200b3\u202e7\ufeff") == "137"
    assert clean_text("\x85C1\x9f") == "C1"
    assert clean_text("e\u0301") == "\u00e9"  # NFC
    assert clean_text("孤\ud800立") == "孤立"
    assert clean_text(None) == "" and clean_text("") == ""
    with pytest.raises(TextError) as exc:
        clean_text("诉求\x00内容")
    assert str(exc.value) == NUL_MESSAGE
    assert scrub("诉求\x00内容") == "诉求内容"  # writers never raise
    assert scrub_data({"a\x01": ["x\x02", 3, {"y": "\ud800z"}]}) == {"a": ["x", 3, {"y": "z"}]}


@given(st.text())
@settings(deadline=None)
def test_cleaned_text_never_holds_a_control_character(value):
    try:
        cleaned = clean_text(value)
    except TextError:
        assert "\x00" in value
        cleaned = scrub(value)
    assert not CONTROL.search(cleaned)
    assert "\r" not in cleaned
    assert unicodedata.is_normalized("NFC", cleaned)
    cleaned.encode("utf-8")  # no lone surrogate
    assert scrub(cleaned) == cleaned  # idempotent
    one_line = scrub(value, single_line=True)
    assert "\n" not in one_line and "\t" not in one_line


@given(st.text())
@settings(max_examples=40, deadline=None)
def test_scrubbed_text_opens_in_every_writer(value):
    import io
    import xml.etree.ElementTree as ET

    from docx import Document
    from openpyxl import Workbook

    from hotline.lib import xlsx
    from hotline.open311.georeport import to_json, to_xml

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("s")
    xlsx.append(ws, [value])
    wb.save(io.BytesIO())
    ET.fromstring(to_xml("service_requests", [{"description": value}]))
    to_json([{"description": value}]).decode("utf-8")
    Document().add_paragraph(scrub(value))


# ---------------------------------------------------------------------------------------------
# Masking

PHONE = "13700008888"
SPELLINGS = [
    "13700008888", "137-0000-8888", "137 0000 8888", "137.0000.8888", "137 - 0000 - 8888",
    "１３７００００８８８８", "１３７－００００－８８８８", "+86 137 0000 8888", "+8613700008888",
    "0086-137-0000-8888", "86 13700008888", "(+86)137/0000/8888", "一三七零零零零八八八八", "幺三七 洞洞洞洞 八八八八",
    "1\u200b3\u200b7\u200b0000\u20608888", "137\u30000000\u30008888",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_of_a_mobile_is_masked(spelling):
    text = f"来电人说电话是{spelling}，请回电"
    masked = mask_identities(text)
    assert masked == "来电人说电话是137****8888，请回电"
    assert HIDDEN in mask_identities(text, hide=True)
    assert not re.search(r"\d", mask_identities(text, hide=True))


def test_landlines_ids_and_names():
    text = ("座机0375-1234567，(0375)1234567，03751234567，010-61234567；联系电话 6123456；"
            "身份证410482199001011234和41048219900101123x，旧证410482900101123。"
            "来电人司马光明（司 马 光 明）称，司马先生家门口路灯不亮。")
    masked = mask_identities(text, name="司马光明", phone=PHONE)
    assert "1234567" not in masked and "61234567" not in masked and "6123456" not in masked
    assert "0375-*****67" in masked and "010-******67" in masked
    assert "4104************34" in masked and "4104************3x" in masked and "4104*********23" in masked
    assert "光明" not in masked and masked.count("司马**") == 2
    hidden = mask_identities(text, name="司马光明", phone=PHONE, hide=True)
    assert not re.search(r"\d", hidden) and "司马" not in hidden and "光明" not in hidden


def test_landlines_written_internationally():
    """+86 drops the landline's trunk 0; the number is the same one and is masked the same way."""
    text = "座机+86 375 6012345，或0086-375-6012345，或＋８６（３７５）６０１２３４５，北京+86 10 6123 4567"
    masked = mask_identities(text)
    assert masked.count("0375-*****45") == 3 and "010-******67" in masked
    assert "6012345" not in _digits(masked) and "61234567" not in _digits(masked)
    assert mask_identities("回电+86 375 6012345", phone="0375-6012345", hide=True) == f"回电{HIDDEN}"


def test_what_is_not_an_identity_stays():
    text = "2023-07-10 14:30，工单RZ2307-000123，拨打12345，金额1234567元，面积120.5平方米，137000088881"
    assert mask_identities(text) == text
    assert mask_identities("2023-07-10 13700008888 反映") == "2023-07-10 137****8888 反映"


def test_the_callers_own_number_in_any_length():
    assert mask_identities("打6012345找我", phone="6012345") == "打*****45找我"
    assert mask_identities("打601-2345找我", phone="6012345", hide=True) == f"打{HIDDEN}找我"


def test_contact_fields():
    assert mask_phone("137-0000-8888") == "137****8888"
    assert mask_phone("+86 13700008888") == "137****8888"
    assert mask_name("司马光明") == "司马**" and mask_name("张三") == "张*"
    assert phone_digits("＋８６ １３７－００００－８８８８") == PHONE
    assert phone_digits("一三七零零零零八八八八") == PHONE


SEPARATORS = st.sampled_from(["", "", "", " ", "-", ".", "－", "　", " - ", "/", "\u200b"])
FILLER = st.text(alphabet="来电人反映路灯不亮小区门口，。请尽快处理谢谢", max_size=12)


def _spelled(digits: str, draw_sep, full_width: bool) -> str:
    out = []
    for i, d in enumerate(digits):
        if i:
            out.append(draw_sep())
        out.append(chr(ord("０") + int(d)) if full_width else d)
    return "".join(out)


@st.composite
def phone_in_text(draw):
    digits = "1" + draw(st.sampled_from("3456789")) + "".join(draw(st.lists(
        st.sampled_from("0123456789"), min_size=9, max_size=9)))
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "0086", "86-"]))
    spelled = prefix + _spelled(digits, lambda: draw(SEPARATORS), draw(st.booleans()))
    return digits, draw(FILLER) + spelled + draw(FILLER)


@st.composite
def id_in_text(draw):
    body = draw(st.sampled_from("12345678")) + "".join(draw(st.lists(st.sampled_from("0123456789"),
                                                                      min_size=16, max_size=16)))
    digits = body + draw(st.sampled_from("0123456789Xx"))
    spelled = _spelled(digits[:-1], lambda: draw(st.sampled_from(["", "", " ", "-"])), draw(st.booleans()))
    return digits, draw(FILLER) + spelled + digits[-1] + draw(FILLER)


def _digits(text: str) -> str:
    return "".join(str(unicodedata.digit(ch)) for ch in text if ch.isdigit())


@given(phone_in_text())
@settings(max_examples=200, deadline=None)
def test_masked_text_never_holds_the_phone(case):
    digits, text = case
    masked = mask_identities(text)
    assert digits not in _digits(masked)
    assert digits[3:7] not in _digits(masked).replace(digits[:3], "", 1).replace(digits[-4:], "")
    hidden = mask_identities(text, hide=True)
    assert _digits(hidden) == "" and HIDDEN in hidden


@given(id_in_text())
@settings(max_examples=150, deadline=None)
def test_masked_text_never_holds_the_id_number(case):
    digits, text = case
    masked = mask_identities(text)
    assert digits[:17] not in _digits(masked) and digits[4:16] not in _digits(masked)
    assert _digits(mask_identities(text, hide=True)) == ""


@given(FILLER, FILLER, st.sampled_from(["", " ", "\u3000", "·"]))
@settings(deadline=None)
def test_masked_text_never_holds_the_callers_name(before, after, gap):
    name = "司马光明"
    text = before + gap.join(name) + after
    assert "光明" not in mask_identities(text, name=name).replace(gap, "")
    hidden = mask_identities(text, name=name, hide=True)
    assert "司马" not in hidden and "光明" not in hidden
