"""``hotline triage train [--kind category|unit|appeal|all] [--since 2023-01-01] [--force]``,
``hotline triage evaluate [--kind …] [--since …] [--rows N]`` and ``hotline triage settle`` on the
platform's own closed orders; ``hotline triage neardup [--rebuild] [--day 2023-07-11]`` (the
near-duplicate index and its nightly pass); and on a center's export:

``hotline triage train --csv FILE --text-column COL --label-column COL [--title-column COL] -o MODEL``
``hotline triage evaluate --csv FILE --text-column COL --label-column COL [--title-column COL] --model MODEL [--json]``
``hotline triage hotspots --csv FILE --text-column COL --time-column COL --id-column COL [--top N] [--month YYYY-MM] [--json]``

and ``hotline triage hotspots --month YYYY-MM [--json]`` (no ``--csv``): the platform's own month,
computed now and stored for its briefing (what the scheduler does after a month closes).
"""

from __future__ import annotations

import datetime as dt
import json
import time

from django.core.management.base import BaseCommand, CommandError

from hotline.lib import clock

KINDS = ("category", "appeal", "unit")
KIND_LABELS = {"category": "热点分类 category", "appeal": "诉求类型 appeal type", "unit": "主办单位 lead unit"}


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
        sub = parser.add_subparsers(dest="action", required=True, metavar="{train,evaluate,settle,neardup,hotspots}")
        for name, text in [("train", "用已办结工单（或 --csv 文件）训练分类 / 派单模型；不比当前模型差才启用"),
                           ("evaluate", "留出 20% 工单评估准确率，并报告线上建议的采纳率；--csv 时用文件评估 --model 模型")]:
            p = sub.add_parser(name, help=text)
            p.add_argument("--kind", choices=(*KINDS, "all"), default="all", help="模型类型（默认 all）")
            p.add_argument("--since", help="只用该日期（YYYY-MM-DD）以后登记的工单")
            p.add_argument("--rows", type=int, default=15, help="逐类表格显示的行数（默认 15，0 = 全部）")
            p.add_argument("--seed", type=int, default=0, help="划分训练 / 测试集的随机种子")
            p.add_argument("--csv", help="中心自己导出的 CSV 文件（第一行为列名；UTF-8 或 GB18030）")
            p.add_argument("--text-column", help="--csv：正文（诉求内容）所在的列名")
            p.add_argument("--label-column", help="--csv：类别所在的列名")
            p.add_argument("--title-column", help="--csv：标题所在的列名（可选；标题的权重高于正文）")
            p.add_argument("--json", action="store_true", help="以 JSON 输出结果（供程序读取）")
            if name == "train":
                p.add_argument("-o", "--output", help="--csv：模型文件的保存路径")
                p.add_argument("--force", action="store_true", help="即使新模型评估结果比当前模型差也启用")
                p.add_argument("--min-per-class", type=int, default=3, help="--csv：每个类别至少的行数（默认 3）")
            else:
                p.add_argument("--model", help="--csv：要评估的模型文件（hotline triage train --csv … -o 生成）")
        sub.add_parser("settle", help="补记建议并与最终分类 / 主办单位核对（线上准确率）")
        p = sub.add_parser("neardup", help="相似文本索引：为尚未索引的工单补建（--rebuild 全部重建）；--day 运行某日的夜间比对")
        p.add_argument("--rebuild", action="store_true", help="清空后为全部工单重建索引")
        p.add_argument("--day", help="对该日（YYYY-MM-DD）登记的工单做疑似重复比对并记录")
        p = sub.add_parser("hotspots", help="热点问题：找出某月比以往明显增多的诉求话题（按文本聚类，不看分类）")
        p.add_argument("--csv", help="中心自己导出的 CSV 文件（第一行为列名；UTF-8 或 GB18030）；"
                                     "不给时分析本平台库中 --month 那个月的工单，并存下供简报使用")
        p.add_argument("--text-column", help="--csv：正文（诉求内容）所在的列名")
        p.add_argument("--time-column", help="--csv：登记时间所在的列名（如 2023-07-03 09:30、2023/7/3、2023年7月3日）")
        p.add_argument("--id-column", help="--csv：工单编号所在的列名")
        p.add_argument("--title-column", help="标题所在的列名（可选，与正文一起分析）")
        p.add_argument("--place-column", help="所属镇街所在的列名（可选；没有时从正文中找已知的镇街名）")
        p.add_argument("--unit-column", help="承办单位所在的列名（可选）")
        p.add_argument("--month", help="要分析的月份（如 2023-07）；默认文件中最后一个月，之前的各月为历史")
        p.add_argument("--top", type=int, default=5, help="列出前 N 个热点问题（默认 5）")
        p.add_argument("--json", action="store_true", help="以 JSON 输出结果（供程序读取）")

    def handle(self, *args, **options):
        from hotline.triage import engine

        try:
            if options["action"] == "hotspots":
                self.hotspots(options)
                return
            if options.get("csv"):
                getattr(self, f"{options['action']}_csv")(options)
                return
            getattr(self, options["action"])(options)
        except engine.TriageError as exc:
            raise CommandError(str(exc)) from exc

    def neardup(self, options):
        from hotline.triage import dupindex

        if options["rebuild"]:
            self.stdout.write(f"已清空相似文本索引（{dupindex.clear()} 件工单）")
        started = time.monotonic()
        report = dupindex.backfill(progress=lambda n: self.stderr.write(f"  已索引 {n} 件"))
        self.stdout.write(f"相似文本索引：新建 {report.orders} 件工单、{report.keys} 个键，"
                          f"用时 {time.monotonic() - started:.1f} 秒")
        if options.get("day"):
            try:
                day = dt.date.fromisoformat(options["day"])
            except ValueError:
                raise CommandError(f"日期格式应为 YYYY-MM-DD，例如 2023-07-11（收到 {options['day']!r}）") from None
            night = dupindex.nightly(day)
            self.stdout.write(f"{night.day}：比对 {night.orders} 件，新记录疑似重复 {night.pairs} 对（{night.groups} 组）")

    def _kinds(self, options):
        return KINDS if options["kind"] == "all" else (options["kind"],)

    def train(self, options):
        from hotline.triage import services

        since = parse_since(options.get("since"))
        for kind in self._kinds(options):
            started = time.monotonic()
            row = services.train(kind, since=since, force=options["force"])
            meta = row.metadata
            scores = meta.get("scores") or {}
            if row.active:
                self.stdout.write(self.style.SUCCESS(
                    f"{KIND_LABELS[kind]}: v{row.version} 已启用 active — {meta['n_samples']} 条样本 samples, "
                    f"{meta['n_labels']} 个类别 labels, {time.monotonic() - started:.1f}s"))
            else:
                self.stdout.write(self.style.WARNING(
                    f"{KIND_LABELS[kind]}: v{row.version} 未启用 not activated — {meta.get('not_activated')}"
                    f"（--force 可强制启用）"))
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

    # -----------------------------------------------------------------------------------------
    # A center's own CSV export

    def _csv_options(self, options, *, model_option: str) -> None:
        missing = [flag for flag, key in (("--text-column", "text_column"), ("--label-column", "label_column"),
                                          (model_option, model_option.lstrip("-").replace("-", "_")))
                   if not options.get(key)]
        if missing:
            raise CommandError(f"使用 --csv 时还需要 {'、'.join(missing)}")

    def train_csv(self, options):
        from hotline.triage import csvdata, engine, modelfile

        self._csv_options(options, model_option="--output")
        data = csvdata.read_labelled(options["csv"], text_column=options["text_column"],
                                     label_column=options["label_column"], title_column=options.get("title_column"),
                                     min_per_class=options["min_per_class"])
        started = time.monotonic()
        report = engine.evaluate(data.texts, data.labels, titles=data.titles, seed=options["seed"])
        model = engine.train(data.texts, data.labels, titles=data.titles, kind="csv", scores=report.summary())
        model.metadata.update({"source": str(options["csv"]), "encoding": data.encoding,
                               "text_column": options["text_column"], "label_column": options["label_column"],
                               "title_column": options.get("title_column")})
        saved = modelfile.save(model, options["output"], force=options["force"])
        seconds = time.monotonic() - started
        if options["json"]:
            self.stdout.write(json.dumps({"path": str(saved.path), "version": saved.version,
                                          "activated": saved.activated, "reason": saved.reason,
                                          "previous_version": saved.previous, "encoding": data.encoding,
                                          "skipped_rows": data.skipped, "seconds": round(seconds, 1),
                                          "metadata": {k: v for k, v in model.metadata.items()
                                                       if k not in {"labels", "label_counts"}}},
                                         ensure_ascii=False, indent=1))
            return
        self.stdout.write(f"读取 {len(data.texts)} 行（编码 {data.encoding}"
                          + (f"，跳过 {data.skipped} 行无正文或无类别" if data.skipped else "") + "）")
        self.stdout.write(report.format(rows=options["rows"] or None))
        if saved.activated:
            self.stdout.write(self.style.SUCCESS(f"模型 v{saved.version} 已保存到 {saved.path}（{seconds:.1f}s）"))
            if saved.reason:
                self.stdout.write(self.style.WARNING(f"注意：{saved.reason.replace('，未启用新模型', '')}；按 --force 启用"))
        else:
            self.stdout.write(self.style.WARNING(f"{saved.reason}：{options['output']} 仍是 v{saved.previous}；"
                                                 f"新模型 v{saved.version} 另存为 {saved.path}（--force 可强制启用）"))

    def evaluate_csv(self, options):
        from hotline.triage import csvdata, engine, modelfile

        self._csv_options(options, model_option="--model")
        model = modelfile.load(options["model"])
        data = csvdata.read_labelled(options["csv"], text_column=options["text_column"],
                                     label_column=options["label_column"], title_column=options.get("title_column"),
                                     min_per_class=1, require_classes=False)
        started = time.monotonic()
        ranked = engine.predict_many(model, data.texts, titles=data.titles, k=3)
        seconds = time.monotonic() - started
        report = engine.score(ranked, data.labels, n_train=model.metadata.get("n_samples", 0),
                              n_labels=len(set(data.labels)))
        unknown = sorted(set(data.labels) - set(model.labels))
        meta = model.metadata
        if options["json"]:
            out = report.to_dict()
            out.update({"model": {"path": str(options["model"]), "version": meta.get("version"),
                                  "trained_at": meta.get("trained_at"), "n_samples": meta.get("n_samples"),
                                  "held_out": meta.get("scores") or {}},
                        "encoding": data.encoding, "skipped_rows": data.skipped, "unknown_labels": unknown,
                        "texts_per_second": round(len(data.texts) / seconds) if seconds else None})
            self.stdout.write(json.dumps(out, ensure_ascii=False, indent=1))
            return
        self.stdout.write(f"模型 model: {options['model']} v{meta.get('version')}，训练于 {meta.get('trained_at')}，"
                          f"{meta.get('n_samples')} 条样本")
        self.stdout.write(f"评估数据 {len(data.texts)} 行（编码 {data.encoding}），预测 "
                          f"{len(data.texts) / seconds if seconds else 0:.0f} 条/秒")
        if unknown:
            self.stdout.write(self.style.WARNING(f"{len(unknown)} 个类别模型没有见过（这些行必然判错）："
                                                 + "、".join(unknown[:10])))
        self.stdout.write(report.format(rows=options["rows"] or None).replace(
            "训练样本 train samples", "模型训练样本 model trained on").replace("测试样本 held-out samples",
                                                                              "评估样本 evaluated"))

    def stored_hotspots(self, wanted, options):
        """The platform's own month: computed, stored (``MonthHotProblems``) and printed."""
        from hotline.triage.hotspot_data import store_month

        if wanted is None:
            raise CommandError("请用 --month YYYY-MM 指定要分析的月份（或用 --csv 分析导出的文件）")
        year, month = wanted
        stored = store_month(year, month)
        items = stored.items[: options["top"]]
        if options["json"]:
            self.stdout.write(json.dumps({"month": f"{year:04d}-{month:02d}", "orders": stored.orders,
                                          "history_orders": stored.history_orders,
                                          "history_read": stored.history_read,
                                          "history_months": stored.history_months, "seconds": stored.seconds,
                                          "hotspots": items}, ensure_ascii=False, indent=1))
            return
        sampled = (f"（读取其中 {stored.history_read:,} 件的均匀样本）"
                   if stored.history_read < stored.history_orders else "")
        self.stdout.write(f"{year}年{month}月 {stored.orders:,} 件，对比此前 {stored.history_months} 个月 "
                          f"{stored.history_orders:,} 件{sampled}，用时 {stored.seconds:.1f}s；结果已存，简报草稿将直接使用")
        if not stored.history_months:
            self.stdout.write("此前没有工单可比较：简报草稿按本月最多的分类写热点问题。")
        elif not items:
            self.stdout.write("没有比以往明显增多的诉求话题。")
        for rank, item in enumerate(items, 1):
            self.stdout.write(self.style.MIGRATE_HEADING(
                f"{rank}. {item['title']}：{item['count']} 件（按以往比例约 {item['expected']:.0f} 件，p={item['p_value']:.1g}）"))
            self.stdout.write(f"   关键词：{'、'.join(item['keywords'])}")
            self.stdout.write(f"   简报段落：{item['paragraph']}")

    def hotspots(self, options):
        from hotline.lib.parsing import ParseError, parse_month
        from hotline.triage import csvdata, hotspots

        if options["top"] < 1:
            raise CommandError("--top 须为正整数")
        try:
            wanted = parse_month(options.get("month"), "--month")
        except ParseError as exc:
            raise CommandError(str(exc)) from None
        if not options.get("csv"):
            return self.stored_hotspots(wanted, options)
        missing = [f"--{name}-column" for name in ("text", "time", "id") if not options.get(f"{name}_column")]
        if missing:
            raise CommandError(f"分析 CSV 文件时须给出 {'、'.join(missing)}（列名）")
        data = csvdata.read_timed(options["csv"], text_column=options["text_column"],
                                  time_column=options["time_column"], id_column=options["id_column"],
                                  title_column=options.get("title_column"), place_column=options.get("place_column"),
                                  unit_column=options.get("unit_column"))
        months = [clock.month_of(t) for t in data.times]
        year, month = wanted or max(months)
        current = [i for i, m in enumerate(months) if m == (year, month)]
        history = [i for i, m in enumerate(months) if m < (year, month)]
        if not current:
            raise CommandError(f"文件中没有 {year}年{month}月 的数据行（时间范围 {min(months)[0]}年{min(months)[1]}月"
                               f"—{max(months)[0]}年{max(months)[1]}月）")
        if not history:
            raise CommandError(f"文件中没有 {year}年{month}月 之前的数据：热点问题要与以往各月比较，"
                               "请导出包含此前至少一个月的数据")
        span = len({months[i] for i in history})

        def corpus(rows):
            def pick(column):
                return [column[i] for i in rows] if column is not None else None

            return hotspots.Corpus(texts=pick(data.texts), ids=pick(data.ids), times=pick(data.times),
                                   places=pick(data.places), units=pick(data.units))

        started = time.monotonic()
        found = hotspots.detect(corpus(current), corpus(history), history_months=span, top=options["top"],
                                place_names=_known_places(), period_word="本月",
                                history_word="上月" if span == 1 else f"前{span}个月月均")
        seconds = time.monotonic() - started
        if options["json"]:
            self.stdout.write(json.dumps({"month": f"{year:04d}-{month:02d}", "orders": len(current),
                                          "history_orders": len(history), "history_months": span,
                                          "encoding": data.encoding, "skipped_rows": data.skipped,
                                          "seconds": round(seconds, 2), "hotspots": [h.to_dict() for h in found]},
                                         ensure_ascii=False, indent=1))
            return
        self.stdout.write(f"{year}年{month}月 {len(current)} 件，对比此前 {span} 个月 {len(history)} 件（编码 "
                          f"{data.encoding}" + (f"，跳过 {data.skipped} 行无正文或无时间" if data.skipped else "")
                          + f"），用时 {seconds:.1f}s")
        if not found:
            self.stdout.write("没有比以往明显增多的诉求话题。")
        for rank, h in enumerate(found, 1):
            span_text = (f"{clock.local(h.first):%m-%d}—{clock.local(h.last):%m-%d}" if h.first else "")
            self.stdout.write(self.style.MIGRATE_HEADING(
                f"{rank}. {h.title}：{h.count} 件（按以往比例约 {h.expected:.0f} 件，p={h.p_value:.1g}），{span_text}"))
            self.stdout.write(f"   关键词：{'、'.join(h.keywords)}")
            if h.places:
                self.stdout.write("   地点：" + "、".join(f"{n}（{c}）" for n, c in h.places[:5]))
            if h.units:
                self.stdout.write("   承办单位：" + "、".join(f"{n}（{c}）" for n, c in h.units[:5]))
            for ident, text in h.representatives:
                self.stdout.write(f"   例 {ident}：{text[:80]}{'…' if len(text) > 80 else ''}")
            shown = "、".join(str(i) for i in h.member_ids[:20])
            self.stdout.write(f"   工单（{len(h.member_ids)}）：{shown}{' 等' if len(h.member_ids) > 20 else ''}")
            self.stdout.write(f"   简报段落：{h.paragraph}")

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


def _known_places() -> list[str]:
    """The towns and streets this installation knows (none before ``hotline migrate`` loads them)."""
    from django.db import DatabaseError

    from hotline.directory.models import Unit

    try:
        return list(Unit.objects.filter(kind__in=Unit.LOCALITY_KINDS).values_list("short_name", flat=True))
    except DatabaseError:
        return []
