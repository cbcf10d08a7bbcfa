"""``hotline bench --only hotspots``: the hot-problem pass (``hotline.triage.hotspots``) on a
month of N generated orders against three months of history (3N), no database.

The month carries three of the seed's hot problems (``HOT_PROBLEM_THEMES``: 1 % of the month
each), their orders filed under categories drawn from the whole tree; the history carries none.
Reported: the pass's wall-clock and CPU time, the process's peak memory (the pass runs in a child
process of its own, so ``ru_maxrss`` is the pass's and the corpus's, nothing else's), and for each
planted problem whether a topic names it and how many of its orders the topic holds.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time

MARK = "HOTSPOTS-BENCH "
THEMES = ("driver_exam", "medical_reimbursement", "telecom_cables")


def make(n: int, seed: int, themed: float = 0.0):
    from hotline.catalog.data import LEAF_CODES, TOWNS
    from hotline.demo import corpus
    from hotline.triage.hotspots import Corpus

    rng = random.Random(seed)
    texts, places, kinds = [], [], []
    per_theme = int(n * themed)
    plan = [t for t in THEMES for _ in range(per_theme)] + [None] * (n - per_theme * len(THEMES))
    rng.shuffle(plan)
    for theme in plan:
        town = rng.choice(TOWNS)
        title, content = corpus.compose_appeal(rng.choice(LEAF_CODES), rng, town=town,
                                               place=corpus.place_in_town(rng, town), theme=theme)
        texts.append(f"{title}。{content[:300]}")
        places.append(town)
        kinds.append(theme or "")
    return Corpus(texts=texts, ids=list(range(n)), places=places), kinds


def child(rows: int) -> dict:
    """Generate, then time the pass; runs in its own process."""
    from hotline.catalog.data import HOT_PROBLEM_THEMES, TOWNS
    from hotline.triage.hotspots import detect

    started = time.perf_counter()
    current, kinds = make(rows, seed=1, themed=0.01)
    history, _ = make(rows * 3, seed=2)
    generated = time.perf_counter() - started
    wall, cpu = time.perf_counter(), time.process_time()
    found = detect(current, history, history_months=3, top=10, place_names=TOWNS)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    named = {}
    for theme in THEMES:
        words = HOT_PROBLEM_THEMES[theme]["keywords"]
        best = max(found, key=lambda h: sum(kinds[i] == theme for i in h.member_ids), default=None)
        held = sum(kinds[i] == theme for i in best.member_ids) if best else 0
        named[theme] = {"topic": best.title if best else "", "held": held, "planted": kinds.count(theme),
                        "named": bool(best) and any(k in w or w in k for k in words for w in best.keywords)}
    return {"rows": rows, "history": rows * 3, "generate_s": generated, "wall_s": wall, "cpu_s": cpu,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "topics": [(h.title, h.count) for h in found], "themes": named}


def run(rows: int, log=print) -> str:
    log(f"[bench] hotspots {rows:,} 单对 {rows * 3:,} 单历史")
    out = subprocess.run([sys.executable, "-c", f"import django; django.setup(); from hotline.bench import hotspots; "
                          f"print({MARK!r} + __import__('json').dumps(hotspots.child({rows})))"],
                         capture_output=True, text=True, check=True)
    r = json.loads(next(line for line in out.stdout.splitlines() if line.startswith(MARK))[len(MARK):])
    lines = ["| 测量 | 结果 |", "|---|---|",
             f"| 本月 / 历史工单 | {r['rows']:,} / {r['history']:,}（标题 + 正文前 300 字） |",
             f"| 检测用时（墙钟 / CPU） | {r['wall_s']:.1f} s / {r['cpu_s']:.1f} s |",
             f"| 进程峰值内存（含语料） | {r['peak_mib']:,.0f} MiB |",
             f"| 找到的话题（前 10） | {'；'.join(f'{t}（{n}）' for t, n in r['topics'])} |"]
    for theme, t in r["themes"].items():
        lines.append(f"| 植入 {theme}（{t['planted']} 件，分类随机） | {'命名' if t['named'] else '未命名'}："
                     f"{t['topic']}，含其中 {t['held']} 件 |")
    return "\n".join(lines)
