"""``hotline sweep_attachments``: delete stored attachment files that no order refers to."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "删除附件存储中没有任何工单引用的文件（进程在写入文件后、提交前中断时留下）；可每日运行"

    def add_arguments(self, parser):
        parser.add_argument("--older-than-hours", type=int, default=24,
                            help="只删除早于此时长的文件，默认 24 小时（正在提交的上传不受影响）")
        parser.add_argument("--dry-run", action="store_true", help="只列出，不删除")

    def handle(self, *args, **o):
        from hotline.workorders.attachments import sweep_orphans

        names = sweep_orphans(older_than=dt.timedelta(hours=max(0, o["older_than_hours"])), dry_run=o["dry_run"])
        for name in names:
            self.stdout.write(name)
        self.stdout.write(f"{'发现' if o['dry_run'] else '已删除'} {len(names)} 个无引用的附件文件")
