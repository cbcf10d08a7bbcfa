"""The writers of notify's rows besides the emission and the worker: reading, retrying, and the
preferences and unit contacts people set on their pages."""

from __future__ import annotations

from django.db import transaction

from hotline.accounts.access import audit, role_of
from hotline.accounts.roles import Role
from hotline.lib import clock
from hotline.notify import rules
from hotline.notify.models import Channel, Delivery, Kind, Notification, Preference, UnitContact


def mark_read(user, ids) -> int:
    """Mark the user's own notifications ``ids`` read; others' ids are ignored."""
    return (Notification.objects.for_user(user).unread().filter(pk__in=list(ids))
            .update(read_at=clock.now()))


def mark_all_read(user) -> int:
    return Notification.objects.for_user(user).unread().update(read_at=clock.now())


class RetryError(Exception):
    pass


def retry(delivery: Delivery | int, *, acting_user) -> Delivery:
    """Put a failed message back in the queue (a person decided to send it again), audited."""
    from hotline.notify.tasks import wake_worker

    pk = delivery.pk if isinstance(delivery, Delivery) else delivery
    with transaction.atomic():
        row = Delivery.objects.select_for_update().filter(pk=pk).first()
        if row is None:
            raise RetryError("消息不存在")
        if row.status != Delivery.Status.FAILED:
            raise RetryError("只有发送失败的消息可以重试")
        row.status, row.next_attempt_at, row.attempts = Delivery.Status.PENDING, clock.now(), 0
        row.save(update_fields=["status", "next_attempt_at", "attempts"])
        audit(acting_user, "config", obj=row, what="重试发送消息", channel=row.channel, address=row.masked_address)
        wake_worker()
    return row


class PreferenceError(Exception):
    """A choice the preferences pages refuse; the message is shown to the person as it is."""


# Who keeps units' addresses and channels: the centre's dispatchers (and admins, who may do anything).
UNIT_CONTACT_ROLES = frozenset({Role.DISPATCHER, Role.ADMIN})


def may_edit_unit_notify(user) -> bool:
    return role_of(user) in UNIT_CONTACT_ROLES


def effective_channels(owner_field: str, owner_id: int, kinds) -> tuple[dict[str, set[str]], object]:
    """What ``owner`` gets now for each of ``kinds``: its row for the kind, else its all-kinds row,
    else the defaults (units: ``rules.DEFAULT_UNIT_CHANNELS``; people: in-app only) — the same
    reading as ``emit``. Also the row whose quiet hours apply to most kinds (the all-kinds row or
    any), for the page to show."""
    rows = {p.kind: p for p in Preference.objects.filter(**{f"{owner_field}_id": owner_id})}
    chosen = {}
    for kind in kinds:
        pref = rows.get(kind) or rows.get("")
        if pref is not None:
            chosen[kind] = pref.channels()
        elif owner_field == "unit":
            chosen[kind] = set(rules.DEFAULT_UNIT_CHANNELS.get(kind, frozenset()))
        else:
            chosen[kind] = set()
    sample = rows.get("") or next(iter(rows.values()), None)
    return chosen, sample


def set_preferences(*, user=None, unit=None, channels: dict[str, set[str]], quiet_from=None, quiet_until=None,
                    acting_user) -> int:
    """Set which outbound channels ``user`` (their own page) or ``unit`` (a dispatcher's page) gets
    for each kind, and the quiet hours. Only the kinds the rules send them and the channels they can
    be reached on are accepted; anything else refuses the whole change (nothing is written). One
    ``Preference`` row per offered kind is written, so the page reads back exactly what was chosen.
    Returns the number of rows written."""
    if (user is None) == (unit is None):
        raise ValueError("set_preferences: exactly one of user or unit")
    if user is not None:
        if getattr(acting_user, "pk", None) != user.pk:
            raise PreferenceError("只能修改自己的通知偏好")
        offered, allowed_channels, owner = rules.kinds_for_role(role_of(user) or ""), rules.PERSON_CHANNELS, {"user": user}
    else:
        if not may_edit_unit_notify(acting_user):
            raise PreferenceError("无权修改单位的通知设置")
        offered, allowed_channels, owner = rules.unit_kinds(), rules.UNIT_CHANNELS, {"unit": unit}
    labels = dict(Kind.choices)
    for kind, chosen in channels.items():
        if kind not in offered:
            raise PreferenceError(f"不能设置“{labels.get(kind, kind)}”的通知方式：规则不向您发送此类通知")
        bad = set(chosen) - set(allowed_channels)
        if bad:
            names = "、".join(dict(Channel.choices).get(c, str(c)) for c in sorted(bad))
            raise PreferenceError(f"“{labels[kind]}”不能选择：{names}")
    if (quiet_from is None) != (quiet_until is None):
        raise PreferenceError("免打扰时段须同时填写开始和结束时间")
    if quiet_from is not None and quiet_from == quiet_until:
        raise PreferenceError("免打扰时段的开始和结束时间不能相同")
    written = 0
    with transaction.atomic():
        for kind in offered:
            chosen = set(channels.get(kind, ()))
            values = {c: c in chosen for c in Channel.values}
            Preference.objects.update_or_create(**owner, kind=kind, defaults={
                **values, "quiet_from": quiet_from, "quiet_until": quiet_until})
            written += 1
        target = user if user is not None else unit
        audit(acting_user, "config", obj=target, what="修改通知偏好",
              channels={k: sorted(v) for k, v in channels.items() if v},
              quiet=f"{quiet_from:%H:%M}-{quiet_until:%H:%M}" if quiet_from else "")
    return written


def set_unit_contact(unit, *, sms_phone: str, email: str, wecom_webhook: str, dingtalk_webhook: str,
                     dingtalk_secret: str, acting_user) -> UnitContact:
    """Where ``unit`` receives messages (values already parsed by the page's form). Audited without
    the addresses themselves: the log says which ones changed, not their new values."""
    if not may_edit_unit_notify(acting_user):
        raise PreferenceError("无权修改单位的通知联系方式")
    values = {"sms_phone": sms_phone, "email": email, "wecom_webhook": wecom_webhook,
              "dingtalk_webhook": dingtalk_webhook, "dingtalk_secret": dingtalk_secret}
    with transaction.atomic():
        row = UnitContact.objects.select_for_update().filter(unit=unit).first()
        before = {k: getattr(row, k) for k in values} if row else dict.fromkeys(values, "")
        if row is None:
            row = UnitContact.objects.create(unit=unit, **values)
        else:
            for k, v in values.items():
                setattr(row, k, v)
            row.save(update_fields=list(values))
        changed = sorted(k for k in values if before[k] != values[k])
        audit(acting_user, "config", obj=unit, what="修改单位通知联系方式", changed=changed)
    return row


def set_unit_notify(unit, *, contact: dict, channels: dict[str, set[str]], quiet_from=None, quiet_until=None,
                    acting_user) -> None:
    """The unit page's one save: addresses and channels together, or neither."""
    with transaction.atomic():
        set_unit_contact(unit, **contact, acting_user=acting_user)
        set_preferences(unit=unit, channels=channels, quiet_from=quiet_from, quiet_until=quiet_until,
                        acting_user=acting_user)
