"""Import jobs: claimed once (redelivered tasks do nothing), stalled and abandoned jobs swept, no orphan files."""
import datetime as dt
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.enterprises.conftest import BASIC_HEADERS, basic_row, xlsx_bytes
from yingshang.enterprises import importer
from yingshang.enterprises.actions import do_confirm_import, do_start_import
from yingshang.enterprises.models import Enterprise, ImportJob, ImportStatus
from yingshang.jobs import run_now


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def actor(org):
    return org.users["dispatcher"]


def imports_dir(settings) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def start(actor, rows, capture):
    """Upload a file; the preview runs synchronously when the transaction commits."""
    with capture(execute=True):
        job = do_start_import(actor, SimpleUploadedFile("r.xlsx", xlsx_bytes(rows, BASIC_HEADERS)))
    job.refresh_from_db()
    return job


def confirm(actor, job, capture):
    with capture(execute=True):
        do_confirm_import(actor, job, accept_valid=False)
    job.refresh_from_db()
    return job


def test_redelivered_tasks_leave_a_done_job_alone(org, actor, django_capture_on_commit_callbacks):
    job = confirm(actor, start(actor, [basic_row(), basic_row(name="乙公司")], django_capture_on_commit_callbacks),
                  django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.DONE and not Path(job.path).exists()
    run_now("enterprises.import_run", job.pk)  # Celery redelivery (acks_late) after the file was removed
    run_now("enterprises.import_preview", job.pk)
    again = ImportJob.objects.get(pk=job.pk)
    assert again.status == ImportStatus.DONE and again.message == job.message and again.counts == job.counts
    assert Enterprise.objects.count() == 3


def test_a_claimed_job_is_not_run_twice(org, actor, settings):
    folder = imports_dir(settings)
    folder.mkdir(parents=True)
    path = folder / "a.xlsx"
    path.write_bytes(xlsx_bytes([basic_row()], BASIC_HEADERS))
    job = ImportJob.objects.create(created_by=actor, filename="a.xlsx", path=str(path), claimed_at=timezone.now())
    run_now("enterprises.import_preview", job.pk)  # a second delivery while the first worker still runs
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATING and job.counts == {} and path.exists()


def _job(actor, settings, status, *, age: dt.timedelta, claimed=True):
    folder = imports_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{status}-{age.total_seconds():.0f}.xlsx"
    path.write_bytes(b"PK\x03\x04 personal data")
    then = timezone.now() - age
    return ImportJob.objects.create(created_by=actor, filename="a.xlsx", path=str(path), status=status,
                                    created_at=then, heartbeat_at=then, claimed_at=then if claimed else None)


def test_sweep_fails_stalled_jobs_and_deletes_their_files(org, actor, settings):
    stalled = [_job(actor, settings, ImportStatus.IMPORTING, age=dt.timedelta(hours=2)),
               _job(actor, settings, ImportStatus.VALIDATING, age=dt.timedelta(hours=2), claimed=False)]
    alive = _job(actor, settings, ImportStatus.IMPORTING, age=dt.timedelta(minutes=1))
    run_now("enterprises.sweep_imports")
    for job in stalled:
        job.refresh_from_db()
        assert job.status == ImportStatus.FAILED and job.finished_at is not None
        assert job.message == "导入中断(服务重启或超时),未写入任何数据,请重新上传"
        assert not Path(job.path).exists()
    alive.refresh_from_db()
    assert alive.status == ImportStatus.IMPORTING and Path(alive.path).exists()
    run_now("enterprises.import_run", stalled[0].pk)  # the lost task finally delivered: nothing happens
    assert ImportJob.objects.get(pk=stalled[0].pk).status == ImportStatus.FAILED


def test_sweep_during_a_slow_import_means_nothing_is_written(org, actor, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    """The sweep's message says nothing was written: a job swept while it plans must not write."""
    job = start(actor, [basic_row(), basic_row(name="乙公司")], django_capture_on_commit_callbacks)
    real = importer.plan_import

    def slow_plan(*args, **kwargs):
        plans = real(*args, **kwargs)
        # What the sweep does to a job whose heartbeat is too old (tested above), while this one still plans.
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FAILED, message="swept")
        return plans

    monkeypatch.setattr(importer, "plan_import", slow_plan)
    confirm(actor, job, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and job.message == "swept"
    assert Enterprise.objects.count() == 1  # only org.enterprise: the import's writes were undone


def test_sweep_expires_unconfirmed_previews(org, actor, settings):
    old = _job(actor, settings, ImportStatus.PREVIEWED, age=dt.timedelta(hours=25))
    recent = _job(actor, settings, ImportStatus.PREVIEWED, age=dt.timedelta(hours=23))
    done = _job(actor, settings, ImportStatus.DONE, age=dt.timedelta(days=3))
    run_now("enterprises.sweep_imports")
    old.refresh_from_db(), recent.refresh_from_db(), done.refresh_from_db()
    assert old.status == ImportStatus.FAILED and "24小时" in old.message and "重新上传" in old.message
    assert not Path(old.path).exists()
    assert recent.status == ImportStatus.PREVIEWED and Path(recent.path).exists()
    assert done.status == ImportStatus.DONE
    with pytest.raises(Exception, match="不能确认"):
        do_confirm_import(actor, old, accept_valid=False)


def test_expiry_hours_setting(org, actor, settings):
    settings.YINGSHANG_IMPORT_EXPIRY_HOURS = 2
    job = _job(actor, settings, ImportStatus.PREVIEWED, age=dt.timedelta(hours=3))
    run_now("enterprises.sweep_imports")
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and "2小时" in job.message


def test_sweep_removes_orphan_files_only(org, actor, settings):
    kept = _job(actor, settings, ImportStatus.PREVIEWED, age=dt.timedelta(hours=3))
    orphan, fresh = imports_dir(settings) / "orphan.xlsx", imports_dir(settings) / "uploading.xlsx"
    orphan.write_bytes(b"x"), fresh.write_bytes(b"x")
    old = (timezone.now() - dt.timedelta(hours=2)).timestamp()
    import os

    os.utime(orphan, (old, old))
    os.utime(kept.path, (old, old))
    run_now("enterprises.sweep_imports")
    assert not orphan.exists() and fresh.exists() and Path(kept.path).exists()


def test_failed_job_insert_leaves_no_file(org, actor, settings, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(ImportJob.objects, "create", broken)
    with pytest.raises(RuntimeError):
        do_start_import(actor, SimpleUploadedFile("r.xlsx", xlsx_bytes([basic_row()], BASIC_HEADERS)))
    folder = imports_dir(settings)
    assert not folder.exists() or list(folder.iterdir()) == []
