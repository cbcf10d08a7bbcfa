"""A published month's annex tables (附件) as plain values: what the briefing prints of a version."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class AnnexRow:
    """A unit's monthly assessment result: total score (may exceed 100) and shared rank."""

    unit: str
    score: Decimal
    rank: int


@dataclass(frozen=True)
class AnnexTable:
    """An assessment annex (附件), e.g. 七月份乡镇街道考核表, with its footnote."""

    title: str
    rows: tuple[AnnexRow, ...]
    note: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.rows, tuple):
            object.__setattr__(self, "rows", tuple(self.rows))
