"""``hotline import orders|calls FILE.xlsx`` and ``hotline import template orders|calls -o FILE``.

The same importers, limits and all-or-nothing rule as the console's background import
(``hotline.intake.importers``: at most 20,000 rows a file), run in the foreground.

(The module is named ``import``: Django finds commands by file name and loads them with
importlib, so a Python keyword is fine here even though ``import import`` is not.)
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from hotline.accounts.access import audit
from hotline.intake import importers


class Command(BaseCommand):
    help = "从 Excel 导入上级平台工单（orders）或话务记录（calls），或生成导入模板（template）"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        for kind, label in (("orders", "上级平台导出的工单"), ("calls", "话务系统导出的来电记录")):
            p = sub.add_parser(kind, help=f"导入{label}（.xlsx）")
            p.add_argument("file", help="Excel 文件（.xlsx）")
            p.add_argument("--dry-run", action="store_true", help="只校验，不写入")
            p.add_argument("--skip-bad", action="store_true",
                           help="跳过有错误的行，导入其余各行，并把错误行写入错误工作簿")
            p.add_argument("--errors", metavar="FILE", help="错误工作簿路径（默认：原文件名加 .errors.xlsx）")
        t = sub.add_parser("template", help="生成导入模板")
        t.add_argument("kind", choices=sorted(importers.KINDS), help="orders 或 calls")
        t.add_argument("-o", "--output", required=True, help="输出文件（.xlsx）")

    def handle(self, *, what, **options):
        try:
            if what == "template":
                importers.write_template(options["kind"], options["output"])
                self.stdout.write(f"已生成导入模板：{options['output']}")
                return
            run = importers.import_orders if what == "orders" else importers.import_calls
            result = run(options["file"], dry_run=options["dry_run"], skip_bad=options["skip_bad"])
        except importers.ImportFileError as e:
            raise CommandError(str(e)) from None
        for error in result.errors:
            self.stderr.write(str(error))
        if result.unlisted_errors:
            self.stderr.write(f"……另有 {result.unlisted_errors} 个错误未列出（共 {result.error_count} 个，"
                              f"涉及 {result.bad_row_count} 行）")
        if result.errors and options["skip_bad"]:
            errors_path = options["errors"] or str(Path(options["file"]).with_suffix("")) + ".errors.xlsx"
            importers.write_error_workbook(result, errors_path)
            self.stderr.write(f"错误行已写入：{errors_path}")
        if result.errors and not options["skip_bad"]:
            raise CommandError(f"{result.summary()}；文件未导入，请改正后重新导入（或用 --skip-bad 只导入正确的行）")
        if not result.dry_run and result.imported:
            audit(None, f"import_{what}", object_type="intake.import", object_id=Path(options["file"]).name,
                  rows=result.rows, imported=len(result.imported), skipped=len(result.skipped),
                  errors=result.error_count)
        self.stdout.write(("（试运行，未写入）" if result.dry_run else "") + result.summary())
