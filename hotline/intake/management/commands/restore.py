"""``hotline restore FILE [--force]``: replace the database with a backup made by ``hotline backup``."""

from django.core.management.base import BaseCommand, CommandError

from hotline.intake.backup import BackupError, restore


class Command(BaseCommand):
    help = "从 hotline backup 生成的文件恢复数据库；数据库非空时须加 --force 才会覆盖"

    def add_arguments(self, parser):
        parser.add_argument("file", help="备份文件")
        parser.add_argument("--force", action="store_true", help="覆盖非空数据库中的全部现有数据")
        parser.add_argument("--database", default="default", help="数据库别名（默认 default）")

    def handle(self, *, file, force, database, **options):
        try:
            restore(file, force=force, using=database)
        except BackupError as e:
            raise CommandError(str(e)) from None
        self.stdout.write(f"已从 {file} 恢复数据库；如备份早于当前版本，请再运行 hotline migrate")
