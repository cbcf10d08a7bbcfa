"""Hot problems (热点问题) found in what people said, not in how the orders were filed (pure, no Django).

A category tree is not what callers talk about: a surge of 科目二考试 complaints is filed under
驾驶员考试, 政策咨询, 行政效能 and 投诉 alike, and the tree may have no leaf for it at all. So a
period's hot problems are found in the orders' text, against the text's own history:

1. **Terms.** Every Chinese character bigram of an order's text (``features.ngram_keys``, one
   numpy array per batch, no Python loop per character). A bigram is counted once per order.
2. **Test.** For each term, the number of the period's orders carrying it (``c`` of ``N``) is
   compared with its share of the history (``h`` of ``H`` orders): under "nothing changed" ``c``
   is Poisson with mean ``N·(h + ½)/(H + 1)``. A term is *rising* when ``c ≥ MIN_COUNT``, ``c`` is
   at least ``RISE`` times that mean, and its p-value passes Benjamini–Hochberg at ``ALPHA``
   over every term tested (thousands are: without the correction, dozens of ordinary words would
   "rise" by chance every month). Shares, not counts: a busier month does not make every word hot.
3. **Topics.** The rising terms are clustered by the orders they share: cosine of their order
   sets, average-linkage agglomerative clustering (a word common to two surges joins the one it
   shares most with, instead of chaining them into one). Each order goes to the topic whose
   terms it carries most (at least two of them, or all of a smaller topic's); categories play no
   part. The terms of 科目二考试 (科目, 目二, 二考, 考试) share their orders, the terms of 医保报销
   theirs: two topics, whatever the orders' categories.
4. **Topic test.** The same assignment is applied to the history, and a topic is kept only if its
   own count passes the Poisson test against its history (Bonferroni over the topics) with the same
   ``MIN_COUNT`` and ``RISE`` — a topic of individually rising words that as a whole is
   ordinary is dropped. Topics are ranked by their excess over the expected count.
5. **Description.** Its keywords are the runs of rising bigrams in its orders' texts (科目 + 目二
   + 二考 + 考试 read as 科目二考试), most frequent first; representative orders are those closest
   to the topic's centroid (cosine); its place is the members' place (the order's town or street
   when known, else the known place names found in the text); its units the members' lead units.
   The drafted paragraph has identities masked (``mask_identities(hide=True)``).

Cost: two passes over the texts (count, then assign) of numpy work per 20,000-text batch; the
clustering is over at most ``MAX_TERMS`` terms, never over pairs of orders (docs/benchmarks.md).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from hotline.lib.masking import mask_identities
from hotline.lib.ngrams import CHUNK, ngram_keys

_BITS = 21
_LOW = (1 << _BITS) - 1

MIN_COUNT = 5       # a term or topic needs at least this many orders in the period
RISE = 2.0          # … and at least this many times the orders its history share predicts
ALPHA = 0.01        # false-discovery rate over the terms tested; the topics' family-wise level
MAX_TERMS = 1500    # the most significant rising terms that are clustered
LINK = 0.2          # orders whose rising terms have at least this cosine (on average) form a topic
SAMPLE_ORDERS = 2000  # orders clustered; the others join the nearest topic
MAX_CANDIDATES = 60   # clusters, by excess, whose keywords are compared for merging
SAMPLE = 400        # member texts read for keywords (the most central first)


@dataclass
class Corpus:
    """Orders as plain values; ``ids``, ``times``, ``places`` and ``units`` are optional and, when
    given, aligned with ``texts``."""

    texts: Sequence[str]
    ids: Sequence | None = None
    times: Sequence[dt.datetime | None] | None = None
    places: Sequence[str] | None = None
    units: Sequence[str] | None = None

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class Hotspot:
    label: str
    keywords: list[str]
    count: int
    expected: float
    history_count: int
    history_per_month: float | None
    p_value: float
    member_ids: list
    representatives: list[tuple[object, str]]
    places: list[tuple[str, int]]
    units: list[tuple[str, int]]
    first: dt.datetime | None
    last: dt.datetime | None
    paragraph: str = ""
    member_places: list[str] = field(default_factory=list, repr=False)
    member_times: list = field(default_factory=list, repr=False)

    @property
    def title(self) -> str:
        return self.label if self.label.endswith("问题") else f"{self.label}问题"

    def to_dict(self) -> dict:
        return {"title": self.title, "label": self.label, "keywords": self.keywords, "count": self.count,
                "expected": round(self.expected, 1), "history_count": self.history_count,
                "history_per_month": None if self.history_per_month is None else round(self.history_per_month, 1),
                "p_value": float(f"{self.p_value:.3g}"), "member_ids": [str(i) for i in self.member_ids],
                "representatives": [{"id": str(i), "text": t} for i, t in self.representatives],
                "places": [{"name": n, "count": c} for n, c in self.places],
                "units": [{"name": n, "count": c} for n, c in self.units],
                "first": self.first.isoformat() if self.first else None,
                "last": self.last.isoformat() if self.last else None, "paragraph": self.paragraph}


# ---------------------------------------------------------------------------------------------
# Terms


def _cjk(cp: np.ndarray) -> np.ndarray:
    return ((cp >= 0x4E00) & (cp <= 0x9FFF)) | ((cp >= 0x3400) & (cp <= 0x4DBF))


def _pairs(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(text index, bigram key) of every distinct Chinese bigram of each text, sorted by text.

    Digits, letters and punctuation are left out: numbers, dates and codes differ from order to
    order and say nothing about the topic."""
    keys, owners = ngram_keys(texts, (2, 2))
    ok = _cjk(keys >> _BITS) & _cjk(keys & _LOW)
    combo = np.unique((owners[ok] << 42) | keys[ok])  # a chunk has < 2**21 texts, a key < 2**42
    return combo >> 42, combo & ((1 << 42) - 1)


def _document_frequency(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted bigram keys, number of texts carrying each), batch by batch."""
    parts_k, parts_n = [], []
    for start in range(0, len(texts), CHUNK):
        _, keys = _pairs(texts[start:start + CHUNK])
        k, n = np.unique(keys, return_counts=True)
        parts_k.append(k)
        parts_n.append(n)
    if not parts_k:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    allk = np.concatenate(parts_k)
    keys, inverse = np.unique(allk, return_inverse=True)
    return keys, np.bincount(inverse, weights=np.concatenate(parts_n), minlength=len(keys)).astype(np.int64)


def _lookup(vocab: np.ndarray, counts: np.ndarray, keys: np.ndarray) -> np.ndarray:
    if not len(vocab):
        return np.zeros(len(keys), np.int64)
    pos = np.searchsorted(vocab, keys)
    pos[pos >= len(vocab)] = 0
    return np.where(vocab[pos] == keys, counts[pos], 0)


def _incidence(texts: Sequence[str], terms: np.ndarray) -> sp.csr_matrix:
    """Texts × ``terms`` (sorted keys): 1 where the text carries the term."""
    blocks = []
    for start in range(0, len(texts), CHUNK):
        batch = texts[start:start + CHUNK]
        # The few wanted bigrams are picked out before the (text, bigram) pairs are made unique:
        # sorting every pair again was half the pass.
        keys, owners = ngram_keys(batch, (2, 2))
        pos = np.searchsorted(terms, keys)
        pos[pos >= len(terms)] = 0
        hit = terms[pos] == keys if len(terms) else np.zeros(len(keys), bool)
        cells = np.unique(owners[hit] * len(terms) + pos[hit])
        blocks.append(sp.csr_matrix((np.ones(len(cells), np.float32), (cells // len(terms), cells % len(terms))),
                                    shape=(len(batch), len(terms))))
    if not blocks:
        return sp.csr_matrix((0, len(terms)), dtype=np.float32)
    return sp.vstack(blocks, format="csr")


def term_text(key: int) -> str:
    return chr(int(key) >> _BITS) + chr(int(key) & _LOW)


# ---------------------------------------------------------------------------------------------
# Statistics


def poisson_sf(count: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """P(X ≥ count) for X ~ Poisson(mean)."""
    from scipy.stats import poisson

    return poisson.sf(np.asarray(count) - 1, np.asarray(mean))


def benjamini_hochberg(p: np.ndarray, alpha: float) -> np.ndarray:
    """Which of ``p`` are discoveries at false-discovery rate ``alpha``."""
    m = len(p)
    if not m:
        return np.zeros(0, bool)
    order = np.argsort(p, kind="stable")
    passed = p[order] <= alpha * np.arange(1, m + 1) / m
    out = np.zeros(m, bool)
    if passed.any():
        out[order[: np.flatnonzero(passed).max() + 1]] = True
    return out


def _expected(h, n_period: int, n_history: int):
    # The history share, smoothed: a term never seen before is not "infinitely" surprising.
    return n_period * (np.asarray(h, float) + 0.5) / (n_history + 1)


# ---------------------------------------------------------------------------------------------
# The pass


def rising_terms(current: Corpus, history: Corpus, *, min_count: int = MIN_COUNT, rise: float = RISE,
                 alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keys sorted, p-values, rise ratios) of the bigrams whose share rose significantly against
    the history."""
    n, h_total = len(current), len(history)
    keys, c = _document_frequency(current.texts)
    hk, hn = _document_frequency(history.texts)
    h = _lookup(hk, hn, keys)
    tested = c >= min_count
    keys, c, h = keys[tested], c[tested], h[tested]
    expected = _expected(h, n, h_total)
    p = poisson_sf(c, expected)
    rising = benjamini_hochberg(p, alpha) & (c >= rise * expected)
    return keys[rising], p[rising], (c / expected)[rising]


def _weigh(x: sp.csr_matrix, weight: np.ndarray) -> sp.csr_matrix:
    from sklearn.preprocessing import normalize

    return normalize(sp.csr_matrix(x.multiply(weight[None, :])), copy=False)


def _cluster(v: sp.csr_matrix, link: float, sample: int) -> tuple[np.ndarray, np.ndarray]:
    """Topic centroids of the orders ``v`` (rows: rising-term TF-IDF, l2-normed) and each row's topic.

    Average-linkage agglomerative clustering on cosine distance of an evenly spread sample of at
    most ``sample`` orders (``sample``² distances, whatever the month's size), cut where the
    average similarity falls below ``link``; then every order joins its most similar centroid if
    the similarity reaches ``link`` — one sparse product, no loop over pairs of orders."""
    n = v.shape[0]
    if n == 0:
        return np.zeros((0, v.shape[1])), np.zeros(0, np.int64)
    picked = np.unique(np.linspace(0, n - 1, min(n, sample)).astype(np.int64))
    vs = v[picked]
    if len(picked) == 1:
        labels = np.zeros(1, np.int64)
    else:
        from scipy.cluster.hierarchy import fcluster, linkage

        sim = (vs @ vs.T).toarray()
        dist = np.clip(1.0 - sim, 0.0, 2.0)[np.triu_indices(len(picked), k=1)]
        labels = fcluster(linkage(dist, method="average"), t=1.0 - link, criterion="distance").astype(np.int64) - 1
    k = int(labels.max()) + 1
    member = sp.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    centroids = np.asarray((member @ vs).todense())
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    return centroids, _nearest(v, centroids, link)


def _nearest(v: sp.csr_matrix, centroids: np.ndarray, link: float) -> np.ndarray:
    """Each row's most similar centroid, or -1 below ``link``; in batches (rows × topics is dense)."""
    out = np.full(v.shape[0], -1, np.int64)
    for start in range(0, v.shape[0], CHUNK):
        sim = np.asarray(v[start:start + CHUNK] @ centroids.T)
        if not sim.size:
            continue
        best = sim.argmax(axis=1)
        ok = sim[np.arange(len(best)), best] >= link
        out[start:start + CHUNK] = np.where(ok, best, -1)
    return out


def detect(current: Corpus, history: Corpus, *, history_months: float | None = None, top: int = 5,
           place_names: Sequence[str] = (), period_word: str = "本月", min_count: int = MIN_COUNT,
           rise: float = RISE, alpha: float = ALPHA, link: float = LINK, representatives: int = 3,
           history_word: str | None = None, history_weight: float = 1.0) -> list[Hotspot]:
    """The period's hot problems, most unusual excess first; none without a history to compare with.

    ``history_months``: how many months the history covers (for "前3个月月均…" in the paragraph);
    ``history_weight``: how many orders each history order stands for, when the history is a uniform
    sample (the tests compare shares, which the sample keeps; only the history's counts are scaled);
    ``place_names``: towns and streets to look for in the text when the orders carry no place.
    """
    if not len(current) or not len(history):
        return []
    terms, p_terms, ratio = rising_terms(current, history, min_count=min_count, rise=rise, alpha=alpha)
    if not len(terms):
        return []
    if len(terms) > MAX_TERMS:
        keep = np.sort(np.argsort(p_terms, kind="stable")[:MAX_TERMS])
        terms, ratio = terms[keep], ratio[keep]
    x = _incidence(current.texts, terms)
    # Orders that carry at least two rising terms (one alone is too little to say what it is about).
    rows = np.flatnonzero(x.getnnz(axis=1) >= 2)
    if not len(rows):
        return []
    # Terms weighed by how much they rose (log of the ratio, squared): the words of a surge (科目,
    # 考试: tens of times their history) weigh far more than a phrase common to several surges
    # (…尽快处理，联系电话…) or a filler that happens to travel with one (从上周开始: two or three
    # times). Rarity among these orders (idf) is not used: it made clusters of the fillers.
    weight = np.log(ratio) ** 2
    centroids, topic_rows = _cluster(_weigh(x[rows], weight), link, SAMPLE_ORDERS)
    assigned = np.full(len(current), -1, np.int64)
    assigned[rows] = topic_rows
    xh = _incidence(history.texts, terms)
    rows_h = np.flatnonzero(xh.getnnz(axis=1) >= 2)
    assigned_h = np.full(len(history), -1, np.int64)
    if len(rows_h):
        assigned_h[rows_h] = _nearest(_weigh(xh[rows_h], weight), centroids, link)
    k = len(centroids)
    c = np.bincount(assigned[assigned >= 0], minlength=k)
    h = np.bincount(assigned_h[assigned_h >= 0], minlength=k)
    sizes = c.astype(float)
    term_ratio = {term_text(terms[j]): float(ratio[j]) for j in range(len(terms))}
    places = set(place_names) | {p for p in (current.places or ()) if p}
    places |= {_short(p) for p in places}

    def central(members: np.ndarray, centroid: np.ndarray) -> np.ndarray:
        return members[np.argsort(-(_weigh(x[members], weight) @ centroid), kind="stable")]

    # One problem told in several ways (科目二 考试 延期 / 科目三 考试 预约不上) can fall into
    # several clusters; clusters whose keywords share two words or more are one topic.
    expected = _expected(h, len(current), len(history))
    candidates = [t for t in np.argsort(-(c - expected), kind="stable")[:MAX_CANDIDATES]
                  if c[t] >= min_count and c[t] >= rise * expected[t]]
    words = {t: _keywords([current.texts[i] for i in central(np.flatnonzero(assigned == t), centroids[t])[:100]],
                          term_ratio, places) for t in candidates}
    group = {t: t for t in range(k)}

    def root(t):
        while group[t] != t:
            t = group[t]
        return t

    for i, a in enumerate(candidates):
        for b in candidates[i + 1:]:
            if len(set(words[a]) & set(words[b])) >= 2:
                group[root(b)] = root(a)
    relabel = np.array([root(t) for t in range(k)], np.int64)
    assigned = np.where(assigned >= 0, relabel[np.maximum(assigned, 0)], -1)
    assigned_h = np.where(assigned_h >= 0, relabel[np.maximum(assigned_h, 0)], -1)
    c = np.bincount(assigned[assigned >= 0], minlength=k)
    h = np.bincount(assigned_h[assigned_h >= 0], minlength=k)
    expected = _expected(h, len(current), len(history))
    p = poisson_sf(c, expected)
    # Bonferroni over the clusters formed: each topic is one more test.
    ok = (c >= min_count) & (c >= rise * expected) & (p <= alpha / k)
    ranked = sorted(np.flatnonzero(ok), key=lambda t: (-(c[t] - expected[t]), p[t]))
    found = []
    for t in ranked:
        members = np.flatnonzero(assigned == t)
        # A merged topic's centre: its clusters' centres weighed by their orders.
        centroid = centroids[relabel == t].T @ sizes[relabel == t]
        centroid /= max(np.linalg.norm(centroid), 1e-12)
        hotspot = _describe(current, central(members, centroid), term_ratio, places, place_names,
                            representatives=representatives)
        if hotspot is None:
            continue
        hotspot.count, hotspot.expected, hotspot.p_value = int(c[t]), float(expected[t]), float(p[t])
        hotspot.history_count = int(round(h[t] * history_weight))
        hotspot.history_per_month = h[t] * history_weight / history_months if history_months else None
        hotspot.paragraph = draft_paragraph(hotspot, period_word=period_word, history_months=history_months,
                                            history_word=history_word)
        found.append(hotspot)
        if len(found) >= top:
            break
    return found


def _runs(text: str, terms: set[str]) -> set[str]:
    """Maximal runs of consecutive topic bigrams in ``text``: 科目, 目二, 二考, 考试 → 科目二考试."""
    out, start = set(), None
    for i in range(len(text) - 1):
        if text[i:i + 2] in terms:
            if start is None:
                start = i
            continue
        if start is not None:
            out.add(text[start:i + 1])
            start = None
    if start is not None:
        out.add(text[start:])
    return out


def _keywords(texts: list[str], terms: dict[str, float], places: set[str], top: int = 4) -> list[str]:
    """The topic's words: jieba's words of the sample made of rising bigrams only (科目二 = 科目 +
    目二), by the number of texts that use them times how much their least rising bigram rose
    (``terms``: bigram → rise ratio), so 线缆 comes before 危险. Runs of rising bigrams (``_runs``)
    are cut into words, so a keyword is never a fragment such as 有新的考."""
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    counts = Counter()
    for text in texts:
        words = set()
        for run in _runs(text, terms):
            for token in jieba.posseg.cut(run, HMM=False):
                word = token.word
                if token.flag[:1] not in _CONTENT_POS or len(word) < 2:
                    continue  # 容易, 随意, 上周: how it is said, not what
                if all(word[i:i + 2] in terms for i in range(len(word) - 1)):
                    words.add(word)
        counts.update(words)
    # How much a word rose counts up to ten times its history: beyond that, a word of one way of
    # telling it (一拖再拖) would outrank the word every telling shares (考试).
    score = {w: n * np.log(min(10.0, *(terms[w[i:i + 2]] for i in range(len(w) - 1)))) for w, n in counts.items()}
    if not _choose(score, places, top):
        score = _straddled(texts, terms)
    return _choose(score, places, top)


def _straddled(texts: list[str], terms: dict[str, float]) -> dict[str, float]:
    """The things the rising bigrams straddle, when no word is made of rising bigrams only.

    A topic whose own word is also an everyday mention elsewhere — 物业 in "已向物业反映" of every
    kind of appeal — does not rise by itself; what rises are the bigrams across its edges (物业|不修,
    业主|多次, 规范|物业). The texts are cut into words and a common noun counts when a rising
    bigram overlaps it and at least half the texts say it, scored as above by the most its
    overlapping bigrams rose. Nouns only, and shared by most: a cluster of a filler's rising
    bigrams (从上周|开始, 无人|处理) names no thing its orders share and is still dropped as chance."""
    import jieba.posseg

    counts, rose = Counter(), {}
    for text in texts:
        words, start = set(), 0
        for token in jieba.posseg.cut(text, HMM=False):
            word, end = token.word, start + len(token.word)
            if token.flag == "n" and len(word) >= 2:
                overlapping = [terms[text[i:i + 2]] for i in range(max(0, start - 1), min(end, len(text) - 1))
                               if text[i:i + 2] in terms]
                if overlapping:
                    words.add(word)
                    rose[word] = max(rose.get(word, 0.0), *overlapping)
            start = end
        counts.update(words)
    return {w: n * np.log(min(10.0, rose[w])) for w, n in counts.items() if 2 * n >= len(texts)}


def _choose(score: dict[str, float], places: set[str], top: int) -> list[str]:
    chosen: list[str] = []
    for word in sorted(score, key=lambda w: (-score[w], w)):
        if word in _GENERIC or any(word in p or p in word for p in places):
            continue
        if any(word in w or w in word for w in chosen):
            continue  # 科目二 said, 科目 adds nothing
        chosen.append(word)
        if len(chosen) >= top:
            break
    return chosen


_CONTENT_POS = frozenset("nvlij")  # nouns, verbs, fixed expressions, idioms, abbreviations
# Words of how appeals are told rather than what they are about: never a topic's name.
_GENERIC = frozenset({"来电", "反映", "来电人", "希望", "问题", "要求", "咨询", "市民", "群众", "情况", "处理", "解决",
                      "尽快", "相关", "部门", "有关", "目前", "没有", "存在", "一直", "现在", "可以", "诉求", "关于",
                      "至今", "已经", "表示", "称其", "多次", "致电", "电话", "联系", "联系电话", "手机", "号码",
                      "作为", "处置", "进行", "导致", "组织", "协调", "核实", "及时", "排除", "落实"})


def _describe(corpus: Corpus, order: np.ndarray, term_ratio: dict[str, float], places: set[str],
              place_names: Sequence[str], *, representatives: int) -> Hotspot | None:
    """A topic from its members, most central first."""
    members = np.sort(order)
    ids = list(corpus.ids) if corpus.ids is not None else list(range(len(corpus)))
    texts = corpus.texts
    words = _keywords([texts[i] for i in order[:SAMPLE]], term_ratio, places)
    if not words:
        return None  # rising bigrams that make no word but a generic one: chance, not a problem
    reps, seen = [], set()
    for i in order:
        if texts[i] in seen:
            continue
        seen.add(texts[i])
        reps.append((ids[i], mask_identities(texts[i], hide=True)))
        if len(reps) >= representatives:
            break
    member_places = _member_places(corpus, members, place_names)
    places = Counter(p for p in member_places if p).most_common()
    units = Counter(corpus.units[i] for i in members if corpus.units[i]).most_common() if corpus.units else []
    times = [corpus.times[i] for i in members] if corpus.times is not None else []
    present = [t for t in times if t is not None]
    return Hotspot(label="、".join(words[:2]), keywords=words, count=len(members),
                   expected=0.0, history_count=0, history_per_month=None, p_value=1.0,
                   member_ids=[ids[i] for i in members], representatives=reps, places=places, units=units,
                   first=min(present) if present else None, last=max(present) if present else None,
                   member_places=member_places, member_times=times)


def _short(name: str) -> str:
    for suffix in ("街道办事处", "街道", "镇", "乡"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _member_places(corpus: Corpus, members: np.ndarray, place_names: Sequence[str]) -> list[str]:
    """Each member's place: the order's own when recorded, else the first known name in its text."""
    names = sorted({n for n in place_names if n}, key=len, reverse=True)
    short = [(n, _short(n)) for n in names]
    out = []
    for i in members:
        place = corpus.places[i] if corpus.places is not None else ""
        if not place and short:
            text = corpus.texts[i]
            place = next((n for n, s in short if n in text or (len(s) >= 2 and s in text)), "")
        out.append(place or "")
    return out


def draft_paragraph(h: Hotspot, *, period_word: str = "本月", history_months: float | None = None,
                    history_word: str | None = None) -> str:
    """The briefing's 热点问题 paragraph: how many, against what, about what, where, by whom."""
    text = f"{period_word}反映{h.label}相关问题{h.count}件"
    if h.history_per_month is not None:
        months = history_months or 0
        before = history_word or ("上月" if months == 1 else f"前{months:g}个月月均")
        if h.history_per_month >= 1:
            text += f"，{before}{h.history_per_month:.0f}件"
        else:
            text += f"，{before.removesuffix('月均')}基本没有此类诉求"
    others = h.keywords[2:5]
    if others:
        text += f"，主要涉及{'、'.join(others)}等"
    if h.places:
        name, most = h.places[0]
        if most >= max(3, 0.3 * h.count):  # a place that stands out, not the first of many
            text += f"，主要集中在{name}（{most}件）"
        else:
            text += f"，分布在{'、'.join(n for n, _ in h.places[:3])}等{len(h.places)}地"
    if h.units:
        text += f"，承办较多的单位为{'、'.join(name for name, _ in h.units[:2])}"
    return mask_identities(text, hide=True) + "。"


def early_warnings(hotspots: Sequence[Hotspot], *, min_count: int) -> list[tuple[Hotspot, str, list]]:
    """(topic, place, member ids) wherever one place has ``min_count`` orders or more of one topic."""
    out = []
    for h in hotspots:
        by_place: dict[str, list] = {}
        for member, place in zip(h.member_ids, h.member_places, strict=True):
            if place:
                by_place.setdefault(place, []).append(member)
        for place, ids in sorted(by_place.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            if len(ids) >= min_count:
                out.append((h, place, ids))
    return out
