"""The mixed workload: dozens of staff at work at once, through nginx and several gunicorn processes.

``hotline bench --only mixed`` runs this inside the benchmark database's step process: it gives
the benchmark's people accounts of their own (``load_…``; handlers in the units that hold the most
open work, two to a unit so that they also race each other), starts the deployment of deploy/ on
loopback — nginx (deploy/nginx.conf.template, rendered by deploy/render_nginx.py) in front of
``APPS`` gunicorn processes (deploy/gunicorn.conf.py, gthread) — and runs locust headless with
hotline/bench/locustfile.py for a bounded time, ``runs`` times against the same deployment. It
returns p50/p95 per page (the median over the runs, with the spread), throughput, refusals and
errors, and what the staff did as the database counts it afterwards (events by the load accounts).

Nothing is shared between the app processes but PostgreSQL: no Redis, so sessions are read from
the database and each process has its own cache — the deployment without Redis
(docs/deployment.md). Pages' live-update streams are not opened (locust runs no JavaScript).
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
APPS, WORKERS, THREADS = 2, 2, 4  # two app "machines", each 2 gthread workers × 4 threads
# Who the staff are: about half are unit handlers, the rest the center's people.
ROLE_SHARES = (("operator", 0.2), ("dispatcher", 0.2), ("supervisor", 0.1))
PREFIX = "load_"


def nginx_path() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def missing_tools() -> list[str]:
    """What this machine lacks to run the mixed workload (empty when it can run)."""
    missing = []
    if not nginx_path():
        missing.append("nginx")
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "gunicorn").exists() and not shutil.which("gunicorn"):
        missing.append("gunicorn（pip install -e .[deploy]）")
    # Only looked for, never imported here: importing locust patches this process for gevent.
    if importlib.util.find_spec("locust") is None:
        missing.append("locust（pip install -e .[test]）")
    return missing


# ---------------------------------------------------------------------------------------------
# The staff (inside the benchmark database)


def ensure_staff(users: int) -> list[tuple[str, str]]:
    """Accounts for ``users`` people: [(username, role)], created or reset (password DEMO_PASSWORD)."""
    from django.db.models import Count

    from hotline.accounts.models import User
    from hotline.demo.people import DEMO_PASSWORD, _hashed
    from hotline.directory.models import Unit
    from hotline.workorders.models import Assignment

    plan = []
    for role, share in ROLE_SHARES:
        plan += [role] * max(1, round(users * share))
    plan += ["handler"] * max(1, users - len(plan))
    plan = plan[:users]
    handlers = plan.count("handler")
    busiest = list(Assignment.objects.filter(active=True, role=Assignment.Role.LEAD,
                                             order__status__in=["dispatched", "handling"])
                   .values("unit").annotate(n=Count("id")).order_by("-n", "unit")
                   .values_list("unit", flat=True)[:max(1, (handlers + 1) // 2)])
    units = (sorted(Unit.objects.filter(pk__in=busiest), key=lambda u: busiest.index(u.pk))
             or list(Unit.objects.exclude(kind=Unit.Kind.CENTER)[:1]))
    password = _hashed(DEMO_PASSWORD)
    accounts, seen = [], Counter()
    for role in plan:
        seen[role] += 1
        k = seen[role]
        unit = units[(k - 1) % len(units)] if role == "handler" else None
        username = f"{PREFIX}{role}_{k:02d}"
        user = User.objects.filter(username=username).first() or User(username=username)
        user.display_name, user.role, user.unit, user.password = f"{role}{k}", role, unit, password
        user.is_active = True
        user.save()
        accounts.append((username, role))
    return accounts


def done_in_database(since) -> dict[str, int]:
    """What the load accounts did since ``since``, as the event log records it: {action: count}."""
    from django.db.models import Count

    from hotline.workorders.models import Event

    rows = (Event.objects.filter(at__gte=since, actor__username__startswith=PREFIX)
            .values("action").annotate(n=Count("id")).order_by("-n"))
    return {r["action"]: r["n"] for r in rows}


def registrations(since, acknowledged: list[str]) -> dict[str, int]:
    """Each registration acknowledged to a load operator is one order; none beside them."""
    from hotline.workorders.models import WorkOrder

    mine = set(WorkOrder.objects.filter(received_at__gte=since, registered_by__username__startswith=PREFIX)
               .values_list("number", flat=True))
    return {"acknowledged": len(acknowledged), "doubled": len(acknowledged) - len(set(acknowledged)),
            "missing": len(set(acknowledged) - mine), "unacknowledged": len(mine - set(acknowledged))}


def machine_load() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def shared_buffers() -> str:
    from django.db import connection

    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute("SHOW shared_buffers")
        return cursor.fetchone()[0]


# ---------------------------------------------------------------------------------------------
# The deployment


def _wait_http(port: int, path: str, proc: subprocess.Popen | None, timeout: float = 90) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
                raise RuntimeError(f"127.0.0.1:{port} 未能启动") from None
            time.sleep(0.3)


@contextmanager
def deployment(database_url: str, workdir: Path, *, apps: int = APPS, workers: int = WORKERS,
               threads: int = THREADS):
    """nginx in front of ``apps`` gunicorn processes on loopback, as in deploy/; yields nginx's URL."""
    from hotline.bench.http import free_port

    sys.path.insert(0, str(DEPLOY))
    from render_nginx import render

    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "0", "SECRET_KEY": secrets.token_hex(32),
           "HOTLINE_VAR_DIR": str(workdir / "var"), "GUNICORN_WORKERS": str(workers),
           "GUNICORN_THREADS": str(threads), "GUNICORN_LOG_LEVEL": "warning", "LOG_LEVEL": "WARNING",
           # Roles that may need TOTP (supervisors) log in with the password alone, as in the demo.
           "HOTLINE_OTP_REQUIRED": "0"}
    # Production would require TLS cookies: this is plain HTTP on loopback.
    for name in ("HOTLINE_ENV", "REPLICA_DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    procs: list[subprocess.Popen] = []
    try:
        ports = [free_port() for _ in range(apps)]
        for port in ports:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(DEPLOY / "gunicorn.conf.py"), "--bind",
                 f"127.0.0.1:{port}", "--access-logfile", str(workdir / f"app{port}.access.log")],
                env=env, cwd=settings.BASE_DIR, stdout=subprocess.DEVNULL,
                stderr=open(workdir / f"app{port}.log", "w"), start_new_session=True))  # noqa: SIM115
        for port, proc in zip(ports, procs, strict=True):
            _wait_http(port, "/healthz", proc)
        nginx_port = free_port()
        prefix = workdir / "nginx"
        prefix.mkdir()
        # nginx's workers run as nobody when started by root: they write large responses to temp files here.
        for path in (workdir, prefix):
            path.chmod(0o755)
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / name).mkdir(mode=0o777)
            (prefix / name).chmod(0o777)
        conf = render(listen=f"127.0.0.1:{nginx_port}", apps=[f"127.0.0.1:{p}" for p in ports],
                      static_root=str(workdir / "static"), prefix=str(prefix))
        (prefix / "nginx.conf").write_text(conf, encoding="utf-8")
        procs.append(subprocess.Popen([nginx_path(), "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e",
                                       str(prefix / "error.log"), "-g", "daemon off;"],
                                      stderr=open(workdir / "nginx.log", "w")))  # noqa: SIM115
        _wait_http(nginx_port, "/healthz", procs[-1])
        yield f"http://127.0.0.1:{nginx_port}"
    finally:
        for p in reversed(procs):
            try:
                if p.args[1:3] == ["-m", "gunicorn"]:
                    os.killpg(p.pid, signal.SIGINT)  # gunicorn's quick shutdown, workers included
                else:
                    p.terminate()
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
            if p.args[1:3] == ["-m", "gunicorn"]:
                # A worker can outlive its master (seen on a loaded machine: a gthread worker still
                # busy when the master had gone); the group is this run's alone, so end what is left.
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


# ---------------------------------------------------------------------------------------------
# locust


def run_locust(base: str, accounts: list[tuple[str, str]], seconds: int, workdir: Path, k: int) -> dict:
    """One headless locust run, one simulated person per account; the locustfile's summary."""
    from hotline.demo.people import DEMO_PASSWORD

    accounts_file = workdir / "accounts.json"
    accounts_file.write_text(json.dumps(accounts), encoding="utf-8")
    result = workdir / f"run{k}.json"
    env = {**os.environ, "HOTLINE_LOAD_ACCOUNTS": str(accounts_file), "HOTLINE_LOAD_RESULT": str(result),
           "HOTLINE_LOAD_PASSWORD": DEMO_PASSWORD}
    users = len(accounts)
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", base,
           "-u", str(users), "-r", str(max(2, users // 10)), "-t", f"{seconds}s", "--stop-timeout", "30",
           "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    started = time.monotonic()
    with open(workdir / f"locust{k}.log", "w") as log:
        proc = subprocess.run(cmd, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, timeout=seconds + 120)
    wall = time.monotonic() - started
    if proc.returncode != 0 or not result.exists():
        tail = (workdir / f"locust{k}.log").read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"locust 运行失败（退出码 {proc.returncode}）：{tail}")
    summary = json.loads(result.read_text(encoding="utf-8"))
    summary["seconds"] = min(wall, seconds)
    summary["load"] = machine_load()  # the machine's load average (1/5/15 min) as the run ends
    return summary


def summarise(runs: list[dict], users: int, seconds: int) -> tuple[list[dict], dict]:
    """Rows for the report (one per page: medians over the runs, the spread of p95) and the totals."""
    from hotline.bench.measure import median, percentile

    names = sorted({n for r in runs for n in r["times"]}, key=lambda n: (n.split(" ")[0], n))
    rows = []
    for name in names:
        p50s, p95s, counts = [], [], []
        for r in runs:
            t = r["times"].get(name, [])
            if t:
                p50s.append(percentile(t, 0.5))
                p95s.append(percentile(t, 0.95))
            counts.append(len(t))
        if not p95s:
            continue
        errors = sum(r["failures"].get(name, 0) for r in runs)
        refused = sum(r["refusals"].get(name, 0) for r in runs)
        note = (f"{len(runs)} 次 p95：{' / '.join(f'{x:.0f}' for x in p95s)} ms；每次 {round(median(counts))} 个请求"
                + (f"；被并发抢先（拒绝）{refused}" if refused else "") + (f"；**错误 {errors}**" if errors else ""))
        rows.append({"name": name, "p50_ms": round(median(p50s), 1), "p95_ms": round(median(p95s), 1),
                     "rate": round(median([c / r["seconds"] for c, r in zip(counts, runs, strict=True)]), 1),
                     "rate_unit": "次/秒", "note": note})
    totals = {
        "requests": [sum(len(t) for t in r["times"].values()) for r in runs],
        "errors": sum(sum(r["failures"].values()) for r in runs),
        "refusals": sum(sum(r["refusals"].values()) for r in runs),
        "done": dict(sum((Counter(r["done"]) for r in runs), Counter())),
        "failure_samples": {k: v for r in runs for k, v in r["failure_samples"].items()},
    }
    rates = [n / r["seconds"] for n, r in zip(totals["requests"], runs, strict=True)]
    # Logins are once a person (and a deliberately slow hash): the pages of the day's work are the rest.
    all_times = [x for r in runs for name, t in r["times"].items() if not name.startswith("登录") for x in t]
    head = {"name": f"全部请求，登录除外（{users} 人同时工作，每次 {seconds} 秒 × {len(runs)} 次）",
            "p50_ms": round(percentile(all_times, 0.5), 1), "p95_ms": round(percentile(all_times, 0.95), 1),
            "rate": round(median(rates), 1), "rate_unit": "请求/秒", "target": "0 错误",
            "ok": totals["errors"] == 0,
            "note": (f"吞吐 {' / '.join(f'{x:.0f}' for x in rates)} 请求/秒；错误 {totals['errors']}；"
                     f"被并发抢先的操作 {totals['refusals']}；每次结束时机器负载（1/5/15 分钟）"
                     f"{'，'.join(r['load'] for r in runs)}（{os.cpu_count()} 核）")}
    return [head, *rows], totals


def mixed(database_url: str, users: int, seconds: int, runs: int) -> dict:
    """The whole measurement (inside the benchmark database's step process)."""
    import tempfile

    from django.utils import timezone

    accounts = ensure_staff(users)
    since = timezone.now()
    workdir = Path(tempfile.mkdtemp(prefix="hotline-mixed-"))
    results = []
    with deployment(database_url, workdir) as base:
        for k in range(runs):
            results.append(run_locust(base, accounts, seconds, workdir, k))
    rows, totals = summarise(results, len(accounts), seconds)
    totals["in_database"] = done_in_database(since)
    totals["registrations"] = registrations(since, [n for r in results for n in r["registered"]])
    buffers = shared_buffers()
    if buffers:
        rows[0]["note"] += f"；PostgreSQL shared_buffers {buffers}"
    roles = Counter(role for _, role in accounts)
    totals["staff"] = dict(roles)
    totals["logs"] = str(workdir)
    did = "、".join(f"{a} {n}" for a, n in totals["in_database"].items())
    rows[0]["note"] += f"；库中记录的操作：{did}"
    if totals["errors"] == 0:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"rows": rows, "totals": totals}
