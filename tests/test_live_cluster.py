"""Live updates across app processes: two gunicorn processes behind nginx, as in deploy/.

赵 of 杨楼镇 has a page open: its event stream goes through nginx to one app process. 王 dispatches
an order to 杨楼镇 on the *other* app process. The notification is written there, published after
commit on 赵's channel — Redis pub/sub on the SQLite run (REDIS_URL set, as on several machines),
PostgreSQL LISTEN/NOTIFY on the PostgreSQL run — and the stream that the first process serves must
carry it to 赵 within 5 seconds. Nothing is shared between the two processes but the carrier and
the database: a message kept in process memory would never arrive.

The deployment has its own database (a temporary SQLite file, or a fresh PostgreSQL database on
the server of DATABASE_URL, dropped at the end) and its own Redis and nginx on free loopback ports.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "deploy"))

from render_nginx import render  # noqa: E402

from tests.conftest import throwaway_postgres  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PASSWORD = "hotline12345"
PG = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))

SETUP = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from hotline.demo.defaults import load_defaults
from hotline.demo.people import ensure_people
from hotline.catalog.models import AppealType, Category
from hotline.directory.models import Unit
from hotline.workorders import actions
load_defaults()
people = ensure_people({password!r})
o = actions.register_order(acting_user=people["operator_li"], title="集群实时通知", content="路灯不亮",
                           appeal_type=AppealType.objects.get(code="problem"),
                           category=Category.objects.get(full_name="农村管理—人居环境"),
                           town=Unit.objects.get(short_name="杨楼镇"))
actions.submit_for_dispatch(o, acting_user=people["operator_li"])
print(o.number, Unit.objects.get(short_name="杨楼镇").pk)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} never opened")


class _Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A person's browser as far as the server can tell: a cookie jar, logged in through ``base``."""

    def __init__(self, base: str, username: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.no_redirect = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _Stay)
        # A cold app process imports every view on its first request: seconds on a busy machine.
        self.opener.open(base + "/accounts/login/", timeout=60).read()
        self.post(base + "/accounts/login/", {"username": username, "password": PASSWORD})
        assert self.cookie("sessionid"), f"{username} 登录失败"

    def cookie(self, name: str) -> str:
        return next((c.value for c in self.jar if c.name == name), "")

    def post(self, url: str, fields: dict) -> tuple[int, str]:
        """POST a form; (status, body) of the answer itself, a redirect not followed."""
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": self.cookie("csrftoken")}).encode()
        req = urllib.request.Request(url, data=data, headers={"Referer": url})
        try:
            with self.no_redirect.open(req, timeout=60) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:  # a 302 is raised when it is not followed
            return e.code, ""


class Stream:
    """An EventSource as a thread: reads ``text/event-stream`` and keeps (arrival time, event, data)."""

    def __init__(self, port: int, cookies: str):
        self.events: list[tuple[float, str, dict]] = []
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.conn.request("GET", "/live/stream/", headers={"Cookie": cookies, "Accept": "text/event-stream"})
        self.response = self.conn.getresponse()
        assert self.response.status == 200, self.response.status
        assert self.response.getheader("Content-Type").startswith("text/event-stream")
        self.upstream = self.response.getheader("X-Upstream")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        event, data = "message", ""
        try:
            for raw in self.response:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif not line and data:
                    self.events.append((time.monotonic(), event, json.loads(data)))
                    event, data = "message", ""
        except (OSError, ValueError, AttributeError):
            pass  # the test closed the connection (http.client drops its file then)

    def wait(self, test, timeout: float):
        ends = time.monotonic() + timeout
        while time.monotonic() < ends:
            for at, event, data in self.events:
                if event == "bell" and test(data):
                    return at, data
            time.sleep(0.02)
        return None

    def close(self):
        # Shut the socket first: closing alone waits for the reader thread's buffered read.
        if self.conn.sock is not None:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()


@pytest.fixture
def deployment(tmp_path):
    procs: list[subprocess.Popen] = []
    env = {**os.environ, "HOTLINE_VAR_DIR": str(tmp_path), "SECRET_KEY": secrets.token_hex(32), "DEBUG": "0",
           "HOTLINE_LIVE_STREAM_SECONDS": "20", "PYTHONPATH": str(ROOT)}
    env.pop("HOTLINE_ENV", None)
    dropdb = None
    if PG:
        # A database of its own on the server the suite uses, so that the app processes see the
        # committed rows (the suite's test database lives inside its transactions).
        env["DATABASE_URL"], dropdb = throwaway_postgres("hl_live")
        env["HOTLINE_LIVE_BACKEND"] = "postgres"
        env.pop("REDIS_URL", None)
    else:
        redis_port = free_port()
        procs.append(subprocess.Popen([shutil.which("redis-server"), "--port", str(redis_port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL))
        wait_port(redis_port)
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'live.sqlite3'}"
        env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        env["HOTLINE_LIVE_BACKEND"] = "redis"
    try:
        out = subprocess.run([sys.executable, "-c", SETUP.format(password=PASSWORD)], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=180)
        assert out.returncode == 0, out.stderr[-3000:]
        number, yanglou = out.stdout.split()[-2:]
        apps = [free_port(), free_port()]
        for port in apps:
            procs.append(subprocess.Popen(
                [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "--bind",
                 f"127.0.0.1:{port}", "--workers", "1", "--threads", "4", "--access-logfile", "-"],
                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"app{port}.log", "w")))
        nginx_port = free_port()
        prefix = tmp_path / "nginx"
        prefix.mkdir()
        conf = render(listen=f"127.0.0.1:{nginx_port}", apps=[f"127.0.0.1:{p}" for p in apps],
                      static_root=str(tmp_path), prefix=str(prefix))
        # Which app process served a request, for the test to send the dispatch to the other one.
        conf = conf.replace("proxy_pass http://hotline_app;", "proxy_pass http://hotline_app;\n"
                            "            add_header X-Upstream $upstream_addr always;")
        (prefix / "nginx.conf").write_text(conf, encoding="utf-8")
        procs.append(subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e",
                                       str(prefix / "error.log"), "-g", "daemon off;"], stderr=subprocess.DEVNULL))
        for port in [*apps, nginx_port]:
            wait_port(port)
        yield {"nginx": nginx_port, "apps": apps, "number": number, "yanglou": yanglou, "logs": tmp_path}
    finally:
        for p in reversed(procs):
            # gunicorn: SIGINT is its quick shutdown (SIGTERM would wait for the open stream to end).
            p.send_signal(signal.SIGINT if "gunicorn" in str(p.args[0]) else signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if dropdb:
            dropdb()


@pytest.mark.slow
def test_a_dispatch_on_one_app_process_reaches_a_stream_on_the_other_within_5_seconds(deployment):
    d = deployment
    base = f"http://127.0.0.1:{d['nginx']}"
    zhao = Browser(base, "handler_zhao")
    stream = Stream(d["nginx"], f"sessionid={zhao.cookie('sessionid')}")
    try:
        assert stream.wait(lambda s: s["unread"] == 0, 10), stream.events
        serving = int(re.search(r":(\d+)$", stream.upstream).group(1))
        other = next(p for p in d["apps"] if p != serving)
        # 王 works on the other app process, straight to it (not through nginx, which might pick either).
        wang = Browser(f"http://127.0.0.1:{other}", "dispatcher_wang")
        sent = time.monotonic()
        status, body = wang.post(f"http://127.0.0.1:{other}/orders/{d['number']}/act/dispatch/",
                                 {"lead_unit": d["yanglou"], "note": ""})
        assert status == 302, body[-3000:]
        got = stream.wait(lambda s: s["unread"] == 1, 5)
        assert got is not None, (stream.events, (d["logs"] / f"app{serving}.log").read_text()[-2000:])
        at, state = got
        assert at - sent < 5 and state["label"] == "1" and state["last"] > 0
    finally:
        stream.close()
