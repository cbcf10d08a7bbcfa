"""The state the benchmark measures in: cold caches (right after a PostgreSQL restart, and the
operating system's page cache dropped where permitted), warm caches, and PostgreSQL's settings.

A restart stops every other session of the server, so the bench restarts only when told to
(``hotline bench --restart-postgres``), never on its own; dropping the page cache needs root and
is asked for separately (``--drop-os-cache``). The commands are arguments so that a test can give
a harmless one (tests/test_bench.py) and an installation its own (``--restart-command``).
"""

from __future__ import annotations

import shlex
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

DROP_CACHES = Path("/proc/sys/vm/drop_caches")

# docs/deployment.md, "PostgreSQL settings": a 2-core, 24 GiB machine that runs PostgreSQL beside
# the application. name -> (value, how it takes effect: "database" — ALTER DATABASE … SET, for new
# sessions; "reload" — postgresql.conf and a reload; "restart" — postgresql.conf and a restart).
RECOMMENDED = {
    "shared_buffers": ("6GB", "restart"),
    "effective_cache_size": ("16GB", "database"),
    "work_mem": ("64MB", "database"),
    "maintenance_work_mem": ("1GB", "database"),
    "random_page_cost": ("1.1", "database"),
    "effective_io_concurrency": ("200", "database"),
    "jit": ("off", "database"),
    "max_wal_size": ("8GB", "reload"),
    "min_wal_size": ("1GB", "reload"),
    "checkpoint_timeout": ("15min", "reload"),
    "checkpoint_completion_target": ("0.9", "reload"),
    "wal_compression": ("on", "reload"),
}


def default_restart_command() -> list[str]:
    """Debian's way to restart the (one) cluster here: ``pg_ctlcluster`` without systemd, which
    this machine runs without. The version is the one directory under /etc/postgresql."""
    versions = sorted(p.name for p in Path("/etc/postgresql").glob("*") if p.is_dir())
    version = versions[-1] if versions else "15"
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"]


class CacheError(RuntimeError):
    """A cold start that could not be made; the message is one Chinese line for the console."""


def restart_postgres(command: list[str] | str, wait_ready: Callable[[], bool], *, timeout: float = 120) -> float:
    """Run ``command`` (restarting PostgreSQL) and wait until ``wait_ready()`` is true; seconds taken."""
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    started = time.perf_counter()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise CacheError(f"无法重启 PostgreSQL：找不到命令 {argv[0]}（可用 --restart-command 指定）") from None
    except subprocess.TimeoutExpired:
        raise CacheError(f"重启 PostgreSQL 超过 {timeout:.0f} 秒未完成") from None
    if done.returncode:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        raise CacheError(f"重启 PostgreSQL 失败（退出码 {done.returncode}）：{last[0][:200]}")
    deadline = time.monotonic() + timeout
    while not wait_ready():
        if time.monotonic() > deadline:
            raise CacheError(f"PostgreSQL 重启后 {timeout:.0f} 秒内未能连接")
        time.sleep(0.5)
    return time.perf_counter() - started


def drop_os_cache(path: Path = DROP_CACHES) -> bool:
    """Drop the kernel's page cache (needs root); False when not permitted, nothing dropped."""
    try:
        subprocess.run(["sync"], check=False)
        path.write_text("3\n")
        return True
    except OSError:
        return False


def cold_rounds(rounds: int, restart: Callable[[], None],
                measure: Callable[[], dict[str, float]] | Sequence[Callable[[], dict[str, float]]],
                drop: Callable[[], bool] | None = None) -> tuple[dict[str, list[float]], bool]:
    """``rounds`` times, for each of the ``measure`` callables: restart PostgreSQL (and drop the page
    cache when ``drop`` is given), then run it once — each query's first run, in milliseconds by name.
    Returns every name's times and whether the page cache was dropped every time.

    Each callable gets a cold server of its own: searches run one after another read the same
    newest orders, so every search after the first of a round found them cached."""
    measures = [measure] if callable(measure) else list(measure)
    times: dict[str, list[float]] = {}
    dropped = drop is not None
    for _ in range(rounds):
        for one in measures:
            restart()
            if drop is not None:
                dropped = drop() and dropped
            for name, ms in one().items():
                times.setdefault(name, []).append(ms)
    return times, dropped


def spread_row(name: str, times: list[float], *, target_ms: float | None = None, note: str = "") -> dict:
    """A result row from repeated timings: the median, with the fastest and slowest."""
    row = {"name": name, "n": len(times), "p50_ms": round(statistics.median(times), 1),
           "min_ms": round(min(times), 1), "max_ms": round(max(times), 1), "note": note}
    if target_ms is not None:
        row["target"] = f"中位数 < {target_ms:g} ms"
        row["ok"] = row["p50_ms"] < target_ms
    return row


def settings_sql(database: str, which: str) -> tuple[list[str], list[str]]:
    """Statements that give ``database`` the ``which`` ("recommended" or "default") settings that a
    database can hold, and the lines naming those it cannot (postgresql.conf, reload or restart)."""
    statements, elsewhere = [], []
    for name, (value, how) in RECOMMENDED.items():
        if how == "database":
            statements.append(f'ALTER DATABASE "{database}" SET {name} = \'{value}\'' if which == "recommended"
                              else f'ALTER DATABASE "{database}" RESET {name}')
        elif which == "recommended":
            elsewhere.append(f"{name} = {value}（postgresql.conf，需{'重启' if how == 'restart' else '重新加载'}）")
    return statements, elsewhere


def server_settings_sql(which: str) -> list[str]:
    """``ALTER SYSTEM`` statements that give the whole server the ``which`` ("recommended" or
    "default") values of the settings a database cannot hold: postgresql.auto.conf, which
    PostgreSQL reads after postgresql.conf, so they hold until reset (``which="default"``)."""
    return [f"ALTER SYSTEM SET {name} = '{value}'" if which == "recommended" else f"ALTER SYSTEM RESET {name}"
            for name, (value, how) in RECOMMENDED.items() if how != "database"]


def apply_server_settings(cursor, which: str, *, settle: float = 10.0) -> list[str]:
    """Write the server-wide settings (``server_settings_sql``) and reload the configuration; return
    the names still waiting for a restart (``shared_buffers``). A backend takes a reload in when it
    next reads a command; ``pg_conf_load_time()`` moves when this session has (up to ``settle`` s)."""
    cursor.execute("SELECT pg_conf_load_time()")
    [(loaded,)] = cursor.fetchall()
    for statement in server_settings_sql(which):
        cursor.execute(statement)
    cursor.execute("SELECT pg_reload_conf()")
    deadline = time.monotonic() + settle
    while True:
        cursor.execute("SELECT pg_conf_load_time()")
        if cursor.fetchall()[0][0] > loaded or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    cursor.execute("SELECT name FROM pg_settings WHERE pending_restart ORDER BY name")
    return [name for (name,) in cursor.fetchall()]


def current_settings(cursor) -> dict[str, str]:
    """The values in force for this session, of every setting docs/deployment.md recommends."""
    cursor.execute("SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s) ORDER BY name",
                   [list(RECOMMENDED)])
    return dict(cursor.fetchall())
