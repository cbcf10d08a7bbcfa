"""Background work of the briefing: building a month takes seconds to minutes on a big month."""

from __future__ import annotations

from django_tasks import task


@task()
def build_briefing(briefing_id: int, redraft: bool = False) -> dict:
    """Rebuild a briefing's figures (and drafts); the outcome is stored on the briefing row."""
    from hotline.briefing.actions import rebuild

    b = rebuild(briefing_id, redraft=redraft)
    return {"briefing": b.pk, "state": b.build_state}
