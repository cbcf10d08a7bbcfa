"""``hotline backup -o FILE``: the whole database to one file (SQLite online backup, or pg_dump -Fc)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from hotline.accounts.access import audit
from hotline.intake.backup import BackupError, backup


class Command(BaseCommand):
    help = "备份数据库到一个文件：SQLite 用在线备份接口，PostgreSQL 用 pg_dump -Fc"

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", required=True, help="备份文件路径")
        parser.add_argument("--database", default="default", help="数据库别名（默认 default）")

    def handle(self, *, output, database, **options):
        try:
            path = backup(output, using=database)
        except BackupError as e:
            raise CommandError(str(e)) from None
        vendor = connections[database].vendor
        # A backup is every citizen's data in one file: audited like any export (written after the
        # dump, so the row is in the audit log, not in the file).
        audit(None, "export", object_type="backup", object_id=path.name[:60], database=database,
              bytes=path.stat().st_size)
        self.stdout.write(f"已备份 {vendor} 数据库到 {path}（{path.stat().st_size / 1024:.0f} KB）")
