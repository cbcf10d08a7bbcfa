"""``hotline briefing build --month 2023-07 [--format docx|pdf|html] [-o FILE] [--charts/--no-charts]``
and ``hotline briefing check FILE``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from hotline.lib.months import month_argument

FORMATS = ("docx", "pdf", "html")


class Command(BaseCommand):
    help = "工作简报：生成（build）或核对（check）月度工作简报"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{build,check}")
        build = sub.add_parser("build", help="从数据库生成某月的工作简报（DOCX / PDF / HTML）")
        build.add_argument("--month", required=True, help="月份，如 2023-07")
        build.add_argument("--format", choices=FORMATS, help="输出格式（默认按 -o 的扩展名，否则 docx）")
        build.add_argument("-o", "--output", help="输出文件（默认：2023年7月工作简报.docx）")
        build.add_argument("--issue-date", help="印发日期 YYYY-MM-DD（默认：今天）")
        build.add_argument("--published", action="store_true", help="输出该月最新发布版本，而不是重新生成")
        build.add_argument("--charts", action=argparse.BooleanOptionalAction, default=None,
                           help="插入图表（诉求类型饼图、热点问题条形图、每日工单折线图）；"
                                "默认：已安装 matplotlib 和中文字体时插入")
        check = sub.add_parser("check", help="核对简报（.docx / .txt）中的占比、合计与排名")
        check.add_argument("file", metavar="FILE")

    def handle(self, *args, **options):
        if options["action"] == "check":
            from hotline.briefing.check import main

            code = main([options["file"]])
            if code:
                sys.exit(code)
            return
        self.build(options)

    def build(self, options):
        from hotline.briefing.build import build_briefing_data
        from hotline.briefing.models import Briefing, BriefingVersion

        year, month = month_argument(options["month"])
        output = Path(options["output"]) if options.get("output") else None
        fmt = options.get("format") or (output.suffix.lstrip(".").lower() if output and output.suffix else "docx")
        if fmt not in FORMATS:
            raise CommandError(f"不支持的格式“{fmt}”，可用：{'、'.join(FORMATS)}")
        output = output or Path(f"{year}年{month}月工作简报.{fmt}")
        issue_date = None
        if options.get("issue_date"):
            try:
                issue_date = dt.date.fromisoformat(options["issue_date"])
            except ValueError:
                raise CommandError("印发日期格式应为 YYYY-MM-DD") from None
        docx_bytes = None
        if options.get("published"):
            version = (BriefingVersion.objects.filter(briefing__year=year, briefing__month=month)
                       .order_by("-number").first())
            if version is None:
                raise CommandError(f"{year}年{month}月还没有发布的工作简报")
            data, docx_bytes = version.briefing_data(), bytes(version.docx)
        else:
            saved = Briefing.objects.filter(year=year, month=month).first()
            narrative = {}
            if saved is not None and saved.is_built:
                narrative = {"hot_problems": saved.hot_problems, "typical_cases": saved.typical_cases,
                             "business_work": saved.business_work}
                issue_date = issue_date or saved.issue_date
            data = build_briefing_data(year, month, issue_date=issue_date, charts=self.want_charts(options),
                                       **narrative)
        content = self.render(data, fmt, docx_bytes)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(content)
        self.stdout.write(f"已生成 {output}（{data.title}，受理 {data.grand_total} 件）")

    def want_charts(self, options) -> bool:
        """--charts / --no-charts; by default on when they can be drawn. Says why when they cannot."""
        from hotline.briefing.charts import unavailable_reason

        if options.get("charts") is False:
            return False
        reason = unavailable_reason()
        if reason:
            self.stderr.write(reason)
            return False
        return True

    def render(self, data, fmt: str, docx_bytes: bytes | None) -> bytes:
        from hotline.briefing.render_docx import render_docx

        if fmt == "html":
            from hotline.briefing.render_html import render_html

            page = ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
                    f"<title>{data.title}</title></head><body>{render_html(data)}</body></html>\n")
            return page.encode("utf-8")
        docx_bytes = docx_bytes or render_docx(data)
        if fmt == "pdf":
            from hotline.briefing.render_pdf import PdfUnavailable, docx_to_pdf

            try:
                return docx_to_pdf(docx_bytes)
            except PdfUnavailable as exc:
                raise CommandError(str(exc)) from None
        return docx_bytes
