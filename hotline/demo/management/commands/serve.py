import os
import shutil
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from hotline.demo.processes import ProcessGroup, hotline_command

LIVE_THREADS = 16


def gunicorn_env(environ=None) -> dict[str, str]:
    """The environment gunicorn's workers get: DEBUG off unless a developer set HOTLINE_ENV=development.

    Django's debug page shows settings and every URL to whoever triggers an error, so a served
    platform never has it because a stray ``DEBUG=1`` was left in a shell or an env file.
    """
    env = dict(os.environ if environ is None else environ)
    if env.get("HOTLINE_ENV", "").strip().lower() != "development":
        env["DEBUG"] = "0"
    return env


class Command(BaseCommand):
    help = ("启动网页服务，并在旁边启动任务进程（db_worker）和定时调度（scheduler），三者一起停止；"
            "开发/演示用 Django 自带服务器，--workers N 时用 gunicorn；--no-worker 只启动网页服务（生产中三者各为独立服务）；"
            "除非设置 HOTLINE_ENV=development，均不开启 DEBUG")

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--workers", type=int, default=0, help="gunicorn 工作进程数（需安装 .[deploy]）")
        parser.add_argument("--no-worker", action="store_true",
                            help="不启动任务进程和定时调度（生产中它们作为单独的服务运行，见 deploy/systemd/）")

    def handle(self, *args, addr, workers, no_worker, **options):
        if no_worker:
            self._serve_web(addr, workers)
            return
        web = ["serve", "--no-worker", "--addr", addr, *(["--workers", str(workers)] if workers else [])]
        group = ProcessGroup({
            "网页服务": hotline_command(*web),
            "任务进程": hotline_command("db_worker", "--no-reload", "--queue-name=*"),
            "定时调度": hotline_command("scheduler"),
        }, write=lambda line: (self.stdout.write(line), self.stdout.flush()))
        sys.exit(group.run())

    def _serve_web(self, addr, workers):
        if not workers:
            # The demo's server: DEBUG as settings have it (off unless asked); whitenoise serves the static files.
            call_command("runserver", addr, use_reloader=False, use_threading=True)
            return
        gunicorn = shutil.which("gunicorn")
        if not gunicorn:
            self.stderr.write("未安装 gunicorn：pip install '.[deploy]'")
            sys.exit(2)
        env = gunicorn_env()
        if env.get("DEBUG") == "0" and settings.DEBUG:
            self.stderr.write("已关闭 DEBUG（多进程服务只在 HOTLINE_ENV=development 时开启 DEBUG）")
        sys.stdout.flush()
        # Replace this process: a signal meant for the web server reaches gunicorn itself and
        # no gunicorn is left behind when the supervisor stops this child. Nothing may follow it:
        # a test that stands in for execve must not fall through into a second server.
        # Threaded workers: each open page's live-update stream holds a thread for up to
        # HOTLINE_LIVE_STREAM_SECONDS (docs/notifications.md); a sync worker would be blocked by one.
        os.execve(gunicorn, [gunicorn, "hotline.wsgi:application", "--bind", addr, "--workers", str(workers),
                             "--worker-class", "gthread", "--threads", str(LIVE_THREADS)], env)
