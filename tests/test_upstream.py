"""Upstream platforms: 平顶山市“民呼必应”平台 pushes orders down and wants the results back.

The story: the prefecture platform (code ``pds``) pushes a road complaint from 杨楼镇, signed with
the key the center gave it. It lands in dispatcher 王's queue. 杨楼镇 handles it, supervisor 周
calls the citizen back and closes it, and ``hotline upstream report`` sends the result up to the
platform — played here by a real HTTP server on loopback that checks our signature and can be
told to fail, so the retry path is exercised too.
"""

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from hotline.directory.models import UpstreamPlatform
from hotline.intake import upstream
from hotline.intake.models import ReportBackAttempt, UpstreamCredential
from hotline.workorders import actions
from hotline.workorders.models import Event, WorkOrder

SECRET = "pds-shared-secret-0123456789abcdef0123456789"
URL = "/intake/upstream/pds/orders"


def push_body(**overrides) -> dict:
    body = {
        "upstream_number": "PDS20230703-0001",
        "title": "杨楼镇村内道路破损",
        "content": "群众反映杨楼镇某村主路破损严重，雨天积水，请尽快维修。",
        "appeal_type": "问题处理类",
        "category": "农村管理—人居环境",
        "town": "杨楼镇",
        "address": "杨楼镇某村主路",
        "caller_name": "张三丰",
        "caller_phone": "13812341234",
        "confidential": False,
        "upstream_deadline": "2030-07-10T18:00:00+08:00",
        "received_at": "2023-07-03T08:55:00+08:00",
    }
    body.update(overrides)
    return body


@pytest.fixture
def pds(people):
    platform = UpstreamPlatform.objects.get(code="pds")
    UpstreamCredential.objects.create(platform=platform, secret=SECRET)
    return platform


def push(client, body, *, secret=SECRET, timestamp=None, signature=None):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    ts = str(timestamp if timestamp is not None else int(timezone.now().timestamp()))
    sig = signature or upstream.sign(secret, ts, raw)
    return client.post(URL, raw, content_type="application/json",
                       headers={"X-Hotline-Timestamp": ts, "X-Hotline-Signature": sig})


# ---------------------------------------------------------------------------------------------
# In: pushes


def test_a_signed_push_lands_in_the_dispatch_queue(client, pds):
    response = push(client, push_body())

    assert response.status_code == 201, response.content.decode()
    data = response.json()
    order = WorkOrder.objects.get(number=data["number"])
    assert data == {"number": order.number, "upstream_number": "PDS20230703-0001",
                    "status": "awaiting_dispatch", "created": True}
    assert order.source == "upstream" and order.upstream_platform == pds
    assert order.status == "awaiting_dispatch" and order.town.short_name == "杨楼镇"
    assert order.category.full_name == "农村管理—人居环境" and order.appeal_type.name == "问题处理类"
    assert order.upstream_deadline.isoformat() == "2030-07-10T10:00:00+00:00"
    assert list(order.events.values_list("action", "actor")) == [("register", None), ("submit_for_dispatch", None)]
    assert "上级登记时间 2023-07-03 08:55" in order.events.get(action="register").note
    assert UpstreamCredential.objects.get().last_seen is not None


def test_the_same_number_pushed_twice_returns_the_same_order(client, pds):
    first = push(client, push_body()).json()
    again = push(client, push_body())

    assert again.status_code == 200
    assert again.json()["number"] == first["number"] and again.json()["created"] is False
    assert WorkOrder.objects.filter(upstream_number="PDS20230703-0001").count() == 1


def test_a_reused_number_with_other_content_is_refused(client, pds):
    push(client, push_body())
    response = push(client, push_body(content="完全不同的诉求"))

    assert response.status_code == 409
    assert "已登记" in response.json()["error"] and response.json()["field"] == "upstream_number"
    assert WorkOrder.objects.count() == 1


def test_a_bad_signature_is_refused_and_writes_nothing(client, pds):
    events = Event.objects.count()
    response = push(client, push_body(), secret="someone-elses-secret")

    assert response.status_code == 403
    assert "签名校验失败" in response.json()["error"]
    assert WorkOrder.objects.count() == 0 and Event.objects.count() == events
    assert UpstreamCredential.objects.get().last_seen is None


def test_missing_signature_and_unknown_platform_are_refused(client, pds):
    raw = json.dumps(push_body()).encode()
    assert client.post(URL, raw, content_type="application/json").status_code == 403
    response = client.post("/intake/upstream/nowhere/orders", raw, content_type="application/json")
    assert response.status_code == 403 and "未开通" in response.json()["error"]
    UpstreamCredential.objects.update(active=False)
    assert push(client, push_body()).status_code == 403
    assert WorkOrder.objects.count() == 0


def test_a_stale_timestamp_is_refused_as_a_replay(client, pds):
    stale = int(timezone.now().timestamp()) - 6 * 60
    response = push(client, push_body(), timestamp=stale)

    assert response.status_code == 403 and "5 分钟" in response.json()["error"]
    assert WorkOrder.objects.count() == 0


def test_the_timestamp_is_signed_so_it_cannot_be_refreshed(client, pds):
    raw = json.dumps(push_body()).encode()
    old = int(timezone.now().timestamp()) - 600
    captured = upstream.sign(SECRET, old, raw)
    response = push(client, raw, signature=captured)  # fresh timestamp, old signature

    assert response.status_code == 403 and WorkOrder.objects.count() == 0


def test_malformed_json_is_a_400(client, pds):
    response = push(client, b'{"upstream_number": "X", ')

    assert response.status_code == 400 and "JSON" in response.json()["error"]
    assert push(client, b"[1, 2]").status_code == 400
    assert WorkOrder.objects.count() == 0


@pytest.mark.parametrize("field, value, words", [
    ("category", "外星事务—飞碟降落", "热点分类"),
    ("appeal_type", "闲聊类", "诉求类型"),
    ("town", "北京市", "乡镇街道"),
    ("upstream_deadline", "下周一", "有效的时间"),
    ("title", "", "不能为空"),
    ("caller_phone", "138abc", "数字"),
])
def test_a_bad_field_is_a_400_naming_the_field(client, pds, field, value, words):
    response = push(client, push_body(**{field: value}))

    assert response.status_code == 400
    assert response.json()["field"] == field and field in response.json()["error"]
    assert words in response.json()["error"]
    assert WorkOrder.objects.count() == 0


def test_category_by_code_and_loose_dashes(client, pds):
    from hotline.catalog.models import Category

    leaf = Category.objects.get(full_name="农村管理—人居环境")
    assert push(client, push_body(category="农村管理-人居环境")).status_code == 201
    second = push(client, push_body(upstream_number="PDS-2", category=leaf.code))
    assert second.status_code == 201
    assert WorkOrder.objects.get(number=second.json()["number"]).category == leaf


def test_get_is_not_allowed(client, pds):
    assert client.get(URL).status_code == 405


# ---------------------------------------------------------------------------------------------
# Out: reporting back to a real HTTP server on loopback


class FakeUpstream:
    """The upstream platform's report-back endpoint: checks our signature, records what it got."""

    def __init__(self):
        self.received: list[dict] = []
        self.bad_signatures = 0
        self.answer = 200
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ts, sig = self.headers["X-Hotline-Timestamp"], self.headers["X-Hotline-Signature"]
                if upstream.sign(SECRET, ts, body) != sig:
                    owner.bad_signatures += 1
                    self.send_response(401)
                else:
                    owner.received.append(json.loads(body))
                    self.send_response(owner.answer)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if owner.answer < 300 else "系统维护中".encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/reportback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def platform_server(pds):
    server = FakeUpstream()
    pds.report_back_url = server.url
    pds.save(update_fields=["report_back_url"])
    yield server
    server.close()


@pytest.fixture
def closed_order(client, pds, people, unit):
    """A pushed order handled by 杨楼镇 and closed after a satisfied callback by 周."""
    number = push(client, push_body()).json()["number"]
    order = WorkOrder.objects.get(number=number)
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))
    actions.sign(order, acting_user=people["handler_zhao"])
    actions.reply(order, acting_user=people["handler_zhao"], public_reply="已组织人员修复路面。", solved=True,
                  is_true="true")
    actions.approve_reply(order, acting_user=people["dispatcher_wang"])
    actions.record_callback(order, acting_user=people["supervisor_zhou"], satisfaction="satisfied", solved=True)
    return WorkOrder.objects.get(pk=order.pk)


def test_the_report_is_due_when_the_reply_is_approved_not_after_the_callback(client, pds, people, unit,
                                                                            platform_server):
    number = push(client, push_body()).json()["number"]
    order = WorkOrder.objects.get(number=number)
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))
    actions.sign(order, acting_user=people["handler_zhao"])
    actions.reply(order, acting_user=people["handler_zhao"], public_reply="已组织人员修复路面。", solved=True,
                  is_true="true")
    assert upstream.report_back_upstream.call(order_id=order.pk) == "not_due"  # replied, not yet approved
    assert not upstream.due_for_report().filter(pk=order.pk).exists()
    actions.approve_reply(order, acting_user=people["dispatcher_wang"])

    assert list(upstream.due_for_report().values_list("number", flat=True)) == [number]
    assert upstream.report_back_upstream.call(order_id=order.pk) == "reported"
    [payload] = platform_server.received
    assert payload["status"] == "awaiting_callback" and payload["answer"] == "已组织人员修复路面。"
    assert WorkOrder.objects.get(pk=order.pk).reported_back_at is not None


def test_a_closed_order_is_reported_back_signed(platform_server, closed_order):
    result = upstream.report_back_upstream.call(order_id=closed_order.pk)

    assert result == "reported"
    assert platform_server.bad_signatures == 0
    [payload] = platform_server.received
    assert payload["upstream_number"] == "PDS20230703-0001" and payload["number"] == closed_order.number
    assert payload["status"] == "closed" and payload["answer"] == "已组织人员修复路面。"
    assert payload["is_solved"] is True and payload["satisfaction"] == "satisfied"
    assert payload["closed_at"] == closed_order.closed_at.isoformat()
    order = WorkOrder.objects.get(pk=closed_order.pk)
    assert order.reported_back_at is not None
    assert order.events.filter(action="report_back", actor=None).count() == 1
    assert ReportBackAttempt.objects.get().ok

    assert upstream.report_back_upstream.call(order_id=closed_order.pk) == "already"
    assert len(platform_server.received) == 1


def test_a_failing_platform_is_retried_until_it_answers(platform_server, closed_order):
    platform_server.answer = 500
    with pytest.raises(upstream.ReportBackFailed, match="HTTP 500"):
        upstream.report_back_upstream.call(order_id=closed_order.pk)

    attempt = ReportBackAttempt.objects.get()
    assert not attempt.ok and attempt.http_status == 500 and "系统维护中" in attempt.error
    assert WorkOrder.objects.get(pk=closed_order.pk).reported_back_at is None
    assert not closed_order.events.filter(action="report_back").exists()

    # ``report`` takes only orders never tried; ``retry`` takes the failed one (once queued, once only).
    call_command("upstream", "report")
    assert DBTaskResult.objects.count() == 0
    call_command("upstream", "retry", "--after", "0")
    call_command("upstream", "retry", "--after", "0")
    [task] = DBTaskResult.objects.all()
    assert task.args_kwargs["kwargs"] == {"order_id": closed_order.pk}

    platform_server.answer = 200
    assert upstream.report_back_upstream.call(order_id=closed_order.pk) == "reported"
    assert WorkOrder.objects.get(pk=closed_order.pk).reported_back_at is not None
    assert ReportBackAttempt.objects.filter(ok=True).count() == 1


def test_an_unreachable_platform_is_a_recorded_failure(pds, closed_order):
    pds.report_back_url = "http://127.0.0.1:9/nothing-listens-here"
    pds.save(update_fields=["report_back_url"])
    with pytest.raises(upstream.ReportBackFailed, match="连接"):
        upstream.report_back_upstream.call(order_id=closed_order.pk)
    assert ReportBackAttempt.objects.get().http_status is None


def test_report_enqueues_each_closed_unreported_order_once(platform_server, closed_order, client):
    open_one = push(client, push_body(upstream_number="PDS-OPEN")).json()["number"]

    call_command("upstream", "report")
    call_command("upstream", "report")

    [task] = DBTaskResult.objects.all()
    assert task.args_kwargs["kwargs"] == {"order_id": closed_order.pk}
    assert open_one != closed_order.number


def test_a_worker_runs_the_queued_report(platform_server, closed_order):
    from tests.test_tasks import run_next_task

    call_command("upstream", "report")
    run_next_task("worker-upstream")

    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert WorkOrder.objects.get(pk=closed_order.pk).reported_back_at is not None
    assert len(platform_server.received) == 1


def test_secret_command_creates_and_rotates_a_key(pds, capsys):
    call_command("upstream", "secret", "pds")
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert UpstreamCredential.objects.get(platform=pds).secret == key != SECRET
    call_command("upstream", "secret", "pds", "--disable")
    assert not UpstreamCredential.objects.get(platform=pds).active


def test_the_scheduler_hook_takes_new_and_old_failures_but_not_fresh_ones(platform_server, closed_order):
    platform_server.answer = 500
    with pytest.raises(upstream.ReportBackFailed):
        upstream.report_back_upstream.call(order_id=closed_order.pk)

    assert upstream.schedule_reports() == []  # failed a moment ago: wait
    later = timezone.now() + upstream.dt.timedelta(minutes=11)
    assert upstream.schedule_reports(now=later) == [closed_order.number]
    assert upstream.schedule_reports(now=later) == []  # already queued


@pytest.mark.parametrize("text, expected", [
    ("2023-07-10T18:00:00+08:00", (2023, 7, 10, 18, 0, 0)),
    ("2023-07-10T10:00:00Z", (2023, 7, 10, 18, 0, 0)),
    ("2023-07-10 18:00", (2023, 7, 10, 18, 0, 0)),
    ("2023/7/3 8:55", (2023, 7, 3, 8, 55, 0)),
    ("2023.7.3 08:55:30", (2023, 7, 3, 8, 55, 30)),
    ("2023年7月3日", (2023, 7, 3, 23, 59, 59)),
    ("2023-7-3", (2023, 7, 3, 23, 59, 59)),
])
def test_upstream_times_in_the_shapes_platforms_send(client, pds, text, expected):
    from tests.conftest import at

    response = push(client, push_body(upstream_deadline=text))

    assert response.status_code == 201, response.json()
    assert WorkOrder.objects.get().upstream_deadline == at(*expected)


@pytest.mark.parametrize("text, words", [
    ("下周一", "不是有效的时间"), ("2023-13-01", "月份 13 不存在"), ("2023/2/30 8:00", "2023 年 2 月没有 30 日"),
    ("7/3/2023", "不是有效的时间"), ("2023-07-10T25:00:00+08:00", "小时须为 0–23"),
    ("2023-07-10T18:00:00+99:00", "时区偏移"), ("0001-01-01T00:00:00+14:00", "年份 1 超出范围"),
    (12345, "须为日期时间"),
])
def test_bad_times_are_a_400_naming_the_field(client, pds, text, words):
    response = push(client, push_body(upstream_deadline=text))

    assert response.status_code == 400
    assert response.json()["field"] == "upstream_deadline" and words in response.json()["error"]
    assert WorkOrder.objects.count() == 0


def test_admin_lists_keys_without_showing_them_and_attempts(client, people, pds):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.filter(is_superuser=True).first() or people["admin"]
    client.force_login(admin)
    page = client.get("/admin/intake/upstreamcredential/").content.decode()
    assert "平顶山" in page and SECRET not in page
    detail = client.get(f"/admin/intake/upstreamcredential/{UpstreamCredential.objects.get().pk}/change/")
    assert detail.status_code == 200 and SECRET not in detail.content.decode()
    assert client.get("/admin/intake/reportbackattempt/").status_code == 200


def test_the_scheduler_queues_report_backs_with_its_sweep(platform_server, closed_order):
    out = io.StringIO()
    call_command("scheduler", "--once", stdout=out)
    assert "hotline.intake.upstream.schedule_reports: 已入队 1 项" in out.getvalue()
    assert upstream.enqueue_reports() == []  # already queued: a second scheduler adds nothing
