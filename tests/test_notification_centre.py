"""The notification centre and live updates: the bell on every staff page, the list with read and
unread, and the event stream that carries "something changed for you" to open pages.

王 dispatches an order to 杨楼镇: 赵 (杨楼镇) gets a notification, 钱 (寄料镇) none. The stream is tested
here on the polling carrier (SQLite's, single machine) through Django's client, and the carriers of
several machines — Redis pub/sub and PostgreSQL LISTEN/NOTIFY — by publishing from another process;
tests/test_live_cluster.py runs the whole path across two app processes behind nginx.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from hotline.live import broker
from hotline.notify.models import Notification
from hotline.workorders import actions

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
PG = connection.vendor == "postgresql"


@pytest.fixture
def as_user(client, people):
    def login(username):
        client.force_login(people[username])
        return client
    return login


@pytest.fixture
def dispatched(people, unit, new_order):
    """An order 王 dispatched to 杨楼镇 (the notification is written in the action's transaction)."""
    def make(**kw):
        order = new_order(**kw)
        actions.submit_for_dispatch(order, acting_user=people["operator_li"])
        return actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))
    return make


def test_the_bell_counts_on_every_staff_page(as_user, people, dispatched):
    order = dispatched()
    assert Notification.objects.filter(recipient=people["handler_zhao"], order=order).count() == 1
    zhao = as_user("handler_zhao")
    for url in (reverse("home"), reverse("inbox"), reverse("order_list"), reverse("kb_list")):
        body = zhao.get(url).content.decode()
        assert 'id="bell"' in body and 'id="bell-count" data-bell-count class="has-unread">1</b>' in body, url
    body = as_user("handler_qian").get(reverse("home")).content.decode()
    assert 'data-bell-count class="">0</b>' in body


def test_the_list_marks_read_one_or_all_and_links_to_the_order(as_user, people, dispatched):
    first, second = dispatched(), dispatched(title="另一件派往杨楼镇的工单")
    zhao = as_user("handler_zhao")
    page = zhao.get(reverse("notifications"))
    rows = page.context["rows"]
    assert [n.order_id for n in rows] == [second.pk, first.pk]  # newest first
    assert first.number in page.content.decode() and rows[0].link == reverse("order_detail", args=[second.number])
    # 已读并查看: read, then on to the order.
    r = zhao.post(reverse("notification_read", args=[rows[1].pk]), {"next": rows[1].link})
    assert r.status_code == 302 and r["Location"] == rows[1].link
    assert zhao.get(rows[1].link).status_code == 200
    unread = zhao.get(reverse("notifications")).context["rows"]
    assert [n.order_id for n in unread] == [second.pk]
    assert len(zhao.get(reverse("notifications"), {"show": "all"}).context["rows"]) == 2
    # Someone else's notification cannot be marked, nor seen.
    qian = as_user("handler_qian")
    qian.post(reverse("notification_read", args=[unread[0].pk]))
    assert Notification.objects.get(pk=unread[0].pk).read_at is None
    assert not qian.get(reverse("notifications"), {"show": "all"}).context["rows"]
    zhao = as_user("handler_zhao")
    r = zhao.post(reverse("notifications_read_all"), {"next": "https://evil.example/"})
    assert r["Location"] == reverse("notifications")  # no open redirect
    assert not Notification.objects.filter(recipient=people["handler_zhao"], read_at__isnull=True).exists()
    assert "没有未读通知" in zhao.get(reverse("notifications")).content.decode()


def _events(chunks):
    """Parse SSE chunks lazily: yields (event, data) pairs."""
    for chunk in chunks:
        text = chunk.decode() if isinstance(chunk, bytes) else chunk
        if text.startswith("event: "):
            head, data = text.strip().split("\n", 1)
            yield head[7:], json.loads(data[6:])


def test_the_stream_sends_the_bell_and_then_what_changes(as_user, people, dispatched, settings):
    """Polling carrier: the first event is the bell as it stands; a dispatch made meanwhile shows
    in the next one, within a poll."""
    settings.HOTLINE_LIVE_BACKEND = "poll"
    settings.HOTLINE_LIVE_STREAM_SECONDS = 6
    zhao = as_user("handler_zhao")
    r = zhao.get(reverse("live_stream"))
    assert r.status_code == 200 and r["Content-Type"].startswith("text/event-stream")
    assert r["X-Accel-Buffering"] == "no"
    chunks = iter(r.streaming_content)
    assert next(chunks).decode().startswith("retry: ")
    events = _events(chunks)
    assert next(events) == ("bell", {"unread": 0, "label": "0", "last": 0})
    started = time.monotonic()
    order = dispatched()
    kind, state = next(events)
    assert kind == "bell" and state["unread"] == 1 and state["last"] == Notification.objects.get(order=order).pk
    assert time.monotonic() - started < broker.POLL_SECONDS + 1.5
    r.close()


def test_a_signed_out_stream_tells_the_browser_to_stop(client, settings):
    settings.HOTLINE_LIVE_BACKEND = ""
    assert client.get(reverse("live_stream")).status_code == 204


def test_live_updates_can_be_turned_off(as_user, settings):
    """HOTLINE_LIVE_BACKEND=off: the page opens no stream, and the stream answers 204 (stop)."""
    zhao = as_user("handler_zhao")
    assert zhao.get(reverse("live_stream")).status_code == 204
    assert "data-live-stream" not in zhao.get(reverse("inbox")).content.decode()
    settings.HOTLINE_LIVE_BACKEND = ""
    assert 'data-live-stream="/live/stream/"' in zhao.get(reverse("inbox")).content.decode()


def test_the_stream_does_not_keep_an_idle_session_alive(as_user, settings):
    """The page's own reconnections are not the person at work: they do not stamp the session."""
    from hotline.accounts.middleware import LAST_SEEN

    settings.HOTLINE_LIVE_BACKEND = "poll"
    settings.HOTLINE_LIVE_STREAM_SECONDS = 0
    zhao = as_user("handler_zhao")
    session = zhao.session
    session[LAST_SEEN] = int(time.time()) - 600
    session.save()
    b"".join(zhao.get(reverse("live_stream")).streaming_content)
    assert zhao.session[LAST_SEEN] == session[LAST_SEEN]


PUBLISH = """
import django, sys
django.setup()
from hotline.live import broker
broker.publish([int(sys.argv[1])], {"kind": "test"})
"""


@pytest.fixture
def redis_url(tmp_path):
    import shutil
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(5)


@pytest.mark.parametrize("carrier", ["redis", "postgres"] if PG else ["redis"])
def test_a_message_from_another_process_reaches_a_subscriber(carrier, monkeypatch, settings, people, request):
    """Whatever carries it, a message published by another process wakes the subscription within
    a second; nothing published, nothing wakes it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOTLINE_LIVE_BACKEND": carrier}
    if carrier == "redis":
        url = request.getfixturevalue("redis_url")
        monkeypatch.setenv("REDIS_URL", url)
        env["REDIS_URL"] = url
    else:
        # The other process reaches the same database: the test database, by its name.
        s = connection.settings_dict
        env["DATABASE_URL"] = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    settings.HOTLINE_LIVE_BACKEND = carrier
    zhao, qian = people["handler_zhao"], people["handler_qian"]
    mine, theirs = broker.subscribe(zhao.pk), broker.subscribe(qian.pk)
    try:
        assert not mine.wait(0.2)
        subprocess.run([sys.executable, "-c", PUBLISH, str(zhao.pk)], env=env, cwd=ROOT, check=True, timeout=60)
        started = time.monotonic()
        assert mine.wait(5) and time.monotonic() - started < 1
        assert not theirs.wait(0.3)  # 钱's channel heard nothing of 赵's
    finally:
        mine.close()
        theirs.close()


def test_new_notifications_are_published_to_their_recipients(people, dispatched, monkeypatch,
                                                             django_capture_on_commit_callbacks):
    """The web app's ready() connects notify's after-commit signal to the carrier: 赵 is told, 钱 not."""
    sent = []
    monkeypatch.setattr(broker, "publish", lambda ids, message=None: sent.append((sorted(ids), message)))
    with django_capture_on_commit_callbacks(execute=True):
        dispatched()
    assert any(people["handler_zhao"].pk in ids and message == {"kind": "notification"} for ids, message in sent)
    assert not any(people["handler_qian"].pk in ids for ids, _ in sent)
