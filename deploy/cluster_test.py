"""A several-machine deployment on one machine, under load, with an app process and a worker killed.

    .venv/bin/python deploy/cluster_test.py [--orders 240] [--clients 6] [--keep]

What it builds, each piece a separate process as it would be a separate machine:

    PostgreSQL primary :55432 ──streaming──▶ replica :55433
    gunicorn app-1 :55481, app-2 :55482 (sessions in PostgreSQL, cache in Redis when reachable)
    nginx :55480 → app-1, app-2
    task workers w1, w2 (``hotline db_worker``), schedulers s1, s2 (``hotline scheduler``)

Then: operators log in through nginx and register orders through ``POST /api/orders/`` (each order
writes its SMS receipt to the outbox, with the task that sends it, in the same transaction); the
workers send them to an SMS gateway that answers like Kannel's sendsms and reports back like it
(through nginx); the schedulers enqueue SLA sweeps over seeded overdue and near-due orders;
mid-way app-1 and the worker that is in the middle of sending a receipt are SIGKILLed. At the end it checks, on
the primary and the replica, that every acknowledged order exists exactly once and is visible on
the replica, that every task ran to success and its effect exists exactly once, that each sweep
period was enqueued once, and that the clients' sessions kept working through app-2. Exit status
0 when every check holds. Needs: PostgreSQL server binaries, nginx, gunicorn in the venv.
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from render_nginx import render  # noqa: E402

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
PORTS = {"primary": 55432, "replica": 55433, "nginx": 55480, "app1": 55481, "app2": 55482, "sms": 55483}
CRASH_PHONE = "13912345678"
OPERATORS = ["operator_li", "dispatcher_wang", "supervisor_zhou"]
PASSWORD = "hotline12345"
MARK = "集群测试"


def pg_tool(name: str) -> str:
    for d in PG_BIN_DIRS:
        if (d / name).exists():
            return str(d / name)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"找不到 PostgreSQL 程序 {name}")
    return found


def missing_tools() -> list[str]:
    """What this machine lacks to run the test (empty when it can run)."""
    missing = []
    if not any((d / "initdb").exists() for d in PG_BIN_DIRS) and not shutil.which("initdb"):
        missing.append("PostgreSQL server (initdb)")
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        missing.append("nginx")
    if not (VENV_BIN / "gunicorn").exists():
        missing.append("gunicorn (pip install -e .[deploy])")
    for name, port in PORTS.items():
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                missing.append(f"free port {port} ({name})")
    return missing


class Cluster:
    def __init__(self, workdir: Path, log):
        self.dir = workdir
        self.log = log
        self.procs: dict[str, subprocess.Popen] = {}
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.env = dict(os.environ)
        self.env.update({
            "DJANGO_SETTINGS_MODULE": "hotline.settings",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{PORTS['primary']}/hotline",
            "REPLICA_DATABASE_URL": f"postgres://postgres@127.0.0.1:{PORTS['replica']}/hotline",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "HOTLINE_VAR_DIR": str(workdir / "var"),
            "CONN_MAX_AGE": "60",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "KANNEL_SENDSMS_URL": f"http://127.0.0.1:{PORTS['sms']}/cgi-bin/sendsms",
            "HOTLINE_PUBLIC_URL": f"http://127.0.0.1:{PORTS['nginx']}",
            "NOTIFY_LEASE_SECONDS": "3",
        })
        self.env.pop("HOTLINE_ENV", None)  # plain HTTP here: production would require TLS cookies
        if _redis_up():
            self.env["REDIS_URL"] = "redis://127.0.0.1:6379/15"

    # -- processes ------------------------------------------------------------------------------

    def run(self, *cmd, as_postgres=False, **kw):
        cmd = [*self.as_postgres, *cmd] if as_postgres else list(cmd)
        result = subprocess.run(cmd, env=self.env, cwd=ROOT, capture_output=True, text=True, **kw)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self, name: str, *cmd):
        out = open(self.dir / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        # A session of its own, so killing the "machine" kills its whole process group.
        self.procs[name] = subprocess.Popen(list(cmd), env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def kill(self, name: str, sig=signal.SIGKILL):
        proc = self.procs.get(name)
        if proc and proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            proc.wait(timeout=20)

    def hotline(self, *args):
        return self.run(str(VENV_BIN / "hotline"), *args)

    # -- PostgreSQL -----------------------------------------------------------------------------

    def start_postgres(self):
        primary, replica = self.dir / "pg-primary", self.dir / "pg-replica"
        os.chmod(self.dir, 0o755)
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")
        self.run(pg_tool("initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--no-locale", as_postgres=True)
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nunix_socket_directories = '{self.dir}'\n"
                       "wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n"
                       "fsync = off\nsynchronous_commit = on\nmax_connections = 100\n")
        self.pg_ctl(primary, PORTS["primary"])
        self.run(pg_tool("pg_basebackup"), "-h", "127.0.0.1", "-p", str(PORTS["primary"]), "-U", "postgres",
                 "-D", str(replica), "-R", "-X", "stream", as_postgres=True)
        self.pg_ctl(replica, PORTS["replica"])
        self.run(pg_tool("psql"), "-h", "127.0.0.1", "-p", str(PORTS["primary"]), "-U", "postgres", "-qc",
                 "CREATE DATABASE hotline")

    def pg_ctl(self, datadir: Path, port: int, action="start"):
        args = [pg_tool("pg_ctl"), "-D", str(datadir), "-w", "-t", "60"]
        if action == "start":
            args += ["-l", str(datadir.parent / f"{datadir.name}.log"), "-o", f"-p {port}", "start"]
        else:
            args += ["-m", "immediate", "stop"]
        self.run(*args, as_postgres=True)

    def sql(self, role: str, query: str, params=()):
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=PORTS[role], user="postgres", dbname="hotline",
                             autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def stop_all(self):
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM if name.startswith("nginx") else signal.SIGKILL)
        for name in ("pg-replica", "pg-primary"):
            if (self.dir / name / "postmaster.pid").exists():
                try:
                    self.pg_ctl(self.dir / name, 0, action="stop")
                except RuntimeError as exc:
                    self.log(f"停止 {name} 失败：{exc}")


def _redis_up() -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", 6379)) == 0


def wait_http(url: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # answering at all is enough
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} 未在 {timeout} 秒内响应")


SEED = """
import datetime as dt
from django.utils import timezone
from hotline.demo.defaults import load_defaults
from hotline.demo.people import ensure_people
from hotline.catalog.models import AppealType
from hotline.directory.models import Unit
from hotline.workorders import actions

load_defaults()
people = ensure_people()
now = timezone.now()
town = Unit.objects.get(short_name="杨楼镇")
problem = AppealType.objects.get(code="problem")
for kind, deadline, n in (("overdue", now - dt.timedelta(hours=2), {n}), ("near_due", now + dt.timedelta(hours=6), {n})):
    for i in range(n):
        start = now - dt.timedelta(days=6)
        order = actions.register_order(acting_user=people["operator_li"], at=start, title=f"{mark}-seed-{{kind}}-{{i}}",
                                       content="集群测试预置工单", appeal_type=problem, town=town)
        actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=start)
        actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=town, at=start,
                         handle_deadline=deadline)
"""


# The order whose SMS receipt a worker will be killed in the middle of sending (the gateway holds it).
CRASH = """
from hotline.accounts.models import User
from hotline.catalog.models import AppealType
from hotline.directory.models import Unit
from hotline.workorders import actions

actions.register_order(acting_user=User.objects.get(username="operator_li"), title="{mark}-seed-crash",
                       content="集群测试预置工单", appeal_type=AppealType.objects.get(code="problem"),
                       town=Unit.objects.get(short_name="杨楼镇"), caller_phone="{crash_phone}")
"""


class SmsGateway:
    """An SMS gateway as the workers meet it: Kannel's sendsms interface (202 "0: Accepted for
    delivery") and its delivery reports (type 8, "accepted by the SMSC", to the message's dlr-url,
    through nginx, retried while an app process is down). The first message to ``CRASH_PHONE`` is
    accepted and reported, but its answer is held until ``release``: the worker sending it is then
    in the middle of a send, and is killed there."""

    def __init__(self, port: int):
        import http.server

        self.messages: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.holding = threading.Event()
        self.release = threading.Event()
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                to, text, dlr = query["to"][0], query["text"][0], query["dlr-url"][0]
                with gateway.lock:
                    hold = to == CRASH_PHONE and not any(m[0] == to for m in gateway.messages)
                    gateway.messages.append((to, text))
                gateway.report(dlr)
                if hold:
                    gateway.holding.set()
                    gateway.release.wait(60)
                    self.close_connection = True
                    return
                self.send_response(202)
                self.end_headers()
                self.wfile.write(b"0: Accepted for delivery")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def report(dlr_url: str) -> None:
        url = dlr_url.replace("%d", "8").replace("%A", "ACK").replace("%T", str(int(time.time()))).replace("%F", "")
        for _ in range(20):
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)

    def count(self, fragment: str) -> int:
        with self.lock:
            return sum(fragment in text for _, text in self.messages)


class Client:
    """One operator's browser: a cookie jar, logged in once through nginx."""

    def __init__(self, base: str, username: str):
        self.base, self.username = base, username
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _csrf(self) -> str:
        return next((c.value for c in self.jar if c.name == "csrftoken"), "")

    def login(self):
        self.opener.open(self.base + "/accounts/login/", timeout=10).read()
        form = urllib.parse.urlencode({"username": self.username, "password": PASSWORD,
                                       "csrfmiddlewaretoken": self._csrf()}).encode()
        req = urllib.request.Request(self.base + "/accounts/login/", data=form,
                                     headers={"Referer": self.base + "/accounts/login/"})
        try:
            self.opener.open(req, timeout=10).read()
        except urllib.error.HTTPError:
            pass  # the page after login is not what is tested here; the session cookie is
        if not any(c.name == "sessionid" for c in self.jar):
            raise RuntimeError(f"{self.username} 登录失败")

    def call(self, method: str, path: str, body=None) -> tuple[int, dict]:
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Content-Type": "application/json", "X-CSRFToken": self._csrf(), "Referer": self.base + "/"})
        try:
            with self.opener.open(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            payload = exc.read()
            try:
                return exc.code, json.loads(payload or b"{}")
            except ValueError:
                return exc.code, {"error": payload[:200].decode(errors="replace")}
        except (OSError, http.client.HTTPException) as exc:  # the app process died mid-response
            return 0, {"error": str(exc)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=240, help="orders registered through nginx")
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--seed", type=int, default=20, help="overdue and near-due orders seeded for the sweep")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory and its logs")
    args = parser.parse_args(argv)

    missing = missing_tools()
    if missing:
        print("无法运行集群测试，缺少：" + "，".join(missing))
        return 2
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="hotline-cluster-"))

    def log(msg):
        print(f"[{time.monotonic() - started:6.1f}s] {msg}", flush=True)

    cluster = Cluster(workdir, log)
    try:
        return run(cluster, args, log, started)
    finally:
        cluster.stop_all()
        if args.keep:
            print(f"日志与数据保留在 {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run(cluster: Cluster, args, log, started) -> int:
    c = cluster
    gateway = SmsGateway(PORTS["sms"])
    c.start_postgres()
    log(f"PostgreSQL 主库 :{PORTS['primary']}，流复制备库 :{PORTS['replica']}")
    c.hotline("migrate", "--noinput", "-v0")
    c.hotline("migrate", "--database", "replica", "--noinput", "-v0")  # the router makes this a no-op
    c.hotline("shell", "-c", SEED.format(n=args.seed, mark=MARK))
    log(f"迁移完成（仅主库），已载入汝州默认配置、演示人员和 {args.seed}+{args.seed} 件预置超期/临期工单")

    hotline = str(VENV_BIN / "hotline")
    (c.dir / "var" / "static").mkdir(parents=True, exist_ok=True)
    for name in ("app1", "app2"):
        c.env["HOTLINE_BIND"] = f"127.0.0.1:{PORTS[name]}"
        c.env["GUNICORN_WORKERS"] = "2"
        c.start(name, str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"))
    for name in ("w1", "w2"):
        c.start(name, hotline, "db_worker", "--no-reload", "--interval", "0.2", "--queue-name", "*",
                "--worker-id", name, "--no-startup-delay", "-v", "1")
    for name in ("s1", "s2"):
        # A sweep every 3 seconds; a task RUNNING for 5 s is taken to be a dead worker's.
        c.start(name, hotline, "scheduler", "--every", "0.05", "--tick", "0.5", "--stale-after", "5")
    prefix = c.dir / "nginx"
    for sub in ("", "client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(prefix / sub, 0o777)
    conf = render(listen=f"127.0.0.1:{PORTS['nginx']}", apps=[f"127.0.0.1:{PORTS['app1']}",
                                                            f"127.0.0.1:{PORTS['app2']}"],
                  static_root=str(c.dir / "var" / "static"), prefix=str(prefix))
    (prefix / "nginx.conf").write_text(conf, encoding="utf-8")
    c.start("nginx", shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
            "-g", "daemon off;")
    base = f"http://127.0.0.1:{PORTS['nginx']}"
    for port in (PORTS["app1"], PORTS["app2"], PORTS["nginx"]):
        wait_http(f"http://127.0.0.1:{port}/accounts/login/")
    log(f"nginx :{PORTS['nginx']} → gunicorn app1 :{PORTS['app1']}, app2 :{PORTS['app2']}（各 2 个进程）；"
        "任务进程 w1、w2；调度进程 s1、s2")

    clients = [Client(base, OPERATORS[i % len(OPERATORS)]) for i in range(args.clients)]
    for client in clients:
        client.login()
    log(f"{len(clients)} 个客户端经 nginx 登录（{'、'.join(sorted({cl.username for cl in clients}))}）")

    acked, failed, reads = [], [], Counter()
    lock = threading.Lock()
    sent = Counter()
    per_client = args.orders // args.clients
    killed = threading.Event()

    def work(i: int, client: Client):
        for j in range(per_client):
            title = f"{MARK}-c{i}-{j}"
            after_kill = killed.is_set()
            status, body = client.call("POST", "/api/orders/", {
                "title": title, "content": f"来电人反映：{title}，道路破损需维修。", "town": "杨楼镇",
                "caller_name": "张三", "caller_phone": f"1381234{i:02d}{j:02d}"})
            with lock:
                sent["post"] += 1
                (acked if status == 201 else failed).append((title, status, body, after_kill))
            if status == 201:
                read_after_kill = killed.is_set()
                rstatus, _ = client.call("GET", f"/api/orders/{body['id']}/")
                with lock:
                    reads[(read_after_kill, rstatus)] += 1

    crash_task, victim = worker_in_the_middle(c, gateway)
    log(f"任务进程 {victim} 正在发送一条回执短信（网关已收到并报告，应答被扣住）")
    threads = [threading.Thread(target=work, args=(i, cl)) for i, cl in enumerate(clients)]
    for t in threads:
        t.start()
    while sent["post"] < args.orders // 3 and any(t.is_alive() for t in threads):
        time.sleep(0.05)
    ready_before = c.sql("primary", "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status IN "
                                    "('READY','RUNNING')")[0][0]
    c.kill("app1")
    c.kill(victim)
    killed.set()
    gateway.release.set()
    log(f"已发送 {sent['post']} 个登记请求时 SIGKILL app1（整个进程组）和正在执行回执任务的任务进程 {victim}"
        f"（队列中待办/执行中 {ready_before} 个）")
    for t in threads:
        t.join()
    log(f"负载结束：{sent['post']} 个登记请求，{len(acked)} 个成功确认（201），{len(failed)} 个失败")

    # Drain the queue: the surviving worker, with the schedulers requeueing what w1 left RUNNING.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pending = c.sql("primary", "SELECT count(*) FROM django_tasks_database_dbtaskresult "
                                   "WHERE status IN ('READY','RUNNING')")[0][0]
        if pending == 0:
            break
        time.sleep(0.5)
    time.sleep(3.5)  # at least one more sweep period after the last orders
    for name in ("s1", "s2"):
        c.kill(name, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and c.sql(
            "primary", "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status IN ('READY','RUNNING')"
    )[0][0]:
        time.sleep(0.5)

    return check(c, args, log, started, acked, failed, reads, crash_task, victim, gateway)


def worker_in_the_middle(c: Cluster, gateway: SmsGateway):
    """Register the order whose receipt the gateway holds; wait until a worker is in the middle of
    sending it; return its task and worker."""
    c.hotline("shell", "-c", CRASH.format(mark=MARK, crash_phone=CRASH_PHONE))
    if not gateway.holding.wait(30):
        raise RuntimeError("没有任务进程发送被扣住的回执短信")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = c.sql("primary", "SELECT id, worker_ids FROM django_tasks_database_dbtaskresult "
                                "WHERE task_path LIKE %s AND status = 'RUNNING'", ("%deliver_due",))
        if rows:
            return rows[0][0], rows[0][1][-1]
        time.sleep(0.1)
    raise RuntimeError("发送回执的任务不在执行中：" + repr(c.sql(
        "primary", "SELECT task_path, status, worker_ids FROM django_tasks_database_dbtaskresult")))


def check(c: Cluster, args, log, started, acked, failed, reads, crash_task, victim, gateway) -> int:
    results = []

    def verdict(ok: bool, text: str):
        results.append(ok)
        print(f"  [{'通过' if ok else '失败'}] {text}")

    # Replication: wait for the replica to replay everything the primary has written.
    lsn = c.sql("primary", "SELECT pg_current_wal_lsn()::text")[0][0]
    deadline = time.monotonic() + 30
    lag_ok = False
    while time.monotonic() < deadline:
        if c.sql("replica", "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,))[0][0]:
            lag_ok = True
            break
        time.sleep(0.2)
    print("\n===== 集群测试结果 =====")

    rows = c.sql("primary", "SELECT title, count(*), min(id), min(number) FROM workorders_workorder "
                            "WHERE title LIKE %s AND title NOT LIKE %s GROUP BY title", (f"{MARK}-c%", f"{MARK}-seed%"))
    on_primary = {title: (n, pk, number) for title, n, pk, number in rows}
    replica_titles = {t for (t,) in c.sql("replica", "SELECT title FROM workorders_workorder WHERE title LIKE %s",
                                          (f"{MARK}-c%",))}
    exactly_once = all(on_primary.get(title, (0,))[0] == 1 and on_primary[title][1] == body["id"]
                       and on_primary[title][2] == body["number"] for title, _, body, _ in acked)
    verdict(exactly_once and len(acked) > 0,
            f"{len(acked)} 个已确认的登记在主库上各恰好一件（编号、id 与响应一致）")
    verdict(all(n == 1 for n, _, _ in on_primary.values()), f"主库上没有重复工单（共 {len(on_primary)} 件测试工单）")
    committed_unacked = [t for t, *_ in failed if t in on_primary]
    print(f"         未确认的请求 {len(failed)} 个（状态 {dict(Counter(s for _, s, _, _ in failed))}），"
          f"其中 {len(committed_unacked)} 个已提交但响应丢失")
    verdict(lag_ok and all(title in replica_titles for title, *_ in acked) and len(replica_titles) == len(on_primary),
            f"备库已重放到主库 LSN {lsn}，{len(replica_titles)} 件工单全部可见")

    tasks = c.sql("primary", "SELECT task_path, status, count(*), sum(jsonb_array_length(worker_ids)) "
                             "FROM django_tasks_database_dbtaskresult GROUP BY task_path, status")
    by_status = Counter()
    for path, status, n, _ in tasks:
        by_status[(path.rsplit(".", 1)[-1], status)] += n
    deliver_runs = sum(n for (name, _), n in by_status.items() if name == "deliver_due")
    sweeps = sum(n for (name, _), n in by_status.items() if name == "sla_sweep")
    not_done = {k: n for k, n in by_status.items() if k[1] != "SUCCESSFUL"}
    verdict(not not_done, f"全部 {sum(by_status.values())} 个任务执行成功（发送 {deliver_runs} 个，超期扫描 {sweeps} 个）"
            + (f"；未完成：{not_done}" if not_done else ""))
    rerun = c.sql("primary", "SELECT count(*) FROM django_tasks_database_dbtaskresult "
                             "WHERE jsonb_array_length(worker_ids) > 1")[0][0]
    status, workers = c.sql("primary", "SELECT status, worker_ids FROM django_tasks_database_dbtaskresult "
                                       "WHERE id = %s", (crash_task,))[0]
    crash_rows = c.sql("primary", "SELECT d.status FROM notify_delivery d JOIN workorders_workorder o "
                                  "ON o.id = d.order_id WHERE o.title = %s AND d.kind = 'receipt'",
                       (f"{MARK}-seed-crash",))
    crash_number = c.sql("primary", "SELECT number FROM workorders_workorder WHERE title = %s",
                         (f"{MARK}-seed-crash",))[0][0]
    verdict(status == "SUCCESSFUL" and workers[0] == victim and len(workers) == 2
            and crash_rows == [("sent",)] and gateway.count(crash_number) == 1,
            f"{victim} 发送中被杀的任务：调度进程超时后重新入队，由 {workers[-1]} 完成；那条回执网关恰好收到一次，"
            f"凭网关的状态报告记为已发送（领取记录 {workers}）；重跑任务共 {rerun} 个")
    served = dict(Counter(w for (ids,) in c.sql("primary", "SELECT worker_ids FROM django_tasks_database_dbtaskresult")
                          for w in ids[-1:]))
    print(f"         各任务进程完成数：{served}")

    receipts = c.sql("primary", "SELECT o.title, o.number, count(d.id), count(d.id) FILTER (WHERE d.status = 'sent') "
                                "FROM workorders_workorder o LEFT JOIN notify_delivery d ON d.order_id = o.id "
                                "AND d.kind = 'receipt' WHERE o.title LIKE %s GROUP BY o.title, o.number",
                     (f"{MARK}-c%",))
    once = all(rows == sent_rows == 1 and gateway.count(number) == 1 for _, number, rows, sent_rows in receipts)
    verdict(once and len(receipts) == len(on_primary),
            f"每件工单的回执短信随工单写入发件箱一条、网关恰好收到一次（{len(receipts)} 件）")
    slots = c.sql("primary", "SELECT args_kwargs->'kwargs'->>'slot', count(*) FROM django_tasks_database_dbtaskresult "
                             "WHERE task_path LIKE %s GROUP BY 1", ("%sla_sweep",))
    verdict(all(n == 1 for _, n in slots) and len(slots) >= 2,
            f"两个调度进程同时运行，{len(slots)} 个扫描周期各入队恰好一次")
    stamped = c.sql("primary", "SELECT e.action, count(*), count(DISTINCT e.order_id) FROM workorders_event e "
                               "JOIN workorders_workorder o ON o.id = e.order_id WHERE o.title LIKE %s "
                               "AND e.action IN ('overdue', 'near_due') GROUP BY e.action", (f"{MARK}-seed%",))
    stamped = {action: (n, distinct) for action, n, distinct in stamped}
    verdict(stamped.get("overdue") == (args.seed, args.seed) and stamped.get("near_due") == (args.seed, args.seed),
            f"{sweeps} 次扫描后：{args.seed} 件超期工单各标记一次，{args.seed} 件临期工单各提醒一次（{stamped}）")

    posts_after = Counter(status for _, status, _, after_kill in acked + failed if after_kill)
    reads_after = {status: n for (after_kill, status), n in reads.items() if after_kill}
    # A session that did not survive would answer 401 (API) or 403 (CSRF); a 502 is nginx telling
    # that the request went out on a kept-alive connection to the dead process in the moment after
    # the kill — not acknowledged and not committed (checked above), and not about the session.
    refused = sum(n for st, n in [*posts_after.items(), *reads_after.items()] if st in (401, 403))
    verdict(posts_after[201] > 0 and refused == 0 and set(reads_after) <= {200, 502, 0},
            f"会话在 app1 被杀后仍有效：杀后发出的 {sum(posts_after.values())} 个登记、{sum(reads_after.values())} 次读取"
            f"由 app2 以原会话处理，无一被拒（登记状态 {dict(posts_after)}，读取状态 {reads_after}）")
    in_flight = {status: n for (after_kill, status), n in reads.items() if not after_kill and status != 200}
    print(f"         登记失败共 {len(failed)} 个（其中杀后发出 {len(failed) - sum(1 for f in failed if not f[3])} 个），"
          f"杀前发出的读取失败 {sum(in_flight.values())} 个 {in_flight}")
    access = (c.dir / "nginx" / "access.log").read_text(encoding="utf-8", errors="replace").splitlines()
    upstreams = Counter(line.split("upstream=")[1].split()[0].rstrip(",") for line in access if "upstream=" in line)
    print(f"         nginx 上游分布：{dict(upstreams)}")
    print(f"  耗时 {time.monotonic() - started:.1f} 秒；{sum(results)}/{len(results)} 项通过")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
