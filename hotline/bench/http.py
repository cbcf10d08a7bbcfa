"""A gunicorn on loopback for the benchmark, and a logged-in http.client session against it."""

from __future__ import annotations

import http.client
import importlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from http.cookies import SimpleCookie
from urllib.parse import urlencode


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PartMissing(RuntimeError):
    """A part of the bench (gunicorn, nginx, …) that cannot be started here: the message is one
    Chinese line, shown as it is, without a traceback (``hotline bench`` reports it and stops)."""


def require_module(module: str, part: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError:
        raise PartMissing(f"无法启动{part}：当前 Python 环境没有安装 {module}（pip install {module}）") from None


def require_program(program: str, part: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise PartMissing(f"无法启动{part}：找不到程序 {program}（apt-get install {program}）")
    return path


@contextmanager
def gunicorn(database_url: str, workers: int = 2):
    """Start ``gunicorn hotline.wsgi`` (``workers`` sync workers) on a free loopback port."""
    require_module("gunicorn", " gunicorn")
    port = free_port()
    # Connections kept for the whole run: the CPU split counts the backends connected at the end,
    # and with the default 60 s a run longer than a minute would have lost its first backends' CPU.
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "0", "CONN_MAX_AGE": "3600"}
    env.pop("REPLICA_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "hotline.wsgi:application", "--bind",
                             f"127.0.0.1:{port}", "--workers", str(workers), "--log-level", "warning",
                             "--timeout", "120"], env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise PartMissing(f"gunicorn 未能在 60 秒内启动（退出码 {proc.poll()}），见上方 gunicorn 的输出") from None
                time.sleep(0.3)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


class Session:
    """One client: its own keep-alive connection and cookies, logged in as ``username``."""

    def __init__(self, port: int, username: str, password: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}
        page = self.get("/accounts/login/")[1]
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        status, _ = self.request("POST", "/accounts/login/", urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": token}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login as {username} failed ({status})")

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST" and "csrftoken" in self.cookies:
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
            headers["Referer"] = f"http://127.0.0.1:{self.conn.port}/"
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        for value in resp.headers.get_all("Set-Cookie") or []:
            for key, morsel in SimpleCookie(value).items():
                self.cookies[key] = morsel.value
        return resp.status, data

    def get(self, path: str):
        return self.request("GET", path)

    def post_json(self, path: str, payload: dict):
        return self.request("POST", path, json.dumps(payload, ensure_ascii=False).encode(),
                            {"Content-Type": "application/json"})
