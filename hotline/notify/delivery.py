"""The outbox worker: claim a due message, send it, record the outcome.

At most once per recipient and event (the unique constraint makes one row per event, channel and
address), and never twice for one row, even when a worker is killed mid-send:

1. **Claim** in its own committed transaction: the row goes ``pending → sending`` with a fresh
   claim token, ``attempts + 1`` and a lease (``LEASE_SECONDS``). PostgreSQL picks rows with
   ``FOR UPDATE SKIP LOCKED`` so workers never wait on each other; SQLite serialises writers
   (``BEGIN IMMEDIATE``), which gives the same result.
2. **Send** through the channel, outside any transaction.
3. **Record** ``sent`` (or the error, and ``pending`` again after a backoff of
   ``BACKOFF_SECONDS × 2^(attempt-1)``, or ``failed`` after ``MAX_ATTEMPTS``) — only if the row is
   still ours (same token, still ``sending``).

A worker killed between 1 and 3 leaves its row ``sending``. Nobody sends it again before its
lease ends; then ``recover_stale`` decides, never guessing towards a second message:

- SMS: a delivery report may already have arrived (the report URL names the row), which moves
  it to ``sent``/``delivered``, so it is not stale. Otherwise Kannel is asked whether it still
  holds the message in its store (``KANNEL_ADMIN_URL``): held — wait another lease; not held and
  no report — Kannel never got it, send again; Kannel cannot be asked — ``failed``.
- E-mail and robots cannot be asked: the row is marked ``failed`` ("发送中断，无法确认"), shown on
  the order and in the failures list, where staff retry it by hand. The platform prefers a
  visible missing message to a duplicate one.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from xml.etree import ElementTree

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from hotline.lib import clock
from hotline.lib.masking import phone_digits
from hotline.notify import channels
from hotline.notify.models import Channel, Delivery

logger = logging.getLogger(__name__)

Status = Delivery.Status
INTERRUPTED = "发送中断（发送进程退出），无法确认消息是否已发出；为免重复未自动重发，可人工重试"
NOT_RECEIVED = "上次发送中断，短信网关未收到该消息，已重新发送"


def _conf(name):
    return settings.HOTLINE_NOTIFY[name]


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=_conf("BACKOFF_SECONDS") * 2 ** max(attempts - 1, 0))


def _locked(qs):
    if connection.features.has_select_for_update_skip_locked:
        return qs.select_for_update(skip_locked=True)
    return qs


def claim() -> Delivery | None:
    """Take the next due message: committed as ``sending`` with a new token before it is sent."""
    with transaction.atomic():
        now = clock.now()
        row = _locked(Delivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
                      .order_by("next_attempt_at", "id")).first()
        if row is None:
            return None
        token = uuid.uuid4().hex
        claimed = Delivery.objects.filter(pk=row.pk, status=Status.PENDING).update(
            status=Status.SENDING, claim_token=token, attempts=F("attempts") + 1,
            lease_until=now + dt.timedelta(seconds=_conf("LEASE_SECONDS")))
        if not claimed:
            return None
    row.refresh_from_db()
    return row


def send_one(row: Delivery) -> str:
    """Send a claimed row and record the outcome; returns the row's new status."""
    result = channels.send(row)
    now = clock.now()
    mine = Delivery.objects.filter(pk=row.pk, status=Status.SENDING, claim_token=row.claim_token)
    if result.ok:
        if mine.update(status=Status.SENT, sent_at=now, gateway_id=result.gateway_id[:100], last_error="",
                       lease_until=None):
            return Status.SENT
        # A delivery report got here first (it moved the row on): keep what it said.
        Delivery.objects.filter(pk=row.pk, sent_at__isnull=True).update(sent_at=now)
        return Delivery.objects.values_list("status", flat=True).get(pk=row.pk)
    final = row.attempts >= _conf("MAX_ATTEMPTS")
    status = Status.FAILED if final else Status.PENDING
    mine.update(status=status, last_error=result.error, lease_until=None,
                next_attempt_at=None if final else now + backoff(row.attempts))
    logger.warning("outbox: delivery %s (%s to %s) attempt %s failed%s: %s", row.pk, row.channel,
                   row.masked_address, row.attempts, "; giving up" if final else "", result.error)
    return status


def kannel_holds(row: Delivery) -> bool | None:
    """Whether Kannel's bearerbox still holds ``row`` in its store (accepted, not yet handed to an
    SMSC). Its admin interface (``store-status.xml``) lists stored messages by receiver and text
    (UCS-2, URL-escaped); the row's number and text (which holds the order number) identify it.
    None when Kannel cannot be asked."""
    admin = _conf("KANNEL_ADMIN_URL")
    if not admin:
        return None
    url = admin.rstrip("/") + "/store-status.xml?" + urllib.parse.urlencode(
        {"password": _conf("KANNEL_ADMIN_PASSWORD")})
    try:
        with urllib.request.urlopen(url, timeout=_conf("TIMEOUT_SECONDS")) as response:
            if response.status != 200:
                return None
            root = ElementTree.fromstring(response.read())
    except (OSError, ElementTree.ParseError):
        return None
    wanted = phone_digits(row.address)
    for message in root.iter("message"):
        if phone_digits(message.findtext("receiver") or "")[-11:] != wanted[-11:]:
            continue
        raw = urllib.parse.unquote_to_bytes(message.findtext("msg-data") or "")
        for encoding in ("utf-16-be", "utf-8"):
            try:
                if raw.decode(encoding) == row.body:
                    return True
            except UnicodeDecodeError:
                continue
    return False


def recover_stale(now: dt.datetime | None = None) -> Counter:
    """Resolve rows left ``sending`` past their lease by a worker that died (see the module doc)."""
    now = now or clock.now()
    outcome = Counter()
    stale = list(Delivery.objects.filter(status=Status.SENDING, lease_until__lt=now).order_by("id")[:500])
    for row in stale:
        if row.channel == Channel.SMS:
            held = kannel_holds(row)
        else:
            held = None
        mine = Delivery.objects.filter(pk=row.pk, status=Status.SENDING, claim_token=row.claim_token)
        if held is True:
            mine.update(lease_until=now + dt.timedelta(seconds=_conf("LEASE_SECONDS")))
            outcome["waiting"] += 1
        elif held is False:
            if mine.update(status=Status.PENDING, next_attempt_at=now, last_error=NOT_RECEIVED, lease_until=None):
                outcome["resent"] += 1
        elif mine.update(status=Status.FAILED, last_error=INTERRUPTED, lease_until=None):
            outcome["failed"] += 1
            logger.warning("outbox: delivery %s (%s to %s) interrupted mid-send; marked failed", row.pk,
                           row.channel, row.masked_address)
    return outcome


def run(limit: int = 1000) -> dict:
    """Send due messages until none is left (or ``limit`` were tried)."""
    counts = Counter(recover_stale())
    for _ in range(limit):
        row = claim()
        if row is None:
            break
        counts[send_one(row)] += 1
    return dict(counts)
