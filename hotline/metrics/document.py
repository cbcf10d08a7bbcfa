"""docs/metrics.md written from the definitions: ``python -m hotline.metrics.document > docs/metrics.md``.

A test compares the file with ``render()``, so a definition changed in code and not in the
document (or the other way round) fails the suite.
"""

from __future__ import annotations

from hotline.metrics.definitions import CENTER_COUNTS, KNOWLEDGE_COUNTS, RATES, UNIT_COUNTS, Definition

INTRO = """\
# Indicator definitions (指标口径)

Every figure the platform prints — `hotline stats`, the statistics page, the dashboard, the
assessment score sheets and their Excel export, the briefing and the JSON API
(`/api/metrics/<year>-<month>/`) — is one of the definitions below. They live in
`hotline/metrics/definitions.py`; the queries that count them are `hotline/metrics/units.py`
(every unit indicator) and `hotline/metrics/center.py` (the center's counts). No other module
computes a rate. This file is generated from the code (`python -m hotline.metrics.document >
docs/metrics.md`) and `tests/test_metrics.py` fails when the two differ.

Two time bases (统计口径), never mixed within one figure:

- **按登记时间** — the center's counts: orders registered (受理) in the period. This is what the
  hotline received: 受理总量, 本级登记事项, 协调办理, 交办处理, 上级交办事项, 诉求类型, 热点问题.
- **按派单时间** — every unit indicator: the lead assignments (主办派单) a unit was given in the
  period, whatever month the order was registered in. A sub-unit (车管所) counts for its parent
  (公安局). The center-wide value (全部单位) of a unit indicator is the sum of every unit's counts;
  orders the center answered itself have no unit and are not in it.

"As of" (统计时点): a limit that has not passed at the cut-off is not a failure yet. A published
assessment is frozen with its cut-off; the statistics page uses the moment it is opened.

Why this matters (issue 11): before these definitions the briefing ranked units from the
statistics (orders *registered* in the month, by their *current* lead unit, returned assignments
and excluded orders counted, every reply taken as well-formed), while the assessment ranked them
from the lead assignments *dispatched* in the month without approved returns and excluded orders.
The same July gave two rankings, and a score sheet's 及时签收率 disagreed with `hotline stats`.
"""

STORE = """\
## A closed month's figures are kept (月度单位指标的存储)

The statistics, the assessment and the briefing of a month read the same unit figures. A
calendar month of the center's clock that ended before the cut-off is counted once for the whole
center and kept (`hotline/metrics/store.py`, model `MonthUnitFigures`: every unit's counts,
evidence lists and excluded orders); the next reading uses the kept figures while this rule holds,
and otherwise counts the month again and replaces them. Figures of a unit or a town, of periods
that are not one calendar month, and of a month not yet ended at the cut-off are always counted
when asked.

Rule for late changes: figures counted with the cut-off A answer a reading with the cut-off B when

1. A ≤ B and B is before the earliest sign-for or handling limit that was still running at A
   (`valid_until`, found in the same pass). A limit not passed at the cut-off is not a failure;
   once B reaches it the month is counted again.
2. No work-order event has been recorded since on an order with a lead assignment dispatched in the
   month. Every action writes one in its transaction: sign-for, reply, review, callback (and the
   portal's citizen rating, which records a callback), rework, return and extension decisions,
   suspension, redispatch, 督办 and its response, the sweep's 超期 stamp and 督办未落实, and the
   exclusion from the assessment (不计入考核, `set_assessment_exclusion`, which the assessment's
   exclusion decision calls). "Since" is by event id, so an action dated back (an import, the demo
   generator) counts too; events dated within a minute of the count are looked at again (a
   transaction still open when the month was read, a lagging replica).
3. The directory rolls the same sub-units into the same parents. Units have no change time; the
   sub-unit → parent pairs are kept with the figures and compared on each reading. Names, groups
   and the order of units are read from the directory each time, so they are never stale.
4. The counting code is unchanged (a digest of `definitions.py`, `units.py` and `store.py`).

The check reads the events recorded since the figures were counted or last checked, and the lead
assignments of those events' orders; it never reads the month's population. When more than 50,000
events have been recorded since, the month is counted again instead. Not detected: a change written
to the database without an action (SQL by hand, a data migration, the Django shell); after one,
delete the month's row (`MonthUnitFigures.objects.filter(year=…, month=…).delete()`).

How a month is counted when it is not kept (or no longer holds): the unit figures are one pass
over the month's lead assignments, grouped per (unit counted for, order). Every count and flag is
a sum or a maximum over those groups, so where the passes run side by side (PostgreSQL, outside a
transaction: `hotline.lib.parallel`) the pass is cut in two by order id, each half on a connection
of its own, and the halves are added (sums added, evidence lists merged by order number, the
earliest running limit kept): no order is in both halves, and the figures are exactly those of one
pass (`tests/test_parallel_reads.py` compares them). The center's counts and the knowledge base's
direct answers are one pass over the month's orders. On PostgreSQL each of these passes reads the
covering indexes alone (`wo_month_cover4_idx`, `wo_assess_cover3_idx`); a column added to a count
must be added to them too, or every pass reads the orders' rows again
(`tests/test_month_covering_indexes.py` fails).
"""


def _row(d: Definition) -> str:
    formula = f"{d.numerator_text} ÷ {d.denominator_text}" if d.is_rate else d.numerator_text
    cells = [d.name, f"`{d.key}`", formula, d.basis_text, d.exclusions or "—", d.note or ""]
    return "| " + " | ".join(c.replace("|", "／") for c in cells) + " |"


def _table(title: str, rows, *, rate: bool) -> list[str]:
    head = "计算公式（分子 ÷ 分母）" if rate else "计数内容"
    return [f"## {title}", "", f"| 指标名称 | 代码 | {head} | 统计口径（时间基准） | 排除情形 | 说明 |",
            "|---|---|---|---|---|---|", *(_row(d) for d in rows), ""]


def render() -> str:
    lines = [INTRO]
    lines += _table("比率指标（率）", RATES, rate=True)
    lines += _table("单位计数", UNIT_COUNTS, rate=False)
    lines += _table("中心计数（简报工作概况、数据分析各表）", CENTER_COUNTS, rate=False)
    lines += _table("知识库（GB/T 44191-2024，统计页“知识库”一栏）", KNOWLEDGE_COUNTS, rate=False)
    lines += [STORE]
    lines += [
        "## Rounding (四舍五入)",
        "",
        "A rate is numerator ÷ denominator × 100, rounded to two decimals half-up and printed as",
        "`47/50 = 94.00%`; with a zero denominator it prints `—` (nothing to measure). Shares of a",
        "table (占比) are counts ÷ 受理总量 with the same rule (`hotline/lib/shares.py`).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - the command line
    import sys

    sys.stdout.write(render())
