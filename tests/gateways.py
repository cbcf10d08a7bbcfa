"""Real gateways on loopback for the notification tests: Kannel (bearerbox + smsbox) with an HTTP
SMSC that the test plays as the operator, a proxy in front of smsbox that can stall a request,
and the platform itself as real processes (web server, task worker, scheduler) on its own SQLite
database. Nothing here is mocked: messages go through Kannel's own sendsms interface, its store,
its SMSC connection and its delivery reports.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "hotline12345"
DROPPED_ENV = ("DATABASE_URL", "REPLICA_DATABASE_URL", "TASKS_BACKEND", "REDIS_URL", "HOTLINE_ENV")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float = 20.0, what: str = "condition", every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(handler_class) -> _Server:
    server = _Server(("127.0.0.1", 0), handler_class)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# ---------------------------------------------------------------------------------------------
# The operator's side of Kannel's HTTP SMSC (system-type kannel)


class Operator:
    """The SMS centre Kannel hands messages to. It keeps every message it got (a long one comes as
    parts with a concatenation header, joined here) and answers "Sent."; with ``report`` on it
    then sends Kannel a "delivered to the phone" report for each part."""

    username, password = "operator", "operator-secret"

    def __init__(self):
        self.messages: list[dict] = []  # whole messages, concatenated parts joined
        self.parts: dict[tuple, dict[int, str]] = {}
        self.report = True
        self.lock = threading.Lock()
        self.kannel_port: int | None = None  # the SMSC connection's own port, for reports
        operator = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                query = urllib.parse.urlsplit(self.path).query
                fields = urllib.parse.parse_qs(query, encoding="latin-1")
                text = fields["text"][0].encode("latin-1")
                charset = fields.get("charset", ["UTF-8"])[0]
                text = text.decode("utf-16-be" if charset.upper() == "UTF-16BE" else "utf-8")
                inner = urllib.parse.parse_qs(urllib.parse.urlsplit(fields.get("dlr-url", [""])[0]).query)
                mid = (inner.get("dlr-mid") or [""])[0]
                to = fields["to"][0]
                udh = fields.get("udh", [""])[0].encode("latin-1")
                with operator.lock:
                    if len(udh) >= 6 and udh[1:3] == b"\x00\x03":  # one part of a concatenated message
                        ref, total, seq = udh[3], udh[4], udh[5]
                        parts = operator.parts.setdefault((to, ref), {})
                        parts[seq] = text
                        if len(parts) == total:
                            del operator.parts[(to, ref)]
                            operator.messages.append({"to": to, "text": "".join(parts[i] for i in sorted(parts))})
                    else:
                        operator.messages.append({"to": to, "text": text})
                self.send_response(202)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"Sent.")
                if operator.report and mid:
                    threading.Thread(target=operator.deliver, args=(mid, fields["to"][0]), daemon=True).start()

            def log_message(self, *args):
                pass

        self.server = serve(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def deliver(self, mid: str, to: str, kind: int = 1, after: float = 0.3) -> str:
        """Report ``kind`` (1 delivered) for message ``mid`` to Kannel's SMSC connection, ``after``
        seconds (a phone takes a moment; Kannel files the message once it has read our answer)."""
        time.sleep(after)
        query = urllib.parse.urlencode({"username": self.username, "password": self.password, "dlr-mask": kind,
                                        "dlr-mid": mid, "to": to, "text": "DELIVRD"})
        with urllib.request.urlopen(f"http://127.0.0.1:{self.kannel_port}/?{query}", timeout=5) as response:
            return response.read().decode()

    def texts_to(self, phone: str) -> list[str]:
        with self.lock:
            return [m["text"] for m in self.messages if m["to"] == phone]

    def count(self, fragment: str) -> int:
        with self.lock:
            return sum(fragment in m["text"] for m in self.messages)


# ---------------------------------------------------------------------------------------------
# Kannel


class Kannel:
    """bearerbox and smsbox with a generated configuration on free ports."""

    username, password, admin_password = "hotline", "hotline-sendsms", "kannel-admin"

    def __init__(self, workdir: Path, operator: Operator):
        self.dir = workdir
        self.admin_port, self.box_port, self.smsc_port, self.sendsms_port = (free_port() for _ in range(4))
        operator.kannel_port = self.smsc_port
        self.conf = workdir / "kannel.conf"
        self.conf.write_text(textwrap.dedent(f"""\
            group = core
            admin-port = {self.admin_port}
            admin-password = {self.admin_password}
            status-password = {self.admin_password}
            admin-allow-ip = "127.0.0.1"
            smsbox-port = {self.box_port}
            box-allow-ip = "127.0.0.1"
            log-file = "{workdir}/bearerbox.log"
            log-level = 1
            store-type = file
            store-location = "{workdir}/kannel.store"
            dlr-storage = internal

            group = smsc
            smsc = http
            smsc-id = operator
            system-type = kannel
            send-url = "{operator.url}/send"
            port = {self.smsc_port}
            connect-allow-ip = "127.0.0.1"
            smsc-username = {operator.username}
            smsc-password = {operator.password}
            dlr-url = "http://127.0.0.1:{self.smsc_port}/"

            group = smsbox
            bearerbox-host = 127.0.0.1
            bearerbox-port = {self.box_port}
            sendsms-port = {self.sendsms_port}
            log-file = "{workdir}/smsbox.log"
            log-level = 1
            http-request-retry = 3
            http-queue-delay = 1

            group = sendsms-user
            username = {self.username}
            password = {self.password}
            max-messages = 3
            concatenation = true

            group = sms-service
            keyword = default
            text = "本号码不接收回复"
            """), encoding="utf-8")
        self.bearerbox = self.smsbox = None

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def _status(self) -> str:
        try:
            with urllib.request.urlopen(f"{self.admin_url}/status.txt?password={self.admin_password}",
                                        timeout=2) as response:
                return response.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def start(self):
        for binary in ("/usr/sbin/bearerbox", "/usr/sbin/smsbox"):
            assert Path(binary).exists(), f"{binary} missing: apt-get install kannel (.ci/run installs it)"
        self.bearerbox = subprocess.Popen(["/usr/sbin/bearerbox", str(self.conf)], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
        wait_for(lambda: "online" in self._status(), what="bearerbox and its SMSC online")
        self.start_smsbox()
        return self

    def start_smsbox(self):
        self.smsbox = subprocess.Popen(["/usr/sbin/smsbox", str(self.conf)], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        wait_for(lambda: "smsbox:" in self._status().split("Box connections:")[-1].split("SMSC connections:")[0]
                 and self._port_open(self.sendsms_port), what="smsbox connected")

    def stop_smsbox(self):
        self.smsbox.terminate()
        self.smsbox.wait(10)
        wait_for(lambda: not self._port_open(self.sendsms_port), what="smsbox stopped")

    @staticmethod
    def _port_open(port: int) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    def stop(self):
        for process in (self.smsbox, self.bearerbox):
            if process and process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()


# ---------------------------------------------------------------------------------------------
# A proxy in front of smsbox that can stall a request (to kill the worker in the middle of a send)


class Proxy:
    """Forwards sendsms requests to smsbox. ``stall`` = "after": the next request is forwarded and
    its answer withheld; "before": it is withheld without forwarding. ``stalled`` is set when a
    request is being held; ``release`` lets it go (the worker is dead by then)."""

    def __init__(self, target: str):
        self.target = target
        self.stall: str | None = None
        self.stalled = threading.Event()
        self.release = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                mode, proxy.stall = proxy.stall, None
                if mode == "before":
                    proxy.stalled.set()
                    proxy.release.wait(30)
                    self.close_connection = True
                    return
                url = proxy.target + "?" + urllib.parse.urlsplit(self.path).query
                try:
                    with urllib.request.urlopen(url, timeout=10) as response:
                        status, body = response.status, response.read()
                except urllib.error.HTTPError as exc:
                    status, body = exc.code, exc.read()
                except OSError:
                    status, body = 503, b"gateway unreachable"
                if mode == "after":
                    proxy.stalled.set()
                    proxy.release.wait(30)
                    self.close_connection = True
                    return
                self.send_response(status)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = serve(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/sendsms"

    def arm(self, mode: str):
        self.stalled.clear()
        self.release.clear()
        self.stall = mode


# ---------------------------------------------------------------------------------------------
# The platform as real processes on its own SQLite database


class Platform:
    """``hotline`` processes with one embedded database: setup, scripts, web, worker, scheduler."""

    def __init__(self, var_dir: Path, env: dict[str, str]):
        self.var_dir = var_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
        self.env = {**base, "HOTLINE_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "hotline.settings",
                    "PYTHONUNBUFFERED": "1", "HOTLINE_PUBLIC_URL": self.url, **env}
        self.processes: list[subprocess.Popen] = []

    def run(self, code: str, timeout: float = 120):
        """Run ``code`` in a fresh process of the platform; return what it printed last, as JSON."""
        script = "import django, json\ndjango.setup()\n" + textwrap.dedent(code)
        done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        assert done.returncode == 0, done.stderr[-3000:]
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        return json.loads(lines[-1]) if lines else None

    def start(self, *args: str, log: str) -> subprocess.Popen:
        out = open(self.var_dir / log, "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([sys.executable, "-m", "hotline", *args], cwd=ROOT, env=self.env,
                                   stdout=out, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start_web(self):
        self.web = self.start("serve", "--no-worker", "--addr", f"127.0.0.1:{self.port}", log="web.log")
        wait_for(lambda: Kannel._port_open(self.port), timeout=60, what="the web server")

    def worker(self) -> subprocess.Popen:
        return self.start("db_worker", "--no-startup-delay", "--interval", "0.2", log="worker.log")

    def rows(self, sql: str, params=()) -> list[tuple]:
        """Read the platform's database directly (what the test checks, without a Django of its own)."""
        with sqlite3.connect(self.var_dir / "hotline.sqlite3", timeout=20) as db:
            return db.execute(sql, params).fetchall()

    def stop(self):
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()

    def logs(self) -> str:
        return "\n".join(p.read_text("utf-8", "replace") for p in sorted(self.var_dir.glob("*.log")))
