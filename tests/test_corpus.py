"""The category tree, routing hints, knowledge seed and the demo month's text corpus.

Pure data and pure functions: no database. The corpus tests generate a month the way the demo
does — leaves weighted like the seed's hotspot table — and check it reads like 5000 different
calls rather than one sentence repeated.
"""

import random
import re
import time
from collections import Counter

import pytest

from hotline.catalog.data import (
    CATEGORY_TREE,
    HOT_PROBLEM_THEMES,
    LEAF_CODES,
    LEAF_LABELS,
    LEAF_ROUTING,
    SEED_HOTSPOTS,
    SUB_UNIT_PARENTS,
    TOWN,
    TOWNS,
    UNIT_NAMES,
    leaf_code_for,
)
from hotline.catalog.knowledge_seed import HOTLINE_CENTER, KNOWLEDGE_ARTICLES
from hotline.demo import corpus

SEED_UNITS = {
    "住房和城乡建设局",
    "教育体育局（教育）",
    "国网汝州市供电公司",
    "生态环境局",
    "税务局",
    "商务局",
    "医疗保障局",
    "煤矿安全监察局",
    "文广旅游局",
    "融媒体中心",
    "自来水公司",
    "人力资源和社会保障局",
    "公安局",
    "移动公司",
    "农业农村局",
    "教育体育局（体育）",
    "公路管理局",
    "联通公司",
    "城市管理局",
    "国资事务中心",
    "市场监督管理局",
    "自然资源和规划局",
    "卫生健康委员会",
    "交通运输局",
    "车管所",
}


def _generate_month(seed: int, count: int) -> list[tuple[str, str, str]]:
    """(leaf, title, content) for ``count`` orders, the seed's top ten taking about half."""
    rng = random.Random(seed)
    hot = [leaf_code_for(level1, level2) for level1, level2 in SEED_HOTSPOTS]
    weights = [770, 404, 203, 182, 162, 157, 135, 128, 110, 103]
    orders = []
    for _ in range(count):
        if rng.random() < 0.47:
            leaf = rng.choices(hot, weights)[0]
        else:
            leaf = rng.choice(LEAF_CODES)
        town = rng.choice(TOWNS)
        place = corpus.place_in_town(rng, town)
        title, content = corpus.compose_appeal(leaf, rng, town=town, place=place)
        orders.append((leaf, title, content))
    return orders


@pytest.fixture(scope="module")
def month():
    return _generate_month(seed=20230701, count=5000)


# ---------------------------------------------------------------- the tree


def test_seed_hotspots_are_leaves_under_the_right_parent():
    parents = {name: {leaf_name for _code, leaf_name in leaves} for _code, name, leaves in CATEGORY_TREE}
    assert len(SEED_HOTSPOTS) == 10
    for level1, level2 in SEED_HOTSPOTS:
        assert level2 in parents[level1], f"{level1}—{level2}"
    assert SEED_HOTSPOTS[0] == ("政务服务", "网点服务")
    assert SEED_HOTSPOTS[-1] == ("市政管理", "市容市貌")


def test_codes_are_unique_and_well_formed():
    top_codes = [code for code, _name, _leaves in CATEGORY_TREE]
    assert len(top_codes) == len(set(top_codes))
    assert all(re.fullmatch(r"\d{2}", code) for code in top_codes)
    assert len(LEAF_CODES) == len(set(LEAF_CODES))
    for code, name, leaves in CATEGORY_TREE:
        assert name and leaves
        names = [leaf_name for _leaf_code, leaf_name in leaves]
        assert len(names) == len(set(names)), name
        for leaf_code, _leaf_name in leaves:
            assert re.fullmatch(r"\d{4}", leaf_code)
            assert leaf_code.startswith(code)
    top_names = [name for _code, name, _leaves in CATEGORY_TREE]
    assert len(top_names) == len(set(top_names))


def test_tree_has_the_size_of_a_real_county_hotline():
    assert 15 <= len(CATEGORY_TREE) <= 20
    assert 100 <= len(LEAF_CODES) <= 160
    labels = set(LEAF_LABELS.values())
    for label in (
        "城乡建设—物业管理",
        "城乡建设—不动产登记",
        "交通运输—驾驶员考试",
        "公共服务—供水",
        "公共服务—供电",
        "公共服务—燃气",
        "公共服务—供暖",
        "社会保险—养老保险",
        "生态环境—噪声污染",
        "市政管理—违章建筑",
        "通信服务—通信线缆",
        "民政服务—低保救助",
    ):
        assert label in labels


def test_every_leaf_has_routing_to_known_units():
    assert set(LEAF_ROUTING) == set(LEAF_CODES)
    assert set(UNIT_NAMES) == SEED_UNITS
    for leaf, units in LEAF_ROUTING.items():
        assert units, leaf
        assert len(units) == len(set(units)), leaf
        for unit in units:
            assert unit == TOWN or unit in SEED_UNITS, (leaf, unit)
    assert SUB_UNIT_PARENTS["车管所"] == "公安局"


def test_routing_puts_the_expected_lead_first():
    lead = {leaf: units[0] for leaf, units in LEAF_ROUTING.items()}
    assert lead[leaf_code_for("农村管理", "人居环境")] == TOWN
    assert lead[leaf_code_for("农村管理", "土地承包")] == TOWN
    assert lead[leaf_code_for("交通运输", "驾驶员考试")] == "车管所"
    assert lead[leaf_code_for("社会保险", "医疗保险")] == "医疗保障局"
    assert lead[leaf_code_for("城乡建设", "物业管理")] == "住房和城乡建设局"
    assert lead[leaf_code_for("公共服务", "供电")] == "国网汝州市供电公司"


def test_hot_problem_themes_point_at_real_leaves_and_units():
    assert len(HOT_PROBLEM_THEMES) == 5
    for key, theme in HOT_PROBLEM_THEMES.items():
        assert theme["key"] == key
        assert theme["leaf_code"] in LEAF_CODES
        assert theme["title"].endswith("问题")
        assert theme["units"] and all(unit in SEED_UNITS for unit in theme["units"])
        assert len(theme["keywords"]) >= 3


def test_towns_are_the_twenty_one_of_the_seed():
    assert len(TOWNS) == 21 == len(set(TOWNS))
    assert sum(town.endswith("街道") for town in TOWNS) == 6


# ---------------------------------------------------------------- knowledge base


def test_knowledge_articles_are_well_formed():
    assert 30 <= len(KNOWLEDGE_ARTICLES) <= 40
    titles = [article["title"] for article in KNOWLEDGE_ARTICLES]
    assert len(titles) == len(set(titles))
    for article in KNOWLEDGE_ARTICLES:
        assert article["leaf_code"] in LEAF_CODES, article["title"]
        assert article["owner_unit"] in SEED_UNITS or article["owner_unit"] == HOTLINE_CENTER
        assert article["keywords"] and all(article["keywords"])
        sentences = [part for part in article["body"].split("。") if part]
        assert 3 <= len(sentences) <= 8, article["title"]
        # No invented local phone numbers: only national short service numbers.
        assert not re.search(r"\d{7,}", article["body"]), article["title"]


# ---------------------------------------------------------------- corpus


def test_compose_appeal_supports_every_leaf_within_limits():
    rng = random.Random(1)
    for leaf in LEAF_CODES:
        for town in ("杨楼镇", "煤山街道"):
            title, content = corpus.compose_appeal(
                leaf, rng, town=town, place=corpus.place_in_town(rng, town)
            )
            assert 0 < len(title) <= 40, (leaf, title)
            assert 60 <= len(content) <= 250, (leaf, content)
            assert content.startswith(("来电人", "市民来电")), content
            assert content.endswith("。")
            assert town in content


def test_compose_appeal_is_deterministic_for_a_seed():
    assert _generate_month(seed=5, count=200) == _generate_month(seed=5, count=200)
    assert _generate_month(seed=5, count=200) != _generate_month(seed=6, count=200)


def test_month_texts_keep_their_limits(month):
    for _leaf, title, content in month:
        assert 0 < len(title) <= 40, title
        assert 60 <= len(content) <= 250, content
        assert "尽快尽快" not in content and "{" not in content and "}" not in content
        assert "咨询咨询" not in title and "，，" not in content


def test_month_titles_are_mostly_distinct(month):
    titles = [title for _leaf, title, _content in month]
    assert len(set(titles)) >= 0.9 * len(titles)
    contents = [content for _leaf, _title, content in month]
    assert len(set(contents)) >= 0.99 * len(contents)


def test_no_sentence_dominates_the_month(month):
    clauses = Counter()
    for _leaf, _title, content in month:
        # The opener (来电人反映) is a formula, not a sentence: skip the first clause.
        for clause in set(re.split(r"[，。：；（）]", content)[1:]):
            if len(clause) >= 6:
                clauses[clause] += 1
    clause, count = clauses.most_common(1)[0]
    assert count < 0.1 * len(month), clause


def test_the_busiest_leaf_still_varies():
    rng = random.Random(3)
    titles = set()
    for _ in range(770):
        town = rng.choice(TOWNS)
        title, _content = corpus.compose_appeal("0101", rng, town=town, place=corpus.place_in_town(rng, town))
        titles.add(title)
    assert len(titles) >= 0.9 * 770


@pytest.mark.parametrize("key", sorted(HOT_PROBLEM_THEMES))
def test_theme_texts_mention_their_keywords(key):
    theme = HOT_PROBLEM_THEMES[key]
    rng = random.Random(key)
    for _ in range(60):
        town = rng.choice(TOWNS)
        title, content = corpus.compose_appeal(
            theme["leaf_code"], rng, town=town, place=corpus.place_in_town(rng, town), theme=key
        )
        text = title + content
        assert any(word in text for word in theme["keywords"]), text


def test_places_are_stable_per_town_and_shaped_by_kind():
    first = {corpus.place_in_town(random.Random(9), "寄料镇") for _ in range(3)}
    assert len(first) == 1
    rng = random.Random(2)
    for _ in range(200):
        village = corpus.place_in_town(rng, "寄料镇")
        assert re.fullmatch(r"\w+村(\w组)?", village), village
        street = corpus.place_in_town(rng, "钟楼街道")
        assert re.fullmatch(r"\w+社区(\w+(路|街|大道|巷)\d+号)?", street), street


def test_people_and_phones():
    rng = random.Random(4)
    phones = [corpus.mobile_phone(rng) for _ in range(1000)]
    assert all(re.fullmatch(r"1[35789]\d{9}", phone) for phone in phones)
    assert len(set(phones)) > 990
    names = [corpus.person_name(rng) for _ in range(1000)]
    assert all(2 <= len(name) <= 3 for name in names)
    assert len(set(names)) > 500


def test_replies_and_notes():
    rng = random.Random(8)
    for leaf in LEAF_CODES:
        solved = corpus.compose_reply(leaf, rng, unit="城市管理局", solved=True)
        unsolved = corpus.compose_reply(leaf, rng, unit="城市管理局", solved=False)
        assert "城市管理局" in solved and "城市管理局" in unsolved
        assert solved != unsolved
        answer, title = corpus.compose_direct_answer(leaf, rng)
        assert len(answer) > 20
        assert title is None or title in {a["title"] for a in KNOWLEDGE_ARTICLES if a["leaf_code"] == leaf}
    for _ in range(50):
        happy = corpus.compose_callback_note(rng, satisfied=True)
        unhappy = corpus.compose_callback_note(rng, satisfied=False)
        assert "不满意" not in happy and "不认可" not in happy
        assert any(word in unhappy for word in ("不满意", "不认可", "仍然存在")), unhappy
        assert "延期" in corpus.compose_extension_reason(rng)
        assert corpus.compose_return_reason(rng)


def test_direct_answer_reads_the_knowledge_base():
    rng = random.Random(11)
    article = next(a for a in KNOWLEDGE_ARTICLES if a["leaf_code"] == "1104")
    answer, title = corpus.compose_direct_answer("1104", rng)
    assert article["body"] in answer and title == article["title"]  # the article read out, named
    bare = next(leaf for leaf in LEAF_CODES if leaf not in {a["leaf_code"] for a in KNOWLEDGE_ARTICLES})
    assert corpus.compose_direct_answer(bare, rng)[1] is None  # no article: a general answer, none named


def test_composing_ten_thousand_appeals_is_fast():
    rng = random.Random(12)
    start = time.perf_counter()
    for _ in range(10_000):
        town = rng.choice(TOWNS)
        corpus.compose_appeal(rng.choice(LEAF_CODES), rng, town=town, place=corpus.place_in_town(rng, town))
    assert time.perf_counter() - start < 2.0
