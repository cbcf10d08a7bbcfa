"""``hotline upstream report|retry|secret``: report results back to upstream platforms, manage keys.

``report`` enqueues a report-back task for every closed upstream order never attempted; run it
from cron or the scheduler every few minutes (it is idempotent). ``retry`` also re-enqueues
orders whose attempts failed. ``secret`` creates or rotates a platform's shared key.
"""

import datetime as dt
import secrets

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from hotline.directory.models import UpstreamPlatform
from hotline.intake.models import UpstreamCredential
from hotline.intake.upstream import enqueue_reports


class Command(BaseCommand):
    help = "上级平台接口：回复上级（report）、失败重试（retry）、生成或更换接口密钥（secret）"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        sub.add_parser("report", help="把已办结、尚未回复上级的上级交办工单加入回复任务队列")
        retry = sub.add_parser("retry", help="重新加入回复失败的工单")
        retry.add_argument("--after", type=float, default=10.0,
                           help="距上次失败超过多少分钟才重试（默认 10）")
        secret = sub.add_parser("secret", help="生成或更换上级平台的接口密钥并打印")
        secret.add_argument("platform", help="上级平台代码，如 pds")
        secret.add_argument("--disable", action="store_true", help="停用该平台的推送接口")

    def handle(self, *, what, **options):
        if what == "secret":
            return self.secret(options["platform"], options["disable"])
        if what == "report":
            numbers = enqueue_reports()
        else:
            numbers = enqueue_reports(retry=True,
                                      failed_before=timezone.now() - dt.timedelta(minutes=options["after"]))
        self.stdout.write(f"已加入回复上级任务 {len(numbers)} 件" + (f"：{'、'.join(numbers)}" if numbers else ""))

    def secret(self, code: str, disable: bool):
        platform = UpstreamPlatform.objects.filter(code=code).first()
        if platform is None:
            known = "、".join(UpstreamPlatform.objects.values_list("code", flat=True))
            raise CommandError(f"没有代码为“{code}”的上级平台（已有：{known or '无'}）")
        if disable:
            UpstreamCredential.objects.filter(platform=platform).update(active=False)
            self.stdout.write(f"已停用 {platform.name} 的推送接口")
            return
        key = secrets.token_urlsafe(32)
        UpstreamCredential.objects.update_or_create(platform=platform, defaults={"secret": key, "active": True})
        self.stdout.write(f"{platform.name}（{code}）的新接口密钥，请通过安全渠道交给对方，旧密钥立即失效：")
        self.stdout.write(key)
