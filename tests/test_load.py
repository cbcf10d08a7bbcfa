"""The mixed workload on PostgreSQL: dozens of staff at once through nginx and two gunicorn processes.

``hotline bench --only mixed`` on a small generated database (the 5k scale's recent month, about a
thousand orders): 24 people log in through the login form and work for 45 seconds under locust —
operators register (form and API) and take in, dispatchers dispatch and review, handlers sign,
reply and ask for extensions, supervisors review and search. Asserts 0 errors (5xx, timeouts, lost
connections, refused forms), and, counted in the database afterwards, that every kind of work
happened and that every registration the staff saw acknowledged exists exactly once. Never
timings: docs/benchmarks.md has the measured figures.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
URL = os.environ.get("DATABASE_URL", "")
PG = URL.startswith(("postgres://", "postgresql://"))

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not PG, reason="混合负载只在 PostgreSQL 上测：SQLite 同一时间只许一个写者，"
                                              "几十人同时办理测的是锁，不是平台")]


def _missing() -> list[str]:
    from hotline.bench.mixed import missing_tools

    return missing_tools()


def test_two_dozen_staff_at_work_for_45_seconds_without_an_error(tmp_path):
    missing = _missing()
    if missing:
        pytest.skip("缺少：" + "，".join(missing))
    url = urlsplit(URL)
    # A database of its own, named after the suite's (several people share the server).
    name = f"{url.path.lstrip('/')}_bench_mixed"
    bench_url = url._replace(path=f"/{name}").geturl()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REPLICA_DATABASE_URL")}
    env["HOTLINE_VAR_DIR"] = str(tmp_path)
    import psycopg

    admin = url._replace(path="/postgres").geturl()
    try:
        proc = subprocess.run([sys.executable, "-c", "from hotline.cli import main; main()", "bench", "--scale", "5k",
                               "--load-phases", "0", "--only", "mixed", "--mixed-users", "24", "--mixed-seconds", "45",
                               "--mixed-runs", "1", "--database-url", bench_url, "--keep",
                               "--report", str(tmp_path / "benchmarks.md")],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=420)
        print(proc.stdout[-6000:], "\n".join(line for line in proc.stderr.splitlines() if "[bench]" in line))
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        out = proc.stdout
        # The failures' samples and the log's path first: CI's excerpt of a failure keeps the
        # beginning of the message, and the cause must be in it.
        assert re.search(r"混合负载：错误 0，", out), "\n".join(
            line for line in out.splitlines() if line.startswith(("混合负载：错误", "混合负载错误示例", "日志："))
        ) + "\n" + out[-3000:]
        done = json.loads(re.search(r"混合负载完成的操作：(\{.*\})", out).group(1))
        # p50/p95 per page, pages named without ids.
        for page in ("单位待办 GET /inbox/", "派单台 GET /dispatch/", "工单页 GET /orders/<编号>/",
                     "登记 POST /intake/", "全文检索 GET /orders/?q=…"):
            assert re.search(rf"\| {re.escape(page)} \| [\d.]+ 次/秒 · p50 [\d.]+ ms · p95 [\d.]+ ms", out), page

        # Every registration acknowledged to an operator (302 from the form, 201 from the API) is one
        # order, once, and no order was registered without its operator hearing of it.
        checked = re.search(r"混合负载登记核对：确认 (\d+) 件，库中缺 (\d+) 件，重复确认 (\d+) 件，"
                            r"未确认而入库 (\d+) 件", out)
        acknowledged, missing, doubled, unacknowledged = map(int, checked.groups())
        assert acknowledged == done.get("登记 POST /intake/", 0) + done.get("登记 POST /api/orders/", 0) > 0, done
        assert (missing, doubled, unacknowledged) == (0, 0, 0), checked.group(0)

        with psycopg.connect(bench_url, autocommit=True) as conn:
            by_action = dict(conn.execute(
                "SELECT e.action, count(*) FROM workorders_event e JOIN accounts_user u ON u.id = e.actor_id "
                "WHERE u.username LIKE 'load\\_%%' GROUP BY e.action").fetchall())
            for action in ("register", "submit_for_dispatch", "dispatch", "sign", "reply", "request_extension",
                           "approve_reply"):
                assert by_action.get(action, 0) > 0, (action, by_action)
            assert by_action["register"] == acknowledged, by_action
            # Each acknowledged reply is one replied assignment of a load handler.
            replies = conn.execute(
                "SELECT count(*) FROM workorders_assignment a JOIN accounts_user u ON u.id = a.replied_by_id "
                "WHERE u.username LIKE 'load\\_%%'").fetchone()[0]
            acknowledged_replies = sum(n for name, n in done.items() if name.startswith("回复 提交"))
            assert replies == acknowledged_replies > 0, (replies, done)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
