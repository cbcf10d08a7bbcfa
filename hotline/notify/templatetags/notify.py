"""``{% order_deliveries order %}``: the order page's messages section (one included template)."""

from django import template

from hotline.accounts.access import ALL_ORDERS_ROLES, role_of
from hotline.notify.models import Delivery

register = template.Library()


@register.inclusion_tag("notify/_order_deliveries.html", takes_context=True)
def order_deliveries(context, order):
    request = context.get("request")
    user = getattr(request, "user", None)
    # Units do not see the centre's outbox (it names citizens' and other units' addresses).
    if role_of(user) not in ALL_ORDERS_ROLES:
        return {"show": False}
    rows = list(Delivery.objects.filter(order=order).order_by("created_at", "id"))
    return {"show": bool(rows), "rows": rows, "request": request, "csrf_token": context.get("csrf_token")}
