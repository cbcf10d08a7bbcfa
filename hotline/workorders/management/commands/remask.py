"""``hotline remask``: recompute what units' text search reads after what masking covers changed."""

from __future__ import annotations

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "重新生成各工单的单位检索文本（身份信息已遮盖的标题和内容），并统一联系电话的写法；修改遮盖规则后运行"

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=2000, help="每批读取的工单数（默认 2000）")

    def handle(self, *args, **o):
        from hotline.workorders.models import WorkOrder
        from hotline.workorders.remask import remask

        changed = remask(WorkOrder.objects.all(), batch=max(1, o["batch"]))
        self.stdout.write(f"已更新 {changed} 件工单的单位检索文本")
