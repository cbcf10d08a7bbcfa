"""HTTP adapters of intake: the upstream platforms' push endpoint and the Excel import pages."""

from __future__ import annotations

import io

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from hotline.accounts.access import require_role
from hotline.intake import importers, jobs, upstream
from hotline.intake.models import ImportJob
from hotline.lib import parsing
from hotline.lib.pages import client_ip, render_page
from hotline.lib.text import scrub_data
from hotline.workorders.workflow import Role

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
KIND_LABELS = {"orders": "上级平台工单", "calls": "话务记录"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@csrf_exempt  # machine-to-machine: authenticated by the HMAC signature, not a session
@parsing.reads_raw_body
@require_POST
def push_order(request, platform_code: str):
    """``POST /intake/upstream/<platform code>/orders``: an upstream platform pushes one order."""
    status, payload = upstream.receive_push(platform_code, request.body, request.headers)
    return JsonResponse(scrub_data(payload), status=status, json_dumps_params={"ensure_ascii": False})


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request):
    """Upload a workbook: it is checked for shape and size at once, then checked row by row in the
    background (nothing written) on the job's page, where it can be confirmed for import."""
    require_role(request, Role.DISPATCHER, Role.SUPERVISOR)
    context = {"kinds": KIND_LABELS, "kind": request.POST.get("kind") or request.GET.get("kind") or "orders",
               "max_rows": importers.MAX_ROWS, "max_mb": MAX_UPLOAD_BYTES // 1024 // 1024,
               "jobs": ImportJob.objects.filter(created_by=request.user)[:10]}
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
    upload = request.FILES.get("file")
    if upload is None:
        context["error"] = "请选择要导入的 Excel 文件（.xlsx）"
        return render_page(request, "intake/import.html", context, status=400)
    if upload.size > MAX_UPLOAD_BYTES:
        context["error"] = (f"文件超过 {context['max_mb']} MB，请拆分后导入，"
                            "或由管理员用 hotline import 命令导入")
        return render_page(request, "intake/import.html", context, status=400)
    try:
        job = jobs.submit(kind, upload.read(), name=upload.name, user=request.user, ip=client_ip(request))
    except importers.ImportFileError as e:
        context["error"] = str(e)
        return render_page(request, "intake/import.html", context, status=400)
    return redirect("intake:import_job", pk=job.pk)


def _job_context(job: ImportJob) -> dict:
    result = job.result or {}
    return {"job": job, "result": result, "kind_label": KIND_LABELS.get(job.kind, job.kind),
            "unlisted": result.get("error_count", 0) - len(result.get("errors", [])),
            "may_confirm": (job.dry_run and job.state == ImportJob.State.DONE and result.get("ok")
                            and result.get("imported") and not job.imports.exists())}


@login_required
def import_job(request, pk: int):
    """One job: its progress bar while it runs (polled), then its result."""
    require_role(request, Role.DISPATCHER, Role.SUPERVISOR)
    job = jobs.job_for(request.user, pk)
    return render_page(request, "intake/import_job.html", _job_context(job))


@login_required
def import_status(request, pk: int):
    """The progress fragment htmx polls every two seconds until the job is done or failed."""
    require_role(request, Role.DISPATCHER, Role.SUPERVISOR)
    job = jobs.job_for(request.user, pk)
    return render(request, "intake/_import_status.html", _job_context(job))


@login_required
@require_POST
def import_confirm(request, pk: int):
    require_role(request, Role.DISPATCHER, Role.SUPERVISOR)
    checked = jobs.job_for(request.user, pk)
    try:
        job = jobs.confirm(checked, user=request.user, ip=client_ip(request))
    except jobs.ImportJobError as e:
        context = {**_job_context(checked), "error": str(e)}
        return render_page(request, "intake/import_job.html", context, status=400)
    return redirect("intake:import_job", pk=job.pk)
