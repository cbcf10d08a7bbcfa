from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from hotline.demo.people import DEMO_PASSWORD, PEOPLE, WeakDemoPassword, _hashed
from hotline.lib import clock
from hotline.workorders.models import WorkOrder
from hotline.workorders.workflow import ROLE_LABELS, Role


class Command(BaseCommand):
    help = "一条命令跑起演示：建库、载入汝州配置、生成2023年7月的数据、打印演示账号并启动服务"

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="监听地址，默认 127.0.0.1:8000")
        parser.add_argument("--password", default=DEMO_PASSWORD, help="演示账号的密码")
        parser.add_argument("--no-serve", action="store_true", help="只准备数据，不启动服务")
        parser.add_argument("--no-worker", action="store_true", help="只启动网页服务，不启动任务进程和定时调度")
        parser.add_argument("--reset", action="store_true", help="删除已有的演示数据库后重新生成（仅限 SQLite）")

    def _train_triage(self):
        """Train the category and lead-unit models on the demo's closed orders, unless trained already:
        the intake form's suggestions work from the first login, with no command to learn. A model
        stored by an older version in a format this one cannot load counts as none (retrained)."""
        from hotline.triage.models import Kind
        from hotline.triage.services import active_model

        if all(active_model(kind) is not None for kind in Kind.values):
            return
        self.stdout.write("正在用演示数据训练分类与派单建议模型……")
        call_command("triage", "train", stdout=self.stdout)

    def handle(self, *args, addr, password, no_serve, no_worker, reset, **options):
        db = settings.DATABASES["default"]
        if reset:
            if db["ENGINE"] != "django.db.backends.sqlite3":
                self.stderr.write("--reset 只用于内置 SQLite 数据库")
                return
            from pathlib import Path

            for suffix in ("", "-wal", "-shm"):
                Path(str(db["NAME"]) + suffix).unlink(missing_ok=True)
        try:
            _hashed(password)  # a production setup refuses a password the rules refuse, before any work
        except WeakDemoPassword as exc:
            raise CommandError(str(exc)) from None
        call_command("setup", stdout=self.stdout)
        july = clock.month_bounds(2023, 7)
        if WorkOrder.objects.filter(received_at__gte=july[0], received_at__lt=july[1]).exists():
            self.stdout.write("已有2023年7月的演示数据，直接启动（--reset 可重新生成）")
            from hotline.demo.people import ensure_people

            ensure_people(password)
        else:
            self.stdout.write("正在生成演示数据：2023年6月（普通月份，作为比较的历史）和2023年7月"
                              "（约5000件工单逐单流转），需要两三分钟……")
            call_command("generate", month="2023-06", orders=2000, seed=2022, no_themes=True, password=password,
                         stdout=self.stdout)
            call_command("generate", month="2023-07", live=120, password=password, stdout=self.stdout)
        self._train_triage()
        self.stdout.write("")
        self.stdout.write(f"演示账号（密码均为 {password}）：")
        for username, display, role, unit in PEOPLE:
            self.stdout.write(f"  {username:<16} {display} {ROLE_LABELS[Role(role)]}{' · ' + unit if unit else ''}")
        self.stdout.write("")
        if no_serve:
            return
        self.stdout.write(f"打开浏览器访问 http://{addr}/")
        call_command("serve", addr=addr, no_worker=no_worker)
