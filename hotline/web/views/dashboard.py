"""Dashboard (统计): today and this month, by unit and category, a 30-day trend (ECharts, served locally)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required

from hotline.lib import clock, parsing
from hotline.web.views.common import render_page
from hotline.workorders import queries


@login_required
def dashboard(request):
    as_of, error = _day(request.GET.get("date"))
    if error:
        messages.error(request, error)
    data = queries.dashboard(request.user, clock.now(), as_of=as_of)
    chart = {
        "trend": data["trend"],
        "units": {"names": [r["lead_unit__short_name"] for r in data["by_unit"]],
                  "counts": [r["n"] for r in data["by_unit"]],
                  "overdue": [r["overdue"] for r in data["by_unit"]]},
        "categories": [{"name": r["category__full_name"], "value": r["n"]} for r in data["by_category"]],
    }
    return render_page(request, "web/dashboard.html", {**data, "chart": chart, "as_of": as_of,
                                                       **_unit_metrics(request.user, as_of or clock.today())})


def _unit_metrics(user, day: dt.date) -> dict:
    """The month's indicators per unit (hotline.metrics: the figures the assessment scores), for
    the people who may see them: every unit for the center, a handler's own unit for a handler."""
    from hotline.accounts.access import order_scope
    from hotline.metrics.definitions import UNIT_RATES
    from hotline.metrics.units import month_unit_metrics

    scope = order_scope(user)
    if not scope.everything and scope.unit_id is None:
        return {}
    metrics = month_unit_metrics(day.year, day.month, as_of=clock.now())
    rows = [m for m in metrics.values() if scope.everything or m.unit_id == scope.unit_id]
    return {"unit_metrics": rows, "metric_labels": [d.name for d in UNIT_RATES], "metric_month": day}


EARLIEST = dt.date(2000, 1, 1)


def _day(value) -> tuple[dt.date | None, str]:
    """The day asked for with ``?date=`` (None: today) and the message when it is unusable: the
    30-day trend before it and the day after it must stay within the calendar."""
    try:
        day = parsing.parse_date(value, "日期", earliest=EARLIEST, latest=clock.today())
    except parsing.ParseError as e:
        return None, f"{e}，已显示今天的统计"
    return day, ""
