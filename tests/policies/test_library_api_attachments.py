"""POST/GET /api/v1/policy-documents/{id}/attachments: upload (multipart, checked, audited) and download
(same access rules as the page, bearer tokens too); the document's 政策原文 link on pages and in the API."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.policies.test_library_fixtures import enqueued, lib, make_item  # noqa: F401
from yingshang.core import actions as core_actions
from yingshang.core.models import AuditAction, AuditLog
from yingshang.policies import actions_library as actions, library_checks
from yingshang.policies.models import ItemStatus, PolicyAttachment

pytestmark = pytest.mark.django_db
API = "/api/v1"
SOURCE = "https://www.zhoukou.gov.cn/zwgk/2025/12.html"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {core_actions.do_issue_token(None, user)}"}


def upload(api_client, doc_id, user, filename="原文.pdf", content=b"%PDF-1.4 api", **form):
    data = {"file": SimpleUploadedFile(filename, content), **form}
    return api_client.post(f"{API}/policy-documents/{doc_id}/attachments", data, **bearer(user))


def error(resp, status: int) -> dict:
    assert resp.status_code == status, resp.content.decode()
    err = resp.json()["error"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err["message"]), err
    return err


def body(resp) -> bytes:
    return b"".join(resp.streaming_content)


def attach(org, content=b"%PDF-1.4 test", filename="原文.pdf", name="政策原文"):
    return actions.do_add_attachment(org.officer, org.doc, SimpleUploadedFile(filename, content), name)


def api_url(att) -> str:
    return f"{API}/policy-documents/{att.document_id}/attachments/{att.pk}"


# ---------------------------------------------------------------- upload
def test_officer_uploads_an_attachment_and_it_is_audited(lib, api_client, media):
    resp = upload(api_client, lib.doc.pk, lib.officer, name="实施细则")
    assert resp.status_code == 201, resp.content.decode()
    out = resp.json()
    att = PolicyAttachment.objects.get(pk=out["id"])
    assert att.document_id == lib.doc.pk and att.name == "实施细则" and att.uploaded_by == lib.officer
    assert out == {"id": att.pk, "name": "实施细则", "url": api_url(att)}
    entry = AuditLog.objects.for_object(lib.doc).filter(action=AuditAction.UPDATE).first()
    assert entry.changes["attachments"] == [None, "实施细则"] and entry.actor_id == lib.officer.pk


def test_upload_without_a_name_takes_the_file_name(lib, api_client, media):
    resp = upload(api_client, lib.doc.pk, lib.admin, filename="申报指南.docx", content=b"PK\x03\x04")
    assert resp.status_code == 201 and resp.json()["name"] == "申报指南.docx"


def test_upload_of_a_forbidden_type_is_400_naming_the_file(lib, api_client, media):
    err = error(upload(api_client, lib.doc.pk, lib.officer, filename="run.exe", content=b"MZ"), 400)
    assert set(err["fields"]) == {"file"} and "类型" in err["fields"]["file"] and "附件" in err["message"]
    assert not PolicyAttachment.objects.exists()


def test_upload_over_the_size_limit_is_400(lib, api_client, media, monkeypatch):
    monkeypatch.setattr(library_checks, "ATTACHMENT_MAX_BYTES", 1024 * 1024)  # 1 MB instead of 20 MB
    err = error(upload(api_client, lib.doc.pk, lib.officer, content=b"0" * (1024 * 1024 + 1)), 400)
    assert "过大" in err["fields"]["file"] and "1 MB" in err["fields"]["file"]
    assert not PolicyAttachment.objects.exists()


def test_upload_without_a_file_or_with_json_is_400(lib, api_client, media):
    url = f"{API}/policy-documents/{lib.doc.pk}/attachments"
    err = error(api_client.post(url, {"name": "没有文件"}, **bearer(lib.officer)), 400)
    assert "file" in err["fields"]
    err = error(api_client.post(url, "{}", content_type="application/json", **bearer(lib.officer)), 400)
    assert "multipart" in err["fields"]["file"]
    err = error(upload(api_client, lib.doc.pk, lib.officer, title="x"), 400)
    assert err["fields"] == {"title": "不是可识别的字段(只接受 file 和 name)"}
    err = error(upload(api_client, lib.doc.pk, lib.officer, name="名" * 201), 400)
    assert "name" in err["fields"] and "过长" in err["fields"]["name"]
    assert not PolicyAttachment.objects.exists()


@pytest.mark.parametrize("who", ["enterprise", "dispatcher", "handler", "other_officer"])
def test_upload_by_a_role_that_may_not_edit_the_document_is_403(lib, api_client, media, who):
    user = lib.other_officer if who == "other_officer" else lib.users[who]
    error(upload(api_client, lib.doc.pk, user), 403)
    assert not PolicyAttachment.objects.exists()


def test_upload_anonymous_is_401_and_unknown_document_404(lib, api_client, media):
    resp = api_client.post(f"{API}/policy-documents/{lib.doc.pk}/attachments",
                           {"file": SimpleUploadedFile("a.pdf", b"%PDF")})
    error(resp, 401)
    error(upload(api_client, 999999, lib.officer), 404)


# ---------------------------------------------------------------- download
def test_anyone_downloads_an_attachment_of_a_published_document(lib, api_client, media):
    make_item(lib, ItemStatus.PUBLISHED)
    att = attach(lib)
    resp = api_client.get(api_url(att))
    assert resp.status_code == 200 and body(resp) == b"%PDF-1.4 test"
    assert resp["Content-Type"] == "application/pdf" and resp["Content-Disposition"].startswith("attachment")
    assert "private" in resp["Cache-Control"]
    assert api_client.get(api_url(att), **bearer(lib.users["enterprise"])).status_code == 200


def test_document_answer_lists_the_api_download_url(lib, api_client, media):
    make_item(lib, ItemStatus.PUBLISHED)
    att = attach(lib)
    data = api_client.get(f"{API}/policy-documents/{lib.doc.pk}").json()
    assert [a["url"] for a in data["attachments"]] == [api_url(att)]
    assert body(api_client.get(data["attachments"][0]["url"])) == b"%PDF-1.4 test"


def test_attachment_of_an_unpublished_document_is_for_staff_only(lib, api_client, media):
    make_item(lib)  # a draft: the document is not public yet
    att = attach(lib, b"PK\x03\x04", "细则.docx", "实施细则")
    error(api_client.get(api_url(att)), 401)
    error(api_client.get(api_url(att), **bearer(lib.users["enterprise"])), 403)
    resp = api_client.get(api_url(att), **bearer(lib.users["dispatcher"]))
    assert resp.status_code == 200 and body(resp) == b"PK\x03\x04"


def test_attachment_of_another_document_is_404(lib, api_client, media):
    make_item(lib, ItemStatus.PUBLISHED)
    att = attach(lib)
    other = actions.do_create_document(lib.officer, {"title": "另一份文件", "issuers": "周口市人民政府"})
    error(api_client.get(f"{API}/policy-documents/{other.pk}/attachments/{att.pk}", **bearer(lib.admin)), 404)
    error(api_client.get(f"{API}/policy-documents/{lib.doc.pk}/attachments/999999"), 404)


def test_attachment_whose_file_is_gone_is_404(lib, api_client, media):
    make_item(lib, ItemStatus.PUBLISHED)
    att = attach(lib)
    (media / att.file.name).unlink()
    assert "不存在" in error(api_client.get(api_url(att)), 404)["message"]


def test_bad_token_on_download_is_401(lib, api_client, media):
    make_item(lib, ItemStatus.PUBLISHED)
    att = attach(lib)
    assert api_client.get(api_url(att), HTTP_AUTHORIZATION="Bearer nope").status_code == 401


# ---------------------------------------------------------------- 政策原文 (source_url)
def test_source_link_shown_on_item_and_document_pages_and_in_the_api(lib, client, api_client):
    actions.do_update_document(lib.officer, lib.doc, {"source_url": SOURCE})
    item = make_item(lib, ItemStatus.PUBLISHED)
    for url in (reverse("policies:item_detail", args=[item.pk]), reverse("policies:document_detail", args=[lib.doc.pk])):
        html = client.get(url).content.decode()
        assert "政策原文" in html and f'href="{SOURCE}"' in html
    out = api_client.get(f"{API}/policy-items/{item.pk}").json()
    assert out["source_url"] == SOURCE and out["document"]["source_url"] == SOURCE
    assert api_client.get(f"{API}/policy-documents/{lib.doc.pk}").json()["source_url"] == SOURCE


def test_no_source_link_when_the_document_has_none_or_an_unsafe_one(lib, client, api_client):
    item = make_item(lib, ItemStatus.PUBLISHED)
    page = reverse("policies:item_detail", args=[item.pk])
    assert "政策原文</th>" not in client.get(page).content.decode()
    assert api_client.get(f"{API}/policy-items/{item.pk}").json()["source_url"] == ""
    type(lib.doc).objects.filter(pk=lib.doc.pk).update(source_url="javascript:alert(1)")  # bypassing the checks
    assert "javascript:" not in client.get(page).content.decode()
