"""The monthly 通报 draft: ranking, praise, criticism and the XLSX/PDF exports, on cases built through the
real actions with the clock frozen at each step.

March 2026 has no holidays and no 调休 (working days = Monday–Friday). Grade normal: 3 working days.
Departments: A = SCJG (川汇区 cases), B = FG-SCJG (扶沟县 cases), C = ZJJ (川汇区, one case).

  A1–A4  dispatched 03-02, replied 03-03 (due 03-05: on time), rated 03-04 satisfied   → A 4/4 on time, 4/4 satisfied
  B1     dispatched 03-02 (due 03-05), replied 03-10 LATE (03-06, 03-09, 03-10 = 3 working days), rated basically satisfied
  B2     dispatched 03-03 (due 03-06), replied 03-04 on time, rated 03-05 不满意 (not resolved)
  B3     dispatched 03-16 (due 03-19), never replied: open at the month end, (03-19, 03-31] = 8 working days overdue;
         the sweep of 03-31 fires 提醒, 提示, 督办 and 约谈/问责
  B4     dispatched 03-23, paused 03-24 and still paused: no running deadline, never overdue
  C1     dispatched 03-09, replied 03-10, rated satisfied: 1 round only → not ranked
  Feb    dispatched and replied in February to A: not in the March draft
Composite: A (100 + 100) / 2 = 100 → 1st, praised; B on time 1/3, satisfied 1/2 → (33.33 + 50) / 2 = 41.7 → 2nd.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import zlib
from contextlib import contextmanager
from types import SimpleNamespace
from unittest import mock

import pytest
from django.template.loader import render_to_string

from tests.appeals.support_actions import ensure_grades, payload
from tests.factories import DepartmentFactory, UserFactory
from yingshang.appeals import actions, bulletin, bulletin_export, escalation, kpis
from yingshang.appeals.clock import SHANGHAI
from yingshang.core.errors import ValidationFailed
from yingshang.core.models import AuditLog, Role

pytestmark = pytest.mark.django_db
PERIOD = "2026-03"


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"2026-{text}").replace(tzinfo=SHANGHAI)


@contextmanager
def frozen(text: str):
    """Every ``timezone.now()`` of the actions answers this moment."""
    with mock.patch("django.utils.timezone.now", return_value=at(text)):
        yield


def step(when: str, action, *args):
    with frozen(when):
        return action(*args)


def dispatched_at(org, when: str, dept, region, title: str):
    """Submitted by the enterprise, graded normal and dispatched to ``dept`` at ``when``."""
    d = org.users["dispatcher"]
    with frozen(when):
        appeal = actions.do_submit_appeal(org.users["enterprise"], payload(org, title=title, region_code=region.code))
        actions.do_grade(d, appeal, "normal")
        return actions.do_dispatch(d, appeal, dept.code, [])


def handled(org, appeal, handler, signed: str, replied: str | None):
    step(signed, actions.do_sign, handler, appeal)
    step(signed, actions.do_contact, handler, appeal, "已电话联系企业")
    if replied:
        step(replied, actions.do_reply, handler, appeal, "resolved", "已协调解决。")
    return appeal


def rated(org, appeal, when: str, satisfaction: str, resolved: bool):
    return step(when, actions.do_rate, org.users["enterprise"], appeal, resolved, satisfaction, "")


@pytest.fixture
def march(org):
    ensure_grades()
    A, B = org.market, org.fugou_dept
    C = DepartmentFactory(code="ZJJ", name="周口市住房和城乡建设局", region=org.city)
    ha = org.users["handler"]
    hb = UserFactory(username="t_fg_handler", role=Role.HANDLER, department=B)
    hc = UserFactory(username="t_zj_handler", role=Role.HANDLER, department=C)
    c = SimpleNamespace(A=[], A_dept=A, B_dept=B, C_dept=C, hb=hb)
    for i in range(4):
        a = dispatched_at(org, f"03-02 09:0{i}", A, org.chuanhui, f"营业执照变更登记咨询{i + 1}")
        handled(org, a, ha, "03-02 10:00", "03-03 09:00")
        c.A.append(rated(org, a, "03-04 09:00", "satisfied", True))
    c.B1 = dispatched_at(org, "03-02 09:00", B, org.fugou, "厂房消防验收迟迟未办理")
    handled(org, c.B1, hb, "03-02 10:00", "03-10 09:00")
    rated(org, c.B1, "03-11 09:00", "basically_satisfied", True)
    c.B2 = dispatched_at(org, "03-03 09:00", B, org.fugou, "企业用水报装费用过高")
    handled(org, c.B2, hb, "03-03 10:00", "03-04 09:00")
    rated(org, c.B2, "03-05 09:00", "unsatisfied", False)
    c.B3 = dispatched_at(org, "03-16 09:00", B, org.fugou, "园区道路破损影响货车通行")
    handled(org, c.B3, hb, "03-16 10:00", None)
    c.B4 = dispatched_at(org, "03-23 09:00", B, org.fugou, "环评批复材料补正")
    handled(org, c.B4, hb, "03-23 10:00", None)
    step("03-24 09:00", actions.do_pause, hb, c.B4, "等待企业补充环评材料")
    c.C1 = dispatched_at(org, "03-09 09:00", C, org.chuanhui, "施工许可办理进度查询")
    handled(org, c.C1, hc, "03-09 10:00", "03-10 09:00")
    rated(org, c.C1, "03-11 09:00", "satisfied", True)
    c.feb = dispatched_at(org, "02-24 09:00", A, org.chuanhui, "二月份已办结的诉求")
    handled(org, c.feb, ha, "02-24 10:00", "02-25 09:00")
    escalation.sweep(at("03-31 20:00"))
    return c


def draft(org, user="dispatcher"):
    return bulletin.bulletin_for(org.users[user] if isinstance(user, str) else user, PERIOD)


# ---------------------------------------------------------------- ranking and praise
def test_ranking_uses_the_composite_and_leaves_small_samples_unranked(org, march):
    b = draft(org)
    assert [(u.key, u.rank, u.score) for u in b.ranking] == [("SCJG", 1, 100.0), ("FG-SCJG", 2, 41.7)]
    assert [(u.key, u.rounds) for u in b.unranked] == [("ZJJ", 1)]
    rows = {r.key: r for r in kpis.compute(PERIOD, "department", "")}
    fg = next(u for u in b.ranking if u.key == "FG-SCJG")
    assert fg.on_time == rows["FG-SCJG"].on_time and (fg.on_time.numerator, fg.on_time.denominator) == (1, 3)
    assert (fg.satisfied.numerator, fg.satisfied.denominator) == (1, 2)
    assert "按期办结率 + 满意率" in bulletin.COMPOSITE_TEXT


def test_the_best_unit_is_praised_and_named_in_the_text(org, march):
    b = draft(org)
    assert [u.key for u in b.praised] == ["SCJG"]
    assert "周口市市场监督管理局" in b.praise_text and "扶沟县市场监督管理局" not in b.praise_text


def test_ties_share_a_place():
    row = lambda key, n: kpis.Row(key, key, *[kpis.Ratio(n, 4, n / 4)] * 7, None, 0)  # noqa: E731
    ranked, _ = bulletin.rank_units([row("X", 4), row("Y", 3), row("Z", 3), row("W", 2)])
    assert [(u.key, u.rank) for u in ranked] == [("X", 1), ("Y", 2), ("Z", 2), ("W", 4)]


# ---------------------------------------------------------------- criticism
def test_overdue_lists_the_open_case_at_month_end_and_the_late_reply(org, march):
    b = draft(org)
    assert [(c.appeal_id, c.department, c.due_date, c.overdue_workdays) for c in b.open_overdue] == [
        (march.B3.pk, "扶沟县市场监督管理局", dt.date(2026, 3, 19), 8)]
    assert [(c.appeal_id, c.due_date, c.replied_on, c.overdue_workdays) for c in b.late_replies] == [
        (march.B1.pk, dt.date(2026, 3, 5), dt.date(2026, 3, 10), 3)]
    assert march.B4.pk not in {c.appeal_id for c in b.open_overdue}  # paused: no running deadline


def test_a_past_month_is_judged_as_it_stood_at_its_end(org, march):
    # B3 replied in April: the March draft still lists it as open at the end of March
    step("04-01 09:00", actions.do_reply, march.hb, march.B3, "resolved", "道路已修复。")
    assert [c.appeal_id for c in draft(org).open_overdue] == [march.B3.pk]


def test_unsatisfied_and_escalations_of_the_month(org, march):
    b = draft(org)
    assert [(c.appeal_id, c.department, c.rated_on, c.resolved) for c in b.unsatisfied] == [
        (march.B2.pk, "扶沟县市场监督管理局", dt.date(2026, 3, 5), False)]
    assert sorted((e.appeal_id, e.level, e.fired_on) for e in b.escalations) == [
        (march.B3.pk, 3, dt.date(2026, 3, 31)), (march.B3.pk, 4, dt.date(2026, 3, 31))]
    assert b.escalation_count(3) == 1 and b.escalation_count(4) == 1


def test_headline_adds_up_the_scope(org, march):
    b = draft(org)
    assert b.dispatched == 9  # A1–A4, B1–B4, C1 (the February case is not in March)
    assert (b.total.on_time.numerator, b.total.on_time.denominator) == (6, 8)  # A 4/4, B 1/3, C 1/1
    assert (b.total.satisfied.numerator, b.total.satisfied.denominator) == (6, 7)
    assert b.total.handled == 7  # replies in March: A1–A4, B1, B2, C1
    assert "交办诉求 9 件" in b.summary and "月末超期未办结 1 件" in b.summary
    assert b.title == "周口市优化营商环境诉求办理情况通报(2026年3月)" and not b.provisional


def test_county_dispatcher_gets_their_county_only(org, march):
    b = draft(org, org.county_dispatcher)
    assert b.title.startswith("扶沟县") and [u.key for u in b.ranking] == ["FG-SCJG"]
    assert b.praised == [] and "没有单位达到表扬条件" in b.praise_text
    assert b.dispatched == 4


def test_the_draft_shows_titles_never_contact_data(org, march):
    html = render_to_string("appeals/kpis/bulletin_pdf.html", bulletin_export.context(draft(org)))
    assert "园区道路破损影响货车通行" in html and "厂房消防验收迟迟未办理" in html
    assert "13812345678" not in html and "张三" not in html
    assert "13812345678" not in str(draft(org).as_dict())


def test_month_must_be_a_past_or_current_month():
    now = at("03-15 12:00")
    for bad in ("2026-Q1", "2026-13", "26-03", ""):
        with pytest.raises(ValidationFailed) as err:
            bulletin.month_bounds(bad, now)
        assert "period" in err.value.fields
    with pytest.raises(ValidationFailed):
        bulletin.month_bounds("2026-04", now)


def test_running_month_is_provisional_and_cut_at_now(org, march):
    b = bulletin.build(PERIOD, "", "周口市", now=at("03-18 12:00"))
    assert b.provisional and b.open_overdue == []  # B3 is due 03-19: not yet overdue on 03-18
    assert [c.appeal_id for c in b.late_replies] == [march.B1.pk]


# ---------------------------------------------------------------- exports
def test_xlsx_has_a_sheet_per_section_with_the_planted_rows(org, march):
    from openpyxl import load_workbook

    export = bulletin_export.do_export_bulletin(org.users["dispatcher"], PERIOD, "xlsx")
    book = load_workbook(io.BytesIO(export.content))
    assert book.sheetnames == ["总体情况", "单位排名", "表扬", "超期未办结", "逾期答复", "不满意诉求", "督办约谈"]
    assert all(book[name].freeze_panes == "A2" for name in book.sheetnames)
    values = lambda name: [list(r) for r in book[name].iter_rows(min_row=2, values_only=True)]  # noqa: E731
    assert [r[1] for r in values("表扬")] == ["周口市市场监督管理局"]
    assert [(r[0], r[1], r[5]) for r in values("超期未办结")] == [(march.B3.number, 1, 8)]
    assert [r[0] for r in values("逾期答复")] == [march.B1.number]
    assert [r[0] for r in values("不满意诉求")] == [march.B2.number]
    assert sorted(r[3] for r in values("督办约谈")) == ["督办", "约谈/问责"]
    assert values("单位排名")[-1][0] == bulletin_export.UNRANKED
    assert book["总体情况"]["B2"].value == export.filename.removesuffix(".xlsx")


def _pdf_pages(content: bytes) -> int:
    """Count the page objects, inflating WeasyPrint's compressed object streams."""
    count = len(re.findall(rb"/Type\s*/Page\b", content))
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", content, re.S):
        try:
            count += len(re.findall(rb"/Type\s*/Page\b", zlib.decompress(raw)))
        except zlib.error:
            continue
    return count


def test_pdf_is_a_valid_document_and_the_export_is_audited(org, march):
    user = org.users["dispatcher"]
    export = bulletin_export.do_export_bulletin(user, PERIOD, "pdf")
    assert export.content.startswith(b"%PDF") and export.content_type == "application/pdf"
    assert _pdf_pages(export.content) >= 1
    assert export.filename == "周口市优化营商环境诉求办理情况通报(2026年3月).pdf"
    logged = AuditLog.objects.filter(action="export", object_type="appeals.bulletin", actor=user)
    assert logged.count() == 1 and logged.get().object_id == f"*:{PERIOD}"


def test_export_format_and_access_are_checked(org, march):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(ValidationFailed) as err:
        bulletin_export.do_export_bulletin(org.users["dispatcher"], PERIOD, "docx")
    assert "format" in err.value.fields
    for role in ("enterprise", "handler", "dept_leader"):
        with pytest.raises(PermissionDenied):
            bulletin_export.do_export_bulletin(org.users[role], PERIOD, "xlsx")
    assert not AuditLog.objects.filter(action="export").exists()


# ---------------------------------------------------------------- the API
def test_api_answers_json_xlsx_and_pdf(client, org, march):
    client.force_login(org.users["dispatcher"])
    url = f"/api/v1/appeal-bulletins/{PERIOD}"
    body = client.get(url).json()
    assert body["title"] == "周口市优化营商环境诉求办理情况通报(2026年3月)" and body["praised"] == ["SCJG"]
    assert [(c["appeal_id"], c["overdue_workdays"]) for c in body["open_overdue"]] == [(march.B3.pk, 8)]
    assert body["unsatisfied"][0]["rated_on"] == "2026-03-05"
    assert body["ranking"][1]["on_time"] == {"numerator": 1, "denominator": 3, "rate": 0.3333}
    assert not AuditLog.objects.filter(action="export").exists()  # JSON is a read, not a file export
    xlsx = client.get(url, {"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx["Content-Type"] == bulletin_export.XLSX_TYPE
    pdf = client.get(url, {"format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert AuditLog.objects.filter(action="export", object_type="appeals.bulletin").count() == 2


def test_api_refuses_bad_input_and_other_roles(client, org, march):
    client.force_login(org.users["dispatcher"])
    bad = client.get("/api/v1/appeal-bulletins/2026-13")
    assert bad.status_code == 400 and "period" in bad.json()["error"]["fields"]
    assert client.get(f"/api/v1/appeal-bulletins/{PERIOD}", {"format": "docx"}).status_code == 400
    for role in ("enterprise", "handler", "dept_leader"):
        client.force_login(org.users[role])
        assert client.get(f"/api/v1/appeal-bulletins/{PERIOD}").status_code == 403
