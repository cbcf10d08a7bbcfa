"""Files of work orders: storing what the file boundary let through, and the door to reading them.

``attach`` is called only by the actions (``hotline.workorders.actions``), inside their
transaction, after they have locked the order and checked that the actor may act: the files are
written then, and their rows in the same transaction. Files checked by ``hotline.lib.files.inspect``
(in the forms) are the only input, so a refused file never reaches storage.

A transaction can still roll back after its files were written (a later step of the same
registration is refused, a lock conflict). Each written name is remembered until its transaction
commits; when the request ends, every remembered name that no row refers to is deleted
(``discard_uncommitted``, connected to ``request_finished``) — no orphan files are left behind.

Reading goes through ``access_attachment_by_id`` (the order's door, then
``hotline.accounts.access.may_see_attachment``) and ``visible``; the citizen's side is
``hotline.portal.public.public_evidence``.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Sequence

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Q
from django.http import Http404

from hotline.accounts.access import may_see_attachment
from hotline.lib import clock
from hotline.lib.files import CleanFile, FileRejected, check_count
from hotline.workorders.models import Attachment, WorkOrder
from hotline.workorders.visibility import access_work_order_by_id
from hotline.workorders.workflow import WorkflowError

_written = threading.local()


def storage():
    return storages["attachments"]


def _uncommitted() -> set[str]:
    if not hasattr(_written, "names"):
        _written.names = set()
    return _written.names


def _save(name: str, data: bytes) -> str:
    stored = storage().save(name, ContentFile(data))
    pending = _uncommitted()
    pending.add(stored)
    transaction.on_commit(lambda: pending.discard(stored))
    return stored


def discard_uncommitted(**_signal) -> int:
    """Delete the files this thread wrote whose rows never committed; return how many."""
    pending = _uncommitted()
    if not pending:
        return 0
    names = set(pending)
    pending.clear()
    kept = set()
    for storage_name, thumbnail_name in Attachment.objects.filter(
            Q(storage_name__in=names) | Q(thumbnail_name__in=names)).values_list("storage_name", "thumbnail_name"):
        kept.update((storage_name, thumbnail_name))
    gone = names - kept
    for name in gone:
        storage().delete(name)
    return len(gone)


def check_new_files(files: Sequence[CleanFile], already: int = 0) -> None:
    """Refuse (``WorkflowError``) more files than one upload or one order may hold."""
    conf = settings.HOTLINE_ATTACHMENTS
    try:
        check_count(len(files), already, per_upload=conf["MAX_PER_UPLOAD"], per_order=conf["MAX_PER_ORDER"])
    except FileRejected as exc:
        raise WorkflowError(str(exc)) from None


def attach(order: WorkOrder, files: Sequence[CleanFile], *, kind: str, actor, at: dt.datetime, event=None,
           request=None, reminder=None, public: bool = False) -> list[Attachment]:
    """Store ``files`` (each a ``CleanFile``) on ``order``, added by ``actor`` with ``event``.

    The caller is an action holding the order's row lock, so the count per order is exact."""
    if not files:
        return []
    if any(not isinstance(f, CleanFile) for f in files):
        raise TypeError("attach() takes only files checked by hotline.lib.files.inspect")
    if public and kind != Attachment.Kind.EVIDENCE:
        raise WorkflowError("只有答复的办理佐证可以向市民公开")
    check_new_files(files, Attachment.objects.filter(order=order).count())
    rows = []
    for f in files:
        # A random name under the month: nothing the sender chose (name, type) reaches a path.
        stem = f"{clock.local(at):%Y/%m}/{uuid.uuid4().hex}"
        stored = _save(f"{stem}.{f.extension}", f.data)
        thumb = _save(f"{stem}.thumb.jpg", f.thumbnail) if f.thumbnail else ""
        rows.append(Attachment.objects.create(
            order=order, event=event, request=request, reminder=reminder, kind=kind, public=public,
            uploaded_at=at, uploaded_by=actor.user, uploader_role=actor.role.value, uploader_unit_id=actor.unit_id,
            name=f.name[:100], content_type=f.content_type, size=f.size, sha256=f.sha256, width=f.width,
            height=f.height, storage_name=stored, thumbnail_name=thumb))
    return rows


def visible(user, order: WorkOrder) -> list[Attachment]:
    """The files of ``order`` (which ``user`` may already see) that ``user`` may see."""
    rows = (Attachment.objects.filter(order=order)
            .select_related("uploaded_by", "uploader_unit", "event").order_by("uploaded_at", "id"))
    return [a for a in rows if may_see_attachment(user, order, a.uploader_unit_id)]


def access_attachment_by_id(user, pk) -> tuple[Attachment, WorkOrder]:
    """The attachment and its order if ``user`` may see both; Http404 alike for missing and not yours."""
    key = str(pk)
    if not (key.isascii() and key.isdigit()) or len(key) > 18:
        raise Http404("附件不存在或无权查看")
    attachment = Attachment.objects.filter(pk=int(key)).first()
    if attachment is None:
        raise Http404("附件不存在或无权查看")
    try:
        order = access_work_order_by_id(user, attachment.order_id)
    except Http404:
        raise Http404("附件不存在或无权查看") from None
    if not may_see_attachment(user, order, attachment.uploader_unit_id):
        raise Http404("附件不存在或无权查看")
    return attachment, order


def open_file(attachment: Attachment, *, thumbnail: bool = False):
    name = attachment.thumbnail_name if thumbnail else attachment.storage_name
    if not name:
        raise Http404("该附件没有缩略图")
    return storage().open(name, "rb")


def file_response(attachment: Attachment, *, thumbnail: bool = False, name: str | None = None):
    """The file (or its thumbnail) as a response that no browser runs and no cache keeps.

    Images were re-encoded by the file boundary and are shown inline; every other kind is offered
    as a download. ``nosniff`` and a sandboxing policy keep a browser from reading any of them as
    a page; ``no-store`` keeps them out of shared computers' caches."""
    from django.http import FileResponse
    from django.utils.cache import add_never_cache_headers

    inline = thumbnail or attachment.is_image
    shown = name or attachment.name
    response = FileResponse(open_file(attachment, thumbnail=thumbnail), as_attachment=not inline,
                            filename=f"{shown.rsplit('.', 1)[0]}.thumb.jpg" if thumbnail else shown,
                            content_type="image/jpeg" if thumbnail else attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    add_never_cache_headers(response)
    return response


def sweep_orphans(*, older_than: dt.timedelta = dt.timedelta(hours=24), dry_run: bool = False) -> list[str]:
    """Delete stored files no row refers to, older than ``older_than`` (so a transaction still in
    flight keeps its files): what a process killed between writing a file and committing its row
    leaves behind. Returns the names deleted (or that would be)."""
    store = storage()
    cutoff = clock.now() - older_than

    def walk(path: str):
        dirs, names = store.listdir(path)
        for name in names:
            yield f"{path}/{name}" if path else name
        for d in dirs:
            yield from walk(f"{path}/{d}" if path else d)

    found = []
    batch: list[str] = []

    def settle():
        known = set()
        for a, b in Attachment.objects.filter(Q(storage_name__in=batch) | Q(thumbnail_name__in=batch)).values_list(
                "storage_name", "thumbnail_name"):
            known.update((a, b))
        for name in batch:
            if name not in known and store.get_modified_time(name) < cutoff:
                found.append(name)
                if not dry_run:
                    store.delete(name)
        batch.clear()

    for name in walk(""):
        batch.append(name)
        if len(batch) >= 500:
            settle()
    settle()
    return found
