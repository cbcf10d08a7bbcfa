"""``hotline scheduler``: enqueue the SLA sweep every N minutes and recover tasks of dead workers.

Run one per machine or several for availability: each period's sweep is enqueued exactly once
(see ``tasks.schedule_sweep``), whichever scheduler gets there first.
"""

import datetime as dt
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils.module_loading import import_string

from hotline.workorders.tasks import requeue_stale, schedule_sweep


class Command(BaseCommand):
    help = "定时调度：每 N 分钟把超期扫描加入任务队列；多个调度进程同时运行也只入队一次"

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=5.0, help="扫描周期（分钟），默认 5")
        parser.add_argument("--tick", type=float, default=None, help="检查间隔（秒），默认周期的十分之一，至多 30")
        parser.add_argument("--stale-after", type=float, default=600.0,
                            help="运行超过此秒数仍未结束的任务视为其进程已死，重新入队（默认 600）")
        parser.add_argument("--once", action="store_true", help="只检查一次后退出")

    def handle(self, *, every, tick, stale_after, once, **options):
        period = dt.timedelta(minutes=every)
        tick = tick if tick is not None else min(30.0, period.total_seconds() / 10)
        stale = dt.timedelta(seconds=stale_after)
        self.running = True
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self.stdout.write(f"调度进程启动：每 {every:g} 分钟扫描一次，任务超时 {stale_after:g} 秒重新入队")
        while self.running:
            requeued = requeue_stale(stale)
            if requeued:
                self.stdout.write(f"重新入队 {requeued} 个疑似中断的任务")
            if schedule_sweep(every=period):
                self.stdout.write("已加入超期扫描任务")
                # Other apps' periodic jobs (upstream report-backs…) ride on the same once-per-period
                # claim; they are named in settings so this app does not import the apps above it.
                for path in settings.HOTLINE_PERIODIC_JOBS:
                    queued = import_string(path)()
                    if queued:
                        self.stdout.write(f"{path}: 已入队 {len(queued)} 项")
            # Cheap jobs of the apps above (the outbox's due retries): every tick, not every period.
            for path in getattr(settings, "HOTLINE_TICK_JOBS", ()):
                queued = import_string(path)()
                if queued:
                    self.stdout.write(f"{path}: 已入队 {len(queued)} 项")
            self.stdout.flush()
            if once:
                break
            close_old_connections()  # a broken or expired connection is replaced at the next tick
            time.sleep(tick)

    def _stop(self, signum, frame):
        self.running = False
