"""Character n-gram TF-IDF computed with numpy, for speed (pure; a scikit-learn transformer).

Why not ``TfidfVectorizer(analyzer="char")``: it builds every n-gram as a Python string and looks it
up in a dict, one at a time — about 800 lookups for a 400-character appeal, which is most of the
prediction time of a linear model (docs/triage.md, "Choices"). Here a batch of texts becomes one
array of code points; an n-gram is an integer made of its code points (a bigram is
``cp1 << 21 | cp2``, a trigram ``cp1 << 42 | cp2 << 21 | cp3``: a code point has 21 bits, so the
key is exact, no hashing collisions), the vocabulary is a sorted array and a lookup is
``numpy.searchsorted``. The weights are scikit-learn's: smooth idf, optional sublinear tf, l2 norm.

Full-width letters, digits and punctuation become their half-width forms, text is lower-cased, whitespace runs count as one space, and an n-gram never crosses two texts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

_BITS = 21
_SPACE = 32
CHUNK = 20_000  # texts per batch when fitting
# Characters per batch when transforming: a batch's n-gram keys are sorted (np.unique) twice, and
# a sort that stays in cache is twice as fast per key. 4,000 appeals of 416 characters took 1.07 s
# in one batch and 0.50 s in batches of 100,000 characters (docs/triage.md, "Character 1–3-grams").
CHUNK_CHARS = 100_000


def _codes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """All texts' code points in one array (0 between texts) and each position's text index.

    Normalised in numpy rather than per string: full-width ASCII (！ … ～) becomes half-width,
    ASCII letters lower case, every whitespace character a space and a run of spaces one space.
    """
    texts = [(t or "").replace("\x00", " ") for t in texts]
    lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
    codes = np.frombuffer(("\x00".join(texts) + "\x00").encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    owner = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    wide = (codes >= 0xFF01) & (codes <= 0xFF5E)
    codes[wide] -= 0xFEE0
    upper = (codes >= 65) & (codes <= 90)
    codes[upper] += 32
    space = np.isin(codes, (9, 10, 11, 12, 13, 0x3000, 0xA0)) | (codes == _SPACE)
    codes[space] = _SPACE
    repeated = np.zeros(len(codes), bool)
    repeated[1:] = space[1:] & space[:-1]
    if repeated.any():
        codes, owner = codes[~repeated], owner[~repeated]
    return codes, owner


def ngram_keys(texts: Sequence[str], ngram_range: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(keys, text index) of every character n-gram of ``texts`` with n in ``ngram_range`` (n ≤ 3)."""
    low, high = ngram_range
    if not 1 <= low <= high <= 3:
        raise ValueError("ngram_range must lie within (1, 3)")
    codes, owner = _codes(texts)
    keys, owners = [], []
    for n in range(low, high + 1):
        size = len(codes) - n + 1
        if size <= 0:
            continue
        key = codes[:size].copy()
        valid = key != 0
        for j in range(1, n):
            nxt = codes[j:j + size]
            key = (key << _BITS) | nxt
            valid &= nxt != 0
        if n == 1:
            valid &= key != _SPACE  # a lone space says nothing
        keys.append(key[valid])
        owners.append(owner[:size][valid])
    if not keys:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(keys), np.concatenate(owners)


def _l2_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    """Each row scaled to unit length in place (empty rows stay empty): ``sklearn.preprocessing.normalize``
    without its parameter validation, which cost a sixth of a one-text prediction."""
    per_row = np.diff(m.indptr)
    norms = np.sqrt(np.bincount(np.repeat(np.arange(m.shape[0]), per_row), weights=m.data * m.data,
                                minlength=m.shape[0]))
    norms[norms == 0] = 1.0
    m.data /= np.repeat(norms, per_row)
    return m


def _batches(texts: Sequence[str], chars: int) -> list[int]:
    """Boundaries [0, …, len(texts)] of consecutive batches of about ``chars`` characters (a text
    longer than that is a batch of its own)."""
    ends = np.cumsum(np.fromiter((len(t or "") + 1 for t in texts), dtype=np.int64, count=len(texts)))
    if not len(ends) or ends[-1] <= chars:
        return [0, len(texts)]
    cuts = np.searchsorted(ends, np.arange(chars, ends[-1], chars), side="right")
    return sorted({0, len(texts), *(int(c) for c in cuts if 0 < c < len(texts))})


class CharNgramTfidf(TransformerMixin, BaseEstimator):
    """TF-IDF of character n-grams (1 ≤ n ≤ 3), with scikit-learn's weighting, vectorised.

    ``min_df``: an n-gram must occur in at least this many training texts; ``trigram_min_df``: the
    same for three-character n-grams alone (most of them occur in one text only, and one text's
    n-gram teaches a classifier nothing it can use again); ``max_features``: keep only the most
    frequent ones (by document frequency). ``max_chars``: texts longer than this are
    cut to their head and tail (two thirds / one third); None keeps them whole.
    """

    def __init__(self, ngram_range=(1, 2), *, min_df: int = 1, trigram_min_df: int = 1,
                 max_features: int | None = None, sublinear_tf: bool = True, use_idf: bool = True,
                 max_chars: int | None = None):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.trigram_min_df = trigram_min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.use_idf = use_idf
        self.max_chars = max_chars

    def _cut(self, texts: Sequence[str]) -> list[str]:
        limit = self.max_chars
        if not limit:
            return list(texts)
        head = limit * 2 // 3
        tail = limit - head
        return [t if len(t or "") <= limit else f"{t[:head]} {t[-tail:]}" for t in texts]

    def fit(self, texts, y=None):
        texts = self._cut(texts)
        # Document frequencies chunk by chunk: the n-gram keys of 500,000 appeals at once would take
        # several GiB; a chunk's take tens of MiB.
        vocab, df = np.zeros(0, np.int64), np.zeros(0, np.int64)
        for start in range(0, len(texts), CHUNK):
            keys, owners = ngram_keys(texts[start:start + CHUNK], tuple(self.ngram_range))
            local, inverse = np.unique(keys, return_inverse=True)
            pairs = np.unique(owners * len(local) + inverse)  # each (text, n-gram) once
            chunk_df = np.bincount(pairs % len(local), minlength=len(local)) if len(local) else np.zeros(0, np.int64)
            merged, where = np.unique(np.concatenate([vocab, local]), return_inverse=True)
            df = np.bincount(where, weights=np.concatenate([df, chunk_df]), minlength=len(merged)).astype(np.int64)
            vocab = merged
        keep = df >= self.min_df
        if self.trigram_min_df > 1:  # a trigram's key has a third code point above two code points' bits
            keep &= (vocab < 1 << 2 * _BITS) | (df >= self.trigram_min_df)
        if self.max_features is not None and keep.sum() > self.max_features:
            order = np.argsort(-np.where(keep, df, -1), kind="stable")[: self.max_features]
            keep = np.zeros(len(vocab), bool)
            keep[order] = True
        kept = np.flatnonzero(keep)
        self.vocabulary_ = vocab[kept]
        self.idf_ = np.log((1 + len(texts)) / (1 + df[kept])) + 1.0
        return self

    def fit_transform(self, texts, y=None):
        return self.fit(texts).transform(texts)

    def transform(self, texts):
        texts = self._cut(texts)
        bounds = _batches(texts, CHUNK_CHARS)
        if len(bounds) <= 2:
            return self._weigh(self._counts(texts))
        return sp.vstack([self._weigh(self._counts(texts[a:b])) for a, b in zip(bounds[:-1], bounds[1:], strict=True)],
                         format="csr")

    def row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """One text's row of ``transform`` as (column indices, ascending; values), without building
        a sparse matrix: for one text (the intake form's suggestions) scipy's checks on each
        matrix built cost more than the n-grams. The same numbers as ``transform([text])``."""
        keys, _ = ngram_keys(self._cut([text]), tuple(self.ngram_range))
        if not len(self.vocabulary_) or not len(keys):
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        distinct, counts = np.unique(keys, return_counts=True)
        found, known = self._lookup(distinct)
        columns, values = found[known], counts[known].astype(np.float64)
        self._tf_idf(values, columns)
        norm = np.sqrt(np.dot(values, values))
        if norm:
            values /= norm
        return columns, values

    def _counts(self, texts) -> sp.csr_matrix:
        """Raw n-gram counts of ``texts`` over the vocabulary, canonical CSR (sorted, no duplicates)."""
        keys, owners = ngram_keys(texts, tuple(self.ngram_range))
        vocab = self.vocabulary_
        size = len(vocab)
        if size == 0:
            return sp.csr_matrix((len(texts), 0), dtype=np.float64)
        # Each distinct n-gram is looked up once, in sorted order: a batch's keys repeat (a 91-character
        # appeal has about 270 n-grams, the batch far fewer distinct ones), and a binary search over
        # sorted needles stays in cache. Half the time of searching every key as it comes.
        distinct, inverse = np.unique(keys, return_inverse=True)
        found, known = self._lookup(distinct)
        pos, hit = found[inverse], known[inverse]
        cells, counts = np.unique(owners[hit] * size + pos[hit], return_counts=True)
        rows = cells // size
        indptr = np.searchsorted(rows, np.arange(len(texts) + 1))
        return sp.csr_matrix((counts.astype(np.float64), (cells % size).astype(np.int32), indptr),
                             shape=(len(texts), size))

    def _lookup(self, distinct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For sorted distinct keys: each one's column (0 where unknown) and whether it is known."""
        vocab = self.vocabulary_
        found = np.searchsorted(vocab, distinct)
        found[found >= len(vocab)] = 0
        return found, vocab[found] == distinct

    def _tf_idf(self, values: np.ndarray, columns: np.ndarray) -> None:
        """Raw counts of ``columns`` turned into (unnormalised) weights, in place."""
        if self.sublinear_tf:
            np.log(values, out=values)
            values += 1.0
        if self.use_idf:
            values *= self.idf_[columns]

    def _weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        self._tf_idf(counts.data, counts.indices)
        return _l2_rows(counts)

    def get_feature_names_out(self, input_features=None):
        names = []
        mask = (1 << _BITS) - 1
        for key in self.vocabulary_.tolist():
            chars = []
            while key:
                chars.append(chr(key & mask))
                key >>= _BITS
            names.append("".join(reversed(chars)))
        return np.asarray(names, dtype=object)
