"""``hotline assess --month 2023-07 [--publish]``: compute a month's assessment and print both tables."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from hotline.assessment.engine import format_score
from hotline.assessment.results import AssessmentError, group_results
from hotline.lib.months import month_argument


class Command(BaseCommand):
    help = "计算某月考核结果（新版本）并打印各组考核表；--publish 同时发布"

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="月份，如 2023-07")
        parser.add_argument("--publish", action="store_true", help="计算后发布")
        parser.add_argument("--user", default="", help="以该用户身份计算（默认：第一个管理员）")

    def handle(self, *args, month: str, publish: bool, user: str, **options):
        from hotline.accounts.models import User
        from hotline.assessment import actions

        year, mon = month_argument(month)
        if user:
            acting = User.objects.filter(username=user).first()
            if acting is None:
                raise CommandError(f"用户 {user} 不存在")
        else:
            acting = User.objects.filter(is_superuser=True, is_active=True).order_by("id").first()
            if acting is None:
                raise CommandError("没有管理员账号；请用 --user 指定督办人员")
        try:
            result = actions.compute_month(year, mon, acting_user=acting)
            if publish:
                result = actions.publish_result(result, acting_user=acting)
        except AssessmentError as exc:
            raise CommandError(str(exc)) from None
        out = self.stdout
        out.write(f"{year}年{mon}月考核结果 第 {result.version} 版（{result.get_state_display()}）")
        for g in group_results(result):
            out.write("")
            out.write(f"{g.name}考核表")
            out.write("单位\t考核总分\t排名")
            for name, score, rank in g.result.rows():
                out.write(f"{name}\t{score}\t{rank}")
            for s in g.result.unranked:
                out.write(f"{s.unit_name}\t{format_score(s.score)}\t不排名（{s.unranked_reason}）")
            out.write(f"注：工单量小于{g.min_orders}件的单位不计入考核")
        if result.diff_against_id:
            out.write("")
            out.write(f"与第 {result.diff_against.version} 版相比：")
            out.write(result.diff_text)
