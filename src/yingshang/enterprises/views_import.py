"""Import pages: upload → validation report and preview → confirm → progress → result.

The heavy work runs as background jobs (``enterprises.import_preview`` / ``import_run``); the pages
poll the ImportJob row with HTMX. Only register writers (``access_register_write``) may import.
"""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from yingshang.core.access import access_register_write
from yingshang.core.errors import DomainError
from yingshang.core.models import Role
from yingshang.enterprises.actions import do_confirm_import, do_start_import
from yingshang.enterprises.models import ImportJob, ImportStatus

RUNNING = {ImportStatus.VALIDATING, ImportStatus.IMPORTING}


def _job_for(request: HttpRequest, pk: int) -> ImportJob:
    access_register_write(request.user)
    job = get_object_or_404(ImportJob, pk=pk)
    if job.created_by_id != request.user.pk and request.user.role != Role.ADMIN and not request.user.is_superuser:
        raise PermissionDenied("只能查看自己上传的导入")
    return job


@login_required
def import_home(request: HttpRequest) -> HttpResponse:
    """Upload form, template link and the user's recent imports."""
    access_register_write(request.user)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = "请选择要导入的 .xlsx 或 .csv 文件"
        else:
            try:
                job = do_start_import(request.user, upload)
            except DomainError as exc:
                error = exc.message
            else:
                return redirect("enterprises:import_job", pk=job.pk)
    recent = ImportJob.objects.filter(created_by=request.user)[:10]
    return render(request, "enterprises/import.html", {"error": error, "recent": recent},
                  status=400 if error else 200)


@login_required
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    """One import: progress while running, the report and confirm buttons when previewed, the result."""
    job = _job_for(request, pk)
    return render(request, "enterprises/import_job.html", _context(job))


@login_required
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress fragment polled by HTMX; asks for a full reload once the job leaves a running state."""
    job = _job_for(request, pk)
    response = render(request, "enterprises/import_progress.html", _context(job))
    if job.status not in RUNNING:
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Start the confirmed import of a previewed file."""
    job = _job_for(request, pk)
    try:
        do_confirm_import(request.user, job, accept_valid=request.POST.get("mode") == "valid")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("enterprises:import_job", pk=job.pk)


@login_required
def import_template(request: HttpRequest) -> HttpResponse:
    """The XLSX import template (headers, an example row, a sheet explaining each column)."""
    from yingshang.enterprises.exporter import write_template

    access_register_write(request.user)
    response = HttpResponse(content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = "attachment; filename*=UTF-8''%E4%BC%81%E4%B8%9A%E6%A1%A3%E6%A1%88%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx"
    write_template(response)
    return response


def _context(job: ImportJob) -> dict:
    from yingshang.enterprises.jobs import progress_key

    live = cache.get(progress_key(job.pk)) if job.status in RUNNING else None
    done, total = (live["done"], live["total"]) if live else (job.processed_rows, job.total_rows)
    phase = (live or {}).get("phase") or job.phase
    percent = min(100, int(100 * done / total)) if total else 0
    invalid = job.counts.get("invalid", 0)
    return {"job": job, "running": job.status in RUNNING, "phase": phase, "done": done, "total": total,
            "percent": percent, "invalid": invalid, "report_truncated": invalid and len(job.report) >= 1000,
            "can_import_all": job.status == ImportStatus.PREVIEWED and not invalid
                              and (job.counts.get("new") or job.counts.get("updated")),
            "can_import_valid": job.status == ImportStatus.PREVIEWED and invalid
                                and (job.counts.get("new") or job.counts.get("updated"))}
