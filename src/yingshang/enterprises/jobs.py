"""Background jobs of the enterprise register: computed tags (daily) and uploaded-file imports."""
from __future__ import annotations

import logging
import time
from pathlib import Path

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
            ImportJob.objects.filter(pk=job_id).update(phase=phase, processed_rows=done, total_rows=total)

    return report


@job("enterprises.import_preview")
def import_preview(job_id: int) -> None:
    """Validate an uploaded file; store its row report and the preview counts on its ImportJob."""
    from yingshang.enterprises.models import ImportStatus

    _run(job_id, dry_run=True, done_status=ImportStatus.PREVIEWED)


@job("enterprises.import_run")
def import_run(job_id: int) -> None:
    """Import a previewed, confirmed file into the register (all rows, or only the valid ones)."""
    from yingshang.enterprises.models import ImportStatus

    _run(job_id, dry_run=False, done_status=ImportStatus.DONE)


def _run(job_id: int, *, dry_run: bool, done_status: str) -> None:
    from yingshang.enterprises.importer import FileRejected, import_file, report_rows
    from yingshang.enterprises.models import ImportJob, ImportStatus

    entry = ImportJob.objects.select_related("created_by").get(pk=job_id)
    try:
        table, outcome = import_file(entry.created_by, entry.path, entry.filename, dry_run=dry_run,
                                     accept_valid=entry.accept_valid, progress=_progress_writer(job_id))
    except FileRejected as exc:
        _finish(entry, ImportStatus.REJECTED, message=exc.message)
        return
    except Exception as exc:  # the job must record why, the user sees it on the progress page
        log.exception("导入任务 %s 失败", job_id)
        _finish(entry, ImportStatus.FAILED, message=f"导入失败,未写入任何数据: {exc}")
        return
    status = done_status if (dry_run or outcome.written) else ImportStatus.PREVIEWED
    message = "" if dry_run or outcome.written else "文件中有错误行,未写入任何数据"
    if table.ignored:
        message = (message + ";" if message else "") + "已忽略无法识别的列: " + "、".join(table.ignored)
    entry.counts, entry.report = dict(outcome.counts), report_rows(outcome, table)
    entry.total_rows = entry.processed_rows = outcome.total
    _finish(entry, status, message=message, written=outcome.written)


def _finish(entry, status: str, *, message: str = "", written: bool = False) -> None:
    from yingshang.enterprises.models import ImportStatus

    entry.status, entry.message, entry.phase = status, message, ""
    if status in (ImportStatus.DONE, ImportStatus.REJECTED, ImportStatus.FAILED):
        entry.finished_at = timezone.now()
        Path(entry.path).unlink(missing_ok=True)  # the register holds the data now; no stray copies
    entry.save()
    cache.delete(progress_key(entry.pk))
