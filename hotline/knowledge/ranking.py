"""Knowledge-base articles ranked by relevance to what the operator has: the appeal and typed words.

Pure (no Django): an :class:`ArticleIndex` is built from the articles' published text and answers
"which articles fit this appeal, best first". ``hotline.knowledge.queries.rank_offered`` keeps one
index per process for the articles operators may answer from and rebuilds it when they change.

Why character n-grams: Chinese has no spaces, so the old search (every whitespace-separated word
as a substring of the title, body or keywords) found nothing for an appeal typed as a sentence,
and an operator had to guess the one word the article uses. Here the article (title, keywords,
body) and the appeal are TF-IDF vectors of character 1–2-grams (``hotline.lib.ngrams``, the
triage engine's vectoriser) and the score is their cosine. Measured on the demo's consultation
orders (``hotline bench --only kb``, docs/benchmarks.md): 1–2-grams with raw tf ranked the
answering article first more often than sublinear tf, 2–3-grams or BM25 over the same n-grams,
and counting the title twice did not help.

Typed words come first: an article containing every typed word (the old search's rule) ranks
above one that does not, so an operator who knows the article's word still finds it at the top;
among those, and among the rest, the relevance score orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hotline.lib.ngrams import CharNgramTfidf

NGRAMS = (1, 2)
# With both an appeal and typed words, the typed words weigh more: they are the operator's own
# reading of the call, the appeal may hold a preamble about something else.
QUERY_WEIGHT = 2.0
APPEAL_WEIGHT = 1.0
# The ranking takes the appeal's head: a consultation's question is in its first sentences and a
# 4,000-character complaint would make every article look alike.
APPEAL_CHARS = 600
MAX_WORDS = 5  # typed words the substring rule looks at (as the old search did)


@dataclass(frozen=True)
class Article:
    """What ranking needs of an article: its key and its published text."""

    key: object
    title: str
    keywords: str
    body: str

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.keywords}\n{self.body}"


def words(query: str) -> list[str]:
    """The typed words (whitespace-separated, the first ``MAX_WORDS``), lower-cased."""
    return [w.lower() for w in (query or "").split()[:MAX_WORDS]]


def contains_all(article: Article, typed: Sequence[str]) -> bool:
    """Every typed word is a substring of the title, keywords or body (case-insensitive)."""
    text = article.text.lower()
    return bool(typed) and all(w in text for w in typed)


class ArticleIndex:
    """TF-IDF of the articles' character n-grams; ``rank`` scores appeals and typed words against it."""

    def __init__(self, articles: Sequence[Article]):
        self.articles = list(articles)
        self.vectorizer = CharNgramTfidf(NGRAMS, sublinear_tf=False)
        if self.articles:
            self.matrix = self.vectorizer.fit_transform([a.text for a in self.articles]).tocsr()
        else:
            self.matrix = None

    def __len__(self) -> int:
        return len(self.articles)

    def _cosines(self, text: str) -> np.ndarray:
        vector = self.vectorizer.transform([text])
        return np.asarray((self.matrix @ vector.T).todense()).ravel()

    def scores(self, appeal: str = "", query: str = "") -> np.ndarray:
        """Each article's relevance (cosine, 0–1) to the appeal and the typed words together."""
        total = np.zeros(len(self.articles))
        if not self.articles:
            return total
        appeal, query = (appeal or "").strip()[:APPEAL_CHARS], (query or "").strip()
        weight = 0.0
        if appeal:
            total += APPEAL_WEIGHT * self._cosines(appeal)
            weight += APPEAL_WEIGHT
        if query:
            total += QUERY_WEIGHT * self._cosines(query)
            weight += QUERY_WEIGHT
        return total / weight if weight else total

    def rank(self, appeal: str = "", query: str = "", *, limit: int = 8) -> list[tuple[Article, float]]:
        """The ``limit`` best articles, best first, with their scores; articles scoring 0 (not one
        n-gram in common) are left out."""
        scores = self.scores(appeal, query)
        typed = words(query)
        ranked = []
        for i in np.argsort(-scores, kind="stable"):
            article = self.articles[i]
            if scores[i] <= 0:
                continue
            ranked.append((contains_all(article, typed), article, float(scores[i])))
        ranked.sort(key=lambda row: not row[0])  # stable: relevance order kept within each group
        return [(article, score) for _, article, score in ranked[:limit]]
