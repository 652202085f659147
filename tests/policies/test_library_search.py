"""Chinese keyword search (jieba) and the list filters of the policy library."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.policies.test_library_fixtures import enqueued, lib, make_item  # noqa: F401
from yingshang.core.models import Region, RegionLevel
from yingshang.policies import actions_library as actions, search
from yingshang.policies.models import ItemStatus, PolicyItem

pytestmark = pytest.mark.django_db


def titles(qs) -> list[str]:
    return [i.title for i in qs]


def found(q: str) -> list[str]:
    return titles(search.search(PolicyItem.objects.all(), q))


def test_domain_words_are_single_tokens():
    text = search.tokens("免申即享:专精特新中小企业、高新技术企业研发费用加计扣除,小微企业稳岗返还")
    for word in ("免申即享", "专精特新", "高新技术企业", "研发费用", "加计扣除", "小微企业", "稳岗"):
        assert word in text.split(), word
    assert search.query_tokens("研发费用加计扣除的政策") == ["研发费用", "加计扣除", "政策"]


def test_normalises_width_and_case():
    assert search.query_tokens("ＡＢＣ科技") == search.query_tokens("abc科技")


@pytest.fixture
def library(lib):
    make_item(lib, title="研发费用加计扣除补贴", summary="按研发投入给予补助", keywords="研发")
    make_item(lib, title="专精特新中小企业奖励", summary="对新认定的专精特新企业一次性奖励", keywords="专精特新 奖励")
    make_item(lib, title="失业保险稳岗返还", summary="面向不裁员少裁员的企业", keywords="稳岗 社保")
    make_item(lib, title="创业担保贷款贴息", summary="小微企业稳岗扩岗的可申请贴息", benefit_type="loan_interest")
    return lib


def test_search_finds_items_containing_every_query_word(library):
    assert found("研发费用") == ["研发费用加计扣除补贴"]
    assert found("加计扣除研发费用") == ["研发费用加计扣除补贴"]  # word order does not matter
    assert found("专精特新 奖励") == ["专精特新中小企业奖励"]
    assert found("专精特新 贴息") == []
    assert found("周政〔2025〕12号") and len(found("周口市 中小企业")) == 4  # the document's title and 文号


def test_title_hits_rank_first(library):
    assert found("稳岗") == ["失业保险稳岗返还", "创业担保贷款贴息"]


def test_blank_or_stopword_query_returns_everything(library):
    assert len(found("")) == 4 and len(found("的 和")) == 4


def test_filters(library):
    today = timezone.localdate()
    soon = make_item(library, ItemStatus.PUBLISHED, title="即将截止", window_end=(today + dt.timedelta(days=5)).isoformat())
    later = make_item(library, title="尚未开始", window_start=(today + dt.timedelta(days=10)).isoformat())

    def run(**params):
        f = search.parse_filters(params, staff=True)
        assert not f.errors, f.errors
        return set(titles(search.apply_filters(PolicyItem.objects.all(), f, today)))

    assert run(expiring_within="7") == {"即将截止"}
    assert "尚未开始" not in run(open_now="1") and "即将截止" in run(open_now="1")
    assert run(benefit_type="loan_interest") == {"创业担保贷款贴息"}
    assert run(status="published") == {"即将截止"}
    assert len(run(department=library.market.code)) == 6 and run(department=library.fugou_dept.code) == set()
    assert len(run(region=library.fugou.code)) == 6  # a city document applies in its counties
    other = Region.objects.create(code="420100", name="武汉市", level=RegionLevel.CITY, prefix="4201")
    assert run(region=other.code) == set()
    actions.do_update_document(library.officer, library.doc, {"region": None})
    assert len(run(region=other.code)) == 6  # nationwide documents apply everywhere
    assert later.status == ItemStatus.DRAFT


def test_invalid_filters_are_named_and_ignored(lib):
    f = search.parse_filters({"mode": "free", "expiring_within": "abc", "region": "999999", "status": "draft",
                              "department": "NOPE"}, staff=False)
    assert set(f.errors) == {"mode", "expiring_within", "region", "department"}
    assert f.status == ""  # status is for staff only
