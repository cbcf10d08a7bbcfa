"""The category tree through time: which name and parent every category had on a given day.

A pure engine over plain values (no database): ``history.py`` loads the versions and writes them.

A category (``Category``) is an identity: its code never changes and orders point at it. What an
admin edits — the name and the parent — is a *version* valid from a day on (``CategoryVersion``).
On a day ``d`` a category is its last version with ``valid_from <= d``; before its first version
it is its first version (so an order never lands outside the tree). The level is not stored on a
version: it follows from the parents on that day, which is what keeps a moved branch consistent.

Orders are named, counted and rolled up as the tree stood on the day they were registered, so
a later edit changes nothing about an earlier day.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

MAX_LEVELS = 3
SEPARATOR = "—"


class TreeError(ValueError):
    """An edit that would leave an invalid tree (the message is shown to the admin)."""


@dataclass(frozen=True)
class Version:
    category_id: int
    name: str
    parent_id: int | None
    valid_from: dt.date | None  # None: since the tree was first loaded


@dataclass(frozen=True)
class Node:
    """One category as it stood on one day."""

    id: int
    code: str
    name: str
    parent_id: int | None
    path: tuple[str, ...]  # names from level 1 down to this category
    ids: tuple[int, ...]  # ids along the same path

    @property
    def level(self) -> int:
        return len(self.path)

    @property
    def full_name(self) -> str:
        return SEPARATOR.join(self.path)

    def ancestor(self, level: int) -> int:
        """The id of this category's ancestor at ``level`` (itself when it is not deeper)."""
        return self.ids[min(level, len(self.ids)) - 1]


def _key(day: dt.date | None) -> dt.date:
    return dt.date.min if day is None else day


class TreeHistory:
    """Every version of every category; answers "what was category X on day d"."""

    def __init__(self, codes: dict[int, str], versions: Iterable[Version]):
        self.codes = dict(codes)
        self._timelines: dict[int, list[Version]] = {}
        for v in versions:
            self._timelines.setdefault(v.category_id, []).append(v)
        for timeline in self._timelines.values():
            timeline.sort(key=lambda v: _key(v.valid_from))
        self._starts = {cid: [_key(v.valid_from) for v in tl] for cid, tl in self._timelines.items()}

    def version(self, category_id: int, day: dt.date) -> Version:
        timeline = self._timelines[category_id]
        i = bisect.bisect_right(self._starts[category_id], day) - 1
        return timeline[max(i, 0)]

    def node(self, category_id: int, day: dt.date) -> Node:
        names: list[str] = []
        ids: list[int] = []
        current: int | None = category_id
        while current is not None:
            if current in ids or len(ids) > MAX_LEVELS:
                # ``check`` refuses such trees; a stored one is named as far as it goes.
                break
            v = self.version(current, day)
            names.append(v.name)
            ids.append(current)
            current = v.parent_id if v.parent_id in self._timelines else None
        return Node(category_id, self.codes.get(category_id, ""), names[0],
                    self.version(category_id, day).parent_id, tuple(reversed(names)), tuple(reversed(ids)))

    def change_days(self, first: dt.date, last: dt.date) -> list[dt.date]:
        """Days in (first, last] on which some version starts: the tree is constant between them."""
        return sorted({v.valid_from for tl in self._timelines.values() for v in tl
                       if v.valid_from is not None and first < v.valid_from <= last})

    def days_from(self, day: dt.date) -> list[dt.date]:
        """``day`` and every later day on which some version starts."""
        return [day] + sorted({v.valid_from for tl in self._timelines.values() for v in tl
                               if v.valid_from is not None and v.valid_from > day})

    def with_version(self, new: Version) -> TreeHistory:
        """This history with ``new`` added (replacing a version of the same category and day)."""
        kept = [v for tl in self._timelines.values() for v in tl
                if not (v.category_id == new.category_id and v.valid_from == new.valid_from)]
        return TreeHistory(self.codes, [*kept, new])

    def with_category(self, category_id: int, code: str, name: str, parent_id: int | None) -> TreeHistory:
        """This history with a new category (one version, valid from the start)."""
        versions = [v for tl in self._timelines.values() for v in tl]
        return TreeHistory({**self.codes, category_id: code}, [*versions, Version(category_id, name, parent_id, None)])

    def check(self, since: dt.date) -> None:
        """Raise ``TreeError`` unless the tree is valid on ``since`` and on every later change day:
        parents exist, no category is its own ancestor, at most three levels, sibling names unique."""
        for day in self.days_from(since):
            self.check_day(day)

    def check_day(self, day: dt.date) -> None:
        siblings: dict[int | None, dict[str, int]] = {}
        for cid in sorted(self._timelines, key=lambda c: self.codes.get(c, "")):
            v = self.version(cid, day)
            since = "" if day == dt.date.min else f"{day:%Y-%m-%d} 起"
            label = f"{self.codes.get(cid, '')} {v.name}".strip()
            if v.parent_id is not None and v.parent_id not in self._timelines:
                raise TreeError(f"分类“{label}”的上级分类不存在")
            seen = [cid]
            parent = v.parent_id
            while parent is not None:
                if parent in seen:
                    raise TreeError(f"{since}分类“{label}”将成为自己的下级（循环），不能这样调整")
                seen.append(parent)
                if len(seen) > MAX_LEVELS:
                    raise TreeError(f"{since}分类“{label}”将成为第{len(seen)}级：分类最多{MAX_LEVELS}级")
                parent = self.version(parent, day).parent_id
            names = siblings.setdefault(v.parent_id, {})
            if v.name in names and names[v.name] != cid:
                raise TreeError(f"{since}同一上级下已有名为“{v.name}”的分类")
            names[v.name] = cid

    def split_by_day(self, ids: Iterable[int], days: list[dt.date], level: int) -> set[int]:
        """Of ``ids``, those whose ancestor at ``level`` is not the same on all of ``days``: their
        orders roll up to different rows depending on the day they were registered."""
        return {pk for pk in ids if len({self.node(pk, d).ancestor(level) for d in days}) > 1}

    def roll_up(self, counts: Iterable[tuple[int, dt.date, int]], level: int) -> list[tuple[Node, int]]:
        """Counts of (category id, day, orders) rolled up to each category's ancestor at ``level``
        on that day; each row is named as it stood on the latest day it counted orders for, ranked
        by count, ties by code."""
        totals: dict[int, int] = {}
        named_on: dict[int, dt.date] = {}
        for pk, day, n in counts:
            if not n:
                continue
            target = self.node(pk, day).ancestor(level)
            totals[target] = totals.get(target, 0) + n
            named_on[target] = max(named_on.get(target, day), day)
        rows = [(self.node(pk, named_on[pk]), n) for pk, n in totals.items()]
        return sorted(rows, key=lambda row: (-row[1], row[0].code))

    def categories(self) -> list[int]:
        return list(self._timelines)

    def versions(self, category_id: int) -> list[Version]:
        return list(self._timelines.get(category_id, ()))


def first_editable_day(today: dt.date) -> dt.date:
    """The earliest valid-from an edit may take: the first day of the current month.

    Earlier months are closed: their statistics and briefings are what was published, and a
    back-dated edit would rename or re-parent their orders after the fact.
    """
    return today.replace(day=1)


def check_valid_from(valid_from: dt.date, today: dt.date) -> None:
    first = first_editable_day(today)
    if valid_from < first:
        raise TreeError(f"生效日期不能早于 {first:%Y-%m-%d}：之前月份的统计和简报已经形成，不能追溯修改分类")
