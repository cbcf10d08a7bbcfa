"""``GET /api/metrics/2023-07/``: every indicator of a month as JSON, per unit and center-wide.

The figures are ``hotline.metrics``' (the same query the statistics, the dashboard and the
assessment read); this view only checks who may see which units and writes JSON. Center staff
who see every order (派单员, 督办, 管理员) get every unit; a unit's handler gets their own unit.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from hotline.accounts.access import order_scope
from hotline.lib import clock
from hotline.metrics.definitions import ALL, UNIT_RATES
from hotline.metrics.units import month_unit_metrics, total_counts
from hotline.metrics.values import Rates


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status, json_dumps_params={"ensure_ascii": False})


def _rates(rates: Rates) -> dict:
    return {key: {"name": label, "numerator": r.numerator, "denominator": r.denominator,
                  "percent": None if r.percent is None else str(r.percent), "text": r.text}
            for key, label, r in rates.items()}


@require_GET
def month_metrics(request, year: int, month: int):
    if not request.user.is_authenticated:
        return _error("请先登录", 401)
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        return _error(f"月份无效：{year}-{month}", 400)
    scope = order_scope(request.user)
    if not scope.everything and scope.unit_id is None:
        return _error("无权查看各单位指标", 403)
    as_of = clock.now()
    metrics = month_unit_metrics(year, month, as_of=as_of)
    units = [m for m in metrics.values() if scope.everything or m.unit_id == scope.unit_id]
    body = {
        "period": f"{year:04d}-{month:02d}",
        "as_of": as_of.isoformat(),
        "definitions": [{"key": d.key, "name": d.name, "scope": d.scope, "basis": d.basis,
                         "numerator": d.numerator, "denominator": d.denominator} for d in ALL],
        "units": [{"id": m.unit_id, "short_name": m.short_name, "name": m.name, "group": m.group,
                   "counts": dict(m.counts), "excluded": len(m.excluded_orders), "rates": _rates(m.rates)}
                  for m in units],
    }
    if scope.everything:
        totals = total_counts(metrics.values())
        body["center"] = {"counts": totals, "rates": _rates(Rates(totals))}
    body["rate_keys"] = [d.key for d in UNIT_RATES]
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False})
