"""HTTP adapters of intake: the upstream platforms' push endpoint and the Excel import page."""

from __future__ import annotations

import datetime as dt
import io
import uuid

from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from hotline.accounts.access import audit, require_role
from hotline.intake import importers, upstream
from hotline.lib.pages import client_ip, render_page
from hotline.lib.text import scrub_data
from hotline.workorders.workflow import Role

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
TOKEN_SALT = "hotline.intake.import"
TOKEN_MAX_AGE = 3600
KIND_LABELS = {"orders": "上级平台工单", "calls": "话务记录"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@csrf_exempt  # machine-to-machine: authenticated by the HMAC signature, not a session
@require_POST
def push_order(request, platform_code: str):
    """``POST /intake/upstream/<platform code>/orders``: an upstream platform pushes one order."""
    status, payload = upstream.receive_push(platform_code, request.body, request.headers)
    return JsonResponse(scrub_data(payload), status=status, json_dumps_params={"ensure_ascii": False})


def _run(kind: str, source, *, dry_run: bool, user, name: str) -> importers.ImportResult:
    run = importers.import_orders if kind == "orders" else importers.import_calls
    return run(source, dry_run=dry_run, acting_user=user, name=name)


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request):
    """Upload a workbook, see every problem (nothing written), then confirm to import it.

    The uploaded file waits in the default storage between preview and confirmation (shared by
    all app processes), named by a random key inside a token signed for this user, so nobody can
    confirm someone else's upload or a file path of their choosing.
    """
    require_role(request, Role.DISPATCHER, Role.SUPERVISOR)
    context = {"kinds": KIND_LABELS, "kind": request.POST.get("kind") or request.GET.get("kind") or "orders"}
    template = request.GET.get("template")
    if template in importers.KINDS:
        buffer = io.BytesIO()
        importers.template_workbook(template).save(buffer)
        response = HttpResponse(buffer.getvalue(), content_type=XLSX)
        response["Content-Disposition"] = f"attachment; filename={template}-template.xlsx"
        return response
    if request.method == "GET":
        return render_page(request, "intake/import.html", context)

    kind = context["kind"]
    if kind not in importers.KINDS:
        context["error"] = "请选择导入类型"
        return render_page(request, "intake/import.html", context, status=400)
    if request.POST.get("token"):
        return _confirm(request, context)
    upload = request.FILES.get("file")
    if upload is None:
        context["error"] = "请选择要导入的 Excel 文件（.xlsx）"
        return render_page(request, "intake/import.html", context, status=400)
    if upload.size > MAX_UPLOAD_BYTES:
        context["error"] = "文件超过 10 MB，请拆分后导入，或由管理员用 hotline import 命令导入"
        return render_page(request, "intake/import.html", context, status=400)
    data = upload.read()
    _purge_stale_uploads()
    try:
        result = _run(kind, io.BytesIO(data), dry_run=True, user=request.user, name=upload.name)
    except importers.ImportFileError as e:
        context["error"] = str(e)
        return render_page(request, "intake/import.html", context, status=400)
    context.update(result=result, name=upload.name, preview=True)
    if result.ok and result.imported:
        stored = default_storage.save(f"imports/{uuid.uuid4().hex}.xlsx", ContentFile(data))
        context["token"] = signing.dumps({"path": stored, "user": request.user.pk, "kind": kind,
                                          "name": upload.name}, salt=TOKEN_SALT)
    return render_page(request, "intake/import.html", context, status=200 if result.ok else 400)


def _purge_stale_uploads() -> None:
    """Drop uploads previewed but never confirmed: their tokens have expired anyway."""
    cutoff = timezone.now() - dt.timedelta(seconds=TOKEN_MAX_AGE)
    try:
        _, files = default_storage.listdir("imports")
    except FileNotFoundError:
        return
    for name in files:
        try:
            if default_storage.get_modified_time(f"imports/{name}") < cutoff:
                default_storage.delete(f"imports/{name}")
        except FileNotFoundError:
            pass  # another process removed it


def _confirm(request, context):
    try:
        ticket = signing.loads(request.POST["token"], salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        ticket = None
    if not ticket or ticket.get("user") != request.user.pk or ticket.get("kind") != context["kind"] \
            or not default_storage.exists(ticket.get("path", "")):
        context["error"] = "预览已过期或无效，请重新上传文件"
        return render_page(request, "intake/import.html", context, status=400)
    with default_storage.open(ticket["path"], "rb") as f:
        data = f.read()
    result = _run(ticket["kind"], io.BytesIO(data), dry_run=False, user=request.user, name=ticket["name"])
    if result.ok:
        default_storage.delete(ticket["path"])
        audit(request.user, f"import_{ticket['kind']}", object_type="intake.import", object_id=ticket["name"],
              ip=client_ip(request), rows=result.rows, imported=len(result.imported), skipped=len(result.skipped))
    context.update(result=result, name=ticket["name"], done=result.ok, preview=not result.ok)
    return render_page(request, "intake/import.html", context, status=200 if result.ok else 400)
