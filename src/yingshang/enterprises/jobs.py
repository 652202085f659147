"""Background jobs of the enterprise register: computed tags (daily) and uploaded-file imports.

An import job is *claimed* by the worker that runs it (a conditional UPDATE setting ``claimed_at``),
so a redelivered task finds it claimed or finished and does nothing; every later change of its status
is conditional on that claim, so a job the sweep has failed stays failed. The sweep (every 10 min)
fails jobs whose worker died (server restart, lost task), expires previews never confirmed and
removes upload files no job refers to — uploads hold personal data (contact names and phones).
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from yingshang.jobs import job

log = logging.getLogger("yingshang.enterprises")


@job("enterprises.recompute_computed_tags", every=86400)
def recompute_computed_tags() -> dict:
    """Recompute every computed tag over the register (age-based tags move with the calendar).
    Idempotent: each tag is diffed against its links, so concurrent or repeated runs converge."""
    from yingshang.enterprises.tags import recompute_computed_tags as recompute

    report = recompute()
    log.info("计算标签已更新: %s", report)
    return report


def progress_key(job_id: int) -> str:
    return f"yingshang:import-progress:{job_id}"


def _progress_writer(job_id: int):
    """Progress goes to the cache always (the write phase runs inside one transaction, invisible to
    other connections) and to the ImportJob row when outside a transaction, at most once a second."""
    from yingshang.enterprises.models import ImportJob

    last = [0.0]

    def report(phase: str, done: int, total: int) -> None:
        cache.set(progress_key(job_id), {"phase": phase, "done": done, "total": total}, 3600)
        now = time.monotonic()
        if now - last[0] >= 1 and not transaction.get_connection().in_atomic_block:
            last[0] = now
            ImportJob.objects.filter(pk=job_id).update(phase=phase, processed_rows=done, total_rows=total,
                                                       heartbeat_at=timezone.now())

    return report


INTERRUPTED = "导入中断(服务重启或超时),未写入任何数据,请重新上传"
ORPHAN_AGE = dt.timedelta(hours=1)  # an upload being written has no job row yet for a moment


class JobLost(Exception):
    """The job is no longer ours (the sweep failed it); whatever the transaction wrote is undone."""


@job("enterprises.import_preview")
def import_preview(job_id: int) -> None:
    """Validate an uploaded file; store its row report and the preview counts on its ImportJob."""
    from yingshang.enterprises.models import ImportStatus

    _run(job_id, ImportStatus.VALIDATING, dry_run=True, done_status=ImportStatus.PREVIEWED)


@job("enterprises.import_run")
def import_run(job_id: int) -> None:
    """Import a previewed, confirmed file into the register (all rows, or only the valid ones)."""
    from yingshang.enterprises.models import ImportStatus

    _run(job_id, ImportStatus.IMPORTING, dry_run=False, done_status=ImportStatus.DONE)


def _claim(job_id: int, running: str):
    """The claim time if this worker now owns the queued job, else None (already claimed or finished)."""
    from yingshang.enterprises.models import ImportJob

    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, status=running, claimed_at__isnull=True).update(
        claimed_at=now, heartbeat_at=now)
    return now if claimed else None


def _run(job_id: int, running: str, *, dry_run: bool, done_status: str) -> None:
    from yingshang.enterprises.actions import do_import_enterprises
    from yingshang.enterprises.importer import FileRejected, open_table
    from yingshang.enterprises.models import ImportJob, ImportStatus

    token = _claim(job_id, running)
    if token is None:
        log.info("导入任务 %s 已被领取或已结束,忽略重复投递", job_id)
        return
    entry = ImportJob.objects.select_related("created_by").get(pk=job_id)
    mine = ImportJob.objects.filter(pk=job_id, status=running, claimed_at=token)
    try:
        table = open_table(entry.path, entry.filename)
        finalize = None if dry_run else (lambda outcome: _finish_or_undo(mine, entry, table, outcome, done_status))
        outcome = do_import_enterprises(entry.created_by, table.rows(), accept_valid=entry.accept_valid,
                                        dry_run=dry_run, progress=_progress_writer(job_id), total=table.total,
                                        filename=table.filename, finalize=finalize)
    except JobLost:
        log.warning("导入任务 %s 在写入期间已被判定中断,写入已撤销", job_id)
        return
    except FileRejected as exc:
        _finish(mine, entry, ImportStatus.REJECTED, message=exc.message)
        return
    except Exception as exc:  # the job must record why, the user sees it on the progress page
        log.exception("导入任务 %s 失败", job_id)
        _finish(mine, entry, ImportStatus.FAILED, message=f"导入失败,未写入任何数据: {exc}")
        return
    if outcome.written:  # DONE was recorded in the write transaction; the file is no longer needed
        _drop_file(entry)
        return
    _finish(mine, entry, ImportStatus.PREVIEWED, **_result(entry, table, outcome, dry_run))


def _result(entry, table, outcome, dry_run: bool) -> dict:
    from yingshang.enterprises.importer import report_rows

    message = "" if dry_run or outcome.written else "文件中有错误行,未写入任何数据"
    if table.ignored:
        message = (message + ";" if message else "") + "已忽略无法识别的列: " + "、".join(table.ignored)
    return {"message": message, "counts": dict(outcome.counts), "report": report_rows(outcome, table),
            "total_rows": outcome.total, "processed_rows": outcome.total}


def _finish_or_undo(mine, entry, table, outcome, status: str) -> None:
    """Inside the write transaction: record DONE only if the job is still ours, else undo the writes.
    On PostgreSQL the UPDATE locks the job row, so a sweep arriving now waits and then finds DONE."""
    if not _finish(mine, entry, status, keep_file=True, **_result(entry, table, outcome, False)):
        raise JobLost(entry.pk)


def _finish(mine, entry, status: str, *, keep_file: bool = False, **values) -> bool:
    """Record the job's end if it is still ours (the sweep may have failed it meanwhile)."""
    from yingshang.enterprises.models import ImportStatus

    now = timezone.now()
    final = status != ImportStatus.PREVIEWED
    if not mine.update(status=status, phase="", heartbeat_at=now, finished_at=now if final else None, **values):
        return False
    if final and not keep_file:
        _drop_file(entry)
    cache.delete(progress_key(entry.pk))
    return True


def _drop_file(entry) -> None:
    Path(entry.path).unlink(missing_ok=True)  # the register holds the data now; no stray copies
    cache.delete(progress_key(entry.pk))


# ------------------------------------------------------------------ sweep
def stall_timeout() -> dt.timedelta:
    return dt.timedelta(minutes=getattr(settings, "YINGSHANG_IMPORT_STALL_MINUTES", 30))


def expiry_hours() -> int:
    return getattr(settings, "YINGSHANG_IMPORT_EXPIRY_HOURS", 24)


@job("enterprises.sweep_imports", every=600)
def sweep_imports() -> dict:
    """Fail import jobs whose worker stopped, expire previews never confirmed, delete orphan uploads.
    Safe to run concurrently: each job is failed by a conditional UPDATE, its file deleted by the winner."""
    from yingshang.enterprises.models import ImportJob, ImportStatus

    now = timezone.now()
    hours = expiry_hours()
    expired_msg = f"上传后超过{hours}小时未确认导入,已过期:上传的文件已删除,未写入任何数据,请重新上传"
    report = {
        "stalled": _fail_each(ImportJob.objects.filter(status__in=[ImportStatus.VALIDATING, ImportStatus.IMPORTING],
                                                       heartbeat_at__lt=now - stall_timeout()), INTERRUPTED),
        "expired": _fail_each(ImportJob.objects.filter(status=ImportStatus.PREVIEWED,
                                                       created_at__lt=now - dt.timedelta(hours=hours)), expired_msg),
        "orphans": _delete_orphans(now),
    }
    if any(report.values()):
        log.info("导入任务清理: %s", report)
    return report


def _fail_each(candidates, message: str) -> int:
    from yingshang.enterprises.models import ImportStatus

    failed = 0
    for entry in candidates.only("pk", "path", "status"):
        # Re-applying the whole filter makes the UPDATE a no-op for a job that moved on meanwhile.
        if candidates.filter(pk=entry.pk).update(status=ImportStatus.FAILED, message=message, phase="",
                                                 finished_at=timezone.now()):
            _drop_file(entry)
            failed += 1
    return failed


def _delete_orphans(now) -> int:
    """Upload files older than an hour that no unfinished job refers to (a failed upload, a lost row)."""
    from yingshang.enterprises.models import ImportJob, ImportStatus

    folder = Path(settings.MEDIA_ROOT) / "imports"
    if not folder.is_dir():
        return 0
    cutoff = (now - ORPHAN_AGE).timestamp()
    old = {str(p): p for p in folder.iterdir() if p.is_file() and p.stat().st_mtime < cutoff}
    if not old:
        return 0
    live = set(ImportJob.objects.filter(path__in=list(old)).exclude(
        status__in=[ImportStatus.DONE, ImportStatus.REJECTED, ImportStatus.FAILED]).values_list("path", flat=True))
    for name in old.keys() - live:
        old[name].unlink(missing_ok=True)
    return len(old.keys() - live)
