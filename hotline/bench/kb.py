"""``hotline bench --only kb``: the operator's knowledge-base search on the demo's consultation orders.

No database. The cases are the demo month's consultations (咨询类) in categories that have a seed
article: the month is planned as ``hotline demo`` plans it (``generate.plan_month``, same shape and
seed: categories, towns, hot-problem themes) and each appeal written by the demo's generator
(``corpus.compose_appeal``). The texts are drawn afresh, not read from a demo database, so they
are the same kind of text, not the same strings.

Ground truth: the demo answers such an order with an article of the order's category
(``corpus.compose_direct_answer`` picks one of the category's seed articles at random and names it;
the demo records it in ``WorkOrder.kb_article``, as the intake does). The pick does not depend on
the appeal's words, so the right answers of a case are all the seed articles of its category — one
article for most categories, two for three of them (医保 0702, 养老 0701, 低保/救助 1501), where
either counts — not the one the draw happened to name. The appeal's words come from the
category's phrase table and the article's from the seed, written separately: no appeal copies
its article.

Scores: top-1 and top-3 hit rate (a right article first / among the first three) and MRR (mean of
1 / rank of the first right article, 0 when none is listed). Old search: ``queries.search``'s rule
(every typed whitespace-separated word a substring of title, keywords or body; hits by title),
given what an operator could type.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hotline.knowledge import ranking

SEED = 2023  # hotline demo's month seed


@dataclass
class Case:
    title: str
    content: str
    leaf: str
    truth: frozenset


def seed_articles() -> list[ranking.Article]:
    from hotline.catalog.knowledge_seed import KNOWLEDGE_ARTICLES

    return [ranking.Article(a["title"], a["title"], " ".join(a.get("keywords", ())), a["body"])
            for a in KNOWLEDGE_ARTICLES]


def demo_cases(seed: int = SEED) -> list[Case]:
    """The demo month's consultations whose category has a seed article, with their right answers."""
    from hotline.catalog.knowledge_seed import KNOWLEDGE_ARTICLES
    from hotline.demo import corpus, generate

    by_leaf: dict[str, set[str]] = {}
    for a in KNOWLEDGE_ARTICLES:
        by_leaf.setdefault(a["leaf_code"], set()).add(a["title"])
    rng = random.Random(seed)
    out = []
    for item in generate.plan_month(2023, 7, generate.SEED_SHAPE, rng):
        if item.appeal_type != "consult" or item.leaf not in by_leaf:
            continue
        title, content = corpus.compose_appeal(item.leaf, rng, town=item.town,
                                               place=corpus.place_in_town(rng, item.town), theme=item.theme)
        out.append(Case(title, content, item.leaf, frozenset(by_leaf[item.leaf])))
    return out


def old_search(articles: Sequence[ranking.Article], typed: str) -> list[ranking.Article]:
    """``queries.search``'s rule on ``articles``: every typed word inside, ordered by title."""
    words = ranking.words(typed)
    return sorted((a for a in articles if ranking.contains_all(a, words)), key=lambda a: a.title)


def scores(cases: Sequence[Case], ranked: Callable[[Case], list[ranking.Article]]) -> dict:
    top1 = top3 = 0
    rr = []
    for case in cases:
        keys = [a.key for a in ranked(case)]
        rank = next((i for i, key in enumerate(keys) if key in case.truth), None)
        rr.append(0.0 if rank is None else 1 / (rank + 1))
        top1 += rank == 0
        top3 += rank is not None and rank < 3
    n = len(cases)
    return {"top1": top1 / n, "top3": top3 / n, "mrr": sum(rr) / n, "n": n}


def _title_words(title: str) -> list[str]:
    from hotline.triage.engine import tokenize

    return [w for w in tokenize(title) if len(w) >= 2]


def _best_word(articles, case: Case) -> list[ranking.Article]:
    """The old search given the one title word that ranks a right article highest (an oracle: no
    operator knows which word the article uses)."""
    best: list[ranking.Article] = []
    best_rank = None
    for word in _title_words(case.title):
        hits = old_search(articles, word)
        rank = next((i for i, a in enumerate(hits) if a.key in case.truth), None)
        if rank is not None and (best_rank is None or rank < best_rank):
            best, best_rank = hits, rank
    return best


def run(*, log=print) -> list[tuple[str, list[dict]]]:
    articles = seed_articles()
    cases = demo_cases()
    log(f"[bench] kb：{len(cases)} 件咨询，{len(articles)} 篇知识库条目")
    t = time.perf_counter()
    index = ranking.ArticleIndex(articles)
    build_ms = (time.perf_counter() - t) * 1000
    methods = [
        ("旧：子串检索，输入标题", lambda c: old_search(articles, c.title)),
        ("旧：子串检索，输入标题分词（空格分隔，须全部包含）", lambda c: old_search(articles, " ".join(_title_words(c.title)))),
        ("旧：子串检索，输入标题中最好的一个词（事后挑选的上限）", lambda c: _best_word(articles, c)),
        ("新：相关度排序，只输入标题", lambda c: [a for a, _ in index.rank(query=c.title, limit=10)]),
        ("新：相关度排序，受理表单的标题+内容（不输入）", lambda c: [a for a, _ in index.rank(f"{c.title}\n{c.content}", limit=10)]),
    ]
    results = [(name, scores(cases, fn)) for name, fn in methods]
    old_best = max(r["mrr"] for name, r in results if name.startswith("旧"))
    rows = []
    for name, r in results:
        new = name.startswith("新")
        rows.append({"name": name, "value_text": f"前一 {r['top1']:.1%} · 前三 {r['top3']:.1%} · MRR {r['mrr']:.3f}",
                     "ratio_text": f"MRR {r['mrr'] / old_best:.2f}× 旧检索最好的一种" if new and old_best else "",
                     "target": "MRR > 旧检索" if new else "", "ok": (r["mrr"] > old_best) if new else None,
                     "note": f"{r['n']} 件"})
    # Speed: one search against the seed, and against 5,000 articles (the seed repeated: only the
    # index's size matters for the time).
    sample = cases[:200]
    per = []
    for case in sample:
        t = time.perf_counter()
        index.rank(f"{case.title}\n{case.content}")
        per.append((time.perf_counter() - t) * 1000)
    big = [ranking.Article((i, a.key), a.title, a.keywords, a.body) for i in range(125) for a in articles]
    t = time.perf_counter()
    big_index = ranking.ArticleIndex(big)
    big_build = time.perf_counter() - t
    big_per = []
    for case in sample[:50]:
        t = time.perf_counter()
        big_index.rank(f"{case.title}\n{case.content}")
        big_per.append((time.perf_counter() - t) * 1000)
    rows.append({"name": "一次排序用时", "value_text": f"{statistics.median(per):.1f} ms（{len(articles)} 篇）",
                 "ratio_text": "", "target": "", "ok": None,
                 "note": f"中位数，{len(per)} 次；建索引 {build_ms:.0f} ms（进程内缓存，条目变化后重建）"})
    rows.append({"name": "一次排序用时（5,000 篇）", "value_text": f"{statistics.median(big_per):.1f} ms",
                 "ratio_text": "", "target": "", "ok": None,
                 "note": f"中位数，{len(big_per)} 次；建索引 {big_build:.1f} s（种子条目重复 125 遍，只为量规模）"})
    return [(f"知识库检索 · 演示月的咨询工单（{len(cases)} 件，正确答案＝该分类的种子条目）", rows)]
