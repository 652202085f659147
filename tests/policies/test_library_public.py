"""What the public sees of the library: attachments through an access-checked download (never /media/),
officer-entered texts redacted for non-staff on pages and in the API (DOMAIN §4), originals for staff."""
from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.policies.test_library_fixtures import enqueued, lib, make_item  # noqa: F401
from yingshang.core import actions as core_actions
from yingshang.policies import actions_library as actions
from yingshang.policies.models import ItemStatus

pytestmark = pytest.mark.django_db
API = "/api/v1"
MOBILE, LANDLINE, NAME = "13800138000", "0394-8231234", "张三丰"
PLANTED = f"联系人:{NAME},电话:{MOBILE},座机 {LANDLINE}"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def login(client, user):
    assert client.login(username=user.username, password="pass-1234")


def attach(org, content=b"%PDF-1.4 test", filename="原文.pdf", name="政策原文"):
    return actions.do_add_attachment(org.officer, org.doc, SimpleUploadedFile(filename, content), name)


def download_url(att) -> str:
    return reverse("policies:attachment_download", args=[att.document_id, att.pk])


def body(resp) -> bytes:
    return b"".join(resp.streaming_content)


# ---------------------------------------------------------------- attachments
def test_attachment_of_a_published_document_downloads_for_anyone(lib, client, media):
    make_item(lib, ItemStatus.PUBLISHED)
    att = attach(lib)
    resp = client.get(download_url(att))
    assert resp.status_code == 200 and body(resp) == b"%PDF-1.4 test"
    assert resp["Content-Type"] == "application/pdf"
    disposition = resp["Content-Disposition"]
    assert disposition.startswith("attachment") and "%E6%94%BF%E7%AD%96%E5%8E%9F%E6%96%87.pdf" in disposition


def test_document_page_and_api_link_to_the_download_not_to_media(lib, client, api_client, media):
    make_item(lib, ItemStatus.PUBLISHED)
    att = attach(lib)
    html = client.get(reverse("policies:document_detail", args=[lib.doc.pk])).content.decode()
    assert download_url(att) in html and "/media/" not in html
    data = api_client.get(f"{API}/policy-documents/{lib.doc.pk}").json()
    api_url = f"{API}/policy-documents/{lib.doc.pk}/attachments/{att.pk}"  # the API's own download
    assert data["attachments"] == [{"id": att.pk, "name": "政策原文", "url": api_url}]
    assert client.get(data["attachments"][0]["url"]).status_code == 200


def test_attachment_of_an_unpublished_document_is_for_staff_only(lib, client, media):
    make_item(lib)  # a draft: the document is not public yet
    att = attach(lib, b"PK\x03\x04", "细则.docx", "实施细则")
    resp = client.get(download_url(att))
    assert resp.status_code == 302 and "login" in resp["Location"]
    login(client, lib.users["enterprise"])
    assert client.get(download_url(att)).status_code == 403
    login(client, lib.users["dispatcher"])
    resp = client.get(download_url(att))
    assert resp.status_code == 200 and body(resp) == b"PK\x03\x04"
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    assert "private" in resp["Cache-Control"]


def test_attachment_must_belong_to_the_document_in_the_address(lib, client, media):
    make_item(lib, ItemStatus.PUBLISHED)
    att = attach(lib)
    other = actions.do_create_document(lib.officer, {"title": "另一份文件", "issuers": "周口市人民政府"})
    url = reverse("policies:attachment_download", args=[other.pk, att.pk])
    login(client, lib.users["dispatcher"])
    assert client.get(url).status_code == 404


def test_attachment_whose_file_is_gone_is_404_not_500(lib, client, media):
    make_item(lib, ItemStatus.PUBLISHED)
    att = attach(lib)
    (media / att.file.name).unlink()
    assert client.get(download_url(att)).status_code == 404


# ---------------------------------------------------------------- redaction
def planted_item(org):
    item = make_item(org, ItemStatus.PUBLISHED, summary=f"补贴说明。{PLANTED}", clause=f"第三条 {PLANTED}",
                     amount_note=f"咨询 {MOBILE}",
                     materials=[{"name": "授权委托书", "required": True, "note": f"经办人:{NAME}"}])
    actions.do_update_document(org.officer, org.doc, {"full_text": f"第一条 为支持企业发展。\n{PLANTED}"})
    return item


def assert_clean(text: str):
    for planted in (MOBILE, "8231234", NAME):
        assert planted not in text, planted


def test_public_pages_show_redacted_texts_and_staff_see_the_originals(lib, client):
    item = planted_item(lib)
    item_url = reverse("policies:item_detail", args=[item.pk])
    doc_url = reverse("policies:document_detail", args=[lib.doc.pk])
    for who in (None, lib.users["enterprise"]):
        if who is not None:
            login(client, who)
        item_html, doc_html = (client.get(u).content.decode() for u in (item_url, doc_url))
        assert_clean(item_html)
        assert_clean(doc_html)
        assert "138****8000" in item_html and "张**" in item_html and "授权委托书" in item_html
        assert "第一条 为支持企业发展" in doc_html and "0394-*******" in doc_html
    login(client, lib.officer)
    item_html, doc_html = (client.get(u).content.decode() for u in (item_url, doc_url))
    assert MOBILE in item_html and NAME in item_html and LANDLINE in doc_html


def test_public_api_answers_are_redacted_and_staff_get_the_originals(lib, api_client):
    item = planted_item(lib)
    public = [api_client.get(f"{API}/policy-items/{item.pk}"), api_client.get(f"{API}/policy-items"),
              api_client.get(f"{API}/policy-documents/{lib.doc.pk}")]
    for resp in public:
        assert resp.status_code == 200
        assert_clean(json.dumps(resp.json(), ensure_ascii=False))
    detail = public[0].json()
    assert detail["materials"][0] == {"name": "授权委托书", "required": True, "note": "经办人:张**"}
    assert detail["summary"].startswith("补贴说明。联系人:张**")
    token = core_actions.do_issue_token(None, lib.officer)
    staff = api_client.get(f"{API}/policy-items/{item.pk}", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert MOBILE in staff["summary"] and staff["materials"][0]["note"] == f"经办人:{NAME}"
    doc = api_client.get(f"{API}/policy-documents/{lib.doc.pk}", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert LANDLINE in doc["full_text"]


def test_redaction_never_changes_the_stored_texts(lib, client):
    item = planted_item(lib)
    client.get(reverse("policies:item_detail", args=[item.pk]))
    item.refresh_from_db()
    lib.doc.refresh_from_db()
    assert MOBILE in item.summary and NAME in item.materials[0]["note"] and LANDLINE in lib.doc.full_text
