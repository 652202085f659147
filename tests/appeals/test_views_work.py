"""Staff work pages of 诉求闭环 through the test client: the role router, the pool (scope, filters, order,
bulk dispatch), 月月清零, the department queue, escalations, 我的诉求, 回头看 and access per role.

Cases are built with the real actions; "late" cases get their dispatch moved back and their clock
recomputed (the deadline arithmetic itself is tested in test_deadlines)."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.appeals.support_actions import ensure_grades, payload
from yingshang.appeals import actions, deadlines, escalation
from yingshang.appeals.actions_followup import sample_reviews
from yingshang.appeals.models import Appeal, AppealEscalation, Status

pytestmark = pytest.mark.django_db
_titles = itertools.count(1)


# ---------------------------------------------------------------- helpers
def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def text(resp) -> str:
    return resp.content.decode()


def ids(resp) -> list[int]:
    return [a.pk for a in resp.context["result"]["items"]]


def submit(org, user="enterprise", **over) -> Appeal:
    over.setdefault("title", f"诉求事项{next(_titles)}")
    return actions.do_submit_appeal(org.users[user], payload(org, **over))


def graded(org, grade="normal", **over) -> Appeal:
    ensure_grades()
    return actions.do_grade(org.users["dispatcher"], submit(org, **over), grade)


def dispatched(org, grade="normal", department=None, co=None, **over) -> Appeal:
    appeal = graded(org, grade, **over)
    return actions.do_dispatch(org.users["dispatcher"], appeal, (department or org.market).code, co or [])


def make_late(appeal: Appeal, days: int = 30) -> Appeal:
    """Move the dispatch ``days`` back and recompute the clock: the case is past its deadline now."""
    appeal = Appeal.objects.get(pk=appeal.pk)
    appeal.dispatched_at -= dt.timedelta(days=days)
    deadlines.recompute(appeal)
    appeal.save()
    return appeal


def make_due_soon(appeal: Appeal) -> Appeal:
    Appeal.objects.filter(pk=appeal.pk).update(due_at=timezone.now() + dt.timedelta(hours=2))
    return Appeal.objects.get(pk=appeal.pk)


def fugou_case(org, **over) -> Appeal:
    """A case in 扶沟县 raised by the city dispatcher from a 12345 work order (no enterprise)."""
    return submit(org, user="dispatcher", region_code=org.fugou.code, enterprise_uscc="", channel="hotline_12345",
                  **over)


# ---------------------------------------------------------------- the role router
@pytest.mark.parametrize("role, target", [
    ("dispatcher", "/appeals/pool/"), ("admin", "/appeals/pool/"), ("leader", "/appeals/pool/"),
    ("evaluator", "/appeals/pool/"), ("handler", "/appeals/queue/"), ("dept_leader", "/appeals/escalations/"),
    ("supervisor", "/appeals/mine/"), ("steward", "/appeals/mine/"), ("enterprise", "/appeals/mine/"),
    ("policy_officer", "/appeals/board/")])
def test_home_sends_each_role_to_its_page(org, role, target):
    resp = client_for(org.users[role]).get("/appeals/")
    assert resp.status_code == 302 and resp["Location"] == target


def test_home_sends_the_public_to_the_board(org):
    resp = Client().get("/appeals/")
    assert resp.status_code == 302 and resp["Location"] == "/appeals/board/"


# ---------------------------------------------------------------- access
@pytest.mark.parametrize("url, role", [
    ("/appeals/pool/", "handler"), ("/appeals/pool/", "enterprise"), ("/appeals/pool/", "supervisor"),
    ("/appeals/pool/", "steward"), ("/appeals/pool/", "dept_leader"), ("/appeals/monthly/", "handler"),
    ("/appeals/monthly/", "enterprise"), ("/appeals/queue/", "dispatcher"), ("/appeals/queue/", "enterprise"),
    ("/appeals/escalations/", "handler"), ("/appeals/escalations/", "enterprise"), ("/appeals/mine/", "dispatcher"),
    ("/appeals/mine/", "handler"), ("/appeals/reviews/", "handler"), ("/appeals/reviews/", "leader")])
def test_wrong_roles_get_403(org, url, role):
    resp = client_for(org.users[role]).get(url)
    assert resp.status_code == 403 and "无权访问" in text(resp)


@pytest.mark.parametrize("url", ["/appeals/pool/", "/appeals/queue/", "/appeals/mine/", "/appeals/reviews/"])
def test_anonymous_is_sent_to_login(org, url):
    resp = Client().get(url)
    assert resp.status_code == 302 and resp["Location"].startswith("/login/")


def test_handler_without_a_department_gets_403_on_the_queue(org):
    from tests.factories import UserFactory

    loose = UserFactory(username="t_loose_handler", role="handler")
    assert client_for(loose).get("/appeals/queue/").status_code == 403


# ---------------------------------------------------------------- the pool: scope
def test_pool_shows_only_cases_in_the_users_region_scope(org):
    mine, theirs = submit(org), fugou_case(org)
    city = client_for(org.users["dispatcher"]).get("/appeals/pool/")
    county = client_for(org.county_dispatcher).get("/appeals/pool/")
    assert set(ids(city)) == {mine.pk, theirs.pk}
    assert ids(county) == [theirs.pk]
    assert mine.number not in text(county) and theirs.number in text(county)
    # the county dispatcher's region filter offers its own county only
    assert [r.code for r in county.context["counties"]] == [org.fugou.code]


def test_leader_sees_the_pool_read_only(org):
    ensure_grades()
    submit(org)
    resp = client_for(org.users["leader"]).get("/appeals/pool/")
    assert resp.status_code == 200 and resp.context["result"]["total"] == 1
    assert 'id="bulk"' not in text(resp) and 'name="ids"' not in text(resp)
    dispatcher_page = client_for(org.users["dispatcher"]).get("/appeals/pool/")
    assert 'id="bulk"' in text(dispatcher_page) and 'name="ids"' in text(dispatcher_page)


# ---------------------------------------------------------------- the pool: filters and order
@pytest.fixture
def pool_cases(org):
    ensure_grades()
    c = {"new": submit(org), "urgent": dispatched(org, "urgent"),
         "fugou": dispatched(org, "complaint", department=org.fugou_dept, region_code=org.fugou.code),
         "late": make_late(dispatched(org, "normal", title="厂区道路积水久拖未办")),
         "soon": make_due_soon(dispatched(org, "complex")), "hotline": fugou_case(org)}
    actions.do_sign(org.users["handler"], c["urgent"])
    return c


@pytest.mark.parametrize("query, expected", [
    ("status=submitted", {"new", "hotline"}), ("status=signed", {"urgent"}),
    ("status=open", {"new", "urgent", "fugou", "late", "soon", "hotline"}),
    ("grade=urgent", {"urgent"}), ("grade=complaint", {"fugou"}), ("overdue=1", {"late"}),
    ("overdue=0", {"new", "urgent", "fugou", "soon", "hotline"}),
    ("due_soon=1", {"soon", "urgent"}),  # urgent = 1 working day: always due by the end of the next one
    ("channel=hotline_12345", {"hotline"}), ("region=411621", {"fugou", "hotline"}),
    ("department=FG-SCJG", {"fugou"}), ("department=SCJG&grade=complex", {"soon"}),
    ("q=积水", {"late"})])
def test_each_pool_filter_narrows_the_list(org, pool_cases, query, expected):
    resp = client_for(org.users["dispatcher"]).get(f"/appeals/pool/?{query}")
    assert resp.status_code == 200
    assert set(ids(resp)) == {pool_cases[k].pk for k in expected}
    assert f"共 {len(expected)} 件" in text(resp)


def test_pool_keyword_matches_the_number(org, pool_cases):
    number = pool_cases["urgent"].number
    resp = client_for(org.users["dispatcher"]).get("/appeals/pool/", {"q": number})
    assert ids(resp) == [pool_cases["urgent"].pk]


def test_pool_sorts_by_deadline_with_undated_last_or_by_newest(org, pool_cases):
    c = client_for(org.users["dispatcher"])
    by_due = ids(c.get("/appeals/pool/"))
    dated = sorted((a for a in pool_cases.values() if a.due_at), key=lambda a: Appeal.objects.get(pk=a.pk).due_at)
    assert by_due[:4] == [a.pk for a in dated] and by_due[0] == pool_cases["late"].pk
    assert set(by_due[4:]) == {pool_cases["new"].pk, pool_cases["hotline"].pk}
    newest = ids(c.get("/appeals/pool/?order=new"))
    assert newest == list(Appeal.objects.order_by("-created_at", "-id").values_list("pk", flat=True))


def test_pool_rows_show_countdown_overdue_and_due_soon(org, pool_cases):
    html = text(client_for(org.users["dispatcher"]).get("/appeals/pool/"))
    assert "逾期" in html and "badge-bad" in html and "badge-warn" in html
    assert "未定级" in html and "12345热线" in html
    resp = client_for(org.users["dispatcher"]).get("/appeals/pool/?overdue=1")
    row = resp.context["result"]["items"][0]
    assert row.late and row.remaining is not None and row.remaining < 0 and row.countdown.startswith("逾期")


def test_pool_page_queries_do_not_grow_with_the_rows(org, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ensure_grades()
    c = client_for(org.users["dispatcher"])
    dispatched(org)
    with CaptureQueriesContext(connection) as few:
        c.get("/appeals/pool/")
    for _ in range(6):
        dispatched(org)
    with django_assert_max_num_queries(len(few.captured_queries)):
        c.get("/appeals/pool/")


def test_pool_bad_filters_are_reported_and_ignored(org, pool_cases):
    resp = client_for(org.users["dispatcher"]).get("/appeals/pool/?status=lost&grade=nope&page=abc&region=999999")
    assert resp.status_code == 200 and resp.context["result"]["total"] == len(pool_cases)
    html = text(resp)
    for label in ("状态", "等级", "页码", "县区"):
        assert f"筛选条件「{label}」" in html


def test_pool_pagination_keeps_the_filters(org):
    ensure_grades()
    for _ in range(52):
        fugou_case(org)
    submit(org)
    c = client_for(org.users["dispatcher"])
    first = c.get("/appeals/pool/?region=411621&order=new")
    assert first.context["result"]["pages"] == 2 and "region=411621" in first.context["query"]
    assert "page=2" in text(first) and "order=new" in text(first)
    second = c.get("/appeals/pool/?region=411621&order=new&page=2")
    assert len(ids(second)) == 2 and set(ids(first)).isdisjoint(ids(second))
    assert c.get("/appeals/pool/?region=411621&page=9").context["result"]["page"] == 2  # past the end


def test_pool_htmx_request_gets_the_list_only(org, pool_cases):
    resp = client_for(org.users["dispatcher"]).get("/appeals/pool/?grade=urgent", HTTP_HX_REQUEST="true",
                                                   HTTP_HX_TARGET="pool-list")
    html = text(resp)
    assert "<html" not in html and 'id="pool-table"' in html and pool_cases["urgent"].number in html


# ---------------------------------------------------------------- bulk dispatch
def test_bulk_dispatch_dispatches_the_graded_and_reports_the_illegal_ones(org, monkeypatch):
    ensure_grades()
    ok, ungraded, done = graded(org), submit(org), dispatched(org)
    calls = []
    real = actions.do_dispatch_many
    monkeypatch.setattr(actions, "do_dispatch_many", lambda *a, **k: calls.append(a) or real(*a, **k))
    resp = client_for(org.users["dispatcher"]).post("/appeals/pool/bulk-dispatch/", {
        "ids": [ok.pk, ungraded.pk, done.pk], "department": org.market.code, "co_departments": [org.fugou_dept.code],
        "next": "/appeals/pool/?status=open"}, follow=True)
    assert len(calls) == 1
    assert resp.redirect_chain[-1][0] == "/appeals/pool/?status=open"
    html = text(resp)
    assert "已交办 1 件" in html and "未能交办 2 件" in html
    assert f"{ungraded.number}:" in html and f"{done.number}:" in html
    assert Appeal.objects.get(pk=ok.pk).status == Status.DISPATCHED
    assert Appeal.objects.get(pk=ok.pk).tasks.filter(role="co", department=org.fugou_dept).exists()
    assert Appeal.objects.get(pk=ungraded.pk).status == Status.SUBMITTED


def test_bulk_dispatch_grades_the_ungraded_with_the_chosen_grade(org):
    ensure_grades()
    a, b = submit(org), submit(org)
    resp = client_for(org.users["dispatcher"]).post("/appeals/pool/bulk-dispatch/", {
        "ids": [a.pk, b.pk], "department": org.market.code, "grade": "urgent"}, follow=True)
    assert "已交办 2 件" in text(resp) and "未能交办" not in text(resp)
    assert set(Appeal.objects.values_list("status", "grade__code")) == {(Status.DISPATCHED, "urgent")}


@pytest.mark.parametrize("data, message", [
    ({"department": "SCJG"}, "所选诉求:请先勾选"), ({"ids": ["1"], "department": ""}, "主办单位:请选择"),
    ({"ids": ["x"], "department": "SCJG"}, "所选诉求:编号无效"), ({"ids": ["1"], "department": "NOPE"}, "不存在")])
def test_bulk_dispatch_bad_input_is_a_message_and_writes_nothing(org, data, message):
    ensure_grades()
    a = graded(org)
    data = {**data, "ids": [str(a.pk) if i == "1" else i for i in data.get("ids", [])]}
    resp = client_for(org.users["dispatcher"]).post("/appeals/pool/bulk-dispatch/", data, follow=True)
    assert resp.status_code == 200 and message in text(resp)
    assert Appeal.objects.get(pk=a.pk).status == Status.GRADED


def test_bulk_dispatch_is_forbidden_to_read_only_roles(org):
    ensure_grades()
    a = graded(org)
    resp = client_for(org.users["leader"]).post("/appeals/pool/bulk-dispatch/", {"ids": [a.pk], "department": "SCJG"})
    assert resp.status_code == 403 and Appeal.objects.get(pk=a.pk).status == Status.GRADED
    assert client_for(org.users["dispatcher"]).get("/appeals/pool/bulk-dispatch/").status_code == 405


def test_county_dispatcher_cannot_bulk_dispatch_a_city_case(org):
    ensure_grades()
    city_case, own = graded(org), graded(org, region_code=org.fugou.code)
    resp = client_for(org.county_dispatcher).post("/appeals/pool/bulk-dispatch/", {
        "ids": [city_case.pk, own.pk], "department": org.fugou_dept.code}, follow=True)
    html = text(resp)
    assert "已交办 1 件" in html and "未能交办 1 件" in html and "不在您的管辖区划内" in html
    assert city_case.number not in html  # a case out of scope is named by its id only
    assert Appeal.objects.get(pk=city_case.pk).status == Status.GRADED


# ---------------------------------------------------------------- 月月清零
def _move_to_last_month(appeal: Appeal) -> None:
    first = timezone.localdate().replace(day=1)
    Appeal.objects.filter(pk=appeal.pk).update(
        created_at=timezone.make_aware(dt.datetime.combine(first - dt.timedelta(days=3), dt.time(10))))


def test_monthly_counts_open_cases_per_department(org):
    ensure_grades()
    submit(org), graded(org)
    dispatched(org), dispatched(org)
    dispatched(org, department=org.fugou_dept)
    finished = dispatched(org)
    actions.do_refer(org.users["dispatcher"], actions.do_return(org.users["handler"], finished, "非本单位职责"),
                     "非政府职能")
    old = dispatched(org)
    _move_to_last_month(old)
    resp = client_for(org.users["dispatcher"]).get("/appeals/monthly/")
    counts = {c["code"]: c["n"] for c in resp.context["counts"]}
    assert counts == {"none": 2, org.market.code: 2, org.fugou_dept.code: 1}
    assert resp.context["open_total"] == 5 and resp.context["opened_total"] == 6
    assert resp.context["leftover"] == 1
    assert resp.context["result"]["total"] == 5 and "未交办" in text(resp)
    only_fugou = client_for(org.users["dispatcher"]).get(f"/appeals/monthly/?department={org.fugou_dept.code}")
    assert only_fugou.context["result"]["total"] == 1
    undispatched = client_for(org.users["dispatcher"]).get("/appeals/monthly/?department=none")
    assert {a.status for a in undispatched.context["result"]["items"]} == {Status.SUBMITTED, Status.GRADED}


def test_monthly_month_picker_and_bad_month(org):
    ensure_grades()
    old = dispatched(org)
    _move_to_last_month(old)
    last = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    c = client_for(org.users["dispatcher"])
    resp = c.get(f"/appeals/monthly/?month={last}")
    assert resp.context["month"] == last and ids(resp) == [old.pk]
    bad = c.get("/appeals/monthly/?month=2025-13")
    assert bad.status_code == 200 and "筛选条件「月份」" in text(bad)
    assert bad.context["month"] == timezone.localdate().strftime("%Y-%m")


def test_monthly_is_scoped(org):
    ensure_grades()
    dispatched(org)
    fugou_case(org)
    resp = client_for(org.county_dispatcher).get("/appeals/monthly/")
    assert resp.context["open_total"] == 1 and resp.context["counts"][0]["code"] == "none"


# ---------------------------------------------------------------- the department queue
def test_handler_queue_puts_overdue_first_then_sorts_by_deadline(org):
    ensure_grades()
    complex_, urgent, normal = dispatched(org, "complex"), dispatched(org, "urgent"), dispatched(org, "normal")
    late = make_late(dispatched(org, "complaint"), days=60)
    other = dispatched(org, department=org.fugou_dept)
    returned = actions.do_return(org.users["handler"], dispatched(org), "非本单位职责")
    resp = client_for(org.users["handler"]).get("/appeals/queue/")
    assert ids(resp) == [late.pk, urgent.pk, normal.pk, complex_.pk]
    assert other.pk not in ids(resp) and returned.pk not in ids(resp)
    assert resp.context["overdue_total"] == 1 and resp.context["open_total"] == 4
    assert ids(client_for(org.users["handler"]).get("/appeals/queue/?overdue=1")) == [late.pk]
    assert ids(client_for(org.users["dept_leader"]).get("/appeals/queue/?status=dispatched&overdue=0")) == [
        urgent.pk, normal.pk, complex_.pk]


def test_queue_lists_the_departments_open_co_tasks(org):
    ensure_grades()
    co = dispatched(org, department=org.fugou_dept, co=[org.market.code])
    answered = dispatched(org, department=org.fugou_dept, co=[org.market.code])
    actions.do_reply_task(org.users["handler"], answered, "已提供企业用电数据")
    resp = client_for(org.users["handler"]).get("/appeals/queue/")
    assert [t.appeal_id for t in resp.context["tasks"]] == [co.pk]
    assert co.number in text(resp) and "待签收" in text(resp)
    assert ids(resp) == []  # co-handled cases are not in the lead queue


# ---------------------------------------------------------------- escalations
@pytest.fixture
def escalated(org):
    ensure_grades()
    late = make_late(dispatched(org), days=40)
    escalation.sweep(timezone.now())
    return Appeal.objects.get(pk=late.pk)


def test_dept_leader_sees_escalations_of_the_department_from_level_2(org, escalated):
    assert escalated.escalation_level == 4
    resp = client_for(org.users["dept_leader"]).get("/appeals/escalations/")
    levels = sorted(e.level for e in resp.context["result"]["items"])
    assert levels == [2, 3, 4] and "仍未办结" in text(resp)
    assert dict((v, n) for v, _, n in resp.context["levels"]) == {"2": 1, "3": 1, "4": 1}
    tab = client_for(org.users["dept_leader"]).get("/appeals/escalations/?tab=accountability")
    assert [e.level for e in tab.context["result"]["items"]] == [4] and "约谈/问责名单" in text(tab)


def test_escalations_are_scoped_and_filterable_for_region_roles(org, escalated):
    assert AppealEscalation.objects.count() == 4
    city = client_for(org.users["dispatcher"])
    assert city.get("/appeals/escalations/").context["result"]["total"] == 3
    assert [e.level for e in city.get("/appeals/escalations/?level=3").context["result"]["items"]] == [3]
    assert city.get(f"/appeals/escalations/?department={org.fugou_dept.code}").context["result"]["total"] == 0
    assert client_for(org.county_dispatcher).get("/appeals/escalations/").context["result"]["total"] == 0
    other_leader = client_for(org.users["leader"]).get("/appeals/escalations/?tab=accountability")
    assert other_leader.context["result"]["total"] == 1


# ---------------------------------------------------------------- 我的诉求
def test_mine_shows_the_enterprises_cases_and_the_rating_awaited(org):
    ensure_grades()
    case = dispatched(org)
    actions.do_sign(org.users["handler"], case)
    actions.do_reply(org.users["handler"], case, "resolved", "已协调解决")
    raised = submit(org, user="supervisor", channel="supervisor")
    fugou_case(org)
    ent = client_for(org.users["enterprise"]).get("/appeals/mine/")
    assert set(ids(ent)) == {case.pk, raised.pk}  # the supervisor raised it for this enterprise
    assert f'href="/appeals/{case.pk}/">待评价' in text(ent) and ent.context["awaiting"] == 1
    sup = client_for(org.users["supervisor"]).get("/appeals/mine/")
    assert ids(sup) == [raised.pk]
    assert client_for(org.users["steward"]).get("/appeals/mine/").context["result"]["total"] == 0
    replied = client_for(org.users["enterprise"]).get("/appeals/mine/?status=replied")
    assert ids(replied) == [case.pk] and "已解决" in text(replied)


def test_steward_sees_rating_awaited_without_a_rate_button(org):
    ensure_grades()
    case = submit(org, user="steward", channel="steward")
    case = actions.do_dispatch(org.users["dispatcher"], actions.do_grade(org.users["dispatcher"], case, "normal"),
                               org.market.code)
    actions.do_sign(org.users["handler"], case)
    actions.do_reply(org.users["handler"], case, "explained", "已解释说明")
    html = text(client_for(org.users["steward"]).get("/appeals/mine/"))
    assert "待企业评价" in html and f'href="/appeals/{case.pk}/">待评价' not in html


# ---------------------------------------------------------------- 回头看
def test_reviews_list_pending_samples_and_checked_ones(org):
    ensure_grades()
    case = dispatched(org)
    actions.do_sign(org.users["handler"], case)
    actions.do_reply(org.users["handler"], case, "resolved", "已解决")
    actions.do_rate(org.users["enterprise"], case, False, "unsatisfied", "没有解决")  # always sampled
    closed_at = timezone.now() - dt.timedelta(days=settings.YINGSHANG_APPEAL_REVIEW_AFTER_DAYS + 1)
    Appeal.objects.filter(pk=case.pk).update(closed_at=closed_at)
    assert sample_reviews() == 1
    c = client_for(org.users["dispatcher"])
    resp = c.get("/appeals/reviews/")
    assert [r.appeal_id for r in resp.context["result"]["items"]] == [case.pk] and resp.context["checked"] == []
    assert f'href="/appeals/{case.pk}/"' in text(resp)
    assert client_for(org.county_dispatcher).get("/appeals/reviews/").context["result"]["total"] == 0
    actions.do_review(org.users["dispatcher"], case, True, "企业确认已解决")
    after = c.get("/appeals/reviews/")
    assert after.context["result"]["total"] == 0 and [r.appeal_id for r in after.context["checked"]] == [case.pk]
    assert "通过" in text(after)


def test_the_pool_opens_on_unfinished_cases_and_all_is_one_choice_away(org):
    from tests.appeals.support_actions import closed

    done, waiting = closed(org), submit(org)
    d = client_for(org.users["dispatcher"])
    assert ids(d.get("/appeals/pool/")) == [waiting.pk]
    assert set(ids(d.get("/appeals/pool/", {"status": ""}))) == {done.pk, waiting.pk}
