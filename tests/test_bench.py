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
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, report.read_text("utf-8")


def _rows(table: str, heading: str) -> list[str]:
    return [line for line in table.splitlines() if line.startswith(f"| {heading}")]


@pytest.mark.skipif(not _postgres_reachable(), reason="needs PostgreSQL on 127.0.0.1")
def test_bench_50k_on_postgres(tmp_path):
    out, doc = run_bench("--scale", "50k", "--database-url", PG_ADMIN_URL, tmp_path=tmp_path)
    assert "一致性检查通过" in out
    assert "50,000 件工单" in out
    for heading in ("受理 POST /api/orders/", "单位待办 unit_inbox", "派单队列 dispatch_queue", "全文检索 q=",
                    "SLA 巡检 run_sweep", "月度统计+考核+简报", "基线：一条手写 SQL", "窄基线：一条 SQL",
                    "GET /inbox/"):
        assert _rows(out, heading), heading
    # The month was built after each of the three load phases (the cost-vs-history curve).
    assert len(_rows(out, "月度统计+考核+简报")) == 3
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
    assert "SQLite" in doc
    import sqlite3

    with sqlite3.connect(db) as conn:
        orders, numbers = conn.execute("SELECT COUNT(*), COUNT(DISTINCT number) FROM workorders_workorder").fetchone()
        assert orders == numbers >= 5000
        lonely = conn.execute("SELECT COUNT(*) FROM workorders_workorder o WHERE NOT EXISTS (SELECT 1 FROM "
                              "workorders_event e WHERE e.order_id = o.id)").fetchone()[0]
        assert lonely == 0
