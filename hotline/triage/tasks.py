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
