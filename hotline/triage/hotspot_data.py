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
is said early, and reading whole contents of a million orders would be most of the cost. The
history is read in full up to ``HISTORY_CAP`` orders and as a uniform sample beyond (a hash of
the id, see ``load_corpus``): the test compares shares, which a uniform sample keeps, and the paragraph's counts
of the months before are scaled back up. The period itself is always read in full: its counts are
the ones the briefing prints.

A month's result is stored (``MonthHotProblems``): ``month_hot_problems`` answers from it while it
is fresh, and the scheduler computes each month once it has closed (``tasks.schedule_month_hot_problems``),
so the briefing's build reads it instead of the text (docs/triage.md, "热点问题").
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Mod, Substr

from hotline.dbrouter import writable
from hotline.directory.models import Unit
from hotline.lib import clock
from hotline.triage.hotspots import Corpus, Hotspot, detect, early_warnings
from hotline.workorders.models import WorkOrder

HISTORY_MONTHS = 3
HISTORY_DAYS = 91
TEXT_CHARS = 300
BATCH = 20_000
# The history orders read at most (about 1 GiB of text in the pass): Beijing's three months are
# five million orders, of which every fifth is read; a city of Ruzhou's size is read in full.
HISTORY_CAP = 1_000_000
TOP_STORED = 10  # hot problems kept per month (the briefing drafts 5)


# The sample's hash: id × a multiplier, modulo a prime. Every k-th id would line up with any
# periodic pattern in how ids were handed out (an importer cycling through three sources, a
# generator's round-robin); a multiplier that the prime does not divide walks every arithmetic
# progression of ids through all residues, so each share of residues is a uniform sample of it.
SAMPLE_PRIME = 1009
SAMPLE_MULTIPLIER = 40_503


def load_corpus(start: dt.datetime, end: dt.datetime, *, using: str, share: float = 1.0) -> Corpus:
    """Orders registered in [start, end) as plain values (ids are primary keys); with ``share`` < 1
    about that share of them, chosen by a hash of the id (a uniform sample: ids are not chosen by text)."""
    orders = WorkOrder.objects.using(using).filter(received_at__gte=start, received_at__lt=end)
    if share < 1:
        kept = max(1, round(share * SAMPLE_PRIME))
        orders = (orders.alias(bucket=Mod(F("pk") * SAMPLE_MULTIPLIER, SAMPLE_PRIME))
                  .filter(bucket__lt=kept))
    rows = (orders.annotate(head=Substr("content", 1, TEXT_CHARS)).order_by()
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


def load_history(start: dt.datetime, end: dt.datetime, *, using: str,
                 cap: int | None = None) -> tuple[Corpus, int]:
    """The history [start, end): (corpus, how many orders it stands for). All of it up to ``cap``
    orders (default ``HISTORY_CAP``), a uniform sample of about ``cap`` beyond."""
    cap = HISTORY_CAP if cap is None else cap
    total = WorkOrder.objects.using(using).filter(received_at__gte=start, received_at__lt=end).count()
    share = cap / total if cap and total > cap else 1.0
    return load_corpus(start, end, using=using, share=share), total


def place_names(using: str) -> list[str]:
    return list(Unit.objects.using(using).filter(kind__in=Unit.LOCALITY_KINDS).values_list("short_name", flat=True))


def _months_back(year: int, month: int, n: int) -> tuple[int, int]:
    for _ in range(n):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return year, month


def month_hotspots(year: int, month: int, *, using: str | None = None, top: int = 5) -> list[Hotspot] | None:
    """The month's hot problems against the three months before, computed now; None when there is
    no history to compare with (the caller decides what to say instead)."""
    found, _ = _compute_month(year, month, using=using or settings.ANALYTICS_DATABASE, top=top)
    return found


def _compute_month(year: int, month: int, *, using: str, top: int) -> tuple[list[Hotspot] | None, dict]:
    start, end = clock.month_bounds(year, month)
    history_start = clock.month_bounds(*_months_back(year, month, HISTORY_MONTHS))[0]
    history, history_total = load_history(history_start, start, using=using)
    facts = {"history_orders": history_total, "history_read": len(history), "history_months": 0}
    if not len(history):
        return None, facts
    first = clock.local(min(history.times))
    months = max(1, min(HISTORY_MONTHS, (year - first.year) * 12 + month - first.month))
    facts["history_months"] = months
    current = load_corpus(start, end, using=using)
    found = detect(current, history, history_months=months, top=top, place_names=place_names(using),
                   period_word="本月", history_word="上月" if months == 1 else f"前{months}个月月均",
                   history_weight=history_total / len(history))
    return found, facts


MEMBERS_STORED = 2000  # member ids kept per stored hot problem (the count is kept whole)


def store_month(year: int, month: int, *, using: str | None = None):
    """Compute the month's hot problems and keep them (``MonthHotProblems``), replacing any kept
    before. The month's order count is taken before its text is read: an order registered meanwhile
    makes the result stale rather than silently included."""
    import time

    from hotline.triage.models import MonthHotProblems

    db = using or settings.ANALYTICS_DATABASE
    write = writable(db)
    started = time.monotonic()
    start, end = clock.month_bounds(year, month)
    orders = WorkOrder.objects.using(db).filter(received_at__gte=start, received_at__lt=end).count()
    found, facts = _compute_month(year, month, using=db, top=TOP_STORED)
    items = []
    for h in found or ():
        item = h.to_dict()
        # Kept in the database beside the orders, but without their texts: the stored result is
        # what the briefing says, and the representatives are found again from their ids.
        item["member_count"] = len(item["member_ids"])
        item["member_ids"] = item["member_ids"][:MEMBERS_STORED]
        item["representatives"] = [r["id"] for r in item["representatives"]]
        items.append(item)
    with transaction.atomic(using=write):
        stored, _ = MonthHotProblems.objects.using(write).update_or_create(
            year=year, month=month,
            defaults=dict(orders=orders, items=items, computed_at=clock.now(),
                          seconds=round(time.monotonic() - started, 2), **facts))
    return stored


def month_hot_problems(year: int, month: int, *, using: str | None = None, orders: int | None = None,
                       top: int = 5) -> list[dict] | None:
    """The month's hot problems (``Hotspot.to_dict`` items: title, paragraph, counts …), from the
    stored result while it is fresh — kept, and the month still has the orders it was computed on
    (``orders``: the month's count when the caller has it, as the briefing's statistics do) —
    else computed and stored now. None when there is no history to compare with."""
    from hotline.triage.models import MonthHotProblems

    db = using or settings.ANALYTICS_DATABASE
    stored = MonthHotProblems.objects.using(writable(db)).filter(year=year, month=month).first()
    if stored is not None:
        if orders is None:
            start, end = clock.month_bounds(year, month)
            orders = WorkOrder.objects.using(db).filter(received_at__gte=start, received_at__lt=end).count()
        if stored.orders != orders:
            stored = None
    if stored is None:
        stored = store_month(year, month, using=db)
    return stored.items[:top] if stored.history_months else None


def on_order_registering(sender, order, **kwargs) -> None:
    """An order registered into an earlier month (an import, an upstream push dated back) changes
    that month's hot problems and, as their history, those of the months after it: their stored
    results are dropped (the rule in ``MonthHotProblems``). An order of the present month, nearly
    every one, costs no query."""
    from hotline.triage.models import MonthHotProblems

    at = order.received_at or clock.now()
    year, month = clock.month_of(at)
    if (year, month) == clock.month_of(clock.now()):
        return
    affected = [(year, month)]
    for _ in range(HISTORY_MONTHS):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        affected.append((year, month))
    condition = Q()
    for y, m in affected:
        condition |= Q(year=y, month=m)
    MonthHotProblems.objects.filter(condition).delete()


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
    history, history_total = load_history(start - dt.timedelta(days=HISTORY_DAYS), start, using=using)
    if not len(history):
        return []
    current = load_corpus(start, now, using=using)
    found = detect(current, history, history_months=None, top=50, place_names=place_names(using),
                   period_word=f"近{days}日", min_count=count, history_weight=history_total / len(history))
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
