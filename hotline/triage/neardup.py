"""Near-duplicate text at scale: MinHash signatures of character shingles, banded into LSH keys.

Pure (numpy, no Django). The database adapter is ``hotline.triage.dupindex``.

An order's text (title + content, cleaned by ``hotline.lib.text.scrub``) becomes the set of its
character 3-grams after NFKC and with everything but letters and digits dropped: a repeat call
written by another operator differs in punctuation, full-width digits and spacing before it differs
in words. The set's MinHash signature (``PERMUTATIONS`` minima of as many hash functions) estimates
the Jaccard similarity of two sets without comparing them; cut into ``BANDS`` bands of ``ROWS``
values, each band hashes to one 63-bit key, and two texts share at least one key with probability
``1 - (1 - J**ROWS)**BANDS`` — about 0.5 at J = 0.39, 0.9 at J = 0.5, 0.99 at J = 0.6, and 0.03 at
J = 0.2 (the typical Jaccard of two unrelated orders about the same kind of thing). A query looks
its ``BANDS`` keys up in an index and verifies the few orders found with the exact Jaccard of their
shingle sets (``jaccard``), so no query compares a text with every order.

Written here with numpy rather than taken from a library (datasketch has MinHash; its LSH index
lives in memory, Redis or Cassandra, not in our database): the keys are stored for millions of
orders, so the hash functions must never change under the platform, not with a library's upgrade
nor with numpy's random generators. Every constant below comes from ``FORMAT_VERSION``'s own
splitmix64 sequence, and ``tests/test_neardup.py`` pins a signature: a change that alters keys must
raise ``FORMAT_VERSION`` and rebuild the index (``hotline triage neardup --rebuild``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np

from hotline.lib.text import scrub

FORMAT_VERSION = 1
SHINGLE = 3
BANDS = 20
ROWS = 3
PERMUTATIONS = BANDS * ROWS
# Verified candidates below this exact Jaccard are not offered at intake. Measured on 200,000
# generated appeals (a month and a half at 1M a half-year) with 300 paraphrases of the bench: every
# paraphrase is at 0.46 or more (median 0.63); orders with other texts above the threshold, per
# query: 2.3 at 0.3, 0.9 at 0.35, 0.3 at 0.4, 0.06 at 0.45. The generator's appeals of one kind at
# one place share most of their phrases, so some of those are repeats in all but name.
THRESHOLD = 0.4
# The nightly pass records pairs for staff to read later, so it is stricter: at 0.5 it kept 98 % of
# the paraphrases and linked each order to 0.6 others of other text (3.0 at 0.4, 9.6 at 0.3).
NIGHTLY_THRESHOLD = 0.5

_MASK64 = (1 << 64) - 1
_NOT_WORD = re.compile(r"[\W_]+")


def _splitmix64(state: int) -> tuple[int, int]:
    """One step of splitmix64 (Steele, Lea, Flood 2014) in Python integers: (next state, output)."""
    state = (state + 0x9E3779B97F4A7C15) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, z ^ (z >> 31)


def _constants(seed: int, n: int) -> list[int]:
    out, state = [], seed
    for _ in range(n):
        state, value = _splitmix64(state)
        out.append(value)
    return out


_SEED = 0x12345_0000 + FORMAT_VERSION
_values = _constants(_SEED, 2 * PERMUTATIONS + BANDS)
# Multiply-shift hashing (Dietzfelbinger): h_i(x) = (a_i * x + b_i) mod 2^64, top 32 bits; a_i odd.
_A = np.array([v | 1 for v in _values[:PERMUTATIONS]], dtype=np.uint64)
_B = np.array(_values[PERMUTATIONS:2 * PERMUTATIONS], dtype=np.uint64)
_BAND_SALT = np.array(_values[2 * PERMUTATIONS:], dtype=np.uint64)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on a uint64 array (wrapping arithmetic): spreads the shingle's bits."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def normalize(title: str, content: str) -> str:
    """The characters that count: cleaned (``scrub``), NFKC (full-width letters and digits become
    ASCII), lower case, letters and digits only."""
    text = unicodedata.normalize("NFKC", scrub(f"{title or ''}\n{content or ''}")).lower()
    return _NOT_WORD.sub("", text)


def shingles(title: str, content: str) -> np.ndarray:
    """The text's distinct character 3-grams as uint64 (three 21-bit code points side by side: exact,
    no hash); a text of one or two characters is its own single shingle; an empty text has none."""
    text = normalize(title, content)
    if not text:
        return np.empty(0, dtype=np.uint64)
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) < SHINGLE:
        codes = np.concatenate([codes, np.zeros(SHINGLE - len(codes), dtype=np.uint64)])
    grams = (codes[:-2] << np.uint64(42)) | (codes[1:-1] << np.uint64(21)) | codes[2:]
    return np.unique(grams)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two shingle arrays from ``shingles`` (sorted, distinct)."""
    if not len(a) and not len(b):
        return 0.0
    common = len(np.intersect1d(a, b, assume_unique=True))
    return common / (len(a) + len(b) - common)


def signatures(shingle_sets: Sequence[np.ndarray], *, chunk: int = 20_000) -> np.ndarray:
    """MinHash signatures, one row of ``PERMUTATIONS`` uint32 per set (all-ones for an empty set).

    Many sets at once: their shingles are hashed together ``chunk`` shingles at a time and each
    set's minimum is taken with ``np.minimum.reduceat``, so a backfill of a million orders costs
    array operations, not a Python loop over hash functions.
    """
    out = np.full((len(shingle_sets), PERMUTATIONS), np.iinfo(np.uint32).max, dtype=np.uint32)
    filled = [i for i, s in enumerate(shingle_sets) if len(s)]
    start = 0
    while start < len(filled):
        # A group of sets holding about ``chunk`` shingles in all (at least one set).
        stop, size = start, 0
        while stop < len(filled) and (stop == start or size + len(shingle_sets[filled[stop]]) <= chunk):
            size += len(shingle_sets[filled[stop]])
            stop += 1
        group = filled[start:stop]
        values = np.concatenate([shingle_sets[i] for i in group])
        offsets = np.cumsum([0] + [len(shingle_sets[i]) for i in group[:-1]])
        base = _mix(values)
        with np.errstate(over="ignore"):
            hashed = ((base[:, None] * _A[None, :] + _B[None, :]) >> np.uint64(32)).astype(np.uint32)
        out[group] = np.minimum.reduceat(hashed, offsets, axis=0)
        start = stop
    return out


def signature(title: str, content: str) -> np.ndarray:
    return signatures([shingles(title, content)])[0]


def band_keys(sigs: np.ndarray) -> np.ndarray:
    """The LSH keys of signatures: ``BANDS`` signed 63-bit integers per row (a band's ``ROWS``
    values and its number hashed together, so equal values in different bands are different keys).
    An empty text's all-ones signature gets keys too; callers skip texts without shingles."""
    sigs = np.atleast_2d(sigs).astype(np.uint64)
    bands = sigs.reshape(len(sigs), BANDS, ROWS)
    with np.errstate(over="ignore"):
        key = np.broadcast_to(_BAND_SALT, (len(sigs), BANDS)).copy()
        for r in range(ROWS):
            key = _mix(key ^ (bands[:, :, r] + np.uint64(r + 1) * np.uint64(0x9E3779B97F4A7C15)))
    return (key >> np.uint64(1)).astype(np.int64)  # non-negative, fits a BIGINT


def keys_of(title: str, content: str) -> list[int]:
    """The LSH keys of one text ([] for a text with no letters or digits)."""
    grams = shingles(title, content)
    if not len(grams):
        return []
    return band_keys(signatures([grams]))[0].tolist()


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """The share of equal MinHash values of two signatures: an unbiased estimate of Jaccard."""
    return float(np.mean(np.asarray(a) == np.asarray(b)))


def candidate_probability(j: float) -> float:
    """Chance that two texts of Jaccard ``j`` share at least one key (the S-curve above)."""
    return 1 - (1 - j ** ROWS) ** BANDS
