"""Dashboard (统计): today and this month, by unit and category, a 30-day trend (ECharts, served locally)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.utils import timezone

from hotline.web.views.common import render_page
from hotline.workorders import queries


@login_required
def dashboard(request):
    as_of = _day(request.GET.get("date"))
    data = queries.dashboard(request.user, timezone.now(), as_of=as_of)
    chart = {
        "trend": data["trend"],
        "units": {"names": [r["lead_unit__short_name"] for r in data["by_unit"]],
                  "counts": [r["n"] for r in data["by_unit"]],
                  "overdue": [r["overdue"] for r in data["by_unit"]]},
        "categories": [{"name": r["category__full_name"], "value": r["n"]} for r in data["by_category"]],
    }
    return render_page(request, "web/dashboard.html", {**data, "chart": chart, "as_of": as_of})


def _day(value):
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None
