"""The monthly work briefing (工作简报) as plain values.

``BriefingData`` is everything the renderers need and nothing they compute: counts, names,
scores, texts. Shares (占比) are deliberately absent; the renderers derive them from counts with
``hotline.lib.shares`` so a printed table can never disagree with its own numbers.

A published briefing is stored as a frozen JSON snapshot, hence ``to_dict()``/``from_dict()``:
dates as ISO strings, scores as decimal strings (never floats: 90.57 must stay 90.57), chart
PNGs as base64.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from hotline.assessment.annex import AnnexRow, AnnexTable

__all__ = ["AnnexRow", "AnnexTable", "BriefingData", "CountRow", "HotspotRow", "PlatformCount", "TitledText"]

CHART_KEYS = ("daily", "appeal_types", "hotspots")


@dataclass(frozen=True)
class PlatformCount:
    """Upstream orders received from one upstream platform (上级平台) in the month."""

    platform: str
    count: int


@dataclass(frozen=True)
class CountRow:
    """One row of the appeal-type table (诉求类型统计表)."""

    name: str
    count: int


@dataclass(frozen=True)
class HotspotRow:
    """One row of the top-10 hotspot table: a level-1 and level-2 category (政务服务—网点服务)."""

    level1: str
    level2: str
    count: int

    @property
    def label(self) -> str:
        return f"{self.level1}—{self.level2}" if self.level2 else self.level1


@dataclass(frozen=True)
class TitledText:
    """A numbered item with a lead-in title: a hot problem or a piece of business work."""

    title: str
    text: str


@dataclass(frozen=True)
class BriefingData:
    """One month's briefing. ``grand_total`` is the denominator of every share (normally
    local_total + upstream_total). ``call_volume`` is printed as 约N; None leaves the call
    clause out (no telephony figures), 0 says no calls were received."""

    issuer: str
    issue_date: date
    hotline_name: str
    year: int
    month: int
    call_volume: int | None
    local_total: int
    coordinated: int
    dispatched: int
    upstream_total: int
    upstream_by_platform: tuple[PlatformCount, ...]
    best_units: tuple[str, ...]
    worst_units: tuple[str, ...]
    stationing_noncompliant: tuple[str, ...]
    stationing_policy: str
    appeal_type_rows: tuple[CountRow, ...]
    hotspot_rows: tuple[HotspotRow, ...]
    grand_total: int
    hot_problems: tuple[TitledText, ...] = ()
    typical_cases: tuple[str, ...] = ()
    business_work: tuple[TitledText, ...] = ()
    annexes: tuple[AnnexTable, ...] = ()
    disclosure_note: str = ""
    # The published assessment version (MonthlyResult.version) the annexes and the better/worse
    # units were read from; None: nothing was published for the month when the briefing was built.
    assessment_version: int | None = None
    # PNG bytes keyed by CHART_KEYS; excluded from equality so a snapshot compares by content.
    charts: Mapping[str, bytes] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        # Accept lists from callers but keep the instance truly immutable.
        for name in ("upstream_by_platform", "best_units", "worst_units", "stationing_noncompliant",
                     "appeal_type_rows", "hotspot_rows", "hot_problems", "typical_cases",
                     "business_work", "annexes"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        unknown = set(self.charts) - set(CHART_KEYS)
        if unknown:
            raise ValueError(f"unknown chart keys: {sorted(unknown)}")
        object.__setattr__(self, "charts", MappingProxyType(dict(self.charts)))

    @property
    def period_label(self) -> str:
        """'七月份'."""
        from hotline.briefing.narrative import month_label

        return month_label(self.month)

    @property
    def title(self) -> str:
        """'七月份工作简报'."""
        return f"{self.period_label}工作简报"

    def to_dict(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "issue_date": self.issue_date.isoformat(),
            "hotline_name": self.hotline_name,
            "year": self.year,
            "month": self.month,
            "call_volume": self.call_volume,
            "local_total": self.local_total,
            "coordinated": self.coordinated,
            "dispatched": self.dispatched,
            "upstream_total": self.upstream_total,
            "upstream_by_platform": [[p.platform, p.count] for p in self.upstream_by_platform],
            "best_units": list(self.best_units),
            "worst_units": list(self.worst_units),
            "stationing_noncompliant": list(self.stationing_noncompliant),
            "stationing_policy": self.stationing_policy,
            "appeal_type_rows": [[r.name, r.count] for r in self.appeal_type_rows],
            "hotspot_rows": [[r.level1, r.level2, r.count] for r in self.hotspot_rows],
            "grand_total": self.grand_total,
            "hot_problems": [[t.title, t.text] for t in self.hot_problems],
            "typical_cases": list(self.typical_cases),
            "business_work": [[t.title, t.text] for t in self.business_work],
            "annexes": [
                {
                    "title": a.title,
                    "rows": [[r.unit, str(r.score), r.rank] for r in a.rows],
                    "note": a.note,
                }
                for a in self.annexes
            ],
            "disclosure_note": self.disclosure_note,
            "assessment_version": self.assessment_version,
            "charts": {k: base64.b64encode(v).decode("ascii") for k, v in self.charts.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BriefingData:
        return cls(
            issuer=d["issuer"],
            issue_date=date.fromisoformat(d["issue_date"]),
            hotline_name=d["hotline_name"],
            year=int(d["year"]),
            month=int(d["month"]),
            call_volume=None if d.get("call_volume") is None else int(d["call_volume"]),
            local_total=int(d["local_total"]),
            coordinated=int(d["coordinated"]),
            dispatched=int(d["dispatched"]),
            upstream_total=int(d["upstream_total"]),
            upstream_by_platform=tuple(PlatformCount(p, int(c)) for p, c in d["upstream_by_platform"]),
            best_units=tuple(d["best_units"]),
            worst_units=tuple(d["worst_units"]),
            stationing_noncompliant=tuple(d["stationing_noncompliant"]),
            stationing_policy=d["stationing_policy"],
            appeal_type_rows=tuple(CountRow(n, int(c)) for n, c in d["appeal_type_rows"]),
            hotspot_rows=tuple(HotspotRow(a, b, int(c)) for a, b, c in d["hotspot_rows"]),
            grand_total=int(d["grand_total"]),
            hot_problems=tuple(TitledText(t, x) for t, x in d.get("hot_problems", ())),
            typical_cases=tuple(d.get("typical_cases", ())),
            business_work=tuple(TitledText(t, x) for t, x in d.get("business_work", ())),
            annexes=tuple(
                AnnexTable(
                    title=a["title"],
                    rows=tuple(AnnexRow(u, Decimal(str(s)), int(r)) for u, s, r in a["rows"]),
                    note=a.get("note", ""),
                )
                for a in d.get("annexes", ())
            ),
            disclosure_note=d.get("disclosure_note", ""),
            assessment_version=None if d.get("assessment_version") is None else int(d["assessment_version"]),
            charts={k: base64.b64decode(v) for k, v in (d.get("charts") or {}).items()},
        )
