"""A month with the seed's hot problems, after an ordinary month: the briefing's draft finds them."""

import pytest

from hotline.catalog.data import HOT_PROBLEM_THEMES, LEAF_LABELS

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_hot_problems_stand_out_against_an_ordinary_month():
    from hotline.briefing.drafting import hot_problems
    from hotline.demo.generate import generate_month

    generate_month(2023, 6, seed=2022, orders=800, themes=False)
    generate_month(2023, 7, seed=2023, orders=1500)
    drafted = hot_problems(2023, 7, using="default")
    themes = {LEAF_LABELS[t["leaf_code"]].split("—")[1] for t in HOT_PROBLEM_THEMES.values()}
    found = {item.title.removesuffix("问题") for item in drafted}
    assert len(drafted) == 5
    assert len(found & themes) >= 4, (found, themes)
    # Each draft says how the month compares with the one before it.
    assert all("上月" in item.text for item in drafted)
