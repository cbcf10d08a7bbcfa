"""Paraphrases of an appeal for measuring near-duplicate search: the same call told again in other
words, as a second operator (or the caller, on the portal) would write it.

Generated here, from the text itself: clauses reordered, filler inserted, words swapped for
synonyms and a few typing slips (a character dropped, doubled or replaced by a neighbour in the
text). ``strength`` (0-1) scales how many edits are made.
"""

from __future__ import annotations

import random
import re

SYNONYMS = (
    ("来电人", "市民"), ("反映", "称"), ("希望", "要求"), ("尽快", "抓紧"), ("相关部门", "有关部门"),
    ("问题", "情况"), ("处理", "解决"), ("至今", "到现在"), ("多次", "好几次"), ("严重", "厉害"),
    ("附近", "旁边"), ("居民", "住户"), ("村民", "群众"), ("已经", "早已"), ("没有", "未"),
    ("不能", "无法"), ("存在", "有"), ("影响", "耽误"), ("咨询", "询问"), ("维修", "修理"),
    ("无人", "没人"), ("目前", "现在"), ("部门", "单位"), ("答复", "回复"), ("核实", "查实"),
)
FILLERS = (
    "此前已经反映过一次", "麻烦尽快处理一下", "情况比较着急", "来电人情绪激动", "请尽快派人看看",
    "这个事情拖了很久", "周边住户意见很大", "来电人再次来电", "希望给个说法", "来电人表示很无奈",
)
_CLAUSE = re.compile(r"(?<=[，。；！？])")


def paraphrase(title: str, content: str, rng: random.Random, *, strength: float = 1.0) -> tuple[str, str]:
    """(title, content) saying the same as the given appeal in other words."""
    clauses = [c for c in _CLAUSE.split(content) if c]
    # Reorder: swap a neighbouring pair of clauses (a repeat call tells the same facts in another order).
    for _ in range(max(1, round(strength * len(clauses) / 4))):
        if len(clauses) > 2:
            i = rng.randrange(1, len(clauses) - 1)
            clauses[i], clauses[i + 1] = clauses[i + 1], clauses[i]
    # Filler: one or two sentences the first call did not have.
    for _ in range(rng.randint(1, 1 + round(strength))):
        clauses.insert(rng.randrange(len(clauses) + 1), rng.choice(FILLERS) + "，")
    text = "".join(clauses)
    # Synonyms: up to a third of the ones that apply, at most 4.
    pairs = [(a, b) if rng.random() < 0.5 else (b, a) for a, b in SYNONYMS]
    applicable = [(a, b) for a, b in pairs if a in text]
    rng.shuffle(applicable)
    for a, b in applicable[:min(4, max(1, round(strength * len(applicable) / 3)))]:
        text = text.replace(a, b, 1)
    # Typing slips: about one per 60 characters at full strength.
    chars = list(text)
    for _ in range(max(1, round(strength * len(chars) / 60))):
        i = rng.randrange(len(chars))
        roll = rng.random()
        if roll < 0.4:
            del chars[i]
        elif roll < 0.7:
            chars.insert(i, chars[i])
        else:
            chars[i] = chars[rng.randrange(len(chars))]
    new_title = title
    if rng.random() < 0.5:
        new_title = rng.choice(("关于", "再次反映", "")) + title.removesuffix("问题")
    return new_title, "".join(chars)
