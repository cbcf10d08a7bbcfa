"""A month given on the command line (``--month 2023-07``): the one parser's reading
(``hotline.lib.parsing.parse_month``), refused as a ``CommandError`` every command prints alike."""

from __future__ import annotations

from django.core.management.base import CommandError

from hotline.lib import parsing


def month_argument(text: str) -> tuple[int, int]:
    try:
        return parsing.parse_month(text, "月份", required=True)
    except parsing.ParseError as e:
        raise CommandError(f"{e}（格式 YYYY-MM，例如 2023-07）") from None
