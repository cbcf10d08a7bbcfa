"""``hotline bench`` as a smoke test: the 50k scale on PostgreSQL, the small path on SQLite.

Asserts that the table is produced and the generated data is consistent — never timings (CI
machines are too noisy for that; docs/benchmarks.md has the measured figures).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# One database per run: several people (and CI jobs) run the suite against the same server.
PG_DB = f"hotline_bench_pytest_{os.getpid()}"
PG_ADMIN_URL = os.environ.get("BENCH_TEST_POSTGRES", f"postgres://postgres@127.0.0.1:5432/{PG_DB}")


def _postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", connect_timeout=3):
            return True
    except Exception:
        return False


def run_bench(*args: str, tmp_path: Path) -> tuple[str, str]:
    report = tmp_path / "benchmarks.md"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REPLICA_DATABASE_URL")}
    env["HOTLINE_VAR_DIR"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-c", "from hotline.cli import main; main()", "bench", *args,
                           "--report", str(report)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, report.read_text("utf-8")


def _rows(table: str, heading: str) -> list[str]:
    return [line for line in table.splitlines() if line.startswith(f"| {heading}")]


def assert_loader_swept(out: str) -> None:
    """The loader wrote what a server sweeping every five minutes would have, automatic 催办
    included: the sweep at the loader's last sweep, run again, finds nothing (before the loader
    wrote the 催办, it issued one for every chased order in the near-due window)."""
    [again] = _rows(out, "SLA 巡检 加载器最后一轮的重跑")
    assert "超期 0、临期 0、自动催办 0）" in again and "✅" in again, again


# The supervisor's page and the callback queue: their query functions and their whole pages; the
# intake queue's whole page.
CHASE_PAGES = ("督办页 supervision_queues", "督办页 各单位临期/超期计数", "回访队列 callback_queue", "GET /supervision/",
               "GET /callbacks/", "GET /intake/queue/")


@pytest.mark.skipif(not _postgres_reachable(), reason="needs PostgreSQL on 127.0.0.1")
def test_bench_50k_on_postgres(tmp_path):
    # The cold-cache rounds with a harmless command in place of restarting the shared server: it
    # notes each call, so the test sees one "restart" before every search.
    restarts = tmp_path / "restarts"
    restart = f"{sys.executable} -c \"open('{restarts}', 'a').write('restart\\n')\""
    out, doc = run_bench("--scale", "50k", "--database-url", PG_ADMIN_URL, "--restart-postgres",
                         "--restart-command", restart, "--cold-rounds", "1", tmp_path=tmp_path)
    assert "一致性检查通过" in out
    assert "50,000 件工单" in out
    for heading in ("受理 POST /api/orders/", "单位待办 unit_inbox", "派单队列 dispatch_queue", "全文检索 q=",
                    "全文检索（承办人", "SLA 巡检 run_sweep", "月度统计+考核+简报", "基线：一条手写 SQL", "窄基线：一条 SQL",
                    "GET /inbox/", *CHASE_PAGES):
        assert _rows(out, heading), heading
    # Intake is run three times (other orders each round) for both worker counts, and so are its
    # baselines: each rate is a median with its slowest and fastest round.
    assert [r for r in _rows(out, "受理 POST /api/orders/") if "3 轮）" in r and "每轮 200 单" in r]
    assert len([r for r in _rows(out, "受理 POST /api/orders/") if "3 轮）" in r]) == 2
    assert [r for r in _rows(out, "基线：同样的行逐单 INSERT") if "3 轮）" in r]
    # The month was built after each of the three load phases (the cost-vs-history curve).
    assert len(_rows(out, "月度统计+考核+简报")) == 3
    # The catch-up after a day down, three times the same work (undone and vacuumed between runs).
    assert [r for r in _rows(out, "SLA 巡检 停机一天后的第一轮") if "3 次）" in r]
    assert_loader_swept(out)
    # Every new search path ran (a unit's and the center's, one and two characters, rare), with its
    # median, fastest and slowest; the consistency check above compared each with the plain query
    # and found the character index in place.
    for label in ("1 字（罕见）", "2 字（罕见）", "4 字", "无结果"):
        assert [r for r in _rows(out, "全文检索（承办人") if label in r and "次）" in r], label
    assert "PostgreSQL 设置" in out and "random_page_cost=1.1" in out
    from hotline.bench.measure import HANDLER_SEARCH_TERMS, SEARCH_TERMS

    cold = [line for line in out.splitlines() if line.startswith("| 全文检索") and "重启 PostgreSQL" in line]
    searches = len(SEARCH_TERMS) + len(HANDLER_SEARCH_TERMS)
    assert len(cold) == searches, cold
    assert restarts.read_text().split() == ["restart"] * searches
    assert "<!-- bench:50k:begin -->" in doc and "PostgreSQL" in doc
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres") as conn:
        name = PG_ADMIN_URL.rsplit("/", 1)[1]
        assert not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()


def test_bench_small_on_sqlite(tmp_path):
    db = tmp_path / "hotline_bench.sqlite3"
    out, doc = run_bench("--scale", "5k", "--only", "lists,search,sweep,month", "--database-url", f"sqlite:///{db}",
                         "--keep", tmp_path=tmp_path)
    assert "5,000 件工单" in out and "一致性检查通过" in out
    assert _rows(out, "单位待办 unit_inbox") and _rows(out, "全文检索 q=") and _rows(out, "月度统计+考核+简报")
    for heading in CHASE_PAGES:
        assert _rows(out, heading), heading
    # The month's hot-problem pass runs first, as the scheduler's job, and is reported on its own row.
    assert _rows(out, "热点问题（月结后的后台任务")
    for label in ("1 字（罕见）", "2 字（罕见）", "4 字"):
        assert [r for r in _rows(out, "全文检索（承办人") if label in r], label
    assert "SQLite" in doc
    import sqlite3

    with sqlite3.connect(db) as conn:
        orders, numbers = conn.execute("SELECT COUNT(*), COUNT(DISTINCT number) FROM workorders_workorder").fetchone()
        assert orders == numbers >= 5000
        lonely = conn.execute("SELECT COUNT(*) FROM workorders_workorder o WHERE NOT EXISTS (SELECT 1 FROM "
                              "workorders_event e WHERE e.order_id = o.id)").fetchone()[0]
        assert lonely == 0
        # The units a unit's search starts from, written by the loader beside the assignments.
        assert conn.execute("SELECT COUNT(*) FROM workorders_workorder WHERE search_units <> ''").fetchone()[0] > 1000
        # The pass stored the measured month's result, which the month build then read.
        assert conn.execute("SELECT COUNT(*) FROM triage_monthhotproblems").fetchone()[0] == 1
        # After each of the three load phases the month was built three times (median, fastest,
        # slowest), each a first build: nine assessment versions computed and published.
        assert conn.execute("SELECT COUNT(*) FROM assessment_monthlyresult WHERE state = 'published'").fetchone()[0] == 9
    months = _rows(out, "月度统计+考核+简报")
    assert len(months) == 3 and all("3 次）" in m and "中位那次 stats" in m for m in months)
    # The catch-up after a day down, three times the same work (undone between runs).
    [catch_up] = _rows(out, "SLA 巡检 停机一天后的第一轮")
    assert "3 次）" in catch_up and "自动催办" in catch_up
    assert_loader_swept(out)
    with sqlite3.connect(db) as conn:
        # The loader's automatic 催办 (those the sweeps above issued are a day later or fewer):
        # each on a lead assignment, the only 催办 of its order, with its system ``remind`` event and
        # the bell's notice to each handler of the unit.
        automatic, orders, counted = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT r.order_id), (SELECT COUNT(*) FROM workorders_reminder "
            "WHERE kind = 'reminder') "
            "FROM workorders_reminder r JOIN workorders_assignment a ON a.id = r.assignment_id "
            "WHERE r.automatic AND r.kind = 'reminder' AND a.role = 'lead'").fetchone()
        assert automatic == orders == counted > 100, (automatic, orders, counted)
        assert conn.execute("SELECT COUNT(*) FROM workorders_reminder r WHERE NOT EXISTS (SELECT 1 FROM "
                            "workorders_event e WHERE e.order_id = r.order_id AND e.action = 'remind' AND "
                            "e.actor_role = 'system' AND e.at = r.at)").fetchone()[0] == 0
        unnoticed = conn.execute(
            "SELECT COUNT(*) FROM workorders_event e JOIN workorders_workorder o ON o.id = e.order_id "
            "JOIN accounts_user u ON u.unit_id = o.lead_unit_id AND u.role = 'handler' AND u.is_active "
            "WHERE e.action = 'remind' AND NOT EXISTS (SELECT 1 FROM notify_notification n "
            "WHERE n.event_id = e.id AND n.recipient_id = u.id AND n.kind = 'reminder')").fetchone()[0]
        assert unnoticed == 0


# ---------------------------------------------------------------------------------------------
# Cache state: the restart path, with a harmless command in place of restarting the shared server


def test_cold_rounds_restart_before_each_round_and_report_median_min_max(tmp_path):
    from hotline.bench import cache

    log = tmp_path / "log"
    command = [sys.executable, "-c", f"open({str(log)!r}, 'a').write('restart\\n')"]
    ready_calls = []

    def ready():
        ready_calls.append(1)
        return len(ready_calls) % 2 == 0  # not ready at the first look after each restart

    def measure():
        with log.open("a") as f:
            f.write("measure\n")
        n = log.read_text().count("measure")
        return {"q=水": 10.0 * n, "q=上集": 1.0}

    times, dropped = cache.cold_rounds(3, lambda: cache.restart_postgres(command, ready), measure)
    assert log.read_text().split() == ["restart", "measure"] * 3
    assert times == {"q=水": [10.0, 20.0, 30.0], "q=上集": [1.0, 1.0, 1.0]} and not dropped
    row = cache.spread_row("q=水", times["q=水"], target_ms=25)
    assert (row["p50_ms"], row["min_ms"], row["max_ms"], row["n"], row["ok"]) == (20.0, 10.0, 30.0, 3, True)

    # Several searches: each one after a restart of its own, never two on one warm server.
    log.write_text("")

    def one(name):
        def run():
            with log.open("a") as f:
                f.write(f"{name}\n")
            return {name: float(log.read_text().split().count(name))}
        return run

    times, _ = cache.cold_rounds(2, lambda: cache.restart_postgres(command, lambda: True), [one("a"), one("b")])
    assert log.read_text().split() == ["restart", "a", "restart", "b"] * 2
    assert times == {"a": [1.0, 2.0], "b": [1.0, 2.0]}

    target = tmp_path / "drop_caches"
    times, dropped = cache.cold_rounds(1, lambda: None, lambda: {}, lambda: cache.drop_os_cache(target))
    assert dropped and target.read_text() == "3\n"
    assert not cache.drop_os_cache(tmp_path / "no" / "such" / "file")


def test_a_restart_that_fails_is_one_chinese_line(tmp_path):
    from hotline.bench import cache

    with pytest.raises(cache.CacheError, match="找不到命令 no-such-pg-ctl"):
        cache.restart_postgres(["no-such-pg-ctl", "restart"], lambda: True)
    with pytest.raises(cache.CacheError, match="重启 PostgreSQL 失败（退出码 3）：cluster busy"):
        cache.restart_postgres([sys.executable, "-c", "import sys; print('cluster busy'); sys.exit(3)"], lambda: True)
    assert cache.default_restart_command()[:2] == ["pg_ctlcluster", "--skip-systemctl-redirect"]


def test_settings_recommended_or_default_per_database():
    from hotline.bench import cache

    statements, elsewhere = cache.settings_sql("hotline_bench", "recommended")
    assert "ALTER DATABASE \"hotline_bench\" SET random_page_cost = '1.1'" in statements
    assert any(line.startswith("shared_buffers = 6GB") and "重启" in line for line in elsewhere)
    statements, elsewhere = cache.settings_sql("hotline_bench", "default")
    assert 'ALTER DATABASE "hotline_bench" RESET jit' in statements and not elsewhere


@pytest.mark.skipif(not _postgres_reachable(), reason="needs PostgreSQL on 127.0.0.1")
def test_server_settings_are_written_reloaded_and_reset():
    """``--server-settings``: ALTER SYSTEM and a reload reach new sessions; shared_buffers waits for a
    restart; "default" puts back what the server had (the test's change lasts a moment)."""
    import psycopg

    from hotline.bench import cache

    dsn = "host=127.0.0.1 user=postgres dbname=postgres"

    def show(*names: str) -> list[str]:
        with psycopg.connect(dsn, autocommit=True) as fresh:
            return [fresh.execute("SELECT current_setting(%s)", [n]).fetchone()[0] for n in names]

    names = ("max_wal_size", "checkpoint_timeout", "wal_compression", "shared_buffers")
    before = show(*names)
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cursor:
        try:
            pending = cache.apply_server_settings(cursor, "recommended")
            assert show(*names[:3]) == ["8GB", "15min", "pglz"]  # "on" is pglz
            assert show("shared_buffers") == before[3:]
            assert pending == ([] if before[3] == "6GB" else ["shared_buffers"])
        finally:
            assert cache.apply_server_settings(cursor, "default") == []
    assert show(*names) == before


def test_a_step_whose_part_is_missing_says_so_in_one_chinese_line(tmp_path):
    """gunicorn shadowed by a package that cannot be imported: the step answers its one line."""
    fake = tmp_path / "shadow" / "gunicorn"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('removed for the test')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REPLICA_DATABASE_URL")}
    env.update(HOTLINE_VAR_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'x_bench.sqlite3'}",
               PYTHONPATH=os.pathsep.join([str(fake.parent), str(ROOT)]))
    proc = subprocess.run([sys.executable, "-c", "from hotline.cli import main; main()", "bench", "--step", "http"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert 'BENCH-JSON {"error": "无法启动 gunicorn：当前 Python 环境没有安装 gunicorn（pip install gunicorn）"}' in proc.stdout


def test_bench_neardup_small_on_sqlite(tmp_path):
    """``--only neardup``: its own load, the index, the planted paraphrases against both baselines,
    the registration's cost and the nightly pass, in one section of the report."""
    db = tmp_path / "hotline_bench_neardup.sqlite3"
    out, doc = run_bench("--scale", "5k", "--only", "neardup", "--repeat", "1", "--neardup-planted", "20",
                         "--database-url", f"sqlite:///{db}", tmp_path=tmp_path)
    for heading in ("加载 5,000 件工单", "建索引：5,000 件、100,000 个键", "受理时查相似（索引", "基线：原做法",
                    "基线：逐对 TF-IDF", "登记一单", "夜间比对"):
        assert _rows(out, heading), heading
    assert "召回" in _rows(out, "受理时查相似（索引")[0] and "不写索引 p50" in _rows(out, "登记一单")[0]
    assert "<!-- bench:neardup:begin -->" in doc and "SQLite" in doc
    assert not db.exists()  # dropped without --keep


def test_a_large_scale_on_sqlite_is_refused_in_one_line(tmp_path):
    db = tmp_path / "hotline_bench.sqlite3"
    proc = subprocess.run([sys.executable, "-c", "from hotline.cli import main; main()", "bench", "--scale", "10m", "--database-url",
                           f"sqlite:///{db}"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOTLINE_VAR_DIR": str(tmp_path)})
    assert proc.returncode != 0
    assert "SQLite 上最多跑 1m" in proc.stderr and "Traceback" not in proc.stderr
    assert not db.exists()  # refused before anything was created
