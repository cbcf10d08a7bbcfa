"""Excel imports as background jobs: the only writers of ``ImportJob`` rows.

A web worker never reads a workbook's rows: the upload is checked (a valid xlsx within the
archive limits, the columns, the rows the sheet declares: ``importers.check_file``), stored in the
default storage (shared by every app process and worker), and a job is queued. The task runs the
importer with a progress callback; the page polls the job row. A check (预览) writes nothing; its
import (确认导入) is a second job on the same stored file, allowed only to the person who
uploaded it and only after a clean check.

Progress while the import's one transaction is open: on PostgreSQL it is written through a
second connection, so other processes see it at once; SQLite has one writer at a time, so there
the bar stands still during the write and jumps to the end at commit.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections, transaction
from django.http import Http404
from django.utils import timezone

from hotline.accounts.access import audit
from hotline.intake import importers
from hotline.intake.models import ImportJob

logger = logging.getLogger(__name__)

UPLOAD_DIR = "imports"
STALE_AFTER = dt.timedelta(hours=24)  # an upload whose check was never confirmed


class ImportJobError(Exception):
    """The job cannot be queued (Chinese message for the page)."""


def job_for(user, pk) -> ImportJob:
    """The job ``pk`` if ``user`` submitted it; Http404 otherwise ("not yours" looks like "missing")."""
    job = ImportJob.objects.filter(pk=pk, created_by=user).first() if getattr(user, "pk", None) else None
    if job is None:
        raise Http404("导入任务不存在")
    return job


def submit(kind: str, data: bytes, *, name: str, user, ip=None) -> ImportJob:
    """Check an upload's shape and declared size now, store it and queue its check;
    ``ImportFileError`` if the file is refused (nothing stored, nothing queued)."""
    importers.check_file(io.BytesIO(data), kind)
    purge_stale_uploads()
    path = default_storage.save(f"{UPLOAD_DIR}/{uuid.uuid4().hex}.xlsx", ContentFile(data))
    job = ImportJob.objects.create(kind=kind, name=name[:200], path=path, dry_run=True, created_by=user, ip=ip,
                                   created_at=timezone.now())
    _enqueue(job)
    return job


def confirm(checked: ImportJob, *, user, ip=None) -> ImportJob:
    """Queue the import of a file whose check came back clean; confirming twice gives the same job."""
    if checked.created_by_id != user.pk:
        raise Http404("导入任务不存在")
    already = checked.imports.order_by("pk").first()
    if already is not None:
        return already
    result = checked.result or {}
    if not checked.dry_run or checked.state != ImportJob.State.DONE or not result.get("ok") \
            or not result.get("imported"):
        raise ImportJobError("只有校验通过且有可导入行的文件才能确认导入")
    if not default_storage.exists(checked.path):
        raise ImportJobError("上传的文件已过期，请重新上传")
    job = ImportJob.objects.create(kind=checked.kind, name=checked.name, path=checked.path, dry_run=False,
                                   checked=checked, created_by=user, ip=ip, created_at=timezone.now(),
                                   total=checked.total)
    _enqueue(job)
    return job


def _enqueue(job: ImportJob) -> None:
    """Queue the job's task once the row is committed (a worker must find it)."""
    from hotline.intake.tasks import run_import

    def enqueue():
        result = run_import.enqueue(job.pk)
        ImportJob.objects.filter(pk=job.pk).update(task_id=str(result.id))

    transaction.on_commit(enqueue)


class ProgressWriter:
    """The importer's progress callback: writes (phase, done, total) to the job row at most every
    ``every`` seconds, and always at the end of a phase."""

    def __init__(self, job_id: int, every: float = 0.5):
        self.job_id, self.every = job_id, every
        self.last, self.phase, self.side = 0.0, "", None

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if phase == self.phase and done < total and now - self.last < self.every:
            return
        self.last, self.phase = now, phase
        connection = connections["default"]
        if not connection.in_atomic_block:
            ImportJob.objects.filter(pk=self.job_id).update(phase=phase, done=done, total=total)
        elif connection.vendor == "postgresql":
            if self.side is None:
                self.side = connections.create_connection("default")
            table = self.side.ops.quote_name(ImportJob._meta.db_table)
            with self.side.cursor() as cursor:  # autocommit: seen by the page at once
                cursor.execute(f"UPDATE {table} SET phase = %s, done = %s, total = %s WHERE id = %s",
                               [phase, done, total, self.job_id])

    def close(self) -> None:
        if self.side is not None:
            self.side.close()
            self.side = None


def run(job_id: int) -> dict:
    """Run one job to its end; what the task returns. A job already finished is left alone (a
    task may run twice); a job left running by a dead worker runs again — its transaction was
    rolled back, and re-imported rows are recognised and skipped."""
    job = ImportJob.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None or job.finished:
        return {"job": job_id, "state": job.state if job else "missing"}
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.RUNNING, started_at=timezone.now(),
                                               phase=ImportJob.Phase.CHECK, done=0, error="")
    importer = importers.import_orders if job.kind == ImportJob.Kind.ORDERS else importers.import_calls
    progress = ProgressWriter(job.pk)
    try:
        try:
            with default_storage.open(job.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise importers.ImportFileError("上传的文件已过期或已删除，请重新上传") from None
        result = importer(io.BytesIO(data), dry_run=job.dry_run, acting_user=job.created_by, name=job.name,
                          progress=progress)
    except importers.ImportFileError as e:
        _finish(job, ImportJob.State.FAILED, error=str(e))
        return {"job": job.pk, "state": ImportJob.State.FAILED}
    except Exception as e:
        _finish(job, ImportJob.State.FAILED, error=f"导入中断，未写入任何数据（{e.__class__.__name__}），请联系管理员")
        raise  # the task shows as failed, with the traceback in the worker's log
    finally:
        progress.close()
    _finish(job, ImportJob.State.DONE, result=result)
    if not job.dry_run and result.ok:
        default_storage.delete(job.path)
        audit(job.created_by, f"import_{job.kind}", object_type="intake.import", object_id=job.name, ip=job.ip,
              rows=result.rows, imported=len(result.imported), skipped=len(result.skipped))
    return {"job": job.pk, "state": ImportJob.State.DONE, "ok": result.ok}


def _finish(job: ImportJob, state: str, *, result: importers.ImportResult | None = None, error: str = "") -> None:
    fields = {"state": state, "finished_at": timezone.now(), "error": error[:2000]}
    if result is not None:
        fields.update(result=result.as_dict(), done=result.rows, total=result.rows, phase=ImportJob.Phase.WRITE)
    ImportJob.objects.filter(pk=job.pk).update(**fields)


def purge_stale_uploads(now: dt.datetime | None = None) -> int:
    """Drop stored uploads older than ``STALE_AFTER`` that no queued or running job still needs."""
    cutoff = (now or timezone.now()) - STALE_AFTER
    try:
        _, files = default_storage.listdir(UPLOAD_DIR)
    except FileNotFoundError:
        return 0
    busy = set(ImportJob.objects.filter(state__in=[ImportJob.State.QUEUED, ImportJob.State.RUNNING])
               .values_list("path", flat=True))
    removed = 0
    for name in files:
        path = f"{UPLOAD_DIR}/{name}"
        try:
            if path not in busy and default_storage.get_modified_time(path) < cutoff:
                default_storage.delete(path)
                removed += 1
        except FileNotFoundError:
            pass  # another process removed it
    return removed
