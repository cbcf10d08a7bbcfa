"""Background work of triage: retraining takes a minute on a month of orders; settling is a sweep."""

from __future__ import annotations

import datetime as dt

from django_tasks import task


@task()
def train_models(since: str | None = None, month: str | None = None) -> dict:
    """Retrain every model (category, appeal type, lead unit); returns, per kind, the new version
    and whether it was activated (a version that scores worse than the active one is not).
    ``month`` only names the scheduled run (``schedule_retrain`` queues one per month)."""
    from hotline.triage import services
    from hotline.triage.models import Kind

    start = dt.datetime.fromisoformat(since) if since else None
    out = {}
    for kind in Kind:
        row = services.train(kind, since=start)
        out[kind.value] = {"version": row.version, "active": row.active,
                           "not_activated": row.metadata.get("not_activated")}
    return out


@task()
def settle_suggestions() -> dict:
    """Record missing category suggestions and compare all with the final choices (production accuracy)."""
    from hotline.triage import services

    report = services.settle()
    return {"recorded": report.recorded, "settled": report.settled}


def schedule_settle() -> list[str]:
    """A scheduler tick's job (list it in ``HOTLINE_PERIODIC_JOBS``): queue a settle run when a
    model is active. Settling is incremental and idempotent, so a run every sweep period is cheap
    and two schedulers queueing it twice do no harm."""
    from hotline.triage.models import TriageModel

    if not TriageModel.objects.filter(active=True).exists():
        return []
    settle_suggestions.enqueue()
    return ["triage.settle_suggestions"]


def schedule_retrain(now: dt.datetime | None = None) -> list[str]:
    """A periodic job (``HOTLINE_PERIODIC_JOBS``): once a month, when the month has turned (center's
    time), queue a retrain of every model on the closed orders, so the models learn last month's
    categories, units and words without anyone remembering to. Nothing is queued before a first model
    exists (the demo or an admin trains first) or when a model was already trained this month (by
    hand or by this job); the month is claimed like the SLA sweep's period, so two schedulers queue
    it once. A retrained model that scores worse is stored but not activated (``services.train``).
    """
    from django.utils import timezone

    from hotline.lib import clock
    from hotline.triage.models import TriageModel
    from hotline.workorders.tasks import enqueue_once

    now = now or timezone.now()
    year, month = clock.month_of(now)
    key = f"{year:04d}-{month:02d}"
    if not TriageModel.objects.exists():
        return []
    if TriageModel.objects.filter(created_at__gte=clock.month_bounds(year, month)[0]).exists():
        return []
    if not enqueue_once(train_models, ttl=40 * 24 * 3600, month=key):
        return []
    return [f"triage.train_models {key}"]


@task()
def find_near_duplicates(day: str) -> dict:
    """The nightly near-duplicate pass over the orders received on ``day`` (YYYY-MM-DD, center's
    time): pairs recorded for staff (``NearDuplicate``), nothing merged."""
    from hotline.triage import dupindex

    report = dupindex.nightly(dt.date.fromisoformat(day))
    return {"day": report.day, "orders": report.orders, "pairs": report.pairs, "groups": report.groups,
            "backfilled": report.backfilled}


def schedule_near_duplicates(now: dt.datetime | None = None) -> list[str]:
    """A periodic job (``HOTLINE_PERIODIC_JOBS``): at the first sweep of each day (center's time),
    queue the near-duplicate pass over yesterday's orders. The day is claimed among the queued tasks
    under the scheduler lock (or in the shared cache with a queue outside the database), so several
    schedulers queue it once."""
    from django.utils import timezone

    from hotline.lib import clock
    from hotline.workorders.tasks import enqueue_once

    now = now or timezone.now()
    key = (clock.local_date(now) - dt.timedelta(days=1)).isoformat()
    if not enqueue_once(find_near_duplicates, ttl=3 * 24 * 3600, day=key):
        return []
    return [f"triage.find_near_duplicates {key}"]


@task()
def early_warning(period: str | None = None) -> dict:
    """未诉先办: alert the supervisors where one place has many orders of one rising topic
    (``hotspot_data.raise_early_warnings``). ``period`` only names the scheduled run."""
    from hotline.triage.hotspot_data import raise_early_warnings

    return {"alerts": raise_early_warnings()}


EARLY_WARNING_HOURS = 6  # how often the scheduler queues the early warning (its window is days long)


def schedule_early_warning(now: dt.datetime | None = None) -> list[str]:
    """A periodic job (``HOTLINE_PERIODIC_JOBS``): queue the early warning once per
    ``EARLY_WARNING_HOURS`` period, claimed like the monthly retrain so two schedulers queue it once.
    Each run is a few seconds of numpy on the last three months' orders; a sweep every 5 minutes
    would redo it for nothing."""
    from django.utils import timezone

    from hotline.lib import clock
    from hotline.workorders.tasks import enqueue_once

    now = now or timezone.now()
    local = clock.local(now)
    key = f"{local:%Y-%m-%d}T{local.hour // EARLY_WARNING_HOURS * EARLY_WARNING_HOURS:02d}"
    if not enqueue_once(early_warning, ttl=2 * EARLY_WARNING_HOURS * 3600, period=key):
        return []
    return [f"triage.early_warning {key}"]


@task()
def month_hot_problems(month: str) -> dict:
    """The text pass of a closed month (YYYY-MM), stored for its briefing (``hotspot_data.store_month``)."""
    from hotline.triage.hotspot_data import store_month

    year, number = (int(part) for part in month.split("-"))
    stored = store_month(year, number)
    return {"month": month, "hot_problems": len(stored.items), "orders": stored.orders, "seconds": stored.seconds}


def schedule_month_hot_problems(now: dt.datetime | None = None) -> list[str]:
    """A periodic job (``HOTLINE_PERIODIC_JOBS``): once a month has closed (center's time), queue its
    hot-problem pass, once (claimed like the monthly retrain), so its briefing is drafted from the
    stored result instead of reading millions of texts while the supervisor waits. A month stored
    after it closed is not queued again (one stored mid-month, by an early draft, is)."""
    from django.utils import timezone

    from hotline.lib import clock
    from hotline.triage.hotspot_data import _months_back
    from hotline.triage.models import MonthHotProblems
    from hotline.workorders.tasks import enqueue_once

    now = now or timezone.now()
    year, month = _months_back(*clock.month_of(now), 1)
    if MonthHotProblems.objects.filter(year=year, month=month,
                                       computed_at__gte=clock.month_bounds(year, month)[1]).exists():
        return []
    key = f"{year:04d}-{month:02d}"
    if not enqueue_once(month_hot_problems, ttl=40 * 24 * 3600, month=key):
        return []
    return [f"triage.month_hot_problems {key}"]
