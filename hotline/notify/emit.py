"""Turn work-order events into notifications and outbox rows, in the event's transaction.

``on_events_recorded`` is connected to ``hotline.workorders.signals.event_recorded`` (see
``apps.py``); the work orders send it inside the action's transaction, so an action that rolls
back leaves no notification and no message behind, and a committed one has all of them (the
outbox). ``notify_users`` is the entry point for in-app notifications that no event causes.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from hotline.lib import clock
from hotline.lib.bulk import any_of, insert_rows
from hotline.notify import rules
from hotline.notify.models import Channel, Delivery, Kind, Notification, Preference, UnitContact
from hotline.notify.signals import notifications_committed
from hotline.notify.templates import render
from hotline.workorders.signals import ORDER_FACTS, OrderFacts

logger = logging.getLogger(__name__)


def conf(name: str):
    return settings.HOTLINE_NOTIFY[name]


def enabled_channels() -> set[str]:
    """Channels with a gateway configured: SMS needs Kannel's URL, e-mail an SMTP host; robots
    need nothing but a unit's webhook. A channel not configured gets no outbox rows at all (the
    demo and development write none)."""
    on = {Channel.WECOM, Channel.DINGTALK}
    if conf("KANNEL_SENDSMS_URL"):
        on.add(Channel.SMS)
    if conf("EMAIL_ENABLED"):
        on.add(Channel.EMAIL)
    return on


# A batch's rows are tuples of these columns, written with one statement per table
# (``hotline.lib.bulk``): a sweep's catch-up writes tens of thousands of them.
NOTIFICATION_COLUMNS = ("recipient_id", "order_id", "event_id", "kind", "title", "body", "url", "created_at")
DELIVERY_COLUMNS = ("event_id", "order_id", "kind", "channel", "recipient_kind", "unit_id", "user_id", "address",
                    "subject", "body", "created_at", "next_attempt_at")


@dataclass
class _Batch:
    notifications: list[tuple] = field(default_factory=list)
    deliveries: list[tuple] = field(default_factory=list)
    seen: set = field(default_factory=set)


def _fmt(value) -> str:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        local = clock.local(value)  # "%m月%d日%H:%M", without strftime's cost (a catch-up formats 100,000s)
        return f"{local.month:02d}月{local.day:02d}日{local.hour:02d}:{local.minute:02d}"
    return ""


# The pages messages link to, written out rather than reverse()d: a process's first reverse()
# imports every view of the console (seconds, with the triage models), and the emission runs inside
# the action's transaction, holding its locks. tests/test_notify.py checks them against the URLconf.
ORDER_PATH = "/orders/{number}/"
TRACK_PATH = "/portal/track/{number}/"


def staff_path(order) -> str:
    return ORDER_PATH.format(number=order.number)


def staff_link(order) -> str:
    return conf("PUBLIC_URL").rstrip("/") + staff_path(order)


def citizen_link(order) -> str:
    return conf("PUBLIC_URL").rstrip("/") + TRACK_PATH.format(number=order.number)


_REQUEST_OF = {"approve_return": ("return", "退单申请已同意"), "reject_return": ("return", "退单申请被驳回"),
               "approve_extension": ("extension", "延期申请已同意"), "reject_extension": ("extension", "延期申请被驳回"),
               "approve_suspension": ("suspension", "承诺办理申请已同意"),
               "reject_suspension": ("suspension", "承诺办理申请被驳回")}
_REVIEW_WHAT = {"request_return": "申请退单", "request_extension": "申请延期", "request_suspension": "申请承诺办理",
                "reply": "已回复", "respond_supervision": "已书面反馈督办",
                "acknowledge_reminder": "已确认收到督办"}


@functools.cache
def _source_labels() -> dict[str, str]:
    from hotline.catalog.models import Source

    return dict(Source.choices)


def _fields(event, order, unit_name: str) -> dict:
    data = event.data or {}
    decision = _REQUEST_OF.get(event.action, ("", ""))[1]
    return {
        "number": order.number, "title": (order.title or "")[:30], "unit": unit_name,
        "deadline": _fmt(data.get("handle_deadline") or order.handle_deadline),
        "respond_by": _fmt(data.get("respond_by")), "note": (event.note or "")[:200] + ("。" if event.note else ""),
        "hotline": settings.HOTLINE["NAME"], "decision": decision, "what": _REVIEW_WHAT.get(event.action, ""),
        "source": _source_labels().get(order.source, order.source),
    }


def _units_for(audience: str, event, order) -> list[int]:
    if audience == rules.LEAD_UNIT:
        return [order.lead_unit_id] if order.lead_unit_id else []
    from hotline.workorders.models import Assignment, Request

    if audience == rules.ASSIGNED_UNITS:
        return list(Assignment.objects.filter(order_id=order.pk, active=True).order_by("role", "id")
                    .values_list("unit_id", flat=True))
    if audience == rules.REQUESTING_UNIT:
        kind = _REQUEST_OF[event.action][0]
        unit_id = (Request.objects.filter(order_id=order.pk, kind=kind, decided_at__isnull=False)
                   .order_by("-decided_at", "-id").values_list("assignment__unit_id", flat=True).first())
        return [unit_id] if unit_id else []
    if audience == rules.EVENT_UNIT:
        unit_id = (event.data or {}).get("unit_id")
        return [unit_id] if unit_id else []
    return []


def _quiet_release(pref: Preference | None, kind: str, now: dt.datetime) -> dt.datetime:
    """When a message may go: now, or the end of the recipient's quiet hours."""
    if pref is None or pref.quiet_from is None or pref.quiet_until is None or kind in rules.URGENT_KINDS:
        return now
    local = clock.local(now)
    t = local.time()
    start, end = pref.quiet_from, pref.quiet_until
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return now
    release = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if release <= local:
        release += dt.timedelta(days=1)
    return release


class _Lookups:
    """What the emission reads about recipients, each loaded once per batch of events."""

    def __init__(self):
        self._members: dict[int, list[int]] = {}
        self._roles: dict[str, list[int]] = {}
        self._contacts: dict[int, tuple] = {}
        self._prefs: dict[tuple, Preference | None] = {}
        self._users: dict[int, tuple] = {}

    def members(self, unit_id: int) -> list[int]:
        if unit_id not in self._members:
            self._members[unit_id] = list(get_user_model().objects.filter(
                unit_id=unit_id, role="handler", is_active=True).order_by("pk").values_list("pk", flat=True))
        return self._members[unit_id]

    def role(self, role: str) -> list[int]:
        if role not in self._roles:
            self._roles[role] = list(get_user_model().objects.filter(role=role, is_active=True)
                                     .order_by("pk").values_list("pk", flat=True))
        return self._roles[role]

    def contact(self, unit_id: int) -> tuple[str, dict[str, str]]:
        """The unit's name and its address on each channel."""
        if unit_id not in self._contacts:
            from hotline.directory.models import Unit

            unit = Unit.objects.filter(pk=unit_id).values("short_name", "contact_phone").first() or {}
            self._contacts[unit_id] = _addresses(unit, UnitContact.objects.filter(unit_id=unit_id).first())
        return self._contacts[unit_id]

    def preference(self, owner: str, owner_id: int, kind: str) -> Preference | None:
        key = (owner, owner_id, kind)
        if key not in self._prefs:
            rows = {p.kind: p for p in Preference.objects.filter(**{f"{owner}_id": owner_id, "kind__in": [kind, ""]})}
            self._prefs[key] = rows.get(kind) or rows.get("")
        return self._prefs[key]

    def user_addresses(self, user_id: int) -> dict[str, str]:
        if user_id not in self._users:
            row = get_user_model().objects.filter(pk=user_id).values("phone", "email").first() or {}
            phone = row.get("phone", "")
            self._users[user_id] = {Channel.SMS: phone if rules.is_mobile(phone) else "",
                                    Channel.EMAIL: row.get("email", "")}
        return self._users[user_id]

    def prime(self, unit_ids, kinds) -> None:
        """Load the members, contacts and preferences of ``unit_ids`` (and their members'
        preferences for ``kinds``) with one query each. A sweep's batch has hundreds of events for
        a few dozen units; asked one unit at a time that was four queries or more per unit."""
        from hotline.directory.models import Unit

        unit_ids = sorted(set(unit_ids) - set(self._members))
        if not unit_ids:
            return
        kinds = sorted(set(kinds))
        members = {unit_id: [] for unit_id in unit_ids}
        for pk, unit_id in (get_user_model().objects.filter(unit_id__in=unit_ids, role="handler", is_active=True)
                            .order_by("pk").values_list("pk", "unit_id")):
            members[unit_id].append(pk)
        self._members.update(members)
        units = {row["pk"]: row for row in Unit.objects.filter(pk__in=unit_ids).values("pk", "short_name",
                                                                                      "contact_phone")}
        extras = {c.unit_id: c for c in UnitContact.objects.filter(unit_id__in=unit_ids)}
        for unit_id in unit_ids:
            self._contacts[unit_id] = _addresses(units.get(unit_id, {}), extras.get(unit_id))
        self._prime_preferences("unit", unit_ids, kinds)
        self._prime_preferences("user", [pk for unit_id in unit_ids for pk in members[unit_id]], kinds)

    def _prime_preferences(self, owner: str, owner_ids: list[int], kinds: list[str]) -> None:
        if not owner_ids or not kinds:
            return
        rows: dict[int, dict[str, Preference]] = {}
        for pref in Preference.objects.filter(**{f"{owner}_id__in": owner_ids, "kind__in": [*kinds, ""]}):
            rows.setdefault(getattr(pref, f"{owner}_id"), {})[pref.kind] = pref
        for owner_id in owner_ids:
            mine = rows.get(owner_id, {})
            for kind in kinds:
                self._prefs[(owner, owner_id, kind)] = mine.get(kind) or mine.get("")


def _addresses(unit: dict, extra: UnitContact | None) -> tuple[str, dict[str, str]]:
    """A unit's name and its address on each channel, from its directory row and its UnitContact."""
    phone = (extra.sms_phone if extra and extra.sms_phone else unit.get("contact_phone", "")) or ""
    addresses = {Channel.SMS: phone if rules.is_mobile(phone) else "",
                 Channel.EMAIL: extra.email if extra else "",
                 Channel.WECOM: extra.wecom_webhook if extra else "",
                 Channel.DINGTALK: extra.dingtalk_webhook if extra else ""}
    return unit.get("short_name", ""), {c: a for c, a in addresses.items() if a}


def _deliver(batch: _Batch, *, event, order, kind, channel, address, subject, body, recipient_kind, now,
             release, unit_id=None, user_id=None):
    key = ("d", event.pk if event else None, channel, address)
    if key in batch.seen:
        return
    batch.seen.add(key)
    batch.deliveries.append((event.pk if event else None, order.pk if order else None, kind, channel,
                             recipient_kind, unit_id, user_id, address, subject[:200], body, now, release))


def _notify(batch: _Batch, *, user_id, event, order, kind, title, body, url, now):
    key = ("n", event.pk if event else None, user_id)
    if key in batch.seen:
        return
    batch.seen.add(key)
    batch.notifications.append((user_id, order.pk if order else None, event.pk if event else None, kind,
                                title[:200], body, url, now))


def _emit_rule(batch: _Batch, look: _Lookups, rule: rules.Rule, event, order, now, channels: set[str]):
    staff_url = staff_path(order)
    link = staff_link(order)  # once a rule, not once an audience
    for audience in rule.audiences:
        if audience == rules.CITIZEN:
            if Channel.SMS in channels:
                title, text = render(rule.kind, **_fields(event, order, ""), link=citizen_link(order))
                _deliver(batch, event=event, order=order, kind=rule.kind, channel=Channel.SMS,
                         address=order.caller_phone.strip(), subject=title, body=text,
                         recipient_kind=Delivery.RecipientKind.CITIZEN, now=now, release=now)
            continue
        if audience == rules.MERGED_CALLERS:
            if Channel.SMS in channels:
                _merged_callers(batch, rule, event, order, now)
            continue
        if audience in rules.ROLE_AUDIENCES:
            title, text = render(rule.kind, **_fields(event, order, ""), link=link)
            for user_id in look.role(audience):
                _notify(batch, user_id=user_id, event=event, order=order, kind=rule.kind, title=title, body=text,
                        url=staff_url, now=now)
                _person_channels(batch, look, user_id, rule.kind, event, order, title, text, now, channels)
            continue
        for unit_id in _units_for(audience, event, order):
            name, addresses = look.contact(unit_id)
            title, text = render(rule.kind, **_fields(event, order, name), link=link)
            for user_id in look.members(unit_id):
                _notify(batch, user_id=user_id, event=event, order=order, kind=rule.kind, title=title, body=text,
                        url=staff_url, now=now)
                # A handler may also want the unit's news on their own phone or mailbox (their
                # preferences page); the unit's own channels follow below.
                _person_channels(batch, look, user_id, rule.kind, event, order, title, text, now, channels)
            if not addresses:
                continue  # no channel of the unit's to choose from (most units: in-app only)
            pref = look.preference("unit", unit_id, rule.kind)
            wanted = pref.channels() if pref else rules.DEFAULT_UNIT_CHANNELS.get(rule.kind, frozenset())
            release = _quiet_release(pref, rule.kind, now)
            for channel in sorted(wanted & channels):
                if addresses.get(channel):
                    _deliver(batch, event=event, order=order, kind=rule.kind, channel=channel,
                             address=addresses[channel], subject=title, body=text,
                             recipient_kind=Delivery.RecipientKind.UNIT, unit_id=unit_id, now=now, release=release)


def _merged_callers(batch: _Batch, rule: rules.Rule, event, order, now) -> None:
    """One SMS per merged repeat whose caller may get one, about the caller's own order number and
    its tracking page (which shows the main order's outcome); a phone that called twice hears once."""
    from hotline.workorders.models import WorkOrder

    for merged in WorkOrder.objects.filter(merged_into_id=order.pk).order_by("pk"):
        if not rules.citizen_may_get_sms(event, merged):
            continue
        title, text = render(rule.kind, **_fields(event, merged, ""), link=citizen_link(merged))
        _deliver(batch, event=event, order=merged, kind=rule.kind, channel=Channel.SMS,
                 address=merged.caller_phone.strip(), subject=title, body=text,
                 recipient_kind=Delivery.RecipientKind.CITIZEN, now=now, release=now)


def _person_channels(batch, look, user_id, kind, event, order, title, text, now, channels):
    pref = look.preference("user", user_id, kind)
    if pref is None:
        return
    addresses = look.user_addresses(user_id)
    release = _quiet_release(pref, kind, now)
    for channel in sorted(pref.channels() & channels):
        if addresses.get(channel):
            _deliver(batch, event=event, order=order, kind=kind, channel=channel, address=addresses[channel],
                     subject=title, body=text, recipient_kind=Delivery.RecipientKind.USER, user_id=user_id,
                     now=now, release=release)


def _load_orders(events, given: dict) -> dict[int, object]:
    """The events' orders: the instance an event carries, else the facts the sender gave, else read
    (``OrderFacts``, only its columns)."""
    from hotline.workorders.models import WorkOrder

    orders = {}
    missing = []
    for event in events:
        cached = event._state.fields_cache.get("order")
        if cached is not None and cached.number:
            orders[event.order_id] = cached
        elif event.order_id in given:
            orders[event.order_id] = given[event.order_id]
        else:
            missing.append(event.order_id)
    if missing:
        orders.update((row[0], OrderFacts(*row)) for row in
                      WorkOrder.objects.filter(any_of("pk", set(missing))).order_by().values_list(*ORDER_FACTS))
    return orders


def on_events_recorded(sender, events, orders=None, **kwargs) -> None:
    """The receiver of ``event_recorded``: notifications and outbox rows for ``events`` (their
    orders' facts from ``orders`` where the sender gave them).

    Events older than ``MAX_AGE_MINUTES`` when recorded are history being replayed (imports, the
    demo month, an upstream backlog): nobody is told about them now.
    """
    now = clock.now()
    horizon = now - dt.timedelta(minutes=conf("MAX_AGE_MINUTES"))
    fresh = [e for e in events if e.action in rules.RULES and e.at >= horizon]
    if not fresh:
        return
    orders = _load_orders(fresh, orders or {})
    channels = enabled_channels()
    batch, look = _Batch(), _Lookups()
    if len(fresh) > 1:
        _prime(look, fresh, orders)
    for event in fresh:
        order = orders.get(event.order_id)
        if order is None:
            continue
        for rule in rules.RULES[event.action]:
            if rule.when is None or rule.when(event, order):
                _emit_rule(batch, look, rule, event, order, now, channels)
    _write(batch)


def _prime(look: _Lookups, events, orders) -> None:
    """Load at once what the events' lead and named units will be asked for (a sweep's batch)."""
    unit_ids, kinds = set(), set()
    for event in events:
        order = orders.get(event.order_id)
        if order is None:
            continue
        for rule in rules.RULES[event.action]:
            for audience in rule.audiences:
                if audience in (rules.LEAD_UNIT, rules.EVENT_UNIT):
                    unit_ids.update(_units_for(audience, event, order))
                    kinds.add(rule.kind)
    look.prime(unit_ids, kinds)


def notify_users(user_ids, *, kind: str, title: str, body: str = "", url: str = "", order=None) -> int:
    """In-app notifications that no work-order event causes (a supervisor's list, a system notice).
    Runs in the caller's transaction; returns how many were written."""
    batch, now = _Batch(), clock.now()
    for user_id in dict.fromkeys(user_ids):
        _notify(batch, user_id=user_id, event=None, order=order, kind=kind, title=title, body=body, url=url,
                now=now)
    _write(batch)
    return len(batch.notifications)


def on_hotspot_alert(sender, instance, created, using, raw=False, **kwargs) -> None:
    """未诉先办: a saved ``triage.HotspotAlert`` tells every active supervisor, in the transaction that
    raised it (connected in ``NotifyConfig.ready`` by the model's name: notify never imports triage)."""
    if not created or raw:
        return
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from hotline.workorders.models import WorkOrder

    days = (instance.window_end - instance.window_start).days
    title, body = render(Kind.HOTSPOT_ALERT, place=instance.place, topic=instance.topic, count=instance.count,
                         days=days, keywords=instance.keywords)
    first = (WorkOrder.objects.using(using).filter(pk__in=instance.order_ids).order_by("received_at", "pk")
             .first())
    supervisors = get_user_model().objects.using(using).filter(is_active=True, role="supervisor")
    notify_users(supervisors.values_list("pk", flat=True), kind=Kind.HOTSPOT_ALERT, title=title, body=body,
                 url=reverse("order_detail", args=[first.number]) if first else "", order=first)


def _write(batch: _Batch) -> None:
    if batch.notifications:
        # ignore_conflicts: a second send of the same event (a retried sweep) adds nobody twice.
        insert_rows(Notification, NOTIFICATION_COLUMNS, batch.notifications, ignore_conflicts=True)
        recipients = sorted({n[0] for n in batch.notifications})
        transaction.on_commit(lambda: notifications_committed.send(sender=Notification, recipient_ids=recipients))
    if batch.deliveries:
        insert_rows(Delivery, DELIVERY_COLUMNS, batch.deliveries, ignore_conflicts=True)
        from hotline.notify.tasks import wake_worker

        wake_worker()
        logger.info("outbox: %d message(s) queued (%s)", len(batch.deliveries),
                    ", ".join(sorted({f"{d[3]}:{d[2]}" for d in batch.deliveries})))


__all__ = ["Kind", "notify_users", "on_events_recorded"]
