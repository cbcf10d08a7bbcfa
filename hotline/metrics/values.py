"""The values figures are carried in: a rate with its counts, a change against an earlier period,
one unit's counted figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from hotline.lib.shares import format_share, share
from hotline.metrics.definitions import UNIT_COUNT_KEYS


@dataclass(frozen=True)
class Rate:
    """numerator ÷ denominator, shown as a percentage with the one rounding rule."""

    numerator: int
    denominator: int

    @property
    def percent(self) -> Decimal | None:
        return share(self.numerator, self.denominator) if self.denominator else None

    @property
    def text(self) -> str:
        """'94.00%', or '—' when there is nothing to divide by."""
        return format_share(self.percent) if self.denominator else "—"

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator} = {self.text}"


@dataclass(frozen=True)
class Change:
    """A count against the same count of an earlier period (环比 / 同比)."""

    current: int
    previous: int

    @property
    def delta(self) -> int:
        return self.current - self.previous

    @property
    def percent(self) -> Decimal | None:
        return share(self.delta, self.previous) if self.previous else None

    @property
    def text(self) -> str:
        if not self.previous:
            return "—"
        value = self.percent
        return ("+" if value > 0 else "") + format_share(value)


class Rates:
    """Every unit indicator of one set of counts, by key (``rates.sign``) or in order (``items()``)."""

    def __init__(self, counts: dict):
        from hotline.metrics.definitions import UNIT_RATES, unit_rate

        self._rates = {d.key: unit_rate(d.key, counts) for d in UNIT_RATES}
        self._labels = {d.key: d.name for d in UNIT_RATES}

    def __getattr__(self, key: str) -> Rate:
        try:
            return self.__dict__["_rates"][key]
        except KeyError:
            raise AttributeError(key) from None

    def __getitem__(self, key: str) -> Rate:
        return self._rates[key]

    def __eq__(self, other) -> bool:
        return isinstance(other, Rates) and self._rates == other._rates

    def items(self) -> list[tuple[str, str, Rate]]:
        return [(key, self._labels[key], rate) for key, rate in self._rates.items()]

    def as_dict(self) -> dict[str, Rate]:
        return dict(self._rates)


@dataclass
class Counted:
    """What ``hotline.metrics.units`` counted for one unit in a period (sub-units rolled in): every
    count, the order numbers behind each shortfall (by evidence key, each list by order number) and
    the orders taken out. A closed month's store keeps exactly this per unit (``metrics.store``)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(UNIT_COUNT_KEYS, 0))
    evidence: dict[str, list[str]] = field(default_factory=dict)
    excluded_orders: list[str] = field(default_factory=list)
