"""The triage bench's verdicts: the top-3 row is judged on paired texts by a sign test."""

import pytest

from hotline.bench import triage


def runs(*pairs):
    return [{"top3_only_ours": a, "top3_only_baseline": b} for a, b in pairs]


def test_the_top3_row_passes_when_ours_wins_the_split_texts_or_loses_them_by_chance():
    ok = triage._paired_top3(runs((3, 2), (1, 3)), [0.001, -0.002], "ctx")  # 4 against 5: chance
    assert ok["ok"] is True and "只有本平台前三命中 4 条、只有基线命中 5 条" in ok["note"] and "p = 0.50" in ok["note"]
    assert triage._paired_top3(runs((6, 0)), [0.01], "")["ok"] is True
    bad = triage._paired_top3(runs((1, 9), (0, 6)), [-0.01, -0.008], "")  # 1 against 15: p = 0.0003
    assert bad["ok"] is False and "p = 0.00" in bad["note"]
    assert triage._paired_top3(runs((0, 0)), [0.0], "")["ok"] is True  # nothing split: level


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_comparison_counts_the_split_texts_it_is_judged_on():
    titles, contents, labels = triage.demo_corpus(520, seed=5)
    result = triage.compare(titles, contents, labels, seed=0)
    gap = result["ours"]["top3_accuracy"] - result["baseline"]["top3_accuracy"]
    assert (result["top3_only_ours"] - result["top3_only_baseline"]) / result["n_test"] == pytest.approx(gap, abs=1e-3)
    assert result["title_weight"] in (None, *triage.engine.TITLE_WEIGHTS)
