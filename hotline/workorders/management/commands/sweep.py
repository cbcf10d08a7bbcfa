"""``hotline sweep``: run the SLA sweep now (or enqueue it for a worker)."""

from django.core.management.base import BaseCommand

from hotline.workorders.tasks import run_sweep, sla_sweep


class Command(BaseCommand):
    help = "立即执行超期/临期扫描：标记已超期工单，记录临期提醒（可重复执行，不会重复标记）"

    def add_arguments(self, parser):
        parser.add_argument("--at", help="按此时间扫描（ISO 8601，带时区），默认当前时间")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--enqueue", action="store_true", help="交给后台任务执行，而不是在本进程执行")

    def handle(self, *, at, batch_size, enqueue, **options):
        if enqueue:
            result = sla_sweep.enqueue(at=at)
            self.stdout.write(f"已加入队列：{result.id}")
            return
        result = run_sweep(at, batch_size)
        self.stdout.write(f"扫描时间 {result['at']}：新标记超期 {result['overdue']} 件，临期提醒 {result['near_due']} 件")
