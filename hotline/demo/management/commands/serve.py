import shutil
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "启动网页服务：开发/演示用 Django 自带服务器；--workers N 时用 gunicorn（生产）"

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--workers", type=int, default=0, help="gunicorn 工作进程数（需安装 .[deploy]）")

    def handle(self, *args, addr, workers, **options):
        if workers:
            gunicorn = shutil.which("gunicorn")
            if not gunicorn:
                self.stderr.write("未安装 gunicorn：pip install '.[deploy]'")
                sys.exit(2)
            subprocess.run([gunicorn, "hotline.wsgi:application", "--bind", addr, "--workers", str(workers)],
                           check=False)
            return
        call_command("runserver", addr, use_reloader=settings.DEBUG and False, use_threading=True)
