"""The center's counts of the orders registered in a period (time basis: registered).

The conditional counts of ``hotline.metrics.definitions.CENTER_COUNTS`` as aggregate expressions:
``hotline.analytics.stats`` adds them to its one GROUP BY over the period's orders (every table
of the statistics page and the briefing is a sum over those groups), so the period is read once.
"""

from __future__ import annotations

from django.db.models import Count, Q

from hotline.catalog.models import Source
from hotline.workorders.models import Disposition

# 协调办理: a local order the center disposed of without a unit. Merged (重复件) and not-accepted
# (不予受理) orders are registered and counted here: the seed's 4707 = 3285 + 1422 includes them.
COORDINATED_DISPOSITIONS = (
    Disposition.DIRECT_ANSWER, Disposition.COORDINATE, Disposition.TRANSFER, Disposition.INFORM,
    Disposition.NOT_ACCEPTED, Disposition.MERGE,
)
MAIN_KEYS = ("grand_total", "local_total", "coordinated", "dispatched", "undecided", "upstream_total",
             "direct_answers", "repeats", "callback_unreachable")


def main_aggregates() -> dict:
    """受理总量, 本级登记事项 and its split, 上级交办事项, 直接答复: one conditional count each."""
    local = ~Q(source=Source.UPSTREAM)
    return dict(
        grand_total=Count("id"),
        local_total=Count("id", filter=local),
        coordinated=Count("id", filter=local & Q(disposition__in=COORDINATED_DISPOSITIONS)),
        dispatched=Count("id", filter=local & Q(disposition=Disposition.DISPATCH)),
        undecided=Count("id", filter=local & Q(disposition="")),
        upstream_total=Count("id", filter=Q(source=Source.UPSTREAM)),
        direct_answers=Count("id", filter=local & Q(disposition=Disposition.DIRECT_ANSWER)),
        repeats=Count("id", filter=Q(is_repeat=True)),
        callback_unreachable=Count("id", filter=Q(callback_unreachable=True)),
    )


def direct_answer_rate(main: dict):
    """直接答复率 from the main counts."""
    from hotline.metrics.values import Rate

    return Rate(main.get("direct_answers", 0), main.get("local_total", 0))


def repeat_rate(main: dict):
    """重复诉求率 from the main counts."""
    from hotline.metrics.values import Rate

    return Rate(main.get("repeats", 0), main.get("grand_total", 0))
