"""Masking of personal data (pure)."""

import re

_DIGITS = re.compile(r"\d")


def mask_phone(phone: str | None) -> str:
    """138****1234 for mobiles; landlines keep area code and last 2 digits."""
    if not phone:
        return ""
    phone = phone.strip()
    if len(phone) == 11 and phone.isdigit():
        return f"{phone[:3]}****{phone[-4:]}"
    if len(phone) <= 4:
        return "*" * len(phone)
    keep_head = 3 if len(phone) > 7 else 1
    return phone[:keep_head] + "*" * (len(phone) - keep_head - 2) + phone[-2:]


def mask_name(name: str | None) -> str:
    """张** / 欧阳** : keep the surname (1 char, 2 for common compound surnames)."""
    if not name:
        return ""
    name = name.strip()
    compound = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐")
    head = 2 if name[:2] in compound and len(name) > 2 else 1
    return name[:head] + "*" * max(1, len(name) - head)


def mask_text_phones(text: str) -> str:
    """Mask mobile numbers written inside free text (contents often repeat the caller's number)."""
    return re.sub(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)", r"\1****\3", text or "")
