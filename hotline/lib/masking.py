"""The one masking function for identities (pure).

``mask_identities(text, name=…, phone=…, hide=…)`` is what every output that a unit or the public
sees passes free text through (pages, exports, API, Open311, the portal, briefing drafts, print
sheets; ``hotline.accounts.access`` decides who gets it). It finds, in any spelling:

- mobile numbers: 11 digits 1[3-9]…, with or without +86 / 0086 / 86, grouped by spaces, dashes,
  dots, slashes or parentheses (``137-0000-8888``, ``137 0000 8888``, ``+86 137.0000.8888``), in
  full-width digits (``１３７００００８８８８``) or in Chinese numerals (``一三七零零零零八八八八``);
- landlines: an area code 0xx/0xxx and a 7–8 digit local number (``0375-1234567``,
  ``(0375)1234567``, ``03751234567``, and internationally without the 0: ``+86 375 1234567``); a bare 7–8 digit local number where the words before it say
  it is a number (电话, 手机, 号码, 联系, 座机, 拨打, 致电, tel);
- ID-card numbers: 18 digits (the last may be X/x) and the old 15-digit ones;
- the caller's own phone in any of those spellings, whatever its length, and the caller's own name
  wherever it appears (characters may be spaced out); when hiding, also the surname with a form of
  address (司马先生, 张女士).

A number is recognised only as a whole group sequence: its first and last digit must start and end
a group (``20230710 13700008888`` holds a phone; ``137000088881`` does not).

Two strengths: ``hide=False`` masks as the contact fields are shown (``137****8888``,
``0375-*****67``, ``4104************34``, ``司马**``); ``hide=True`` replaces every identity with
``（保密）`` — a confidential order as a unit sees it, and every public output.
"""

from __future__ import annotations

import re
import unicodedata

HIDDEN = "（保密）"

COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "夏侯",
                     "司徒", "长孙", "宇文", "端木", "澹台", "轩辕", "西门", "南宫", "独孤")
FORMS_OF_ADDRESS = ("先生", "女士", "小姐", "师傅", "大爷", "大妈", "大姐", "大哥", "阿姨", "老师", "同志", "老人",
                    "某")

# Characters that may separate the digits of one number, after _fold: space, dash, dot, middle dot,
# slash and parentheses. Invisible characters fold to a space so they separate too.
_SEPARATORS = " -./()·"
_MAX_SEPARATORS = 3
# Words that make a bare 7–8 digit group a local telephone number.
_NUMBER_WORDS = re.compile(r"(电话|手机|号码|联系|座机|拨打|致电|来电|热线|tel|phone|☎)", re.IGNORECASE)
_CONTEXT = 8

_CN_DIGITS = {"零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4",
              "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_CN_RUN = re.compile("[零〇洞一幺二两三四五六七八九](?:[ \u3000\\-·]{0,2}[零〇洞一幺二两三四五六七八九]){6,}")

_FOLD = {
    "\u3000": " ", "\u00a0": " ", "\uff0b": "+", "\uff08": "(", "\uff09": ")", "\uff0d": "-", "\u2010": "-",
    "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-", "\uff0e": ".", "\u3002": "。",
    "\uff0f": "/", "\uff38": "X", "\uff58": "x",
}


def _fold_char(ch: str) -> str:
    """One character as the number finder reads it: digits of any script as ASCII, full-width
    punctuation as ASCII, invisible format characters as a space. Always one character, so a span
    found in the folded text is the same span in the original."""
    if ch.isascii():
        return ch
    if ch in _FOLD:
        return _FOLD[ch]
    if ch.isdigit():
        try:
            return str(unicodedata.digit(ch))
        except (TypeError, ValueError):
            return ch
    if unicodedata.category(ch) == "Cf" or ch.isspace():
        return " "
    return ch


def _fold(text: str) -> str:
    if text.isascii():
        return text
    return "".join(_fold_char(ch) for ch in text)


def phone_digits(value: str | None) -> str:
    """The digits of a phone number in any spelling, without a +86 / 0086 country prefix."""
    digits = "".join(ch for ch in _fold(value or "") if ch.isascii() and ch.isdigit())
    if not digits:
        digits = "".join(_CN_DIGITS.get(ch, "") for ch in (value or ""))
    return _national(digits)


def _national(digits: str) -> str:
    """Digits without a 0086 / 86 country code: a mobile's 11 digits, or a landline with the trunk 0
    that the international spelling drops put back (``863756012345`` → ``03756012345``)."""
    for prefix in ("0086", "86"):
        rest = digits[len(prefix):]
        if not digits.startswith(prefix):
            continue
        if len(rest) == 11 and rest[0] == "1":
            return rest
        if 9 <= len(rest) <= 11 and (rest[0] in "23456789" or rest.startswith("10")):
            return "0" + rest
    return digits


# ---------------------------------------------------------------------------------------------
# Contact fields


def mask_phone(phone: str | None) -> str:
    """138****1234 for mobiles; landlines keep area code and last 2 digits."""
    if not phone:
        return ""
    phone = phone.strip()
    digits = phone_digits(phone)
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    if len(phone) <= 4:
        return "*" * len(phone)
    keep_head = 3 if len(phone) > 7 else 1
    return phone[:keep_head] + "*" * (len(phone) - keep_head - 2) + phone[-2:]


def surname_of(name: str) -> str:
    name = (name or "").strip()
    return name[:2] if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else name[:1]


def mask_name(name: str | None) -> str:
    """张** / 欧阳** : keep the surname (1 char, 2 for common compound surnames)."""
    if not name:
        return ""
    name = name.strip()
    head = len(surname_of(name))
    return name[:head] + "*" * max(1, len(name) - head)


# ---------------------------------------------------------------------------------------------
# Free text


def _kind(digits: str, *, whole_group: bool, context: str, own: str) -> str | None:
    """What a digit sequence is (``mobile``, ``landline``, ``id``, ``own``) or None."""
    bare = _national(digits)
    if own and bare == own:
        return "own"
    if len(bare) == 11 and re.fullmatch(r"1[3-9]\d{9}", bare):
        return "mobile"
    if re.fullmatch(r"[1-9]\d{16}[\dXx]|[1-9]\d{14}", digits):
        return "id"
    if re.fullmatch(r"0[1-9]\d{1,2}[2-9]\d{6,7}", bare) and 10 <= len(bare) <= 12:
        return "landline"
    if whole_group and re.fullmatch(r"[2-9]\d{6,7}", digits) and _NUMBER_WORDS.search(context):
        return "landline"
    return None


def _mask_number(kind: str, digits: str) -> str:
    if kind in ("mobile", "own") and len(digits) >= 11 and digits[-11] == "1":
        digits = digits[-11:]
        return f"{digits[:3]}****{digits[-4:]}"
    if kind == "id":
        return digits[:4] + "*" * (len(digits) - 6) + digits[-2:]
    if kind == "landline":
        digits = _national(digits)
    if kind == "landline" and digits.startswith("0"):
        area = 3 if digits[1] in "12" else 4  # 010, 02x: three digits; the rest four
        return digits[:area] + "-" + "*" * (len(digits) - area - 2) + digits[-2:]
    return "*" * max(1, len(digits) - 2) + digits[-2:]


def _groups(folded: str):
    """Runs of digit groups: lists of (start, end) spans of digits, the groups of one run apart by
    at most ``_MAX_SEPARATORS`` separator characters."""
    runs, run = [], []
    i, n = 0, len(folded)
    while i < n:
        if folded[i].isascii() and folded[i].isdigit():
            j = i
            while j < n and folded[j].isascii() and folded[j].isdigit():
                j += 1
            if j < n and folded[j] in "Xx" and (j + 1 == n or not folded[j + 1].isascii()
                                                or not folded[j + 1].isalnum()):
                j += 1  # an ID card's check character
            if run and (i - run[-1][1] > _MAX_SEPARATORS
                        or any(c not in _SEPARATORS for c in folded[run[-1][1]:i])):
                runs.append(run)
                run = []
            run.append((i, j))
            i = j
        else:
            i += 1
    if run:
        runs.append(run)
    return runs


def _number_spans(text: str, folded: str, own: str) -> list[tuple[int, int, str, str]]:
    """(start, end, kind, digits) of every identity number in ``text``."""
    spans = []
    for run in _groups(folded):
        k = 0
        while k < len(run):
            found = None
            # The longest sequence of whole groups from group k that is a number.
            for m in range(len(run), k, -1):
                start, end = run[k][0], run[m - 1][1]
                digits = "".join(folded[a:b] for a, b in run[k:m])
                if len(digits) > 20:
                    continue
                context = folded[max(0, start - _CONTEXT):start]
                kind = _kind(digits, whole_group=(m - k) <= 2, context=context, own=own)
                if kind:
                    while start > 0 and folded[start - 1] in "+(":
                        start -= 1  # the country code's plus, the area code's parenthesis
                    found = (start, end, kind, digits, m)
                    break
            if found:
                spans.append(found[:4])
                k = found[4]
            else:
                k += 1
    for match in _CN_RUN.finditer(text):
        digits = "".join(_CN_DIGITS.get(ch, "") for ch in match.group())
        kind = _kind(digits, whole_group=True, context=text[max(0, match.start() - _CONTEXT):match.start()],
                     own=own)
        if kind:
            spans.append((match.start(), match.end(), kind, digits))
    return spans


def _name_spans(text: str, name: str, hide: bool) -> list[tuple[int, int, str, str]]:
    name = "".join((name or "").split())
    if len(name) < 2:
        return []
    gap = r"[\s\u00b7·\u200b-\u200f\u2060\ufeff]*"
    spans = [(m.start(), m.end(), "name", name)
             for m in re.finditer(gap.join(re.escape(ch) for ch in name), text)]
    if hide:
        surname = surname_of(name)
        addressed = re.escape(surname) + gap + "(?:" + "|".join(FORMS_OF_ADDRESS) + ")"
        spans += [(m.start(), m.end(), "name", name) for m in re.finditer(addressed, text)]
    return spans


_ANY_DIGIT = re.compile(r"\d")  # any script's digits: full-width ones included


def _might_name(text: str, name: str) -> bool:
    name = "".join((name or "").split())
    return len(name) >= 2 and surname_of(name)[0] in text


def mask_identities(text: str | None, *, name: str = "", phone: str = "", hide: bool = False) -> str:
    """``text`` with every phone, landline and ID-card number in any spelling, and the caller's own
    ``name`` and ``phone``, masked (``hide=False``) or replaced by ``（保密）`` (``hide=True``)."""
    if not text:
        return ""
    if not _ANY_DIGIT.search(text) and not _CN_RUN.search(text) and not _might_name(text, name):
        return text  # most texts: nothing a number or a name could be made of
    folded = _fold(text)
    own = phone_digits(phone)
    if len(own) < 5:
        own = ""  # a two-digit "phone" would mask every number in the text
    spans = _number_spans(text, folded, own) + _name_spans(text, name, hide)
    if not spans:
        return text
    spans.sort(key=lambda s: (s[0], -s[1]))
    out, at = [], 0
    for start, end, kind, value in spans:
        if start < at:
            continue  # inside a span already masked
        out.append(text[at:start])
        if hide:
            out.append(HIDDEN)
        elif kind == "name":
            out.append(mask_name(value))
        else:
            out.append(_mask_number(kind, value))
        at = end
    out.append(text[at:])
    return "".join(out)
