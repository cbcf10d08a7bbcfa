"""Shares (占比) computed from counts: the one rounding rule of every table the platform prints.

Rule: share = count / total × 100, rounded to two decimals half-up (四舍五入), printed with
a percent sign. A total row's share is computed the same way from the total row's count, so a
table never carries a share that its counts do not give (the seed's hotspot table does).
"""

from decimal import ROUND_HALF_UP, Decimal

TWO_PLACES = Decimal("0.01")


def share(count: int, total: int) -> Decimal:
    """Percentage of ``count`` in ``total``, two decimals, half-up; 0 when total is 0."""
    if total <= 0:
        return Decimal("0.00")
    return (Decimal(count) * 100 / Decimal(total)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def format_share(value: Decimal) -> str:
    """'40.63%'; a whole hundred prints as '100.00%' so every cell has the same shape."""
    return f"{value:.2f}%"


def parse_share(text: str) -> Decimal:
    """Read '40.63%' (or '40.63％', '100%') back into a Decimal percentage."""
    cleaned = text.strip().rstrip("%％").strip()
    return Decimal(cleaned)
