"""Enterprise list (filters, keyset pagination, scope) and enterprise page (access, personal data, audit)."""
from __future__ import annotations

import re

import pytest
from django.urls import reverse

from yingshang.core import audit
from yingshang.core.models import AuditAction, AuditLog
from yingshang.enterprises.models import Certification, CertificationKind, EnterpriseTag, Tag
from yingshang.enterprises.views import PAGE_SIZE
from tests.web.conftest import login

pytestmark = pytest.mark.django_db
LIST = reverse("enterprises:list")
USCC = re.compile(r'<td data-label="信用代码" class="mono">([0-9A-Z]{18})</td>')


def usccs(resp) -> list[str]:
    assert resp.status_code == 200, resp.status_code
    return USCC.findall(resp.content.decode())


def link(resp, rel: str) -> str | None:
    match = re.search(rf'rel="{rel}" href="([^"]+)"', resp.content.decode())
    return match.group(1).replace("&amp;", "&") if match else None


def all_newest_first(*groups) -> list[str]:
    ents = [e for g in groups for e in g]
    return [e.uscc for e in sorted(ents, key=lambda e: -e.pk)]


# ---------------------------------------------------------------- list: scope
def test_city_dispatcher_sees_everything_newest_first(client, register):
    login(client, register.users["dispatcher"])
    expected = all_newest_first(register.chuanhui_ents, register.fugou_ents)
    resp = client.get(LIST)
    assert usccs(resp) == expected[:PAGE_SIZE]
    assert f"共 {len(expected)} 家" in resp.content.decode()


def test_county_dispatcher_sees_only_its_county(client, register):
    login(client, register.county_dispatcher)
    assert usccs(client.get(LIST)) == all_newest_first(register.fugou_ents)
    # asking for another county is refused with a message, not widened
    resp = client.get(LIST, {"county": register.chuanhui.code})
    assert usccs(resp) == all_newest_first(register.fugou_ents)
    assert "不在您的管辖范围内" in resp.content.decode()


def test_enterprise_user_sees_only_itself(client, register):
    login(client, register.users["enterprise"])
    assert usccs(client.get(LIST)) == [register.enterprise.uscc]


def test_supervisor_gets_403(client, register):
    login(client, register.users["supervisor"])
    resp = client.get(LIST)
    assert resp.status_code == 403 and "无权" in resp.content.decode()


def test_anonymous_is_sent_to_login(client, register):
    assert client.get(LIST).status_code == 302


# ---------------------------------------------------------------- list: filters
def test_region_filters(client, register):
    login(client, register.users["dispatcher"])
    assert usccs(client.get(LIST, {"county": register.fugou.code})) == all_newest_first(register.fugou_ents)
    in_street = [e for e in register.chuanhui_ents if e.region_id == register.street.code]
    resp = client.get(LIST, {"county": register.chuanhui.code, "street": register.street.code})
    assert usccs(resp) == all_newest_first(in_street)
    # a street left over from another county is dropped, not applied
    resp = client.get(LIST, {"county": register.fugou.code, "street": register.street.code})
    assert usccs(resp) == all_newest_first(register.fugou_ents)


def test_industry_size_status_filters(client, register):
    login(client, register.users["dispatcher"])
    assert usccs(client.get(LIST, {"industry": "F"})) == all_newest_first(register.fugou_ents)  # 5211 retail
    assert usccs(client.get(LIST, {"industry": "52"})) == all_newest_first(register.fugou_ents)
    micro = [e for e in register.chuanhui_ents + register.fugou_ents if e.size == "micro"]
    assert micro and usccs(client.get(LIST, {"size": "micro"})) == all_newest_first(micro)
    assert usccs(client.get(LIST, {"status": "revoked"})) == []


def test_tag_and_certification_filters(client, register):
    ent_a, ent_b = register.chuanhui_ents[3], register.fugou_ents[2]
    tag = Tag.objects.create(code="gazelle", name="瞪羚企业")
    EnterpriseTag.objects.create(enterprise=ent_a, tag=tag)
    Certification.objects.create(enterprise=ent_b, kind=CertificationKind.HIGH_TECH)
    login(client, register.users["dispatcher"])
    assert usccs(client.get(LIST, {"tag": "gazelle"})) == [ent_a.uscc]
    assert usccs(client.get(LIST, {"cert": "high_tech"})) == [ent_b.uscc]


def test_keyword_is_name_prefix_or_exact_uscc(client, register):
    login(client, register.users["dispatcher"])
    assert usccs(client.get(LIST, {"q": "扶沟测试"})) == all_newest_first(register.fugou_ents)
    assert usccs(client.get(LIST, {"q": "测试企业"})) == []  # prefix, not substring
    target = register.chuanhui_ents[5]
    assert usccs(client.get(LIST, {"q": target.uscc.lower()})) == [target.uscc]


def test_invalid_filters_are_reported_and_ignored(client, register):
    login(client, register.users["dispatcher"])
    resp = client.get(LIST, {"industry": "ZZ", "size": "huge", "county": "999999"})
    body = resp.content.decode()
    assert resp.status_code == 200 and "行业“ZZ”" in body and "企业规模“huge”" in body and "县区“999999”" in body
    assert len(usccs(resp)) == PAGE_SIZE


# ---------------------------------------------------------------- list: keyset pagination
def test_keyset_next_prev_first_last(client, register):
    login(client, register.users["dispatcher"])
    expected = all_newest_first(register.chuanhui_ents, register.fugou_ents)  # 32 rows: pages of 20 + 12
    first = client.get(LIST)
    assert link(first, "prev") is None
    second = client.get(LIST + link(first, "next"))
    assert usccs(second) == expected[PAGE_SIZE:]
    assert link(second, "next") is None
    back = client.get(LIST + link(second, "prev"))
    assert usccs(back) == expected[:PAGE_SIZE] and link(back, "prev") is None
    last = client.get(LIST, {"last": "1"})
    assert usccs(last) == expected[-PAGE_SIZE:] and link(last, "next") is None
    before_last = client.get(LIST + link(last, "prev"))
    assert usccs(before_last) == expected[: len(expected) - PAGE_SIZE]


def test_pagination_keeps_filters(client, register):
    more = [e for e in register.chuanhui_ents]
    login(client, register.users["dispatcher"])
    first = client.get(LIST, {"county": register.chuanhui.code})
    nxt = link(first, "next")
    assert "county=411602" in nxt
    assert usccs(client.get(LIST + nxt)) == all_newest_first(more)[PAGE_SIZE:]


def test_htmx_request_gets_the_partial(client, register):
    login(client, register.users["dispatcher"])
    resp = client.get(LIST, {"county": register.fugou.code}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="enterprise-list")
    body = resp.content.decode()
    assert "<html" not in body and 'id="enterprise-table"' in body
    assert USCC.findall(body) == all_newest_first(register.fugou_ents)


def test_total_label_rounds_estimates():
    from yingshang.enterprises.views import total_label

    assert total_label(987, "exact") == "共 987 家"
    assert total_label(1234567, "estimate") == "约 1,230,000 家"
    assert total_label(1000, "at_least") == "1,000 家以上"


def test_approximate_count_is_exact_for_small_results(register):
    from django.db import connection

    from yingshang.enterprises.models import Enterprise
    from yingshang.enterprises.views import approximate_count, planner_estimate

    qs = Enterprise.objects.filter(region__code__startswith=register.fugou.code)
    assert approximate_count(qs) == (len(register.fugou_ents), "exact")
    if connection.vendor == "postgresql":
        assert planner_estimate(Enterprise.objects.all()) >= 0  # EXPLAIN runs and yields a row estimate


# ---------------------------------------------------------------- enterprise page
def detail(ent):
    return reverse("enterprises:detail", args=[ent.uscc])


def test_detail_shows_profile_figures_and_sources(client, register):
    ent = register.enterprise
    ent.figure_sources = {"employees": {"source": "市场监管年报", "as_of": "2024-12-31"}}
    ent.save()
    login(client, register.users["dispatcher"])
    body = client.get(detail(ent)).content.decode()
    for text in (ent.name, ent.uscc, "周口市", "川汇区", "3311", "市场监管年报", "2024-12-31", "从业人员(人)",
                 ent.get_size_display(), "1,500"):
        assert str(text) in body, text


def test_detail_access_rules(client, register):
    own, other = register.enterprise, register.fugou_ents[0]
    login(client, register.users["enterprise"])
    assert client.get(detail(own)).status_code == 200
    assert client.get(detail(other)).status_code == 403
    client.logout()
    login(client, register.county_dispatcher)
    assert client.get(detail(other)).status_code == 200
    assert client.get(detail(own)).status_code == 403
    client.logout()
    login(client, register.users["supervisor"])
    assert client.get(detail(own)).status_code == 403


def _set_personal(ent):
    ent.legal_representative, ent.contact_name, ent.contact_phone = "张三丰", "李四", "13812345678"
    ent.save()


def test_personal_data_masked_for_staff_and_reveal_is_audited(client, register):
    ent = register.enterprise
    _set_personal(ent)
    staff = register.users["dispatcher"]
    login(client, staff)
    body = client.get(detail(ent)).content.decode()
    assert "138****5678" in body and "张**" in body and "13812345678" not in body
    assert not AuditLog.objects.filter(action=AuditAction.READ_PERSONAL).exists()
    resp = client.post(reverse("enterprises:personal", args=[ent.uscc]), HTTP_HX_REQUEST="true")
    assert resp.status_code == 200 and "13812345678" in resp.content.decode() and "张三丰" in resp.content.decode()
    row = AuditLog.objects.get(action=AuditAction.READ_PERSONAL)
    assert row.actor == staff and row.object_id == str(ent.pk) and row.object_type == "enterprises.enterprise"


def test_enterprise_user_sees_own_personal_data_but_cannot_reveal_others(client, register):
    own, other = register.enterprise, register.fugou_ents[0]
    _set_personal(own)
    _set_personal(other)
    login(client, register.users["enterprise"])
    body = client.get(detail(own)).content.decode()
    assert "13812345678" in body and "查看完整信息" not in body
    assert client.post(reverse("enterprises:personal", args=[other.uscc])).status_code == 403
    assert client.post(reverse("enterprises:personal", args=[own.uscc])).status_code == 403  # staff-only action
    assert not AuditLog.objects.filter(action=AuditAction.READ_PERSONAL).exists()


def test_out_of_scope_staff_cannot_reveal(client, register):
    _set_personal(register.enterprise)
    login(client, register.county_dispatcher)
    assert client.post(reverse("enterprises:personal", args=[register.enterprise.uscc])).status_code == 403
    assert not AuditLog.objects.filter(action=AuditAction.READ_PERSONAL).exists()


def test_audit_history_is_readable_masked_and_paginated(client, register):
    ent = register.enterprise
    actor = register.users["handler"]
    audit.record(actor, AuditAction.UPDATE, ent, changes={"employees": [40, 50], "size": ["micro", "small"],
                                                         "contact_phone": ["13900001111", "13812345678"]})
    for i in range(12):
        audit.record(actor, AuditAction.UPDATE, ent, changes={"address": [f"旧址{i}", f"新址{i}"]})
    login(client, register.users["dispatcher"])
    body = client.get(detail(ent)).content.decode()
    assert "新址11" in body and "第 1 / 2 页" in body
    page2 = client.get(reverse("enterprises:audit", args=[ent.uscc]), {"audit_page": 2}).content.decode()
    assert "从业人员(人)" in page2 and "<del>40</del>" in page2 and "<ins>小型</ins>" in page2
    assert "139****1111" in page2 and "13900001111" not in page2
