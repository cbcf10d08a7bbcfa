"""The staff console's pages. Views are thin: parse, authorize, call one query or action, render."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from hotline.accounts import access
from hotline.workorders import queries


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_required
def home(request):
    return render(request, "web/home.html", {"summary": queries.summary_for(request.user, timezone.now())})


@login_required
def order_list(request):
    page = queries.search_orders(request.user, request.GET)
    return render(request, "web/order_list.html", {"page": page, "params": request.GET})


@login_required
def order_detail(request, key):
    order = access.access_work_order_by_id(request.user, key)
    context = queries.order_page(request.user, order)
    return render(request, "web/order_detail.html", context)


@login_required
@require_POST
def reveal_contact(request, key):
    order = access.access_work_order_by_id(request.user, key)
    name, phone = access.reveal_contact(request.user, order, ip=request.META.get("REMOTE_ADDR"))
    return HttpResponse(format_html('<span class="revealed">{} {}</span>', name, phone))
