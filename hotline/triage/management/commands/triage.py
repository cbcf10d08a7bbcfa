"""``hotline triage train [--kind category|unit|all] [--since 2023-01-01]``,
``hotline triage evaluate [--kind …] [--since …] [--rows N]`` and ``hotline triage settle``."""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError

from hotline.lib import clock

KINDS = ("category", "unit")
KIND_LABELS = {"category": "热点分类 category", "unit": "主办单位 lead unit"}


def parse_since(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"日期格式应为 YYYY-MM-DD，例如 2023-01-01（收到 {text!r}）") from None
    return clock.day_start(day)


def percent(value) -> str:
    return "—" if value is None else f"{value:.1%}"


class Command(BaseCommand):
    help = "智能分类与派单建议：训练（train）、评估（evaluate）、核对建议采纳情况（settle）"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{train,evaluate,settle}")
        for name, text in [("train", "用已办结工单训练分类 / 派单模型并启用"),
                           ("evaluate", "留出 20% 工单评估准确率，并报告线上建议的采纳率")]:
            p = sub.add_parser(name, help=text)
            p.add_argument("--kind", choices=(*KINDS, "all"), default="all", help="模型类型（默认 all）")
            p.add_argument("--since", help="只用该日期（YYYY-MM-DD）以后登记的工单")
            if name == "evaluate":
                p.add_argument("--rows", type=int, default=15, help="逐类表格显示的行数（默认 15，0 = 全部）")
                p.add_argument("--seed", type=int, default=0, help="划分训练 / 测试集的随机种子")
        sub.add_parser("settle", help="补记建议并与最终分类 / 主办单位核对（线上准确率）")

    def handle(self, *args, **options):
        from hotline.triage import engine

        try:
            getattr(self, options["action"])(options)
        except engine.TriageError as exc:
            raise CommandError(str(exc)) from exc

    def _kinds(self, options):
        return KINDS if options["kind"] == "all" else (options["kind"],)

    def train(self, options):
        from hotline.triage import services

        since = parse_since(options.get("since"))
        for kind in self._kinds(options):
            started = time.monotonic()
            row = services.train(kind, since=since)
            meta = row.metadata
            scores = meta.get("scores") or {}
            self.stdout.write(self.style.SUCCESS(
                f"{KIND_LABELS[kind]}: v{row.version} 已启用 active — {meta['n_samples']} 条样本 samples, "
                f"{meta['n_labels']} 个类别 labels, {time.monotonic() - started:.1f}s"))
            if scores:
                self.stdout.write(f"  留出集 held-out: 准确率 accuracy {percent(scores['accuracy'])}, "
                                  f"前三命中率 top-3 {percent(scores['top3_accuracy'])}, "
                                  f"macro-F1 {scores['macro_f1']:.3f}")
            if "combined_accuracy" in scores:
                self.stdout.write(f"  目录优先、模型补充 catalog first, then model: 准确率 accuracy "
                                  f"{percent(scores['combined_accuracy'])}, 前三命中率 top-3 "
                                  f"{percent(scores['combined_top3_accuracy'])}")

    def evaluate(self, options):
        from hotline.triage import services
        from hotline.triage.models import TriageModel

        since = parse_since(options.get("since"))
        for kind in self._kinds(options):
            report, data = services.evaluate(kind, since=since, seed=options["seed"])
            self.stdout.write(self.style.MIGRATE_HEADING(f"== {KIND_LABELS[kind]} ==") + "")
            self.stdout.write(report.format(data.names, rows=options["rows"] or None))
            active = TriageModel.objects.filter(kind=kind, active=True).defer("blob").first()
            if active:
                trained_at = clock.local(dt.datetime.fromisoformat(active.metadata["trained_at"]))
                self.stdout.write(f"当前模型 active model: v{active.version}, 训练于 trained at "
                                  f"{trained_at:%Y-%m-%d %H:%M}, {active.metadata.get('n_samples')} 条样本 samples")
            else:
                self.stdout.write("当前没有启用的模型 no active model：hotline triage train")
            self.stdout.write("")
        self._production(services.production_scores())

    def settle(self, options):
        from hotline.triage import services

        report = services.settle()
        self.stdout.write(f"补记建议 recorded: {report.recorded}    核对 settled: {report.settled}")
        self._production(services.production_scores())

    def _production(self, scores):
        self.stdout.write("线上建议 suggestions in production (已核对 settled):")
        for kind, s in scores.items():
            self.stdout.write(f"  {KIND_LABELS[kind]}: {s['settled']} 条, 首选采纳率 first chip taken "
                              f"{percent(s['accepted_rate'])}, 前三命中率 in top-3 {percent(s['top3_rate'])}")
