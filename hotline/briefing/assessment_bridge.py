"""The month's assessment as the briefing prints it: read from the published version it cites.

The annexes and the better/worse units (办理较好 / 办理较差) come from the month's latest
*published* assessment version (``hotline.assessment.results``), and the briefing records that
version's number. Nothing is scored here: a briefing that needed its own ranking would print
figures no unit's score sheet explains (the two rankings of issue 11). When nothing is published
yet, the briefing has no annexes and names no units, and says so in its warnings.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.assessment.annex import AnnexTable
from hotline.assessment.models import MonthlyResult
from hotline.assessment.results import annex_tables, latest_published, named_units


@dataclass(frozen=True)
class Assessment:
    annexes: tuple[AnnexTable, ...]
    best: tuple[str, ...]
    worst: tuple[str, ...]
    version: int | None  # MonthlyResult.version cited; None: nothing published


NOT_PUBLISHED = Assessment((), (), (), None)


def of_version(result: MonthlyResult) -> Assessment:
    best, worst = named_units(result)
    return Assessment(tuple(annex_tables(result)), tuple(best), tuple(worst), result.version)


def month_assessment(year: int, month: int) -> Assessment:
    """The month's latest published assessment version, or ``NOT_PUBLISHED``."""
    result = latest_published(year, month)
    return of_version(result) if result is not None else NOT_PUBLISHED


def latest_published_version(year: int, month: int) -> int | None:
    result = latest_published(year, month)
    return result.version if result is not None else None


@dataclass(frozen=True)
class Currency:
    """Whether a briefing still agrees with the month's published assessment."""

    cited: int | None  # the assessment version the briefing (working copy or version) cites
    latest: int | None  # the month's latest published assessment version

    @property
    def outdated(self) -> bool:
        return self.cited != self.latest

    @property
    def message(self) -> str:
        if not self.outdated:
            return ""
        if self.latest is None:
            return f"本简报依据的考核结果第 {self.cited} 版已不再是发布版本，请重新生成。"
        if self.cited is None:
            return f"该月考核结果已发布（第 {self.latest} 版），本简报生成时尚未发布，缺少考核附件和较好、较差单位，请重新生成。"
        return (f"本简报依据的是考核结果第 {self.cited} 版，该月考核结果已发布第 {self.latest} 版，"
                "附件和较好、较差单位已过时，请重新生成并发布新版本。")


def currency(year: int, month: int, cited: int | None) -> Currency:
    return Currency(cited, latest_published_version(year, month))
