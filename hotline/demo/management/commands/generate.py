import time

from django.core.management.base import BaseCommand, CommandError

from hotline.demo.generate import SEED_SHAPE, generate_live, generate_month
from hotline.demo.people import DEMO_PASSWORD, WeakDemoPassword, _hashed
from hotline.lib.months import month_argument


class Command(BaseCommand):
    help = "生成一个月的演示工单（默认：2023年7月，与汝州七月份工作简报的数字一致），经真实的办理流程逐单流转"

    def add_arguments(self, parser):
        parser.add_argument("--month", default="2023-07", help="YYYY-MM，默认 2023-07")
        parser.add_argument("--seed", type=int, default=2023, help="随机种子：相同种子生成相同数据")
        parser.add_argument("--orders", type=int, default=SEED_SHAPE.total,
                            help=f"工单总数，默认 {SEED_SHAPE.total}（与简报一致）；其他数量按相同比例缩放")
        parser.add_argument("--no-themes", action="store_true",
                            help="生成没有热点问题的普通月份（作为简报“热点问题”比较的历史数据）")
        parser.add_argument("--live", type=int, default=0, help="另外生成最近几天各阶段的在办工单数")
        parser.add_argument("--password", default=DEMO_PASSWORD, help="演示账号的密码")

    def handle(self, *args, month, seed, orders, no_themes, live, password, **options):
        year, month_no = month_argument(month)
        if orders < 50:
            raise CommandError("工单总数至少为 50")
        started = time.monotonic()

        interactive = self.stdout.isatty()

        def progress(done, total):
            # On a terminal one line counts up; in a log, a line every thousand orders.
            if interactive:
                self.stdout.write(f"  已办理 {done}/{total} 件", ending="\r")
                self.stdout.flush()
            elif done % 1000 == 0:
                self.stdout.write(f"  已办理 {done}/{total} 件")

        try:
            _hashed(password)  # refused up front on a production setup when the rules refuse it
        except WeakDemoPassword as exc:
            raise CommandError(str(exc)) from None
        report = generate_month(year, month_no, seed=seed, orders=orders, themes=not no_themes, password=password,
                                progress=progress)
        self.stdout.write("")
        self.stdout.write(f"{year}年{month_no}月：工单 {report.orders} 件，话务 {report.calls} 个，"
                          f"办理记录 {report.events} 条，用时 {time.monotonic() - started:.0f} 秒")
        if report.refused:
            self.stderr.write(f"有 {len(report.refused)} 件工单的流转被拒绝（生成计划有误）：")
            for line in report.refused[:20]:
                self.stderr.write("  " + line)
        if live:
            made = generate_live(count=live, seed=seed, password=password)
            self.stdout.write(f"最近几天的在办工单 {made} 件")
