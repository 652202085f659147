"""The public board pages (no login): only disclosed cases, every planted item of personal data and the
enterprise's identity absent from the list and the case page, search that does not find hidden data,
filters, the HTMX list partial."""
from __future__ import annotations

import pytest
from django.test import Client

from tests.appeals.support_actions import ensure_grades, payload
from tests.appeals.support_public import EMAIL, NAME, PHONE, leaky_case, planted, routed
from yingshang.appeals import actions
from yingshang.core.models import Region, RegionLevel

pytestmark = pytest.mark.django_db


def text(resp) -> str:
    return resp.content.decode()


def test_board_and_case_page_never_show_planted_personal_data(org):
    appeal = leaky_case(org)
    anon = Client()
    listing, detail = anon.get("/appeals/board/"), anon.get(f"/appeals/board/{appeal.number}/")
    assert listing.status_code == 200 and detail.status_code == 200
    for resp in (listing, detail):
        leaked = [value for value in planted(org) if value in text(resp)]
        assert not leaked
    page = text(detail)
    assert appeal.number in page and "139****4321" in page and "某企业" in page
    assert "已解决" in page and "满意" in page and org.market.name in page
    assert "交办" in page and "答复" in page and "联系企业" not in page  # only the public steps


def test_planted_data_stays_hidden_for_a_logged_in_viewer_too(org):
    appeal = leaky_case(org)
    c = Client()
    c.force_login(org.users["dispatcher"])
    page = text(c.get(f"/appeals/board/{appeal.number}/"))
    assert not [value for value in planted(org) if value in page]


def test_undisclosed_and_merged_cases_are_not_on_the_board(org):
    ensure_grades()
    ent, d = org.users["enterprise"], org.users["dispatcher"]
    hidden = actions.do_submit_appeal(ent, payload(org, title="不公开的诉求", disclose=False))
    shown = routed(org, actions.do_submit_appeal(ent, payload(org, title="公开的诉求")))
    dup = actions.do_submit_appeal(ent, payload(org, title="重复的诉求"))
    actions.do_merge(d, dup, shown, "重复")
    page = text(Client().get("/appeals/board/"))
    assert shown.number in page and hidden.number not in page and dup.number not in page
    assert Client().get(f"/appeals/board/{hidden.number}/").status_code == 404
    assert Client().get(f"/appeals/board/{dup.number}/").status_code == 404


def test_search_finds_visible_words_but_not_hidden_data(org):
    appeal = leaky_case(org)
    anon = Client()
    assert appeal.number in text(anon.get("/appeals/board/", {"q": "用电增容"}))
    assert appeal.number in text(anon.get("/appeals/board/", {"q": appeal.number.lower()}))
    assert appeal.number not in text(anon.get("/appeals/board/", {"q": "SQ19990101-0001"}))
    for secret in (PHONE, NAME, EMAIL, org.enterprise.name):
        assert appeal.number not in text(anon.get("/appeals/board/", {"q": secret})), secret


def test_filters_by_category_and_county_and_ignores_bad_values(org):
    appeal = leaky_case(org)
    anon = Client()
    assert appeal.number not in text(anon.get("/appeals/board/", {"category": "arrears"}))
    assert appeal.number in text(anon.get("/appeals/board/", {"category": "factor_supply"}))
    assert appeal.number in text(anon.get("/appeals/board/", {"county": org.chuanhui.code}))
    assert appeal.number not in text(anon.get("/appeals/board/", {"county": org.fugou.code}))
    bad = anon.get("/appeals/board/", {"category": "nonsense", "county": "999999"})
    assert bad.status_code == 200 and "类别无效" in text(bad) and appeal.number in text(bad)
    counties = set(Region.objects.filter(level=RegionLevel.COUNTY).values_list("name", flat=True))
    assert all(name in text(bad) for name in counties)


def test_htmx_request_gets_the_list_partial(org):
    appeal = leaky_case(org)
    resp = Client().get("/appeals/board/", {"q": "用电"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="board-list")
    assert resp.status_code == 200 and appeal.number in text(resp) and "<html" not in text(resp)


def test_board_paginates(org):
    ensure_grades()
    ent = org.users["enterprise"]
    for i in range(23):
        routed(org, actions.do_submit_appeal(ent, payload(org, title=f"公开诉求第{i}件")))
    first, second = Client().get("/appeals/board/"), Client().get("/appeals/board/", {"page": 2})
    assert "第 1 / 2 页,共 23 条" in text(first) and "公开诉求第22件" in text(first)
    assert "公开诉求第0件" in text(second) and "公开诉求第0件" not in text(first)
