"""Background work of triage: retraining takes a minute on a month of orders; settling is a sweep."""

from __future__ import annotations

from django_tasks import task


@task()
def train_models(since: str | None = None) -> dict:
    """Retrain both models (category, lead unit) and make them active; returns their versions."""
    import datetime as dt

    from hotline.triage import services
    from hotline.triage.models import Kind

    start = dt.datetime.fromisoformat(since) if since else None
    return {kind.value: services.train(kind, since=start).version for kind in Kind}


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
