"""The notification centre (通知): the bell on every staff page, the list, read/unread, and the
live stream that keeps the bell and the work queues current without a reload.

Notifications are written by ``hotline.notify`` with the event that causes them; this module only
reads a person's own and marks them read (``notify.actions``). ``stream`` is a Server-Sent Events
response: it waits on the person's channel (``hotline.live.broker``: Redis, PostgreSQL NOTIFY, or
polling on SQLite) and, whenever something is published to them, sends the bell's state; the page
(``live.js``) updates the count and refreshes its live tables. Each stream lives at most
``LIVE_STREAM_SECONDS`` and the browser reconnects, so a stream never holds a server thread for long
(docs/notifications.md, "Live updates").
"""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connections
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from hotline.lib import clock
from hotline.live import broker
from hotline.notify import actions as notify_actions
from hotline.notify.models import Notification
from hotline.web.views.common import render_page
from hotline.workorders.queries import decode_cursor, encode_cursor

PAGE = 50
# The bell counts up to here ("99+"): a capped count reads at most this many index entries.
BELL_CAP = 99
# A browser that lost its stream reconnects after this long (the SSE "retry" field).
RETRY_MS = 1500
# Lines sent while nothing happens, so proxies and the browser see the connection alive.
KEEPALIVE_SECONDS = 10


def stream_seconds() -> float:
    return float(getattr(settings, "HOTLINE_LIVE_STREAM_SECONDS", 25))


def bell_state(user) -> dict:
    """The bell of ``user``: unread count (capped) and the newest notification's id. A page compares
    ``last`` with what it saw before to know that something new arrived while it was away."""
    mine = Notification.objects.filter(recipient=user)
    unread = mine.filter(read_at__isnull=True).order_by().values("pk")[: BELL_CAP + 1].count()
    last = mine.order_by("-id").values_list("id", flat=True).first() or 0
    return {"unread": unread, "label": f"{BELL_CAP}+" if unread > BELL_CAP else str(unread), "last": last}


def bell_context(request) -> dict:
    """Context processor: the bell's count for the page header, read only if the page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    cached = {}

    def label():
        if "state" not in cached:
            cached["state"] = bell_state(user)
        return cached["state"]
    return {"bell": _Lazy(label), "live_updates": broker.enabled()}


class _Lazy:
    def __init__(self, fn):
        self._fn = fn

    def __getattr__(self, name):
        return self._fn()[name]


def _release() -> None:
    """Give the thread's database connection back between reads (kept open, it would be one idle
    PostgreSQL backend per open page). Not inside a transaction, where there is nothing to give."""
    connection = connections["default"]
    if not connection.in_atomic_block:
        try:
            connection.close()
        except DatabaseError:
            pass  # already unusable: nothing to give back


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@require_GET
def stream(request):
    """``text/event-stream`` of the person's bell: one ``bell`` event at once, then one whenever
    something is published to them and their state changed; the stream ends after
    ``stream_seconds()`` and the browser reconnects. A signed-out (or idle-logged-out) person gets
    204, which tells the browser's EventSource to stop reconnecting."""
    user = request.user
    if not user.is_authenticated or not broker.enabled():
        return HttpResponse(status=204)
    state = bell_state(user)
    # The request's database connection is not kept for the stream's lifetime: it would hold one
    # PostgreSQL backend per open page doing nothing. Reads below open and close their own.
    _release()
    lifetime = stream_seconds()

    def events():
        nonlocal state
        yield f"retry: {RETRY_MS}\n\n"
        yield _sse("bell", state)
        subscription = broker.subscribe(user.pk)
        try:
            ends = time.monotonic() + lifetime
            quiet_since = time.monotonic()
            while (left := ends - time.monotonic()) > 0:
                if subscription.wait(min(left, KEEPALIVE_SECONDS)):
                    fresh = bell_state(user)
                    _release()
                    if fresh != state:
                        state = fresh
                        quiet_since = time.monotonic()
                        yield _sse("bell", state)
                if time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
                    quiet_since = time.monotonic()
                    yield ": keepalive\n\n"
        except DatabaseError:
            # The database went away under the stream (a restart, a failover): end it; the browser
            # reconnects and the new stream starts from the state as it is then.
            return
        finally:
            subscription.close()
            _release()

    response = StreamingHttpResponse(events(), content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx passes each event on at once
    return response


FILTERS = {"unread": "未读", "all": "全部"}


@login_required
def centre(request):
    """The person's notifications, newest first, 50 a page (keyset cursor ``?after=``)."""
    show = request.GET.get("show") if request.GET.get("show") in FILTERS else "unread"
    qs = Notification.objects.filter(recipient=request.user)
    if show == "unread":
        qs = qs.filter(read_at__isnull=True)
    position = decode_cursor(request.GET.get("after"), 2, datetimes=1) if request.GET.get("after") else None
    if position is not None and position[0] is not None:
        at, pk = position
        qs = qs.filter(created_at__lte=at).exclude(created_at=at, id__gte=pk)
    rows = list(qs.select_related("order").order_by("-created_at", "-id")[: PAGE + 1])
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    tz = clock.tz()
    for n in rows:
        n.at_hm = n.created_at.astimezone(tz).strftime("%m-%d %H:%M")
        n.link = n.url or (reverse("order_detail", args=[n.order.number]) if n.order_id else "")
    after = encode_cursor((rows[-1].created_at, rows[-1].pk)) if more and rows else ""
    return render_page(request, "web/notifications.html", {
        "rows": rows, "show": show, "filters": FILTERS, "next_after": after,
        "here": request.get_full_path(),
    })


def _back(request) -> str:
    nxt = request.POST.get("next", "")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return nxt
    return reverse("notifications")


@login_required
@require_POST
def mark_read(request, pk: int):
    """Mark one of the person's notifications read, then go on (to the order, when asked)."""
    notify_actions.mark_read(request.user, [pk])
    broker.publish_on_commit([request.user.pk], {"kind": "read"})  # the person's other tabs
    return redirect(_back(request))


@login_required
@require_POST
def mark_all_read(request):
    notify_actions.mark_all_read(request.user)
    broker.publish_on_commit([request.user.pk], {"kind": "read"})
    return redirect(_back(request))


__all__ = ["bell_context", "bell_state", "centre", "mark_all_read", "mark_read", "stream"]
