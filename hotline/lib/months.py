"""A month as people type it: '2023-07', '202307', '2023-7'."""

from __future__ import annotations

import re


def parse_month(text: str) -> tuple[int, int]:
    """(year, month), or ValueError with the message to show."""
    m = re.fullmatch(r"(\d{4})-?(\d{1,2})", (text or "").strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"月份格式应为 YYYY-MM，例如 2023-07（收到 {text!r}）")
    return int(m.group(1)), int(m.group(2))
