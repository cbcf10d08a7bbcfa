"""The baseline every classifier here must match: character 1–2-gram TF-IDF + a linear SVM.

It is the plain, strong text classifier of the field (scikit-learn defaults, nothing tuned), the one
the issue measured the old engine against. ``hotline bench --only triage`` and the tests train it on
the same split as the engine and compare accuracy and prediction speed in the same run.
"""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC


def pipeline() -> Pipeline:
    return Pipeline([("tfidf", TfidfVectorizer(analyzer="char", ngram_range=(1, 2))), ("svm", LinearSVC(random_state=0))])


def train(texts: Sequence[str], labels: Sequence[str]) -> Pipeline:
    model = pipeline()
    model.fit(list(texts), list(labels))
    return model
