"""The 诉求 KPI page, the cases-behind page and the 通报 pages: the figures shown are the engine's, every
link leads to exactly the cases counted, and each role sees only its part. Fixture: ``test_bulletin.march``
(cases built through the real actions in March 2026)."""
from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from tests.appeals.test_bulletin import PERIOD, march  # noqa: F401  (the fixture)
from yingshang.appeals import kpi_report, kpis
from yingshang.core.models import AuditLog

pytestmark = pytest.mark.django_db
URLS = ["/appeals/kpis/", "/appeals/kpis/cases/", "/appeals/bulletin/", "/appeals/bulletin/xlsx/",
        "/appeals/bulletin/pdf/"]


class _Cells(HTMLParser):
    """Text and links of every element carrying ``data-cell`` (the KPI table) and the ``data-case`` links."""

    def __init__(self):
        super().__init__()
        self.cells: dict[str, dict] = {}
        self.cases: list[int] = []
        self._open: list[tuple[str, str | None]] = []  # (tag, cell key or None)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        key = attrs.get("data-cell")
        if key:
            self.cells[key] = {"text": "", "links": []}
        if tag == "a" and "data-case" in attrs:
            self.cases.append(int(attrs["data-case"]))
        current = key or (self._open[-1][1] if self._open else None)
        if tag == "a" and current:
            self.cells[current]["links"].append(attrs["href"])
        if tag not in ("br", "img", "input", "meta", "link"):
            self._open.append((tag, current))

    def handle_endtag(self, tag):
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        if self._open and self._open[-1][1]:
            self.cells[self._open[-1][1]]["text"] += data


def parse(response) -> _Cells:
    parser = _Cells()
    parser.feed(response.content.decode())
    return parser


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def login(client, user):
    client.force_login(user)
    return client


# ---------------------------------------------------------------- the figures
@pytest.mark.parametrize("group_by", ["department", "region"])
def test_page_shows_the_engine_figures_for_each_unit(client, org, march, group_by):  # noqa: F811
    page = login(client, org.users["dispatcher"]).get("/appeals/kpis/", {"period": PERIOD, "group_by": group_by})
    assert page.status_code == 200
    cells = parse(page).cells
    rows = kpis.compute(PERIOD, group_by, "")
    assert {k.split(":")[0] for k in cells} == {r.key for r in rows} | {"total"}
    for row in rows:
        for name in kpi_report.RATE_KPIS:
            ratio, text = getattr(row, name), squash(cells[f"{row.key}:{name}"]["text"])
            rate = "—" if ratio.rate is None else f"{round(ratio.rate * 100, 1)}%"
            assert text == f"{rate} {ratio.numerator:g} / {ratio.denominator}", (row.key, name)
        assert squash(cells[f"{row.key}:handling"]["text"]) == f"{row.avg_handling_workdays} {row.handled} 件"


def test_the_total_row_adds_up_the_units(client, org, march):  # noqa: F811
    cells = parse(login(client, org.users["dispatcher"]).get("/appeals/kpis/", {"period": PERIOD})).cells
    assert squash(cells["total:on_time"]["text"]) == "75.0% 6 / 8"  # A 4/4, B 1/3, C 1/1
    assert cells["total:on_time"]["links"] == []


def test_each_figure_links_to_exactly_the_cases_behind_it(client, org, march):  # noqa: F811
    login(client, org.users["dispatcher"])
    cells = parse(client.get("/appeals/kpis/", {"period": PERIOD})).cells
    followed = 0
    for name in (*kpi_report.RATE_KPIS, "handling"):
        links = cells[f"FG-SCJG:{name}"]["links"]
        assert len(links) == (1 if name == "handling" else 2)
        for link, part in zip(links, ("numerator", "denominator") if len(links) == 2 else ("denominator",)):
            assert f"part={part}" in link
            shown = parse(client.get(link)).cases
            expected = {a.pk for a in kpis.cases_behind(PERIOD, "department", "FG-SCJG", name, "", part)}
            assert set(shown) == expected and len(shown) == len(expected), (name, part)
            followed += bool(expected)
    assert followed >= 8  # most figures of B have cases behind them: the comparison is not vacuous
    on_time = parse(client.get(cells["FG-SCJG:on_time"]["links"][1])).cases
    assert set(on_time) == {march.B1.pk, march.B2.pk, march.B3.pk}


def test_cases_page_links_each_case_to_its_page(client, org, march):  # noqa: F811
    page = login(client, org.users["dispatcher"]).get("/appeals/kpis/cases/", {
        "period": PERIOD, "key": "FG-SCJG", "kpi": "satisfied", "part": "denominator"})
    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="/appeals/{march.B2.pk}/"' in html and "企业用水报装费用过高" in html
    assert "13812345678" not in html  # no contact data on the list


def test_an_empty_figure_says_so(client, org, march):  # noqa: F811
    page = login(client, org.users["dispatcher"]).get("/appeals/kpis/cases/", {
        "period": PERIOD, "key": "FG-SCJG", "kpi": "returned", "part": "numerator"})
    assert page.status_code == 200 and "没有对应的诉求" in page.content.decode()


def test_trend_covers_six_months_up_to_the_period(client, org, march):  # noqa: F811
    login(client, org.users["dispatcher"])

    def chart(**params):
        html = client.get("/appeals/kpis/", {"period": PERIOD, **params}).content.decode()
        return json.loads(re.search(r'<script id="kpi-data" type="application/json">(.*?)</script>', html, re.S)[1])

    data = chart()
    assert data["trend"]["months"] == ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    assert data["trend"]["series"]["on_time"][-1] == 75.0 and data["trend"]["series"]["on_time"][0] is None
    assert data["trend"]["series"]["on_time"][-2] == 100.0  # the February case, on time
    assert data["bars"]["units"] == [r.label for r in kpis.compute(PERIOD, "department", "")]
    assert chart(unit="FG-SCJG")["trend"]["series"]["on_time"][-1] == 33.3
    assert kpi_report.months_ending("2026-Q1") == data["trend"]["months"]


def test_default_period_is_the_previous_month(client, org):
    html = login(client, org.users["dispatcher"]).get("/appeals/kpis/").content.decode()
    expected = kpi_report.previous_month(timezone.localdate())
    assert re.search(rf'<option value="{expected}" selected>', html)


def test_a_period_without_cases_shows_an_empty_state(client, org, march):  # noqa: F811
    page = login(client, org.users["dispatcher"]).get("/appeals/kpis/", {"period": "2025-01"})
    html = page.content.decode()
    assert page.status_code == 200 and "暂无诉求办理数据" in html and "kpi-data" not in html


@pytest.mark.parametrize("url, params, field", [
    ("/appeals/kpis/", {"period": "2026-13"}, "统计周期"),
    ("/appeals/kpis/", {"period": PERIOD, "group_by": "street"}, "分组方式"),
    ("/appeals/kpis/", {"period": PERIOD, "unit": "NOPE"}, "趋势单位"),
    ("/appeals/kpis/cases/", {"period": PERIOD, "key": "SCJG", "kpi": "nonsense"}, "指标"),
    ("/appeals/kpis/cases/", {"period": PERIOD, "key": "SCJG", "kpi": "sign", "part": "half"}, "分子/分母"),
    ("/appeals/bulletin/", {"period": "2026-Q1"}, "统计周期"),
    ("/appeals/bulletin/xlsx/", {"period": "2099-01"}, "统计周期"),
])
def test_bad_input_is_a_400_naming_the_field(client, org, url, params, field):
    page = login(client, org.users["dispatcher"]).get(url, params)
    assert page.status_code == 400 and field in page.content.decode()


def test_a_long_value_is_echoed_cut_short(client, org):
    page = login(client, org.users["dispatcher"]).get("/appeals/kpis/", {"period": "9" * 5000})
    assert page.status_code == 400 and "9" * 100 not in page.content.decode()


# ---------------------------------------------------------------- access
@pytest.mark.parametrize("role", ["enterprise", "handler", "steward", "supervisor", "policy_officer"])
def test_roles_outside_the_kpi_readers_get_403(client, org, march, role):  # noqa: F811
    login(client, org.users[role])
    for url in URLS:
        assert client.get(url, {"period": PERIOD, "key": "SCJG", "kpi": "sign"}).status_code == 403, url


def test_anonymous_visitors_are_sent_to_login(client, org):
    for url in URLS:
        answer = client.get(url)
        assert answer.status_code == 302 and "/login/" in answer["Location"]


def test_department_leader_sees_only_their_department(client, org, march):  # noqa: F811
    login(client, org.users["dept_leader"])  # of SCJG
    page = client.get("/appeals/kpis/", {"period": PERIOD})
    assert page.status_code == 200
    assert {k.split(":")[0] for k in parse(page).cells} == {"SCJG"}  # one unit: no total row
    assert "扶沟县市场监督管理局" not in page.content.decode()
    own = {"period": PERIOD, "key": "SCJG", "kpi": "on_time"}
    assert client.get("/appeals/kpis/cases/", own).status_code == 200
    assert client.get("/appeals/kpis/cases/", {**own, "key": "FG-SCJG"}).status_code == 403
    assert client.get("/appeals/kpis/cases/", {**own, "group_by": "region", "key": "411602"}).status_code == 403
    assert client.get("/appeals/kpis/", {"period": PERIOD, "group_by": "region"}).status_code == 400
    assert client.get("/appeals/bulletin/", {"period": PERIOD}).status_code == 403


def test_department_leader_api_cases_of_another_department_is_403(client, org, march):  # noqa: F811
    login(client, org.users["dept_leader"])
    answer = client.get("/api/v1/appeal-kpis/cases", {"period": PERIOD, "key": "FG-SCJG", "kpi": "sign"})
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"


def test_county_dispatcher_sees_the_units_of_their_county(client, org, march):  # noqa: F811
    page = login(client, org.county_dispatcher).get("/appeals/kpis/", {"period": PERIOD})
    assert {k.split(":")[0] for k in parse(page).cells} == {"FG-SCJG"}  # one unit: no total row
    behind = client.get("/appeals/kpis/cases/", {"period": PERIOD, "key": "SCJG", "kpi": "sign"})
    assert parse(behind).cases == []  # SCJG's cases are all in 川汇区


# ---------------------------------------------------------------- the 通报 pages
def test_bulletin_page_shows_the_draft_and_download_buttons(client, org, march):  # noqa: F811
    page = login(client, org.users["leader"]).get("/appeals/bulletin/", {"period": PERIOD})
    html = page.content.decode()
    assert page.status_code == 200
    assert "周口市优化营商环境诉求办理情况通报(2026年3月)" in html
    assert re.search(r'data-unit="SCJG">.*?表扬', html, re.S)
    assert not re.search(r'data-unit="FG-SCJG">[^\n]*表扬', html)
    assert f'href="/appeals/{march.B3.pk}/"' in html and "园区道路破损影响货车通行" in html
    assert "/appeals/bulletin/xlsx/?period=2026-03" in html and "/appeals/bulletin/pdf/?period=2026-03" in html
    assert "13812345678" not in html and "张三" not in html


def test_bulletin_default_month_is_the_previous_one(client, org):
    html = login(client, org.users["evaluator"]).get("/appeals/bulletin/").content.decode()
    expected = kpi_report.previous_month(timezone.localdate())
    assert re.search(rf'<option value="{expected}" selected>', html)


def test_downloads_are_files_and_each_is_audited(client, org, march):  # noqa: F811
    from openpyxl import load_workbook

    login(client, org.users["admin"])
    xlsx = client.get("/appeals/bulletin/xlsx/", {"period": PERIOD})
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in xlsx["Content-Disposition"]
    assert load_workbook(io.BytesIO(xlsx.content))["超期未办结"]["A2"].value == march.B3.number
    pdf = client.get("/appeals/bulletin/pdf/", {"period": PERIOD})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    formats = list(AuditLog.objects.filter(action="export", object_type="appeals.bulletin", actor=org.users["admin"])
                   .order_by("id").values_list("changes__format", flat=True))
    assert formats == ["xlsx", "pdf"]
