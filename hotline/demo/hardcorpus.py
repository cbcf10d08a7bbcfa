"""A harder synthetic corpus for the classifiers: long, messy appeals with borrowed vocabulary and
label noise (pure, seeded; no Django).

The demo corpus (``hotline.demo.corpus``) writes each category's appeals from its own phrase table,
short and clean, so every classifier scores near 100 % on it and it cannot tell two apart. Real
calls are longer (about 400 characters), spoken, wander off to other matters, and some are filed
under the wrong category. This generator imitates those four properties; it is still synthetic,
written from the same phrase tables, and says nothing certain about a center's real orders
(docs/triage.md says what it did and did not measure).

- **Long and messy**: the appeal is padded to about ``length`` characters with spoken filler,
  operator formulae, masked phone numbers and dates; a few characters are dropped (typing slips).
- **Overlapping vocabulary**: one or two fragments of appeals of *other* categories (half of the
  time a sibling under the same level-1 category) are woven in as background ("此前还反映过…"), and
  one title in ten is the other appeal's title or a vague one ("市民来电反映问题").
- **Where the point is**: the appeal itself comes first in 60 % of the texts, in the middle or at the
  end otherwise, so truncating long texts is a real trade-off, not a free win.
- **Label noise**: ``noise`` of the labels (default 8 %) are replaced by another category, half of
  them a sibling, the way a hurried operator files a call one shelf off.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from hotline.catalog.data import LEAF_CODES, TOWNS
from hotline.demo import corpus

FILLERS = (
    "嗯，就是说，", "我跟你说啊，", "怎么说呢，", "你听我说，", "那个那个，", "反正就是，", "说实话，",
    "我也不知道该找谁，", "这个事情吧，", "对对对，", "我再说一遍，", "唉，",
)
BACKGROUND = (
    "另外来电人顺便提到，{frag}", "此前来电人还反映过{frag}", "来电人称邻居也说过{frag}",
    "来电人补充：{frag}", "（与本次诉求无关：{frag}）", "来电人还说起{frag}",
)
FORMULAE = (
    "来电人联系电话138****{d4}，", "来电时间{m}月{d}日{h}时许，", "工单来源：12345热线电话，",
    "来电人要求对其个人信息保密，", "来电人表示如不处理将继续向上级反映，", "来电人已多次来电，情绪激动，",
    "话务员已告知办理时限，", "来电人称自己是老党员，", "来电人说今天一定要有个说法，",
    "来电人表示之前的回复不认可，", "来电人希望工作人员上门，", "经话务员安抚，来电人情绪稳定，",
)
VAGUE_TITLES = ("市民来电反映问题", "关于诉求的反映", "来电人反映相关情况", "群众诉求", "反映问题（多次来电）")


def _siblings(leaf: str, leaves: Sequence[str]) -> list[str]:
    return [code for code in leaves if code[:2] == leaf[:2] and code != leaf]


def _other(leaf: str, leaves: Sequence[str], rng: random.Random) -> str:
    """Another category, a sibling half of the time (that is where real confusions are)."""
    siblings = _siblings(leaf, leaves)
    if siblings and rng.random() < 0.5:
        return rng.choice(siblings)
    return rng.choice([code for code in leaves if code != leaf])


def _fragment(text: str, rng: random.Random) -> str:
    size = rng.randint(25, 60)
    start = rng.randrange(max(1, len(text) - size))
    return text[start:start + size].strip("，。") + "。"


def messy_appeal(leaf: str, rng: random.Random, *, leaves: Sequence[str] = LEAF_CODES,
                 length: int = 400) -> tuple[str, str]:
    """(title, content) of one long, messy appeal about ``leaf`` (about ``length`` characters)."""
    town = rng.choice(TOWNS)
    place = corpus.place_in_town(rng, town)
    title, main = corpus.compose_appeal(leaf, rng, town=town, place=place)
    other_title = ""
    background = []
    for _ in range(rng.choice((1, 1, 2))):
        other = _other(leaf, leaves, rng)
        o_title, o_content = corpus.compose_appeal(other, rng, town=town, place=place)
        other_title = o_title
        background.append(rng.choice(BACKGROUND).format(frag=_fragment(o_content, rng)))
    target = max(80, int(rng.gauss(length, length * 0.15)))
    pads: list[str] = []
    while len(main) + sum(map(len, background)) + sum(map(len, pads)) < target:
        if rng.random() < 0.45:
            pads.append(rng.choice(FILLERS))
        else:
            pads.append(rng.choice(FORMULAE).format(d4=rng.randint(1000, 9999), m=rng.randint(1, 12),
                                                    d=rng.randint(1, 28), h=rng.randint(0, 23)))
    pieces = [*background, *pads]
    rng.shuffle(pieces)
    where = rng.random()
    at = 0 if where < 0.6 else (len(pieces) // 2 if where < 0.85 else len(pieces))
    pieces.insert(at, main)
    content = "".join(pieces)
    # Typing slips: drop about 1 % of the characters.
    content = "".join(ch for ch in content if rng.random() >= 0.01)
    roll = rng.random()
    if roll < 0.05:
        title = rng.choice(VAGUE_TITLES)
    elif roll < 0.10:
        title = other_title
    return title, content


def generate(n: int, *, seed: int = 0, leaves: Sequence[str] | None = None, noise: float = 0.08,
             length: int = 400, skew: float = 0.0) -> tuple[list[str], list[str], list[str]]:
    """``n`` messy appeals over ``leaves``: (titles, contents, labels).

    ``skew`` 0 spreads them evenly; above 0 the k-th leaf (in a seeded random order) gets a share
    proportional to 1 / k**skew, as a center's categories do (a few take thousands of calls a year,
    most a few dozen); every leaf keeps at least 5. Rows come in random order (a center's come in
    time order, and its categories are mixed in time)."""
    leaves = list(leaves or LEAF_CODES)
    rng = random.Random(seed)
    if skew:
        ranked = leaves[:]
        rng.shuffle(ranked)
        weights = [1 / (k + 1) ** skew for k in range(len(ranked))]
        total = sum(weights)
        order = [leaf for leaf, w in zip(ranked, weights, strict=True) for _ in range(max(5, round(w / total * n)))]
        rng.shuffle(order)
    else:
        order = [leaves[i % len(leaves)] for i in range(n)]
    titles, contents, labels = [], [], []
    for leaf in order:
        title, content = messy_appeal(leaf, rng, leaves=leaves, length=length)
        label = _other(leaf, leaves, rng) if rng.random() < noise else leaf
        titles.append(title)
        contents.append(content)
        labels.append(label)
    return titles, contents, labels
