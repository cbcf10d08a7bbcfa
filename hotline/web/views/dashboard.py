"""Dashboard (统计): today and this month, by unit and category, a 30-day trend (ECharts, served locally)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required

from hotline.lib import clock
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
    return render_page(request, "web/dashboard.html", {**data, "chart": chart, "as_of": as_of})


EARLIEST = dt.date(2000, 1, 1)


def _day(value) -> tuple[dt.date | None, str]:
    """The day asked for with ``?date=`` (None: today) and the message when it is unusable: the
    30-day trend before it and the day after it must stay within the calendar."""
    if not value:
        return None, ""
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None, "日期格式应为 YYYY-MM-DD，已显示今天的统计"
    if not EARLIEST <= day <= clock.today():
        return None, f"日期须在 {EARLIEST:%Y-%m-%d} 至今天之间，已显示今天的统计"
    return day, ""
