"""One command runs everything: ``hotline serve`` (and so ``hotline demo``) starts the task worker
and the scheduler beside the web server, and they stop together.

The server is a real ``python -m hotline serve`` on a free loopback port with its own SQLite
database (``HOTLINE_VAR_DIR``); nothing in the test starts a worker. A briefing build queued from
the briefing page finishes, over plain HTTP and in Chromium; SIGTERM of the parent leaves no child.
"""

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from hotline.demo.processes import ProcessGroup

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "hotline12345"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
# The child server gets its own embedded database whatever the test run uses.
DROPPED_ENV = ("DATABASE_URL", "REPLICA_DATABASE_URL", "TASKS_BACKEND", "REDIS_URL", "HOTLINE_ENV")


def _env(var_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env.update(HOTLINE_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="hotline.settings", PYTHONUNBUFFERED="1")
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (from /proc: no helper library needed)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory):
    """A migrated database with Ruzhou's defaults and the demo people, as ``hotline demo`` leaves it."""
    path = tmp_path_factory.mktemp("var")
    subprocess.run([sys.executable, "-c",
                    "import django; django.setup()\n"
                    "from django.core.management import call_command\n"
                    "from hotline.demo.people import ensure_people\n"
                    f"call_command('setup'); ensure_people({PASSWORD!r})"],
                   cwd=ROOT, env=_env(path), check=True, capture_output=True, timeout=240)
    return path


@pytest.fixture(scope="module")
def stack(var_dir):
    """``python -m hotline serve`` on a free port, waited for until the login page answers."""
    port = _free_port()
    log = (var_dir / f"serve-{port}.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "hotline", "serve", "--addr", f"127.0.0.1:{port}"],
                            cwd=ROOT, env=_env(var_dir), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        assert proc.poll() is None, (var_dir / f"serve-{port}.log").read_text()
        try:
            urllib.request.urlopen(f"{url}/accounts/login/", timeout=5)
            break
        except OSError:
            assert time.monotonic() < deadline, "服务未能启动"
            time.sleep(0.5)
    proc.url = url
    proc.log_path = var_dir / f"serve-{port}.log"
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    log.close()


def _token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def _session(url: str, username: str):
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(path):
        return opener.open(url + path, timeout=30).read().decode()

    def post(path, form_page, **data):
        data["csrfmiddlewaretoken"] = _token(get(form_page))
        return opener.open(url + path, urllib.parse.urlencode(data).encode(), timeout=30).read().decode()

    post("/accounts/login/", "/accounts/login/", username=username, password=PASSWORD)
    return get, post


def _wait_built(get, year: int, month: int, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while True:
        fragment = get(f"/briefing/{year}/{month}/status/")
        if "<progress" not in fragment:
            return fragment
        assert time.monotonic() < deadline, f"简报一直未生成完：{fragment}"
        time.sleep(0.5)


def test_a_briefing_build_queued_from_the_page_finishes_with_no_worker_started_by_hand(stack):
    get, post = _session(stack.url, "supervisor_zhou")
    page = post("/briefing/new/", "/briefing/", month="2023-07")
    assert "排队中" in page or "生成中" in page or "已于" in page  # landed on the draft's page
    fragment = _wait_built(get, 2023, 7)
    assert "生成失败" not in fragment
    assert re.search(r"已于 \d{4}-\d\d-\d\d \d\d:\d\d 生成统计数据", fragment), fragment
    assert "已生成" in get("/briefing/")


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed")
def test_in_chromium_the_supervisor_builds_a_briefing_and_sees_it_finish(stack):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_context(locale="zh-CN").new_page()
            page.set_default_timeout(30000)
            page.goto(f"{stack.url}/accounts/login/")
            page.fill("input[name=username]", "supervisor_zhou")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r".*/$"))
            page.goto(f"{stack.url}/briefing/")
            page.fill("input[name=month]", "2023-06")
            page.get_by_role("button", name="新建简报并生成").click()
            page.wait_for_url(re.compile(r".*/briefing/2023/6/$"))
            # The status polls every 2 s and reloads the page when the worker is done.
            expect(page.locator("#build-status")).to_contain_text("生成统计数据", timeout=90000)
            expect(page.locator("#build-status")).to_contain_text(re.compile(r"已于 \d{4}-\d\d-\d\d"))
            expect(page.get_by_role("button", name="重新生成统计数据")).to_be_enabled()
        finally:
            browser.close()


def test_sigterm_of_the_parent_stops_the_web_server_worker_and_scheduler(stack):
    children = _children(stack.pid)
    commands = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode() for pid in children}
    assert sorted(c.split(" -m hotline ")[1].split()[0] for c in commands.values()) == [
        "db_worker", "scheduler", "serve"], commands
    stack.send_signal(signal.SIGTERM)
    assert stack.wait(timeout=60) == 0
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [pid for pid in children if _alive(pid)] == []


def test_a_child_that_dies_stops_the_others_and_the_parent_says_which(tmp_path):
    lines = []
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    group = ProcessGroup({"网页服务": sleeper, "任务进程": [sys.executable, "-c", "import sys; sys.exit(3)"],
                          "定时调度": sleeper}, write=lines.append, grace=10)
    started = time.monotonic()
    assert group.run() == 1
    assert time.monotonic() - started < 20  # the sleepers were stopped, not waited out
    assert "任务进程 意外退出（退出码 3）" in lines[-1]
    assert all(child.poll() is not None for child in group.children.values())
    assert group.children["网页服务"].returncode == -signal.SIGTERM
