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
import logging
import threading
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connections
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from hotline.accounts.access import require_role, role_of
from hotline.accounts.roles import Role
from hotline.directory.models import Unit
from hotline.lib import clock
from hotline.lib.masking import mask_phone
from hotline.lib.pages import safe_next
from hotline.live import broker
from hotline.notify import actions as notify_actions
from hotline.notify import rules
from hotline.notify.emit import enabled_channels
from hotline.notify.forms import PreferenceForm, UnitContactForm, initial_for
from hotline.notify.models import Channel, Notification, UnitContact, mask_address
from hotline.web.views.common import render_page
from hotline.workorders.queries import decode_cursor, encode_cursor

PAGE = 50
# The bell counts up to here ("99+"): a capped count reads at most this many index entries.
BELL_CAP = 99
# A browser that lost its stream reconnects after this long (the SSE "retry" field).
RETRY_MS = 1500
log = logging.getLogger(__name__)


def stream_seconds() -> float:
    return float(getattr(settings, "HOTLINE_LIVE_STREAM_SECONDS", 25))


def heartbeat_seconds() -> float:
    """How often a quiet stream writes a comment line: what keeps proxies from timing it out and
    what tells the server, by a failed write, that the browser went away."""
    return float(getattr(settings, "HOTLINE_LIVE_HEARTBEAT_SECONDS", 2))


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
    204, which tells the browser's EventSource to stop reconnecting.

    A server learns that a client went away only when a write fails, so every
    ``heartbeat_seconds()`` without news the stream writes a comment line: the second write after
    the browser closed fails, the server closes the stream, and its subscription (a Redis or
    PostgreSQL LISTEN connection) and database connection go with it — within a few seconds, not at
    the end of the stream's lifetime."""
    user = request.user
    if not user.is_authenticated or not broker.enabled():
        return HttpResponse(status=204)
    state = bell_state(user)
    # The request's database connection is not kept for the stream's lifetime: it would hold one
    # PostgreSQL backend per open page doing nothing. Reads below open and close their own.
    _release()
    lifetime, beat = stream_seconds(), heartbeat_seconds()

    def events():
        nonlocal state
        subscription, ended = None, "lifetime"
        _count_stream(+1)
        try:
            yield f"retry: {RETRY_MS}\n\n"
            yield _sse("bell", state)
            subscription = broker.subscribe(user.pk)
            ends = time.monotonic() + lifetime
            while (left := ends - time.monotonic()) > 0:
                if subscription.wait(min(left, beat)):
                    fresh = bell_state(user)
                    _release()
                    if fresh != state:
                        state = fresh
                        yield _sse("bell", state)
                        continue
                yield ":\n\n"
        except GeneratorExit:
            ended = "client gone"  # the server closed us: a write to the browser failed
            raise
        except DatabaseError:
            # The database went away under the stream (a restart, a failover): end it; the browser
            # reconnects and the new stream starts from the state as it is then.
            ended = "database error"
        finally:
            if subscription is not None:
                subscription.close()
            _release()
            _count_stream(-1)
            log.debug("live stream of user %s ended (%s)", user.pk, ended)

    response = StreamingHttpResponse(events(), content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx passes each event on at once
    return response


# How many streams this process is serving now: for the health of one process (and for tests that
# must see every stream ended before their database goes), never to carry anything between people.
_streams = 0
_streams_lock = threading.Lock()


def _count_stream(delta: int) -> None:
    global _streams
    with _streams_lock:
        _streams += delta


def open_streams() -> int:
    return _streams


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
        "here": request.get_full_path(), "may_edit_units": notify_actions.may_edit_unit_notify(request.user),
    })


def _back(request) -> str:
    return safe_next(request, reverse("notifications"))


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


@login_required
def preferences(request):
    """通知设置: the person's own channels for each kind of notification the rules send them. There
    is no way to name someone else here: the page is always the signed-in person's."""
    user = request.user
    kinds = rules.kinds_for_role(role_of(user) or "")
    form_args = {"kinds": kinds, "channels": rules.PERSON_CHANNELS}
    if request.method == "POST":
        form = PreferenceForm(request.POST, **form_args)
        if form.is_valid():
            try:
                notify_actions.set_preferences(user=user, channels=form.choices(),
                                               quiet_from=form.cleaned_data["quiet_from"],
                                               quiet_until=form.cleaned_data["quiet_until"], acting_user=user)
            except notify_actions.PreferenceError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "通知设置已保存")
                return redirect("notification_preferences")
    else:
        form = PreferenceForm(initial=initial_for(*notify_actions.effective_channels("user", user.pk, kinds)),
                              **form_args)
    on = enabled_channels()
    reach = [(label, value, channel in on) for channel, label, value in (
        (Channel.SMS, "短信（本人手机）", mask_phone(user.phone) if rules.is_mobile(user.phone) else ""),
        (Channel.EMAIL, "电子邮件", mask_address(Channel.EMAIL, user.email) if user.email else ""))]
    return render_page(request, "web/notification_preferences.html",
                       {"form": form, "reach": reach, "kinds": kinds,
                        "may_edit_units": notify_actions.may_edit_unit_notify(user)},
                       status=400 if form.errors else 200)


@login_required
def unit_contacts(request):
    """单位通知设置: every active unit with where it receives messages (dispatchers, admins)."""
    require_role(request, Role.DISPATCHER)
    units = list(Unit.objects.filter(active=True).select_related("notify_contact").order_by("position", "code"))
    for unit in units:
        contact = getattr(unit, "notify_contact", None)
        phone = (contact.sms_phone if contact and contact.sms_phone else unit.contact_phone) or ""
        unit.sms_shown = mask_phone(phone) if rules.is_mobile(phone) else ""
        unit.has_email = bool(contact and contact.email)
        unit.has_wecom = bool(contact and contact.wecom_webhook)
        unit.has_dingtalk = bool(contact and contact.dingtalk_webhook)
    return render_page(request, "web/unit_contacts.html", {"units": units})


@login_required
def unit_contact(request, pk: int):
    """One unit's addresses and its channels for each kind it is sent (dispatchers, admins)."""
    require_role(request, Role.DISPATCHER)
    unit = get_object_or_404(Unit, pk=pk)
    kinds = rules.unit_kinds()
    form_args = {"kinds": kinds, "channels": rules.UNIT_CHANNELS}
    contact = UnitContact.objects.filter(unit=unit).first()
    if request.method == "POST":
        form, address_form = PreferenceForm(request.POST, **form_args), UnitContactForm(request.POST)
        if form.is_valid() and address_form.is_valid():
            try:
                notify_actions.set_unit_notify(unit, contact=address_form.cleaned_data, channels=form.choices(),
                                               quiet_from=form.cleaned_data["quiet_from"],
                                               quiet_until=form.cleaned_data["quiet_until"],
                                               acting_user=request.user)
            except notify_actions.PreferenceError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"{unit.short_name}的通知设置已保存")
                return redirect("unit_contact", pk=unit.pk)
    else:
        form = PreferenceForm(initial=initial_for(*notify_actions.effective_channels("unit", unit.pk, kinds)),
                              **form_args)
        address_form = UnitContactForm(initial={f: getattr(contact, f) for f in UnitContactForm.base_fields}
                                       if contact else {})
    failed = bool(form.errors or address_form.errors)
    return render_page(request, "web/unit_contact.html", {
        "unit": unit, "form": form, "address_form": address_form, "enabled": enabled_channels(),
    }, status=400 if failed else 200)


__all__ = ["bell_context", "bell_state", "centre", "mark_all_read", "mark_read", "open_streams", "preferences", "stream",
           "unit_contact", "unit_contacts"]
