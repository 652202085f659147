"""The 12345 hotline: reports of replies, ratings, closures and referrals queued for its work orders only,
once per kind and round, delivered signed to a real HTTP server with back-off, given up after a while;
its orders come in idempotently through the API."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from tests.appeals.support_actions import closed, ensure_grades, payload, replied, submitted
from tests.appeals.test_api_appeals import as_user, post
from yingshang import jobs
from yingshang.appeals import actions, hotline
from yingshang.appeals.models import Appeal, AppealOutbound, OutboundStatus
from yingshang.core.models import Notification

pytestmark = pytest.mark.django_db
SECRET = "s3cret-12345"


def hotline_case(org, ref="GD2026112200017", **over):
    """A 12345 work order entered by the dispatcher (the integration account in the demo)."""
    ensure_grades()
    data = payload(org, channel="hotline_12345", external_ref=ref, **over)
    return actions.do_submit_appeal(org.users["dispatcher"], data)


def through_reply(org, appeal):
    d, h = org.users["dispatcher"], org.users["handler"]
    actions.do_grade(d, appeal, "normal")
    actions.do_dispatch(d, appeal, org.market.code)
    actions.do_sign(h, appeal)
    return actions.do_reply(h, appeal, "resolved", "已协调供电公司完成增容。")


# ---------------------------------------------------------------- a real webhook receiver
class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST and answers with ``status`` (or garbage)."""

    def __init__(self, status=200):
        self.status, self.requests = status, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((dict(self.headers), body))
                if outer.status == "garbage":
                    self.wfile.write(b"NOT HTTP AT ALL\r\n\r\n")
                    return
                self.send_response(outer.status)
                if outer.status == 302:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def do_GET(self):  # noqa: N802 — where a followed redirect would land: "success", report lost
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/12345/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook(settings):
    def configure(status=200):
        receiver = Receiver(status)
        settings.YINGSHANG_12345_WEBHOOK_URL, settings.YINGSHANG_12345_WEBHOOK_SECRET = receiver.url, SECRET
        return receiver
    return configure


def signature(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- queueing
def test_only_12345_cases_with_an_order_number_are_reported(org):
    replied(org, title="网上平台诉求")
    ensure_grades()
    no_ref = actions.do_submit_appeal(org.users["dispatcher"], payload(org, channel="hotline_12345", title="无工单号"))
    through_reply(org, no_ref)
    assert not AppealOutbound.objects.exists()
    appeal = through_reply(org, hotline_case(org))
    row = AppealOutbound.objects.get()
    assert (row.appeal_id, row.kind, row.round, row.status, row.attempts) == (appeal.pk, "reply", 1, "pending", 0)
    assert row.payload["order_no"] == "GD2026112200017" and row.payload["number"] == appeal.number
    assert row.payload["reply"] == "已协调供电公司完成增容。" and row.payload["department"] == org.market.name
    assert row.next_attempt_at is not None and row.next_attempt_at <= timezone.now()


def test_each_step_is_reported_once_per_round(org):
    appeal = through_reply(org, hotline_case(org))
    hotline.queue_update(appeal, "reply")  # a retried step
    actions.do_rate(org.users["enterprise"], appeal, False, "unsatisfied", "仍未通电")
    actions.do_reopen(org.users["enterprise"], appeal, "仍未通电")
    h = org.users["handler"]
    actions.do_sign(h, appeal)
    actions.do_reply(h, appeal, "resolved", "已通电。")
    rows = list(AppealOutbound.objects.order_by("id").values_list("kind", "round"))
    assert rows == [("reply", 1), ("rating", 1), ("reply", 2)]
    rating = AppealOutbound.objects.get(kind="rating")
    assert rating.payload["rating"] == {"resolved": False, "satisfaction": "unsatisfied", "comment": "仍未通电",
                                        "defaulted": False}


def test_closing_unrated_and_referring_out_are_reported(org):
    appeal = through_reply(org, hotline_case(org))
    actions.do_close(org.users["dispatcher"], appeal, "企业未评价")
    referred = hotline_case(org, ref="GD-2", title="非政府职能")
    actions.do_refer(org.users["dispatcher"], referred, "属于民事纠纷,已告知通过司法途径解决")
    kinds = dict(AppealOutbound.objects.values_list("appeal_id", "kind").filter(kind__in=["close", "refer"]))
    assert kinds == {appeal.pk: "close", referred.pk: "refer"}
    assert AppealOutbound.objects.get(kind="close").payload["rating"]["defaulted"] is True
    assert AppealOutbound.objects.get(kind="refer").payload["referral_reason"].startswith("属于民事纠纷")


# ---------------------------------------------------------------- delivery
def test_reports_reach_the_12345_server_signed(org, webhook):
    appeal = through_reply(org, hotline_case(org))
    with webhook() as server:
        assert jobs.run_now("appeals.deliver_12345") == 1
    (headers, body), = server.requests
    assert headers["X-Yingshang-Signature"] == signature(body)
    assert headers["Content-Type"].startswith("application/json")
    sent = json.loads(body)
    assert sent["order_no"] == "GD2026112200017" and sent["kind"] == "reply" and sent["number"] == appeal.number
    row = AppealOutbound.objects.get()
    assert sent["key"] == str(row.pk)
    assert row.status == OutboundStatus.SENT and row.sent_at is not None and row.attempts == 1
    assert row.next_attempt_at is None and row.last_error == ""
    with webhook() as again:
        assert hotline.deliver_due() == 0
    assert again.requests == []


def test_a_failing_server_is_retried_with_growing_waits(org, webhook, monkeypatch):
    through_reply(org, hotline_case(org))
    start = timezone.now()
    with webhook(status=500) as server:
        assert hotline.deliver_due() == 0
        row = AppealOutbound.objects.get()
        assert (row.status, row.attempts) == (OutboundStatus.PENDING, 1) and "500" in row.last_error
        assert row.next_attempt_at - start >= dt.timedelta(minutes=1)
        assert row.next_attempt_at - timezone.now() <= dt.timedelta(minutes=1)
        assert hotline.deliver_due() == 0 and len(server.requests) == 1  # not due yet
        later = timezone.now() + dt.timedelta(minutes=2)
        monkeypatch.setattr(timezone, "now", lambda: later)
        hotline.deliver_due()
        row.refresh_from_db()
        assert row.attempts == 2 and row.next_attempt_at == later + dt.timedelta(minutes=5)
    assert len(server.requests) == 2


def test_a_server_answering_garbage_counts_as_a_failed_attempt(org, webhook):
    through_reply(org, hotline_case(org))
    with webhook(status="garbage"):
        assert hotline.deliver_due() == 0
    row = AppealOutbound.objects.get()
    assert row.status == OutboundStatus.PENDING and row.attempts == 1 and row.last_error


def test_a_redirect_is_not_taken_for_a_delivery(org, webhook):
    through_reply(org, hotline_case(org))
    with webhook(status=302) as server:
        assert hotline.deliver_due() == 0
    row = AppealOutbound.objects.get()
    assert len(server.requests) == 1 and row.status == OutboundStatus.PENDING and "302" in row.last_error


def test_an_unreachable_server_counts_as_a_failed_attempt(org, settings):
    through_reply(org, hotline_case(org))
    settings.YINGSHANG_12345_WEBHOOK_URL, settings.YINGSHANG_12345_WEBHOOK_SECRET = "http://127.0.0.1:9/x", SECRET
    assert hotline.deliver_due() == 0
    assert AppealOutbound.objects.get().attempts == 1


def test_delivery_gives_up_after_the_last_attempt_and_tells_the_dispatchers(org, webhook):
    appeal = through_reply(org, hotline_case(org))
    AppealOutbound.objects.update(attempts=hotline.MAX_ATTEMPTS - 1)
    with webhook(status=503) as server:
        hotline.deliver_due()
        row = AppealOutbound.objects.get()
        assert (row.status, row.attempts, row.next_attempt_at) == (OutboundStatus.FAILED, hotline.MAX_ATTEMPTS, None)
        hotline.deliver_due()  # a failed report is not tried again
    assert len(server.requests) == 1
    told = Notification.objects.filter(key__startswith=f"appeal:{appeal.pk}:12345-failed:")
    assert set(told.values_list("user__username", flat=True)) == {"t_dispatcher"}
    assert "GD2026112200017" in told.first().body and "12345" in told.first().title


def test_nothing_is_sent_while_the_webhook_is_not_configured(org, settings):
    through_reply(org, hotline_case(org))
    with Receiver() as server:
        settings.YINGSHANG_12345_WEBHOOK_URL, settings.YINGSHANG_12345_WEBHOOK_SECRET = "", SECRET
        assert hotline.deliver_due() == 0
        settings.YINGSHANG_12345_WEBHOOK_URL, settings.YINGSHANG_12345_WEBHOOK_SECRET = server.url, ""
        assert hotline.deliver_due() == 0  # unsigned reports would be worthless to the receiver
    assert server.requests == []
    row = AppealOutbound.objects.get()
    assert (row.status, row.attempts) == (OutboundStatus.PENDING, 0)


def test_a_claimed_report_is_not_claimed_again_within_its_lease(org):
    through_reply(org, hotline_case(org))
    now = timezone.now()
    assert len(hotline._claim(now, 10)) == 1
    assert hotline._claim(now, 10) == []
    assert len(hotline._claim(now + hotline.LEASE + dt.timedelta(seconds=1), 10)) == 1


def test_a_slow_batch_releases_the_reports_it_could_not_try_in_its_lease(org, webhook, monkeypatch):
    for i in range(3):
        through_reply(org, hotline_case(org, ref=f"GD-{i}", title=f"第{i}件"))
    clock = [timezone.now()]
    monkeypatch.setattr(timezone, "now", lambda: clock[0])
    real_post = hotline._post

    def slow_post(*args):  # each delivery takes 100 seconds
        real_post(*args)
        clock[0] += dt.timedelta(seconds=100)

    monkeypatch.setattr(hotline, "_post", slow_post)
    with webhook() as server:
        assert hotline.deliver_due() == 1  # the lease would run out during the next attempt: stop
    assert len(server.requests) == 1
    rest = AppealOutbound.objects.filter(status=OutboundStatus.PENDING)
    assert rest.count() == 2 and all(r.attempts == 0 and r.next_attempt_at <= clock[0] for r in rest)


# ---------------------------------------------------------------- incoming work orders
def test_a_12345_order_posted_twice_by_the_same_api_user_creates_one_case(api_client, org):
    ensure_grades()
    as_user(api_client, org.users["dispatcher"])
    body = payload(org, channel="hotline_12345", external_ref="GD2026112200099", enterprise_uscc="",
                   region_code=org.chuanhui.code)
    first = post(api_client, "/appeals", body)
    again = post(api_client, "/appeals", body)
    assert first.status_code == 201 and again.status_code == 200, again.content
    assert first.json()["id"] == again.json()["id"] and again.json()["was_created"] is False
    assert Appeal.objects.filter(external_ref="GD2026112200099").count() == 1


def test_the_same_order_number_from_another_account_is_refused(api_client, org):
    ensure_grades()
    body = payload(org, channel="hotline_12345", external_ref="GD-77", enterprise_uscc="", region_code="411602")
    assert post(as_user(api_client, org.users["dispatcher"]), "/appeals", body).status_code == 201
    other = post(as_user(api_client, org.users["admin"]), "/appeals", body)
    assert other.status_code == 409
    assert Appeal.objects.filter(external_ref="GD-77").count() == 1


def test_portal_cases_of_enterprises_are_never_reported(org):
    appeal = closed(org)
    assert not hotline.reports_back(appeal) and not AppealOutbound.objects.exists()
    assert submitted(org, title="另一件").channel == "portal"
