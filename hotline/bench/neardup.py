"""``hotline bench --only neardup``: the near-duplicate index at scale, against the every-pair
TF-IDF comparison it replaced, in the same run and on the same orders.

Runs in the benchmark database (a child process of ``hotline bench``):

1. load ``orders`` orders over six months with the bulk loader (``hotline.bench.load``), each with a
   text of its own (``UniqueTexts``: the loader's usual pool of 3,000 texts reused at random would
   make every text an exact duplicate of hundreds of others). The work orders' character and
   trigram indexes are not built: nothing here reads them;
2. build the index over all of them (``dupindex.backfill``: time, keys, size);
3. plant ``planted`` paraphrases (``hotline.bench.paraphrase``: reordered clauses, filler,
   synonyms, typing slips) of orders received in the last 30 days, and ask for each what the intake
   asks (``services.similar_orders`` as dispatcher 王, the repeat window + 30 days): latency
   (``repeat`` rounds; the median of the rounds' p50 and p95, with their min–max), recall (the
   original among the five shown) and precision (shown orders that are the original or carry its
   very text);
4. the baselines on the same queries: the code this replaced (TF-IDF cosine, words + character
   bigrams, over the newest 500 orders of the window: what the intake did), and the same TF-IDF over
   every order of the window (the vectoriser fitted once beforehand, so each query is only a
   transform and one sparse product: the cheapest every-pair comparison);
5. the cost at registration: ``register_order`` of the planted paraphrases (received yesterday)
   with the index written in the transaction, and of as many without it (receiver disconnected);
6. the nightly pass over yesterday: time, pairs recorded, and how many planted paraphrases it
   linked to their original.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from collections.abc import Callable, Sequence

from django.db import connection, transaction

from hotline.bench.measure import percentile
from hotline.bench.paraphrase import paraphrase

WINDOW_DAYS = 37  # the intake's: the repeat window (7 days by default) + 30


class UniqueTexts(Sequence):
    """The loader's text pool, as long as needed: entry ``i`` is composed from seed ``i`` (the
    loader draws indexes at random from 2^40, so no two orders share a draw in practice)."""

    def __init__(self, towns: list[str], seed: int = 0):
        self.towns, self.seed = towns, seed

    def __len__(self) -> int:
        return 1 << 40

    def __getitem__(self, i):
        from hotline.catalog.data import LEAF_CODES
        from hotline.demo import corpus

        rng = random.Random(i * 1_000_003 + self.seed)
        leaf, town = rng.choice(LEAF_CODES), rng.choice(self.towns)
        place = corpus.place_in_town(rng, town)
        title, content = corpus.compose_appeal(leaf, rng, town=town, place=place)
        return title, content, leaf, town, place


def _drop_text_indexes() -> list[str]:
    """Drop the work orders' GIN indexes (the character index, on its side table) before the load:
    this measurement never reads them, and building them is most of a load's time at 1M."""
    if connection.vendor != "postgresql":
        return []
    from hotline.workorders import textindex

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename IN ('workorders_workorder', %s) "
                       "AND indexdef ILIKE '%%USING gin%%'", [textindex.TABLE])
        names = [n for (n,) in cursor.fetchall()]
        for name in names:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    return names


def load_orders(n: int, now: dt.datetime, log: Callable[[str], None]) -> dict:
    from hotline.bench import load

    dropped = _drop_text_indexes()
    refs = load.prepare_refs(11)
    refs.texts = UniqueTexts(sorted(refs.towns))
    t = time.perf_counter()
    report = load.load(n, start=now - dt.timedelta(days=183), end=now, now=now, refs=refs, seed=11,
                       progress=lambda done, total, s: log(f"[neardup] 加载 {done:,}/{total:,}，{s:.0f}s"))
    return {"orders": report.orders, "seconds": time.perf_counter() - t, "dropped": dropped,
            "steps": report.seconds}


def _size(table: str) -> str:
    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_table_size(%s::regclass)), "
                       "pg_size_pretty(pg_indexes_size(%s::regclass))", [table, table])
        heap, index = cursor.fetchone()
    return f"{table}：表 {heap}，索引 {index}"


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f}（{min(values):.1f}–{max(values):.1f}）"


def _rounds_row(name: str, rounds: list[list[float]], *, target_ms: float | None, note: str) -> dict:
    """One row from ``repeat`` rounds of per-query times: medians of the rounds' p50 and p95."""
    p50s = [percentile(r, 0.5) for r in rounds]
    p95s = [percentile(r, 0.95) for r in rounds]
    row = {"name": name, "value_text": f"p50 {_spread(p50s)} ms · p95 {_spread(p95s)} ms",
           "note": note + f"；{len(rounds)} 轮 × {len(rounds[0])} 次查询，中位数（最小–最大）"}
    if target_ms is not None:
        row["target"] = f"p95 < {target_ms:g} ms"
        row["ok"] = statistics.median(p95s) < target_ms
    return row


def old_similar(title: str, content: str, scope, *, now: dt.datetime, days: int, k: int = 5,
                threshold: float = 0.35, pool: int = 500) -> list[tuple[int, float]]:
    """The baseline: ``services.similar_orders`` before the index — TF-IDF cosine of the text
    against the newest ``pool`` orders of the window, fitted on every call."""
    from hotline.triage import engine
    from hotline.triage.services import order_text
    from hotline.workorders.workflow import Status

    rows = list(scope.filter(received_at__gte=now - dt.timedelta(days=days)).exclude(status=Status.MERGED)
                .order_by("-received_at", "-id").values_list("pk", "title", "content")[:pool])
    return engine.similar(order_text(title, content), [(pk, order_text(t, c)) for pk, t, c in rows], k=k,
                          threshold=threshold)


class EveryPair:
    """TF-IDF (the baseline's words + character bigrams) over every order of the window, fitted once:
    a query is one transform and one sparse product with all of them."""

    def __init__(self, rows: list[tuple[int, str, str]]):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion

        from hotline.triage.engine import tokenize
        from hotline.triage.services import order_text

        self.ids = [pk for pk, _, _ in rows]
        self.union = FeatureUnion([
            ("words", TfidfVectorizer(analyzer=tokenize, sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 2), sublinear_tf=True)),
        ])
        self.matrix = self.union.fit_transform([order_text(t, c) for _, t, c in rows])

    def query(self, title: str, content: str, *, k: int = 5, threshold: float = 0.35) -> list[tuple[int, float]]:
        import numpy as np

        from hotline.triage.services import order_text

        vector = self.union.transform([order_text(title, content)])
        scores = (self.matrix @ vector.T).toarray().ravel() / 2  # the two blocks' cosines, averaged
        top = np.argpartition(-scores, k)[:k]
        return sorted(((self.ids[i], float(scores[i])) for i in top if scores[i] > threshold), key=lambda p: -p[1])


def _quality(results: list[list[int]], originals: list[int], same_text: dict[int, set[int]]) -> tuple[float, float]:
    """Recall (the original among the shown) and precision (shown orders that are the original or
    carry its text) over the planted queries."""
    found = sum(1 for shown, pk in zip(results, originals, strict=True) if pk in shown)
    shown = sum(len(s) for s in results)
    right = sum(1 for s, pk in zip(results, originals, strict=True) for o in s if o in same_text[pk])
    return found / len(originals), (right / shown if shown else float("nan"))


def run(*, orders: int, planted: int, repeat: int, log: Callable[[str], None], seed: int = 5) -> dict:
    from django.utils import timezone

    from hotline.catalog.models import AppealType
    from hotline.lib import clock
    from hotline.triage import dupindex, neardup, services
    from hotline.triage.models import NearDupKey, NearDuplicate, NearDupState
    from hotline.workorders import actions, queries
    from hotline.workorders.models import WorkOrder
    from hotline.workorders.signals import order_registering

    rows: list[dict] = []
    now = timezone.now().replace(microsecond=0)
    loaded = load_orders(orders, now, log)
    rows.append({"name": f"加载 {loaded['orders']:,} 件工单（每件文本不同）", "seconds": round(loaded["seconds"], 1),
                 "note": "；".join(f"{k} {v:.1f}s" for k, v in loaded["steps"].items())
                 + (f"；未建的 GIN 索引：{', '.join(loaded['dropped'])}" if loaded["dropped"] else "")})

    # 2. The index over every order.
    log("[neardup] 建索引")
    t = time.perf_counter()
    built = dupindex.backfill(progress=lambda n: log(f"[neardup] 索引 {n:,}") if n % 200_000 == 0 else None)
    build_s = time.perf_counter() - t
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"VACUUM (ANALYZE) {NearDupKey._meta.db_table}")
            cursor.execute(f"VACUUM (ANALYZE) {NearDupState._meta.db_table}")
        else:
            cursor.execute("ANALYZE")
    sizes = "；".join(s for s in (_size(NearDupKey._meta.db_table), _size(NearDupState._meta.db_table)) if s)
    rows.append({"name": f"建索引：{built.orders:,} 件、{built.keys:,} 个键", "seconds": round(build_s, 1),
                 "rate": round(built.orders / build_s), "rate_unit": "单/秒",
                 "note": "，".join(f"{k} {v:.1f}s" for k, v in built.seconds.items()) + f"；{sizes}"})

    # 3. Planted paraphrases of orders of the last 30 days.
    rng = random.Random(seed)
    recent = WorkOrder.objects.filter(received_at__gte=now - dt.timedelta(days=30)).exclude(status="merged")
    lo, hi = (recent.order_by("pk").values_list("pk", flat=True).first(),
              recent.order_by("-pk").values_list("pk", flat=True).first())
    picked = sorted(rng.sample(range(lo, hi + 1), min(planted * 2, hi - lo + 1)))
    originals = list(recent.filter(pk__in=picked).values_list("pk", "title", "content")[:planted])
    queries_ = [paraphrase(t, c, rng) for _, t, c in originals]
    ids = [pk for pk, _, _ in originals]
    # Orders carrying an original's very text count as right answers too (the generator repeats itself).
    same_text = {pk: {pk} for pk in ids}
    by_text = {(t, c): pk for pk, t, c in originals}
    for pk, t, c in WorkOrder.objects.filter(title__in={t for _, t, _ in originals}).values_list("pk", "title",
                                                                                                  "content"):
        if (t, c) in by_text:
            same_text[by_text[(t, c)]].add(pk)
    jaccards = [neardup.jaccard(neardup.shingles(t, c), neardup.shingles(*q))
                for (_, t, c), q in zip(originals, queries_, strict=True)]

    from hotline.accounts.models import User

    wang = User.objects.get(username="dispatcher_wang")
    scope = queries.repeat_scope(wang)

    def lsh(title, content):
        return [o.pk for o, _ in services.similar_orders(wang, title, content, now=now, days=WINDOW_DAYS,
                                                         scope=scope)]

    def timed_rounds(fn, n_queries: int | None = None):
        qs = queries_[:n_queries] if n_queries else queries_
        fn(*qs[0])  # warm: imports, the first connection's caches
        rounds, results = [], []
        for _ in range(repeat):
            times, results = [], []
            for title, content in qs:
                t0 = time.perf_counter()
                results.append(fn(title, content))
                times.append((time.perf_counter() - t0) * 1000)
            rounds.append(times)
        return rounds, results

    log("[neardup] 查询（索引）")
    rounds, results = timed_rounds(lsh)
    recall, precision = _quality(results, ids, same_text)
    rows.append(_rounds_row(f"受理时查相似（索引，{orders:,} 件中）", rounds, target_ms=50, note=(
        f"召回 {recall:.1%}、精确 {precision:.1%}，每次显示 {statistics.mean(map(len, results)):.2f} 件"
        f"（Jaccard ≥ {neardup.THRESHOLD}；{planted} 条改写，与原单 Jaccard 中位数 "
        f"{statistics.median(jaccards):.2f}，最低 {min(jaccards):.2f}）；每键至多读 {dupindex.PER_KEY} 件，"
        f"核对前 {dupindex.VERIFY} 件；services.similar_orders，派单员，{WINDOW_DAYS} 天内")))

    log("[neardup] 基线：原做法（最近 500 件 TF-IDF）")
    old_rounds, old_results = timed_rounds(lambda t, c: [pk for pk, _ in old_similar(t, c, scope, now=now,
                                                                                     days=WINDOW_DAYS)])
    recall_old, precision_old = _quality(old_results, ids, same_text)
    row = _rounds_row("基线：原做法，TF-IDF 比对最近 500 件", old_rounds, target_ms=None, note=(
        f"召回 {recall_old:.1%}、精确 {precision_old:.1%}；每次查询现拟合 TF-IDF（词 + 字二元组）"))
    row["ratio_text"] = f"索引快 {percentile(old_rounds[0], 0.5) / max(percentile(rounds[0], 0.5), 1e-6):.1f}×"
    rows.append(row)

    log("[neardup] 基线：窗口内逐对 TF-IDF（先拟合）")
    window = list(scope.filter(received_at__gte=now - dt.timedelta(days=WINDOW_DAYS)).exclude(status="merged")
                  .values_list("pk", "title", "content"))
    t = time.perf_counter()
    every = EveryPair(window)
    fit_s = time.perf_counter() - t
    del window
    sample = min(len(queries_), 100)
    pair_rounds, pair_results = timed_rounds(lambda t, c: [pk for pk, _ in every.query(t, c)], sample)
    recall_pair, precision_pair = _quality(pair_results, ids[:sample], same_text)
    rows.append(_rounds_row(f"基线：逐对 TF-IDF，窗口内全部 {every.matrix.shape[0]:,} 件", pair_rounds, target_ms=None,
                            note=(f"召回 {recall_pair:.1%}、精确 {precision_pair:.1%}（前 {sample} 条改写）；"
                                  f"向量器预先拟合 {fit_s:.0f}s 不计入；每次查询一次变换 + 一次稀疏矩阵乘法")))
    every.matrix = None  # the window's matrix is large at scale: free it before the registrations

    # 5. Registration with and without the index written in its transaction.
    log("[neardup] 登记开销")
    operator = User.objects.get(username="operator_li")
    appeal = AppealType.objects.get(code="problem")
    yesterday = clock.local_date(now) - dt.timedelta(days=1)
    start = clock.day_start(yesterday) + dt.timedelta(hours=8)

    def register(title, content, at):
        t0 = time.perf_counter()
        with transaction.atomic():
            order = actions.register_order(acting_user=operator, at=at, title=title, content=content,
                                           appeal_type=appeal, caller_phone="13800000000")
        return order, (time.perf_counter() - t0) * 1000

    # Alternately with and without the receiver, so the two samples share the machine's moments.
    from hotline.triage.dupindex import on_order_registering

    with_index, without, planted_orders = [], [], []
    for i, (title, content) in enumerate(queries_):
        order, ms = register(title, content, start + dt.timedelta(seconds=30 * i))
        with_index.append(ms)
        planted_orders.append(order.pk)
        order_registering.disconnect(dispatch_uid="hotline.triage.neardup")
        try:
            without.append(register(title + "（对照）", content, now - dt.timedelta(minutes=5, seconds=i))[1])
        finally:
            order_registering.connect(on_order_registering, dispatch_uid="hotline.triage.neardup")
    # The index's own part: the keys of one text and the two INSERTs, for an order id past the last
    # (foreign keys are checked at commit, and every one of these transactions is rolled back).
    key_ms = []
    past = (WorkOrder.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000
    for i, (title, content) in enumerate(queries_[:100]):
        with transaction.atomic():
            t0 = time.perf_counter()
            dupindex.index_orders([(past + i, title, content)])
            key_ms.append((time.perf_counter() - t0) * 1000)
            transaction.set_rollback(True)
    added = percentile(with_index, 0.5) - percentile(without, 0.5)
    rows.append({"name": "登记一单（register_order，含写索引）", "p50_ms": round(percentile(with_index, 0.5), 1),
                 "p95_ms": round(percentile(with_index, 0.95), 1), "min_ms": round(min(with_index), 1),
                 "max_ms": round(max(with_index), 1), "n": len(with_index),
                 "ratio_text": f"不写索引 p50 {percentile(without, 0.5):.1f} ms",
                 "note": f"差 {added:+.1f} ms；写索引本身（算 {neardup.BANDS} 个键 + 两条 INSERT）p50 "
                         f"{percentile(key_ms, 0.5):.2f} ms、p95 {percentile(key_ms, 0.95):.2f} ms（{len(key_ms)} 次）"})

    # 6. The nightly pass over yesterday (the planted paraphrases were registered yesterday).
    log("[neardup] 夜间比对")
    t = time.perf_counter()
    night = dupindex.nightly(yesterday)
    night_s = time.perf_counter() - t
    # A pair is (later, earlier): an original received later on the same day is the pair's first.
    linked = set(NearDuplicate.objects.filter(order_id__in=planted_orders).values_list("order_id", "similar_to_id"))
    linked |= {(b, a) for a, b in NearDuplicate.objects.filter(similar_to_id__in=planted_orders)
               .values_list("order_id", "similar_to_id")}
    # Only originals received before the day ended can be found by that day's pass.
    end_of_day = clock.day_bounds(yesterday)[1]
    before = set(WorkOrder.objects.filter(pk__in=ids, received_at__lt=end_of_day).values_list("pk", flat=True))
    pairs_planted = [(pk, original) for pk, original in zip(planted_orders, ids, strict=True) if original in before]
    hit = sum(1 for pk, original in pairs_planted if any((pk, other) in linked for other in same_text[original]))
    rows.append({"name": f"夜间比对：前一天 {night.orders:,} 件", "seconds": round(night_s, 1),
                 "rate": round(night.orders / night_s), "rate_unit": "单/秒",
                 "note": f"Jaccard ≥ {neardup.NIGHTLY_THRESHOLD}；记录疑似重复 {night.pairs:,} 对（{night.groups:,} 组）；"
                         f"植入的改写中原单在当天结束前的 "
                         f"{len(pairs_planted)} 条，{hit / max(len(pairs_planted), 1):.1%} 连上原单"})
    return {"rows": rows, "recall": recall, "precision": precision, "p95s": [percentile(r, 0.95) for r in rounds],
            "recall_baseline": recall_old, "nightly_recall": hit / max(len(pairs_planted), 1)}
