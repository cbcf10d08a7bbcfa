"""E-mail and group robots through real servers on loopback, and the outbox's discipline in-process:
retries with backoff, failures that show, at-most-once after a crash, delivery reports that must
carry their token.

The story, on Friday 2023-07-07 at 23:50: 督办 周 supervises an order 杨楼镇 holds; the town's
mailbox (a real SMTP server, aiosmtpd), its 企业微信 group robot and its 钉钉 robot (signed) get
the notice. A robot that refuses is retried, then given up on, visibly; 周 retries it by hand.
"""

import base64
import datetime as dt
import hashlib
import hmac
import http.server
import json
import logging
import threading
import urllib.parse

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.db import connection
from django.urls import reverse

from hotline.notify import delivery, reports
from hotline.notify.channels import dlr_token
from hotline.notify.models import Delivery, Kind, UnitContact
from hotline.workorders import actions
from tests.conftest import at
from tests.gateways import free_port, serve

NOW = at(2023, 7, 7, 23, 50)
DING_SECRET = "SEC-test-secret"


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture(scope="module")
def smtp():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


class Robots:
    """Both robots' webhooks: every POST is kept; ``answer`` is what they reply."""

    def __init__(self):
        self.posts = []
        self.answer = {"errcode": 0, "errmsg": "ok"}
        robots = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                robots.posts.append((self.path, json.loads(body)))
                payload = json.dumps(robots.answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = serve(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture(scope="module")
def robots():
    return Robots()


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def yanglou(unit, smtp, robots, settings):
    controller, _ = smtp
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.HOTLINE_NOTIFY = {**settings.HOTLINE_NOTIFY, "EMAIL_ENABLED": True}
    town = unit("杨楼镇")
    UnitContact.objects.create(unit=town, email="ylz@example.gov.cn",
                               wecom_webhook=f"{robots.url}/cgi-bin/webhook/send?key=wecom-key",
                               dingtalk_webhook=f"{robots.url}/robot/send?access_token=ding-token",
                               dingtalk_secret=DING_SECRET)
    robots.posts.clear()
    robots.answer = {"errcode": 0, "errmsg": "ok"}
    smtp[1].messages.clear()
    return town


@pytest.fixture
def supervised(clock, new_order, people, yanglou):
    order = new_order(at=None)
    actions.submit_for_dispatch(order, acting_user=people["operator_li"])
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=yanglou)
    actions.supervise(order, acting_user=people["supervisor_zhou"], notice="请两日内落实")
    return order


def test_email_and_both_robots_carry_the_supervision(supervised, smtp, robots):
    assert delivery.run() == {"sent": 6}  # dispatch and 督办, each by e-mail, 企业微信 and 钉钉

    mails = [m for m in smtp[1].messages if b"ylz@example.gov.cn" in m.original_content]
    assert len(mails) == 2
    text = mails[-1].original_content.decode()
    assert "=?utf-8?" in text.lower() or "督办" in text  # the subject is encoded UTF-8
    assert {tuple(m.rcpt_tos) for m in mails} == {("ylz@example.gov.cn",)}
    wecom = [body for path, body in robots.posts if path.startswith("/cgi-bin/webhook/send?key=wecom-key")]
    assert len(wecom) == 2 and wecom[-1]["msgtype"] == "text" and supervised.number in wecom[-1]["text"]["content"]
    assert "督办" in wecom[-1]["text"]["content"]
    ding = [(path, body) for path, body in robots.posts if path.startswith("/robot/send")]
    assert len(ding) == 2
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(ding[-1][0]).query)
    assert query["access_token"] == ["ding-token"]
    expected = base64.b64encode(hmac.new(DING_SECRET.encode(), f"{query['timestamp'][0]}\n{DING_SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert query["sign"] == [expected]
    sent = Delivery.objects.get(channel="email", kind=Kind.SUPERVISION)
    assert sent.status == "sent" and sent.attempts == 1 and f".delivery-{sent.pk}@" in sent.gateway_id
    assert any(sent.gateway_id.encode() in m.original_content for m in mails)  # the server got that Message-ID
    assert delivery.run() == {}  # nothing twice


def test_a_refusing_robot_is_retried_with_backoff_then_fails_visibly(supervised, robots, clock, caplog, client,
                                                                    people):
    caplog.set_level(logging.INFO)
    robots.answer = {"errcode": 310000, "errmsg": "sign not match"}
    Delivery.objects.exclude(channel="wecom", kind=Kind.SUPERVISION).delete()
    row = Delivery.objects.get()

    for attempt, wait in ((1, 30), (2, 60), (3, 120), (4, 240)):
        assert delivery.run() == {"pending": 1}
        row.refresh_from_db()
        assert (row.status, row.attempts) == ("pending", attempt) and "310000" in row.last_error
        assert row.next_attempt_at == NOW + dt.timedelta(seconds=wait) if attempt == 1 else True
        assert delivery.run() == {}  # not due yet
        clock.move_to(row.next_attempt_at)
    assert delivery.run() == {"failed": 1}
    row.refresh_from_db()
    assert row.status == "failed" and row.attempts == 5 and row.next_attempt_at is None
    assert "ylz" not in caplog.text and "wecom-key" not in caplog.text

    client.force_login(people["handler_zhao"])
    assert client.get(reverse("notify:failures")).status_code == 403
    assert client.post(reverse("notify:retry", args=[row.pk])).status_code == 403
    client.force_login(people["supervisor_zhou"])
    page = client.get(reverse("notify:failures")).content.decode()
    assert supervised.number in page and "310000" in page and "wecom-key" not in page
    robots.answer = {"errcode": 0, "errmsg": "ok"}
    assert client.post(reverse("notify:retry", args=[row.pk])).status_code == 302
    assert delivery.run() == {"sent": 1}


def test_a_message_left_sending_by_a_dead_worker_is_not_sent_again_blindly(supervised, robots, clock):
    row = Delivery.objects.filter(channel="email").first()
    Delivery.objects.filter(pk=row.pk).update(status="sending", claim_token="dead", attempts=1,
                                              lease_until=NOW - dt.timedelta(seconds=1))
    delivery.recover_stale()
    row.refresh_from_db()
    assert row.status == "failed" and "无法确认" in row.last_error


def test_delivery_reports_need_their_token_and_never_undo_delivered(clock, new_order, settings, client):
    settings.HOTLINE_NOTIFY = {**settings.HOTLINE_NOTIFY, "KANNEL_SENDSMS_URL": "http://127.0.0.1:9/"}
    order = new_order(at=None)
    row = Delivery.objects.get(order=order)
    url = reverse("notify:dlr")

    forged = client.get(url, {"delivery": row.pk, "token": "0" * 32, "type": 1})
    assert forged.status_code == 403
    assert client.get(url).status_code == 403 and client.get(url, {"delivery": "x", "type": 1}).status_code == 403
    row.refresh_from_db()
    assert row.status == "pending" and row.report_status == ""
    assert client.get(url, {"delivery": row.pk, "token": dlr_token(row.pk), "type": 1}).status_code == 200
    assert client.get(url, {"delivery": row.pk, "token": dlr_token(row.pk), "type": 8}).status_code == 200
    row.refresh_from_db()
    assert row.status == "delivered" and row.report_status == "已送达手机"
    assert client.get(url, {"delivery": row.pk, "token": dlr_token(row.pk), "type": "x"}).status_code == 400
    with pytest.raises(reports.ReportError):
        reports.record_report(str(row.pk), dlr_token(row.pk), "3")


def test_an_unreachable_gateway_leaves_no_phone_in_the_logs_or_the_error(clock, new_order, settings, caplog):
    port = free_port()  # nothing listens there
    settings.HOTLINE_NOTIFY = {**settings.HOTLINE_NOTIFY, "KANNEL_SENDSMS_URL": f"http://127.0.0.1:{port}/x"}
    caplog.set_level(logging.DEBUG)
    new_order(at=None)
    assert delivery.run() == {"pending": 1}
    row = Delivery.objects.get()
    assert row.last_error and "13812341234" not in row.last_error
    assert "13812341234" not in caplog.text and "138****1234" in caplog.text


# Threads on the test run's in-memory SQLite meet its shared-cache table locks, not the file
# database's writer lock production has; SQLite's claim runs in real processes in test_notify_kannel.
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL's SKIP LOCKED")
def test_concurrent_workers_claim_each_message_once(clock, new_order, settings, transactional_db):
    settings.HOTLINE_NOTIFY = {**settings.HOTLINE_NOTIFY, "KANNEL_SENDSMS_URL": "http://127.0.0.1:9/"}
    for i in range(6):
        new_order(at=None, caller_phone=f"1380000000{i}")
    claimed, errors = [], []

    def claim_all():
        try:
            while (row := delivery.claim()) is not None:
                claimed.append(row.pk)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim_all) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(claimed) == sorted(Delivery.objects.values_list("pk", flat=True))
    assert len(set(claimed)) == 6


def test_the_scheduler_tick_queues_one_run_when_retries_fall_due(supervised, robots, clock):
    from django_tasks_db.models import DBTaskResult

    from hotline.notify.tasks import deliver_due, schedule_due

    DBTaskResult.objects.all().delete()
    robots.answer = {"errcode": 310000, "errmsg": "busy"}
    Delivery.objects.exclude(channel="wecom", kind=Kind.SUPERVISION).delete()
    assert delivery.run() == {"pending": 1}
    assert schedule_due() == []  # the retry is not due yet
    clock.shift(dt.timedelta(seconds=31))
    assert len(schedule_due()) == 1
    assert schedule_due() == []  # one run waiting is enough
    assert DBTaskResult.objects.filter(task_path=deliver_due.module_path).count() == 1
