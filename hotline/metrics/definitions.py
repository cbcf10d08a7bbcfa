"""One definition of every figure (指标口径): what is counted, over what, in which period.

Every figure the platform prints — statistics, dashboard, assessment sheets, the briefing, the
Excel exports and the JSON API — is one of these. The queries that compute them are in
``hotline.metrics.units`` (per unit) and ``hotline.metrics.center`` (the center's counts); the
readers only format. ``docs/metrics.md`` is written from this table and a test keeps the two equal.

Two time bases, never mixed inside one figure:

* **registered** (登记时间在统计期内): the center's counts (受理总量, 本级登记, 协调办理, 交办处理,
  上级交办, 诉求类型, 热点问题, 直接答复率). What the hotline received in the period.
* **dispatched** (派单时间在统计期内): every unit indicator. A unit is measured on the lead
  assignments (主办派单) it was given in the period, whatever month the order was registered in.
  A sub-unit (车管所) counts for its parent (公安局).

A unit indicator summed over every unit is the center-wide figure (全部单位): the orders the center
answered itself have no unit and are not in it.
"""

from __future__ import annotations

from dataclasses import dataclass

REGISTERED = "registered"
DISPATCHED = "dispatched"
KNOWLEDGE = "knowledge"
BASIS_TEXT = {
    REGISTERED: "按登记时间：统计期内登记（受理）的工单",
    DISPATCHED: "按派单时间：统计期内派给该单位（主办）的派单；下属单位计入上级单位",
    KNOWLEDGE: "知识库（GB/T 44191-2024）：修改按中心审核发布的时间，复核按统计期最后一天的状态",
}

# The exclusions every unit indicator applies (docs/metrics.md prints them once per indicator).
UNIT_EXCLUSIONS = ("经审核认定为无理诉求、恶意诉求而剔除（不计入考核）的工单；"
                   "审核同意退单的派单（该工单不属于该单位办理，改派后计入新承办单位）")


@dataclass(frozen=True)
class Definition:
    """One figure: its Chinese name, what it counts and how.

    ``numerator``/``denominator`` name count keys of the same scope (``denominator`` None: a
    count, not a rate); ``numerator_text``/``denominator_text`` say it the way a unit asks.
    """

    key: str
    name: str
    scope: str  # "unit": per unit and summed center-wide; "center": the center's counts
    basis: str
    numerator: str
    numerator_text: str
    denominator: str | None = None
    denominator_text: str = ""
    exclusions: str = ""
    note: str = ""

    @property
    def is_rate(self) -> bool:
        return self.denominator is not None

    @property
    def basis_text(self) -> str:
        return BASIS_TEXT[self.basis]


def _unit_rate(key, name, num, num_text, den, den_text, note="") -> Definition:
    return Definition(key, name, "unit", DISPATCHED, num, num_text, den, den_text, UNIT_EXCLUSIONS, note)


def _unit_count(key, name, text, note="", exclusions=UNIT_EXCLUSIONS) -> Definition:
    return Definition(key, name, "unit", DISPATCHED, key, text, exclusions=exclusions, note=note)


def _center_count(key, name, text, exclusions="", note="") -> Definition:
    return Definition(key, name, "center", REGISTERED, key, text, exclusions=exclusions, note=note)


RATES: tuple[Definition, ...] = (
    _unit_rate("sign", "及时签收率", "signed_on_time", "在签收时限内签收的派单次数",
               "dispatched", "派单次数",
               "签收时限已过仍未签收的派单算作未及时签收；时限未到且未签收的，算作及时（尚未失误）。"),
    _unit_rate("on_time", "按时办结率", "closed_on_time", "在办理时限内回复的工单数（经批准延期的按延期后时限）",
               "due", "应办结工单数：已回复的工单，加上截至统计时点已过办理时限仍未回复的工单（挂起中的除外）",
               "应办结工单中未按时办结的，就是超期工单：超期工单数 = 应办结工单数 − 按时办结工单数。"),
    _unit_rate("satisfaction", "满意率", "satisfied", "回访评价为非常满意、满意、基本满意的工单数",
               "callbacks", "回访接通并给出评价的工单数（以最近一次回访为准）"),
    _unit_rate("solved", "解决率", "solved", "回访时群众表示已解决的工单数",
               "callbacks", "回访接通并给出评价的工单数（以最近一次回访为准）"),
    _unit_rate("callback", "回访率", "callbacks", "回访接通并给出评价的工单数（以最近一次回访为准）",
               "answered", "应回访工单数：已答复（待回访、已回访或已办结）的工单"),
    _unit_rate("returns", "退单率", "returns_approved", "审核同意的退单次数",
               "assignments", "派单次数（含被退回的派单）"),
    _unit_rate("return_requests", "退单申请率", "return_requests", "提出退单申请的次数（不论是否同意）",
               "assignments", "派单次数（含被退回的派单）"),
    _unit_rate("rework", "重办率", "reworked", "回访不满意被退回重办过的工单数",
               "orders", "该单位承办的工单数"),
    _unit_rate("upstream_satisfaction", "上级交办满意率", "upstream_satisfied",
               "上级交办工单中回访评价为非常满意、满意、基本满意的工单数",
               "upstream_callbacks", "上级交办工单中回访接通并给出评价的工单数"),
    _unit_rate("reply_compliance", "回复规范率", "replies_compliant",
               "填写了是否属实、公开答复不少于 15 个字的回复数",
               "replies", "截至统计时点仍有效的回复数（被退回重办的回复不计）"),
    Definition("direct_answer", "直接答复率", "center", REGISTERED, "direct_answers",
               "中心直接答复（不派单）的本级登记事项数", "local_total", "本级登记事项数",
               "合并（重复件并入）的工单、不予受理的工单只在本级登记事项中计数，不算直接答复。"),
    Definition("repeat", "重复诉求率", "center", REGISTERED, "repeats",
               "重复诉求数：登记后并入未办结工单（并单）的重复件，加上原工单办结后在重复诉求期限内再次反映、"
               "作为关联重办件派单的工单", "grand_total", "受理总量",
               "原工单办结超过重复诉求期限（HOTLINE_REPEAT_WINDOW_DAYS，默认 30 天）后再次反映的，按新诉求计，不算重复；"
               "按“重新打开原工单”方式处理的，再次来电并入原工单，计为一件重复件，原工单不重复计数。",
               note="国办函〔2025〕66号：重复诉求原则上并单处理，不得并入已办结的工单。"),
)

UNIT_COUNTS: tuple[Definition, ...] = (
    _unit_count("assignments", "派单次数（含退回）", "统计期内派给该单位的主办派单次数，含审核同意退回的派单",
                exclusions="经审核剔除（不计入考核）的工单"),
    _unit_count("dispatched", "派单次数", "统计期内派给该单位、未被同意退回的主办派单次数"),
    _unit_count("orders", "承办工单数", "上述派单涉及的工单数（一件工单多次派给同一单位只算一件）"),
    _unit_count("overdue", "超期工单", "应办结工单中未按时办结的工单数：超过办理时限才回复，或截至统计时点已过时限仍未回复"
                "（挂起中的除外）"),
    _unit_count("returns_approved", "审核同意的退单", "派单中经审核同意退回的退单次数",
                exclusions="经审核剔除（不计入考核）的工单"),
    _unit_count("return_requests", "退单申请", "派单中提出退单申请的次数",
                exclusions="经审核剔除（不计入考核）的工单"),
    _unit_count("unjustified_returns", "不当退单", "派单中经审核不同意（驳回）的退单申请次数"),
    _unit_count("reworks", "重办次数", "回访不满意被退回重办的次数（一件工单重办两次计两次）"),
    _unit_count("supervision_failed", "督办未落实", "针对该单位的正式督办中，超过要求反馈时间仍未书面反馈、"
                "由时限巡检认定未落实的次数",
                note="督办计入被督办工单的派单所在统计期；单位的派单已结束（同意退单、改派）的督办不再认定。"),
    _unit_count("unreachable", "回访无法联系", "按回访规则多次回访均未接通、以“无法联系”办结的工单数",
                note="这些工单不进入满意率、解决率的分母（回访接通并给出评价的工单数），单独计数；"
                "回访次数和间隔见 docs/workflow.md“回访重试”。"),
    _unit_count("excluded", "剔除工单", "经审核认定为无理诉求、恶意诉求而不计入考核的工单数", exclusions="—"),
)

CENTER_COUNTS: tuple[Definition, ...] = (
    _center_count("call_volume", "话务量", "统计期内的来电次数（按来电时间）"),
    _center_count("grand_total", "受理总量", "统计期内登记的全部工单（本级登记事项 + 上级交办事项）",
                  note="各表占比的分母。"),
    _center_count("local_total", "本级登记事项", "来源不是上级交办的工单"),
    _center_count("coordinated", "协调办理", "本级登记事项中由中心处置、不派单的工单：直接答复、协调、转接、告知、不予受理、合并",
                  note="尚未确定处置方式的工单既不算协调办理也不算交办处理，单独提示。"),
    _center_count("dispatched", "交办处理", "本级登记事项中派给承办单位办理的工单"),
    _center_count("upstream_total", "上级交办事项", "来源为上级平台交办的工单"),
    _center_count("upstream_by_platform", "上级交办事项（按平台）", "上级交办事项按交办平台分列"),
    _center_count("appeal_types", "诉求类型", "受理总量按诉求类型分列（咨询、问题处理、投诉举报、建议、其他）"),
    _center_count("hotspots", "热点问题", "受理总量按二级分类分列，取前 N 项（并列按分类代码）",
                  exclusions="未分类的工单不进入任何热点行"),
    _center_count("direct_answers", "直接答复", "本级登记事项中处置方式为直接答复的工单"),
    _center_count("repeats", "重复诉求", "受理总量中的重复件：并单的重复件和关联重办件（见重复诉求率）"),
    _center_count("callback_unreachable", "回访无法联系", "统计期内登记、按回访规则多次回访均未接通而以“无法联系”办结的工单"
                  "（含中心直接答复、协调办理的工单）",
                  note="截至统计时点；仍在回访重试中的工单不计。"),
)

KNOWLEDGE_COUNTS: tuple[Definition, ...] = (
    Definition("kb_updated", "知识库更新条目", "center", KNOWLEDGE, "kb_updated",
               "统计期内经热线中心审核发布了新版本的知识库条目数（新增条目计入；一条多次更新只算一条）",
               exclusions="随默认配置导入的初始版本；被退回的修改"),
    Definition("kb_review_overdue", "知识库复核逾期条目", "center", KNOWLEDGE, "kb_review_overdue",
               "统计期最后一天仍启用、已发布、未失效而复核日期已到的条目数",
               note="维护单位修改或确认内容并经中心审核后，复核日期顺延（默认一年）。"),
    Definition("kb_answers", "知识库直接答复", "center", REGISTERED, "kb_answers",
               "统计期内登记、引用知识库条目直接答复的工单数（各条目的使用次数之和）",
               exclusions="直接答复未引用条目的工单"),
)

ALL: tuple[Definition, ...] = (*RATES, *UNIT_COUNTS, *CENTER_COUNTS, *KNOWLEDGE_COUNTS)
RATE_BY_KEY = {d.key: d for d in RATES}
UNIT_RATES = tuple(d for d in RATES if d.scope == "unit")

# Every count key a unit's figures carry (the engine's ``UnitFigures.counts`` and the scorecards'
# numerators/denominators read these names).
UNIT_COUNT_KEYS = (
    "assignments", "dispatched", "orders", "signed_on_time", "due", "closed_on_time", "overdue",
    "answered", "callbacks", "satisfied", "solved", "upstream_callbacks", "upstream_satisfied",
    "upstream_solved", "replies", "replies_compliant", "reworks", "reworked", "returns_approved",
    "return_requests", "unjustified_returns", "supervision_failed", "stationing_noncompliant", "unreachable",
)


def unit_rate(key: str, counts: dict):
    """The ``Rate`` of a unit indicator from a unit's (or a sum of units') counts."""
    from hotline.metrics.values import Rate

    d = RATE_BY_KEY[key]
    return Rate(int(counts.get(d.numerator, 0)), int(counts.get(d.denominator, 0)))
