"""The hot-problem pass (``hotline.triage.hotspots``) on the platform's own orders, and the
未诉先办 early warning it raises.

* ``month_hotspots(year, month)``: the month's orders against the ``HISTORY_MONTHS`` before it —
  what the briefing's 热点问题 draft says (``hotline.briefing.drafting.hot_problems``).
* ``raise_early_warnings(now)``: the last ``DAYS`` days against the ``HISTORY_DAYS`` before them;
  where one place has ``COUNT`` orders or more of one rising topic, the supervisors are told
  in-app (``Kind.HOTSPOT_ALERT``), once per place and topic within ``DAYS`` days
  (``HotspotAlert``). Settings: ``HOTLINE["HOTSPOT_ALERT_COUNT"]`` (default 5) and
  ``HOTLINE["HOTSPOT_ALERT_DAYS"]`` (default 7). The scheduler queues it (``tasks.schedule_early_warning``).

An order's text is its title and the head of its content (``TEXT_CHARS``): the topic of an appeal
is said early, and reading whole contents of a million orders would be most of the cost.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Substr

from hotline.directory.models import Unit
from hotline.lib import clock
from hotline.triage.hotspots import Corpus, Hotspot, detect, early_warnings
from hotline.workorders.models import WorkOrder

HISTORY_MONTHS = 3
HISTORY_DAYS = 91
TEXT_CHARS = 300
BATCH = 20_000


def load_corpus(start: dt.datetime, end: dt.datetime, *, using: str) -> Corpus:
    """Orders registered in [start, end) as plain values (ids are primary keys)."""
    rows = (WorkOrder.objects.using(using).filter(received_at__gte=start, received_at__lt=end)
            .annotate(head=Substr("content", 1, TEXT_CHARS)).order_by()
            .values_list("pk", "title", "head", "received_at", "town__short_name", "lead_unit__short_name")
            .iterator(chunk_size=BATCH))
    ids, texts, times, places, units = [], [], [], [], []
    for pk, title, head, at, town, lead in rows:
        ids.append(pk)
        texts.append(f"{title}。{head}")
        times.append(at)
        places.append(town or "")
        units.append(lead or "")
    return Corpus(texts=texts, ids=ids, times=times, places=places, units=units)


def place_names(using: str) -> list[str]:
    return list(Unit.objects.using(using).filter(kind__in=Unit.LOCALITY_KINDS).values_list("short_name", flat=True))


def _months_back(year: int, month: int, n: int) -> tuple[int, int]:
    for _ in range(n):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return year, month


def month_hotspots(year: int, month: int, *, using: str | None = None, top: int = 5) -> list[Hotspot] | None:
    """The month's hot problems against the three months before; None when there is no history
    to compare with (the caller decides what to say instead)."""
    db = using or settings.ANALYTICS_DATABASE
    start, end = clock.month_bounds(year, month)
    history_start = clock.month_bounds(*_months_back(year, month, HISTORY_MONTHS))[0]
    history = load_corpus(history_start, start, using=db)
    if not len(history):
        return None
    first = clock.local(min(history.times))
    months = max(1, min(HISTORY_MONTHS, (year - first.year) * 12 + month - first.month))
    current = load_corpus(start, end, using=db)
    return detect(current, history, history_months=months, top=top, place_names=place_names(db),
                  period_word="本月", history_word="上月" if months == 1 else f"前{months}个月月均")


def alert_settings() -> tuple[int, int]:
    return int(settings.HOTLINE.get("HOTSPOT_ALERT_COUNT", 5)), int(settings.HOTLINE.get("HOTSPOT_ALERT_DAYS", 7))


def raise_early_warnings(now: dt.datetime | None = None, *, using: str = "default") -> list[int]:
    """未诉先办: tell the supervisors where one place has had ``COUNT`` orders of one rising topic
    in the last ``DAYS`` days. Returns the new alerts' ids; a place and topic already alerted in
    the last ``DAYS`` days is not alerted again, however often the sweep runs."""
    from hotline.triage.models import HotspotAlert

    now = now or clock.now()
    count, days = alert_settings()
    start = now - dt.timedelta(days=days)
    history = load_corpus(start - dt.timedelta(days=HISTORY_DAYS), start, using=using)
    if not len(history):
        return []
    current = load_corpus(start, now, using=using)
    found = detect(current, history, history_months=None, top=50, place_names=place_names(using),
                   period_word=f"近{days}日", min_count=count)
    raised = []
    for hotspot, place, ids in early_warnings(found, min_count=count):
        with transaction.atomic(using=using):
            # The same topic: an alert at this place within the window on the same label or on any
            # of the same orders (a topic's label may read differently from one sweep to the next).
            recent = HotspotAlert.objects.using(using).filter(place=place, raised_at__gt=now - dt.timedelta(days=days))
            if any(a.topic == hotspot.label or set(a.order_ids) & set(ids) for a in recent):
                continue
            alert = HotspotAlert.objects.using(using).create(
                place=place, topic=hotspot.label, keywords="、".join(hotspot.keywords), count=len(ids),
                order_ids=sorted(int(i) for i in ids), window_start=start, window_end=now, raised_at=now)
            # The supervisors are told by notify, which listens for the saved alert (DESIGN.md §5:
            # triage does not import notify), in this transaction.
            raised.append(alert.pk)
    return raised
