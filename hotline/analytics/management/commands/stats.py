"""``hotline stats --month 2023-07`` (or ``--from 2023-07-01 --to 2023-07-15``): the statistics tables."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "打印某一时段的统计表：受理量、诉求类型、热点问题、环比同比、各项比率、超期工单"

    def add_arguments(self, parser):
        parser.add_argument("--month", help="月份，如 2023-07")
        parser.add_argument("--from", dest="start", help="开始日期 YYYY-MM-DD")
        parser.add_argument("--to", dest="end", help="结束日期 YYYY-MM-DD（含）")
        parser.add_argument("--unit", help="承办单位简称，如 杨楼镇")
        parser.add_argument("--town", help="所在乡镇街道，如 寄料镇")
        parser.add_argument("--top", type=int, default=10, help="热点问题取前 N 项（默认 10）")
        parser.add_argument("--units", action="store_true", help="同时打印各单位比率")

    def handle(self, *args, **o):
        from hotline.analytics.stats import period_statistics
        from hotline.directory.models import Unit, month_bounds
        from hotline.lib.months import month_argument

        if o.get("month"):
            start, end = month_bounds(*month_argument(o["month"]))
        elif o.get("start") and o.get("end"):
            try:
                start, end = dt.date.fromisoformat(o["start"]), dt.date.fromisoformat(o["end"])
            except ValueError:
                raise CommandError("日期格式应为 YYYY-MM-DD") from None
        else:
            raise CommandError("请用 --month 2023-07，或 --from 与 --to 指定时段")

        def unit_named(name):
            if not name:
                return None
            unit = Unit.objects.filter(short_name=name).first() or Unit.objects.filter(name=name).first()
            if unit is None:
                raise CommandError(f"没有名为“{name}”的单位")
            return unit

        s = period_statistics(start, end, unit=unit_named(o.get("unit")), town=unit_named(o.get("town")),
                              top=o["top"])
        w = self.stdout.write
        scope = "".join(f"（{x}）" for x in (s.unit, s.town) if x)
        w(f"统计时段：{start} 至 {end}{scope}")
        if s.call_volume is not None:
            w(f"话务量：{s.call_volume} 人次")
        w(f"受理总量：{s.grand_total} 件；本级登记事项 {s.local_total} 件（协调办理 {s.coordinated} 件，"
          f"交办处理 {s.dispatched} 件" + (f"，未处置 {s.undecided} 件" if s.undecided else "") + "）；"
          f"上级交办事项 {s.upstream_total} 件")
        for row in s.upstream_by_platform:
            w(f"  {row.name}：{row.count} 件")
        w("")
        self.table("诉求类型统计表", [(r.name, r.count, s.share_text(r.count)) for r in s.appeal_types],
                   ("合计", s.appeal_type_total, s.share_text(s.appeal_type_total)))
        self.table("热点问题统计表", [(r.label, r.count, s.share_text(r.count)) for r in s.hotspots],
                   ("合计", s.hotspot_total, s.share_text(s.hotspot_total)))
        w("环比 / 同比")
        for c in s.changes:
            w(f"  {c.label}：{c.month_on_month.current}；上期 {c.month_on_month.previous}（{c.month_on_month.text}）；"
              f"去年同期 {c.year_on_year.previous}（{c.year_on_year.text}）")
        w("")
        w("各项比率（全部单位合计，按派单时间；口径见 docs/metrics.md）")
        for _key, label, rate in s.rates.items():
            w(f"  {label}：{rate}")
        w(f"  直接答复率（按登记时间）：{s.direct_answer}")
        if o.get("units"):
            w("")
            w("各单位比率")
            for u in s.unit_rates:
                w(f"  {u.short_name}：" + "；".join(f"{label} {rate}" for _k, label, rate in u.rates.items())
                  + f"；超期工单 {u.overdue} 件")
        w("")
        w(f"超期工单：{s.overdue_total} 件")
        for item in s.overdue[:20]:
            state = "未回复" if item.replied_at is None else "超期回复"
            w(f"  {item.number} {item.unit} {item.title}（{state}）")
        if s.stationing_noncompliant:
            w(f"未按规定派驻人员：{'、'.join(s.stationing_noncompliant)}")

    def table(self, title, rows, total):
        w = self.stdout.write
        w(title)
        w("  类型\t数量（件）\t占比")
        for name, count, share in [*rows, total]:
            w(f"  {name}\t{count}\t{share}")
        w("")
