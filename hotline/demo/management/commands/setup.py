from django.core.management import call_command
from django.core.management.base import BaseCommand

from hotline.demo.defaults import load_defaults


class Command(BaseCommand):
    help = "迁移数据库并载入默认配置（汝州市的单位、分类、时限、知识库），可重复执行"

    def handle(self, *args, **options):
        call_command("migrate", verbosity=0, interactive=False)
        # The shared cache's table, should REDIS_URL have been dropped since the migration ran.
        call_command("createcachetable", verbosity=0)
        created = load_defaults()
        self.stdout.write(f"默认配置已就绪：新增单位 {created['units']}，分类 {created['categories']}，"
                          f"知识库 {created['articles']}，派单目录 {created['rules']}")
