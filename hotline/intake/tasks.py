"""Background work of intake: Excel imports (see ``hotline.intake.jobs``)."""

from __future__ import annotations

from django_tasks import task


@task()
def run_import(job_id: int) -> dict:
    """Check or import one uploaded workbook; progress and outcome are stored on the ``ImportJob``."""
    from hotline.intake import jobs

    return jobs.run(job_id)
