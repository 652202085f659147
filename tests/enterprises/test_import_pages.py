"""Import pages: upload → report and preview → confirm → result; template download; access."""
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from tests.enterprises.conftest import BASIC_HEADERS, basic_row, xlsx_bytes
from yingshang.enterprises.models import Enterprise, ImportJob, ImportStatus


@pytest.fixture
def client_as(client, org):
    def login(role="dispatcher"):
        client.force_login(org.users[role] if isinstance(role, str) else role)
        return client

    return login


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path


def upload(client, data, name="r.xlsx", capture=None):
    with capture(execute=True):
        return client.post("/enterprises/import/", {"file": SimpleUploadedFile(name, data)})


def test_full_flow_with_accept_valid(org, client_as, django_capture_on_commit_callbacks):
    c = client_as()
    rows = [basic_row(), basic_row(region="419999"), basic_row(name="丙公司")]
    resp = upload(c, xlsx_bytes(rows, BASIC_HEADERS), capture=django_capture_on_commit_callbacks)
    assert resp.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.PREVIEWED and job.counts == {"new": 2, "updated": 0, "unchanged": 0, "invalid": 1}
    page = c.get(resp.url).content.decode()
    assert "所在区划代码" in page and "419999" in page and "仅导入有效行" in page and "确认导入" not in page
    assert Enterprise.objects.count() == 1  # preview wrote nothing
    with django_capture_on_commit_callbacks(execute=True):
        resp = c.post(f"/enterprises/import/{job.pk}/confirm/", {"mode": "valid"})
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and Enterprise.objects.count() == 3
    assert "导入结果" in c.get(resp.url).content.decode()
    assert not Path(job.path).exists()  # the stored upload is removed once imported


def test_confirm_all_refused_when_rows_are_invalid(org, client_as, django_capture_on_commit_callbacks):
    c = client_as()
    upload(c, xlsx_bytes([basic_row(), basic_row(region="419999")], BASIC_HEADERS),
           capture=django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        c.post(f"/enterprises/import/{job.pk}/confirm/", {"mode": "all"})
    job.refresh_from_db()
    assert job.status == ImportStatus.PREVIEWED and Enterprise.objects.count() == 1


def test_progress_fragment_and_refresh(org, client_as):
    c = client_as()
    job = ImportJob.objects.create(created_by=org.users["dispatcher"], filename="a.xlsx", path="/nonexistent",
                                   status=ImportStatus.IMPORTING, total_rows=200, processed_rows=50, phase="写入")
    frag = c.get(f"/enterprises/import/{job.pk}/progress/")
    assert 'value="25"' in frag.content.decode() and "HX-Refresh" not in frag
    job.status = ImportStatus.DONE
    job.save()
    assert c.get(f"/enterprises/import/{job.pk}/progress/")["HX-Refresh"] == "true"


@pytest.mark.parametrize("name,data,words", [("r.pdf", b"%PDF", "不支持"), ("r.xls", b"\xd0\xcf", ".xls")])
def test_wrong_file_type_on_upload(org, client_as, name, data, words):
    resp = client_as().post("/enterprises/import/", {"file": SimpleUploadedFile(name, data)})
    assert resp.status_code == 400 and words in resp.content.decode()
    assert not ImportJob.objects.exists()


@override_settings(YINGSHANG_MAX_IMPORT_BYTES=100)
def test_oversized_upload(org, client_as):
    resp = client_as().post("/enterprises/import/", {"file": SimpleUploadedFile("r.csv", b"x" * 200)})
    assert resp.status_code == 400 and "超过上限" in resp.content.decode()


def test_rejected_file_shows_reason(org, client_as, django_capture_on_commit_callbacks):
    c = client_as()
    resp = upload(c, xlsx_bytes([["x"]], ["统一社会信用代码"]), capture=django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.REJECTED
    assert "缺少必需的列" in c.get(resp.url).content.decode()


def test_template_download(org, client_as):
    from openpyxl import load_workbook

    resp = client_as().get("/enterprises/import/template.xlsx")
    assert resp.status_code == 200
    book = load_workbook(io.BytesIO(resp.content))
    assert book.sheetnames == ["企业档案", "填写说明"]
    assert book["企业档案"]["A1"].value == "统一社会信用代码"


@pytest.mark.parametrize("role", ["supervisor", "enterprise", "leader", "evaluator"])
def test_only_register_writers(org, client_as, role):
    assert client_as(role).get("/enterprises/import/").status_code == 403


def test_jobs_are_private(org, client_as):
    job = ImportJob.objects.create(created_by=org.users["handler"], filename="a.xlsx", path="/x")
    assert client_as("dispatcher").get(f"/enterprises/import/{job.pk}/").status_code == 403
    assert client_as("handler").get(f"/enterprises/import/{job.pk}/").status_code == 200
