"""Classification engine: learn a label (category code, appeal type, lead unit code) from an order's words.

Pure: takes plain strings and returns plain values; Django is the adapter around it
(``hotline.triage.services``, ``hotline.triage.csvdata``). Tested without a database.

Features are TF-IDF over character 1–3-grams with sublinear tf (``hotline.lib.ngrams``, vectorised
with numpy; a trigram is kept when at least two training texts have it), plus 1–2-grams over the title, counted again with a weight chosen on a
held-out fifth of the training rows (``_choose_title_weight``), when a title is given. An optional
*context* per document (e.g. ``town:杨楼镇``, ``cat:0101``) is a third block of features: the unit
model uses it to learn that a town-routed category goes to the order's own town.
The classifier is a linear SVM (liblinear). Its scores for the chips are calibrated probabilities
(one Platt sigmoid shared by the classes, fitted on 3 folds' held-out decision values) when every
class has at least 3 samples and the data is not too large to fit four times, otherwise a softmax
of its decision values. Rows beyond ``MAX_FITTED`` are not fitted (each class keeps its newest).

docs/triage.md ("Choices") has the measurements behind each choice: jieba words were slower and no
more accurate; logistic regression no more accurate and slower to train at 500,000 orders;
hashing features slower (a dense 2²⁰-column coefficient matrix per class); truncating long texts
lost accuracy when the point of an appeal is not at its start.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import joblib
import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.metrics.pairwise import cosine_similarity
from sklearn.model_selection import cross_val_predict, train_test_split
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from hotline.lib.ngrams import CharNgramTfidf

FORMAT_VERSION = 3
SEP = "\x1f"  # between an order's text and its context tokens inside one document string
TITLE_SEP = "\x1e"  # between the title and the text

# The choices measured in docs/triage.md ("Choices").
NGRAMS = (1, 3)
TRIGRAM_MIN_DF = 2  # a trigram seen in one training text only is dropped (unigrams and bigrams all kept)
SUBLINEAR = True
TITLE_WEIGHT = 0.25  # the title block's weight: its n-grams count again on top of the text's
# The title block's weight is chosen per training set, by accuracy on a held-out fifth of (at most)
# TITLE_CHOICE_MAX_ROWS rows, in this order of preference (a tie keeps the earlier): counting the
# title again put the engine ahead of the baseline by 1–2 points on long texts with informative
# titles, and behind it by up to half a point where the titles misled (docs/triage.md, "Choices").
TITLE_WEIGHTS = (TITLE_WEIGHT, 0.1, 0.0)
TITLE_CHOICE_MAX_ROWS = 20_000
TITLE_CHOICE_MIN_HELD_OUT = 100  # fewer held-out rows than this say nothing: the first weight is kept
# The dual solver's stopping tolerance: liblinear's own default for this solver is 0.1; scikit-learn's
# 1e-4 took 10–40 % longer for the same predictions on every corpus measured (docs/triage.md, "Choices").
SVM_TOL = 1e-2
SVM_C = 1.0  # chosen on validation splits carved from the real-text check's training parts (docs/triage.md)
CALIBRATION_FOLDS = 3
CALIBRATE_MAX_SAMPLES = 50_000  # above this, four fits cost too much: softmax of decision values
SOFTMAX_SCALE = 5.0  # decision values of a linear SVM lie around ±1; this spreads them like probabilities
# Rows fitted, at most. One-vs-rest SVM training costs rows × classes, and a retrain on 500,000
# orders must stay within minutes. Under the budget every row is fitted (a center's year of orders);
# over it, each class keeps its newest rows up to an equal share and rarer classes keep all theirs
# (the share is the largest the budget allows). It replaces a cap of 500 rows per class, which
# cost the largest classes accuracy against the baseline on data of a center's size
# (docs/triage.md, "Choices").
MAX_FITTED = 70_000

# Words present in nearly every appeal (operators' formulae): they say nothing about the category.
STOP_WORDS = frozenset("""
来电 来电人 市民 反映 反应 称 其 希望 要求 请求 尽快 相关 部门 有关 单位 处理 解决 问题 情况 诉求
咨询 请 帮助 协调 落实 一下 目前 现在 已经 多次 至今 仍 仍然 没有 未 不 无 是否 如何 怎么 什么
的 了 和 与 及 或 在 是 有 也 都 就 被 把 将 对 从 向 到 给 让 等 该 此 这 那 这个 那个 我 你 他 她
我们 他们 自己 因为 所以 但是 但 而 并 又 还 再 能 会 可以 可能 需要 进行 为 以 于 之 着 过 吗 呢 啊
年 月 日 号 天 后 前 时 上 下 中 内 个 位 次
""".split())

# Hotline words jieba's general dictionary splits badly (来电人 → 来电 / 人).
HOTLINE_WORDS = ("来电人", "供水管道", "网格员", "物业费", "拖欠工资", "农民工", "医保卡", "社保卡", "居住证",
                 "不动产证", "公积金", "低保", "养老金", "噪音扰民", "占道经营", "私搭乱建", "路灯", "窨井盖")

log = logging.getLogger(__name__)
_jieba_lock = threading.Lock()
_jieba_ready = False


class TriageError(ValueError):
    """The data cannot make a model (too few samples or classes) or a stored model is unusable."""


def _jieba():
    """jieba with its dictionary loaded once per process (loading takes about a second)."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                for word in HOTLINE_WORDS:
                    jieba.add_word(word)
                _jieba_ready = True
    return jieba


def tokenize(text: str) -> list[str]:
    """jieba words of ``text`` without stop words, punctuation, digits or single Latin letters."""
    words = []
    for word in _jieba().lcut(text or ""):
        word = word.strip()
        if not word or word in STOP_WORDS or word.isdigit():
            continue
        if len(word) == 1 and not ("\u4e00" <= word <= "\u9fff"):
            continue
        words.append(word)
    return words


def document(text: str, context: Iterable[str] = (), title: str | None = None) -> str:
    """One input string: the title (if any), the text and, after a separator, the context tokens."""
    head = f"{(title or '').replace(SEP, ' ').replace(TITLE_SEP, ' ')}{TITLE_SEP}" if title is not None else ""
    body = (text or "").replace(SEP, " ").replace(TITLE_SEP, " ")
    return f"{head}{body}{SEP}{' '.join(t.replace(' ', '_') for t in context)}"


def _text_of(doc: str) -> str:
    """Title and text together (the title is part of what the appeal says)."""
    return doc.split(SEP, 1)[0].replace(TITLE_SEP, "\n")


def _title_of(doc: str) -> str:
    head = doc.split(SEP, 1)[0]
    return head.split(TITLE_SEP, 1)[0] if TITLE_SEP in head else ""


def _context_of(doc: str) -> list[str]:
    parts = doc.split(SEP, 1)
    return parts[1].split() if len(parts) > 1 else []


def _texts(docs) -> list[str]:
    return [_text_of(d) for d in docs]


def _titles(docs) -> list[str]:
    return [_title_of(d) for d in docs]


def _word_tokens(doc: str) -> list[str]:
    return tokenize(_text_of(doc))


def _docs(texts, contexts=None, titles=None) -> list[str]:
    return [document(t, contexts[i] if contexts is not None else (), titles[i] if titles is not None else None)
            for i, t in enumerate(texts)]


_PARTS = {"text": _texts, "title": _titles, "context": lambda docs: list(docs)}


class Classifier:
    """Feature blocks (text, title, context), each weighted, and a linear SVM's scores.

    Not a scikit-learn ``Pipeline``/``FeatureUnion`` on purpose: the intake form asks for one text at
    a time, and their per-call machinery (validation, a joblib loop over the blocks, one Python
    calibrator call per class) cost more than the prediction itself. Here a prediction is the
    blocks' ``transform``, one sparse product and, when calibrated, one vectorised sigmoid
    ``1 / (1 + exp(a·d + b))`` (Platt's, as scikit-learn's sigmoid calibration fits).
    """

    def __init__(self, *, with_title: bool, with_context: bool, c: float = SVM_C, title_weight: float = TITLE_WEIGHT):
        # The text block reads the title too (``_text_of``); the title block counts it again. At
        # weight 0 there is no title block: the title is read once, as part of the text.
        self.blocks = [("text", CharNgramTfidf(NGRAMS, trigram_min_df=TRIGRAM_MIN_DF, sublinear_tf=SUBLINEAR), 1.0)]
        if with_title and title_weight:
            self.blocks.append(("title", CharNgramTfidf((1, 2), sublinear_tf=SUBLINEAR), title_weight))
        if with_context:
            self.blocks.append(("context", TfidfVectorizer(analyzer=_context_of, use_idf=False), 1.0))
        self.c = c
        self.calibrated = False

    def _matrix(self, docs, *, fit: bool = False) -> sp.csr_matrix:
        parts = []
        for part, vectorizer, weight in self.blocks:
            values = _PARTS[part](docs)
            x = vectorizer.fit_transform(values) if fit else vectorizer.transform(values)
            parts.append(x * weight if weight != 1.0 else x)
        return sp.hstack(parts, format="csr") if len(parts) > 1 else sp.csr_matrix(parts[0])

    def fit(self, docs: Sequence[str], labels: Sequence[str], *, calibrate: bool = True) -> Classifier:
        x = self._matrix(docs, fit=True)
        labels = np.asarray(labels, dtype=object)
        # The dual solver, always: scikit-learn's default ("auto") switches to the primal one when
        # there are more rows than n-gram columns, which at 120,000 fitted rows took 3× as long on
        # one core (492 s against 158 s) with the same accuracy (docs/triage.md, "Choices"). Below
        # that size "auto" already chose the dual, so smaller models are unchanged.
        # liblinear shuffles: random_state fixed, so a retrain on the same data is the same model.
        svm = LinearSVC(C=self.c, dual=True, tol=SVM_TOL, random_state=0)
        counts = Counter(labels.tolist())
        self.a = self.b = None
        if calibrate and min(counts.values()) >= CALIBRATION_FOLDS and len(labels) <= CALIBRATE_MAX_SAMPLES:
            # Platt scaling with one sigmoid shared by every class, fitted on held-out decision values
            # (3 folds): a sigmoid per class (CalibratedClassifierCV) reorders the classes and lost
            # accuracy against the SVM's own ranking; a shared one keeps the ranking, so the first
            # chip is the SVM's answer and its score still reads as a probability.
            held_out = cross_val_predict(svm, x, labels, cv=CALIBRATION_FOLDS, method="decision_function")
            svm.fit(x, labels)
            truth = labels[:, None] == svm.classes_[None, :] if held_out.ndim == 2 else (labels == svm.classes_[1])
            platt = LogisticRegression(C=1e4).fit(held_out.reshape(-1, 1), np.asarray(truth).reshape(-1))
            width = 1 if held_out.ndim == 1 else len(svm.classes_)
            self.a = np.full(width, -platt.coef_[0, 0])
            self.b = np.full(width, -platt.intercept_[0])
        else:
            svm.fit(x, labels)
        self.calibrated = self.a is not None
        self.classes_ = svm.classes_
        # Features × classes, one product per batch, in single precision: the product was a third of
        # a batch's prediction and moves half the bytes so (scores change by about 1e-6).
        self.coef_ = np.ascontiguousarray(svm.coef_.T, dtype=np.float32)
        self.intercept_ = svm.intercept_
        return self

    def decision(self, docs: Sequence[str]) -> np.ndarray:
        if len(docs) == 1 and all(isinstance(v, CharNgramTfidf) for _, v, _ in self.blocks):
            return self._decision_one(docs[0])
        return np.asarray(self._matrix(docs).astype(self.coef_.dtype, copy=False) @ self.coef_) + self.intercept_

    def _decision_one(self, doc: str) -> np.ndarray:
        """``decision([doc])`` without sparse matrices: each block's row picks its rows of the
        coefficients (the blocks' columns follow one another as ``_matrix`` stacks them)."""
        d = np.zeros(self.coef_.shape[1], np.float64)
        offset = 0
        for part, vectorizer, weight in self.blocks:
            columns, values = vectorizer.row(_PARTS[part]([doc])[0])
            if len(columns):
                d += (values * weight).astype(self.coef_.dtype) @ self.coef_[offset + columns]
            offset += len(vectorizer.vocabulary_)
        return (d + self.intercept_)[None, :]

    def scores(self, docs: Sequence[str]) -> np.ndarray:
        """Per class, a score that sums to 1 over the classes: calibrated probabilities when the
        model was calibrated, else a softmax of the SVM's decision values."""
        d = self.decision(docs)
        if self.calibrated:
            p = 1.0 / (1.0 + np.exp(d * self.a + self.b))
            if len(self.classes_) == 2:  # one decision value, one calibrator: the other class is 1 − p
                return np.column_stack([1.0 - p[:, 0], p[:, 0]])
            total = p.sum(axis=1, keepdims=True)
            return np.divide(p, total, out=np.full_like(p, 1.0 / p.shape[1]), where=total > 0)
        if d.shape[1] == 1:  # two classes: one signed distance
            d = np.column_stack([-d[:, 0], d[:, 0]])
        z = d * SOFTMAX_SCALE
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        return z / z.sum(axis=1, keepdims=True)


@dataclass
class Model:
    """A trained classifier with what is needed to explain it later."""

    classifier: Classifier
    kind: str = "category"
    metadata: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def labels(self) -> list[str]:
        return [str(c) for c in self.classifier.classes_]


def _check(texts: Sequence[str], labels: Sequence[str], contexts, titles=None) -> None:
    if len(texts) != len(labels) or (contexts is not None and len(contexts) != len(texts)) or (
            titles is not None and len(titles) != len(texts)):
        raise TriageError("texts, titles, labels and contexts must have the same length")
    if len(set(labels)) < 2:
        raise TriageError(f"至少需要两个类别的样本才能训练（现有 {len(set(labels))} 个类别、{len(labels)} 条样本）")


def train(texts: Sequence[str], labels: Sequence[str], *, contexts: Sequence[Sequence[str]] | None = None,
          titles: Sequence[str] | None = None, kind: str = "category", scores: dict | None = None,
          now: dt.datetime | None = None) -> Model:
    """Fit a model on all the samples. ``scores`` (from :func:`evaluate`) go into its metadata."""
    _check(texts, labels, contexts, titles)
    counts = Counter(labels)
    keep = _within_budget(labels, MAX_FITTED)
    if keep is not None:
        texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
        contexts = None if contexts is None else [contexts[i] for i in keep]
        titles = None if titles is None else [titles[i] for i in keep]
    docs = _docs(texts, contexts, titles)
    title_weight, trials = _choose_title_weight(docs, list(labels), with_context=contexts is not None) if (
        titles is not None) else (None, {})
    classifier = Classifier(with_title=titles is not None, with_context=contexts is not None,
                            title_weight=title_weight or 0.0)
    classifier.fit(docs, list(labels))
    return Model(classifier=classifier, kind=kind, metadata={
        "kind": kind,
        "trained_at": (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        "n_samples": sum(counts.values()),
        "n_fitted": len(docs),
        "max_fitted": MAX_FITTED,
        "per_class_share": _share(Counter(labels).values(), MAX_FITTED) if keep is not None else None,
        "n_labels": len(counts),
        "labels": sorted(counts),
        "label_counts": dict(sorted(counts.items())),
        "uses_context": contexts is not None,
        "uses_title": titles is not None,
        "title_weight": title_weight,
        "title_weight_trials": trials,
        "calibrated": classifier.calibrated,
        "sklearn": sklearn.__version__,
        "format_version": FORMAT_VERSION,
        "scores": scores or {},
    })


def _choose_title_weight(docs: list[str], labels: list[str], *, with_context: bool) -> tuple[float, dict]:
    """The title block's weight for this training set: each of ``TITLE_WEIGHTS`` fitted on four
    fifths of (at most ``TITLE_CHOICE_MAX_ROWS``, each class's newest) rows and scored by top-1
    accuracy on the fifth held out; the first of the best is kept. Returns it and {weight: accuracy}
    (empty when there were too few rows to tell, and the first weight is kept)."""
    keep = _within_budget(labels, TITLE_CHOICE_MAX_ROWS)
    if keep is not None:
        docs, labels = [docs[i] for i in keep], [labels[i] for i in keep]
    try:
        train_idx, held_idx = _split(labels, 0.2, seed=0)
    except TriageError:
        return TITLE_WEIGHTS[0], {}
    if len(held_idx) < TITLE_CHOICE_MIN_HELD_OUT or len({labels[i] for i in train_idx}) < 2:
        return TITLE_WEIGHTS[0], {}
    fit_docs, fit_labels = [docs[i] for i in train_idx], [labels[i] for i in train_idx]
    held_docs, truth = [docs[i] for i in held_idx], np.asarray([labels[i] for i in held_idx], dtype=object)
    trials: dict[str, float] = {}
    best, best_accuracy = TITLE_WEIGHTS[0], -1.0
    for weight in TITLE_WEIGHTS:
        trial = Classifier(with_title=True, with_context=with_context, title_weight=weight)
        trial.fit(fit_docs, fit_labels, calibrate=False)  # calibration keeps the ranking: not needed to score it
        # ``scores`` puts two classes' one signed distance into two columns: argmax is the answer.
        accuracy = float(np.mean(trial.classes_[np.argmax(trial.scores(held_docs), axis=1)] == truth))
        trials[str(weight)] = round(accuracy, 4)
        if accuracy > best_accuracy:
            best, best_accuracy = weight, accuracy
        if best_accuracy == 1.0:  # nothing after can beat it (a tie keeps the earlier): spare the fits
            break
    return best, trials


def _share(counts, budget: int) -> int:
    """The largest per-class share s with sum(min(count, s)) <= budget (water-filling)."""
    counts = sorted(counts)
    remaining, left = budget, len(counts)
    for c in counts:
        if c * left > remaining:
            return remaining // left
        remaining -= c
        left -= 1
    return counts[-1] if counts else 0


def _within_budget(labels: Sequence[str], budget: int | None) -> list[int] | None:
    """Indices of the rows to fit, in order: each label's last (newest) rows up to the share the
    budget allows; None when every row fits."""
    if not budget or len(labels) <= budget:
        return None
    share = _share(Counter(labels).values(), budget)
    seen: Counter = Counter()
    keep = []
    for i in range(len(labels) - 1, -1, -1):
        if seen[labels[i]] < share:
            seen[labels[i]] += 1
            keep.append(i)
    return keep[::-1]


def predict_many(model: Model, texts: Sequence[str], *, contexts: Sequence[Sequence[str]] | None = None,
                 titles: Sequence[str] | None = None, k: int = 3) -> list[list[tuple[str, float]]]:
    """For each text, the ``k`` best labels with their scores (probabilities), best first."""
    if not len(texts):
        return []
    if model.metadata.get("uses_title") and titles is None:
        titles = [""] * len(texts)
    elif not model.metadata.get("uses_title"):
        if titles is not None:  # a model without a title block reads the title as part of the text
            texts = [f"{title}\n{text}" if title else text for title, text in zip(titles, texts, strict=True)]
        titles = None
    if model.metadata.get("uses_context") and contexts is None:
        contexts = [()] * len(texts)
    proba = model.classifier.scores(_docs(texts, contexts, titles))
    classes = model.classifier.classes_
    k = min(k, len(classes))
    top = np.argpartition(-proba, k - 1, axis=1)[:, :k] if k < len(classes) else np.tile(np.arange(len(classes)),
                                                                                            (len(proba), 1))
    # Best first, a tie to the earlier class: sorted by column, then stably by score, in numpy for the
    # whole batch (a Python sort per text was a tenth of a batch's prediction).
    top.sort(axis=1)
    top_proba = np.take_along_axis(proba, top, axis=1)
    order = np.argsort(-top_proba, axis=1, kind="stable")
    names = np.asarray([str(c) for c in classes], dtype=object)[np.take_along_axis(top, order, axis=1)].tolist()
    scores = np.take_along_axis(top_proba, order, axis=1).tolist()
    return [list(zip(row, row_scores, strict=True)) for row, row_scores in zip(names, scores, strict=True)]


def predict(model: Model, text: str, k: int = 3, *, context: Sequence[str] = (),
            title: str | None = None) -> list[tuple[str, float]]:
    """The ``k`` best labels for one text: ``[(label, probability), …]``, best first."""
    uses_context = model.metadata.get("uses_context", False)
    return predict_many(model, [text], contexts=[list(context)] if uses_context else None,
                        titles=[title] if title is not None else None, k=k)[0]


def roll_up(ranked: Sequence[tuple[str, float]], parent=lambda code: code[:2]) -> list[tuple[str, float]]:
    """Level-1 scores from level-2 (or level-3) ones: a parent's score is its children's sum, so the
    level-1 answer can never disagree with the level-2 one it came from."""
    totals: dict[str, float] = {}
    for label, score in ranked:
        totals[parent(label)] = totals.get(parent(label), 0.0) + score
    return sorted(totals.items(), key=lambda pair: -pair[1])


COLUMNS = (("样本 support", 14), ("精确率 P", 11), ("召回率 R", 11), ("F1", 7))


@dataclass
class ClassRow:
    label: str
    support: int
    precision: float
    recall: float
    f1: float


@dataclass
class Report:
    """Scores of a model trained on one part of the data and tested on the held-out rest."""

    n_train: int
    n_test: int
    n_labels: int
    accuracy: float
    top3_accuracy: float
    macro_f1: float
    per_class: list[ClassRow]
    # With ``priors`` (labels a rule table ranks first, e.g. the dispatch catalog): the scores of
    # "the rules' labels first, then the model's", which is what the console shows.
    combined_accuracy: float | None = None
    combined_top3_accuracy: float | None = None

    def to_dict(self, names: dict[str, str] | None = None) -> dict:
        """The summary and the per-class table, for ``--json``."""
        names = names or {}
        return {**self.summary(), "per_class": [
            {"label": r.label, "name": names.get(r.label, r.label), "support": r.support,
             "precision": round(r.precision, 4), "recall": round(r.recall, 4), "f1": round(r.f1, 4)}
            for r in sorted(self.per_class, key=lambda r: (-r.support, r.label))]}

    def summary(self) -> dict:
        out = {"n_train": self.n_train, "n_test": self.n_test, "n_labels": self.n_labels,
               "accuracy": round(self.accuracy, 4), "top3_accuracy": round(self.top3_accuracy, 4),
               "macro_f1": round(self.macro_f1, 4)}
        if self.combined_accuracy is not None:
            out["combined_accuracy"] = round(self.combined_accuracy, 4)
            out["combined_top3_accuracy"] = round(self.combined_top3_accuracy, 4)
        return out

    def format(self, names: dict[str, str] | None = None, *, rows: int | None = None) -> str:
        """A plain-text report (Chinese / English headings); ``names`` maps labels to display names."""
        names = names or {}
        lines = [
            f"训练样本 train samples: {self.n_train}    测试样本 held-out samples: {self.n_test}    "
            f"类别数 labels: {self.n_labels}",
            f"准确率 accuracy (top-1): {self.accuracy:.1%}",
            f"前三命中率 top-3 accuracy: {self.top3_accuracy:.1%}",
            f"宏平均F1 macro-F1: {self.macro_f1:.3f}",
        ]
        if self.combined_accuracy is not None:
            lines += [f"目录优先、模型补充 catalog first, then model: 准确率 accuracy {self.combined_accuracy:.1%}, "
                      f"前三命中率 top-3 {self.combined_top3_accuracy:.1%}"]
        lines += [
            "",
            _pad("类别 label", 30) + "".join(_pad(h, w, right=True) for h, w in COLUMNS),
        ]
        shown = sorted(self.per_class, key=lambda r: (-r.support, r.label))
        for row in shown[:rows] if rows else shown:
            name = names.get(row.label, row.label)
            values = (str(row.support), f"{row.precision:.2f}", f"{row.recall:.2f}", f"{row.f1:.2f}")
            lines.append(_pad(name, 30) + "".join(_pad(v, w, right=True) for v, (_, w) in zip(values, COLUMNS,
                                                                                             strict=True)))
        return "\n".join(lines)


def _pad(text: str, width: int, *, right: bool = False) -> str:
    """``text`` padded to ``width`` terminal columns (a Chinese character takes two)."""
    import unicodedata

    fill = " " * max(1, width - sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text))
    return fill + text if right else text + fill


def _split(labels: Sequence[str], test_size: float, seed: int) -> tuple[list[int], list[int]]:
    """Stratified split; labels seen once stay in training (they cannot be both learnt and tested)."""
    counts = Counter(labels)
    single = [i for i, label in enumerate(labels) if counts[label] < 2]
    rest = [i for i, label in enumerate(labels) if counts[label] >= 2]
    rest_labels = [labels[i] for i in rest]
    n_test = max(len(set(rest_labels)), round(len(rest) * test_size))
    if n_test >= len(rest):
        raise TriageError(f"样本太少，无法留出测试集（{len(labels)} 条样本）")
    train_idx, test_idx = train_test_split(rest, test_size=n_test, random_state=seed, stratify=rest_labels)
    return sorted(single + list(train_idx)), sorted(test_idx)


def combine(prior: Sequence[str], ranked: Sequence[tuple[str, float]], k: int = 3) -> list[str]:
    """The rule table's labels first (in their order), then the model's, without repeats."""
    out: list[str] = []
    for label in [*prior, *(label for label, _ in ranked)]:
        if label not in out:
            out.append(label)
    return out[:k]


def evaluate(texts: Sequence[str], labels: Sequence[str], *, contexts: Sequence[Sequence[str]] | None = None,
             titles: Sequence[str] | None = None, priors: Sequence[Sequence[str]] | None = None,
             test_size: float = 0.2, seed: int = 0) -> Report:
    """Train on a stratified part of the samples and score on the held-out rest."""
    _check(texts, labels, contexts, titles)
    train_idx, test_idx = _split(list(labels), test_size, seed)

    def pick(seq, idx):
        return None if seq is None else [seq[i] for i in idx]

    model = train(pick(texts, train_idx), pick(labels, train_idx), contexts=pick(contexts, train_idx),
                  titles=pick(titles, train_idx))
    truth = pick(labels, test_idx)
    ranked = predict_many(model, pick(texts, test_idx), contexts=pick(contexts, test_idx),
                          titles=pick(titles, test_idx), k=3)
    return score(ranked, truth, n_train=len(train_idx), n_labels=len(set(labels)),
                 priors=pick(priors, test_idx))


def score(ranked: Sequence[Sequence[tuple[str, float]]], truth: Sequence[str], *,
          n_train: int, n_labels: int, priors: Sequence[Sequence[str]] | None = None) -> Report:
    """The report of predictions ``ranked`` (best first) against the true labels."""
    top1 = [r[0][0] for r in ranked]
    accuracy = sum(p == t for p, t in zip(top1, truth, strict=True)) / len(truth)
    top3 = sum(t in {label for label, _ in r} for r, t in zip(ranked, truth, strict=True)) / len(truth)
    tested = sorted(set(truth))
    precision, recall, f1, support = precision_recall_fscore_support(truth, top1, labels=tested, zero_division=0)
    rows = [ClassRow(label, int(s), float(p), float(r), float(f))
            for label, p, r, f, s in zip(tested, precision, recall, f1, support, strict=True)]
    macro = float(f1_score(truth, top1, labels=tested, average="macro", zero_division=0))
    report = Report(n_train=n_train, n_test=len(truth), n_labels=n_labels, accuracy=accuracy,
                    top3_accuracy=top3, macro_f1=macro, per_class=rows)
    if priors is not None:
        shown = [combine(prior, r) for prior, r in zip(priors, ranked, strict=True)]
        report.combined_accuracy = sum(bool(s) and s[0] == t for s, t in zip(shown, truth, strict=True)) / len(truth)
        report.combined_top3_accuracy = sum(t in s for s, t in zip(shown, truth, strict=True)) / len(truth)
    return report


def worse(candidate: dict, active: dict) -> str | None:
    """Why a newly trained model must not replace the active one, or None when it may.

    Both are held-out scores (``Report.summary()``); a model is worse when its held-out accuracy is
    lower. A model without scores (too few samples to hold any out) is never judged worse, and
    neither is one replacing a model without scores.
    """
    new, old = candidate.get("accuracy"), active.get("accuracy")
    if new is None or old is None or new >= old:
        return None
    return (f"新模型留出集准确率 {new:.1%} 低于当前模型的 {old:.1%}"
            f"（macro-F1 {candidate.get('macro_f1', 0):.3f} 对 {active.get('macro_f1', 0):.3f}），未启用新模型")


def dumps(model: Model) -> bytes:
    """The model as bytes (joblib, compressed), to store in the database."""
    buffer = io.BytesIO()
    joblib.dump({"format_version": model.format_version, "kind": model.kind, "metadata": model.metadata,
                 "classifier": model.classifier}, buffer, compress=3)
    return buffer.getvalue()


def loads(data: bytes) -> Model:
    """A model from :func:`dumps`. Only load bytes this platform wrote: unpickling runs code."""
    try:
        payload = joblib.load(io.BytesIO(bytes(data)))
    except Exception as exc:  # a truncated or foreign blob
        raise TriageError(f"无法读取：不是本平台保存的模型，或文件不完整：{type(exc).__name__}") from exc
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        raise TriageError("模型格式版本不符，请重新训练（hotline triage train）")
    if payload["metadata"].get("sklearn") != sklearn.__version__:
        log.warning("model trained with scikit-learn %s, running %s", payload["metadata"].get("sklearn"),
                    sklearn.__version__)
    return Model(classifier=payload["classifier"], kind=payload["kind"], metadata=payload["metadata"])


def similar(text: str, candidates: Iterable[tuple[object, str]], *, k: int = 5,
            threshold: float = 0.0) -> list[tuple[object, float]]:
    """Candidates most like ``text`` by TF-IDF cosine (words + character bigrams): ``[(id, score)]``.

    For repeat orders (并单): the candidates are recent orders of the same caller, place or
    category; a score near 1 means nearly the same words.
    """
    candidates = [(key, body or "") for key, body in candidates]
    if not candidates or not (text or "").strip():
        return []
    corpus = [text] + [body for _, body in candidates]
    union = FeatureUnion([
        ("words", TfidfVectorizer(analyzer=tokenize, sublinear_tf=True)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 2), sublinear_tf=True)),
    ])
    matrix = union.fit_transform(corpus)
    scores = cosine_similarity(matrix[0], matrix[1:]).ravel()  # the mean of the two blocks' cosines
    ranked = sorted(((candidates[i][0], float(s)) for i, s in enumerate(scores) if s > threshold),
                    key=lambda pair: -pair[1])
    return ranked[:k]
