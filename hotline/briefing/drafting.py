"""First drafts of the briefing's narrative sections, for the supervisor to edit.

* Hot problems (热点问题): the topics whose share of this month's orders rose significantly above
  their share in the previous three months, found in the orders' text across categories by the
  triage pass (``hotline.triage.hotspot_data.month_hot_problems``; method in ``hotline.triage.hotspots``
  and docs/triage.md), stored once per month by the scheduler. Each names its words, how it compares with the months before, where it
  concentrates and the units that led its orders. With no history to compare with, simply the
  biggest categories, described by the keywords jieba finds in their titles.
* Typical case (典型案例): a dispatched order of the month that was answered on time, never reworked
  and rated 非常满意, told with its timeline, fastest reply first.
* Business work (业务工作): meetings and events the platform does not know about — left empty for
  the supervisor (``BUSINESS_WORK_HINT``).

The hot-problem pass reads the titles and content heads of the month and the three before it
(numpy, two passes; docs/benchmarks.md): a draft reads its stored result, and computes it only
when there is none or the month has changed since; the no-history draft reads a bounded number of titles
(``TITLES_PER_CLUSTER``) for keywords and counts by database aggregates.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.conf import settings
from django.db.models import Count, F, Q

from hotline.accounts.access import outside_text
from hotline.analytics.stats import local_bounds
from hotline.briefing.data import TitledText
from hotline.catalog.history import load_history
from hotline.directory.models import Unit, month_bounds
from hotline.lib import clock
from hotline.lib.masking import mask_identities
from hotline.lib.text import scrub
from hotline.workorders.models import Assignment, Disposition, Satisfaction, WorkOrder

TITLES_PER_CLUSTER = 300
BUSINESS_WORK_HINT = ("业务工作由督办人员填写：每项一段，首句为标题（以“。”结束），例如"
                      "“召开疑难事项协调会。7月13日，热线中心召集……”。")
_STOPWORDS = {"来电", "反映", "来电人", "希望", "问题", "要求", "咨询", "市民", "群众", "情况", "处理", "解决",
              "尽快", "相关", "部门", "有关", "我们", "自己", "目前", "没有", "存在", "一直", "现在", "可以",
              "社区", "街道", "小区", "村民", "诉求", "关于"}


def _month_orders(year: int, month: int, using: str):
    lo, hi = local_bounds(*month_bounds(year, month))
    return WorkOrder.objects.using(using).filter(received_at__gte=lo, received_at__lt=hi)


_PLACE_SUFFIX = re.compile(r"(街道办事处|街道|镇|乡)$")
_places_known: set[str] = set()


def place_words(names) -> None:
    """Teach jieba the towns and streets as place names (tag ``ns``, never a keyword): unknown, a
    name such as 洗耳河街道 is cut into 洗耳 + 河 + 街道, and "洗耳" came out as a hot problem's
    keyword. The name with and without its 街道/镇/乡 is added, as titles write both."""
    import jieba

    for name in names:
        for word in {name, _PLACE_SUFFIX.sub("", name)}:
            if len(word) >= 2 and word not in _places_known:
                jieba.add_word(word, tag="ns")
                _places_known.add(word)


def keywords(titles: list[str], top: int = 3, places=()) -> list[str]:
    """The most telling words of a cluster's titles (jieba TF-IDF), generic words left out.

    What ``jieba.analyse.extract_tags(…, allowPOS=…)`` computes on the titles joined, but each
    distinct title is tagged once and its words counted as often as it occurs: part-of-speech
    tagging is most of the cost, and a month's titles repeat (a cluster of 300 is often a few
    dozen distinct ones). jieba cuts at every non-Chinese character, so tagging titles one by
    one gives the same words as tagging them joined with "。".
    """
    from collections import Counter

    import jieba
    import jieba.analyse
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    place_words(places)
    tfidf = jieba.analyse.default_tfidf
    freq: dict[str, float] = {}
    for title, times in Counter(titles).items():
        for word in jieba.posseg.cut(title):
            if word.flag not in _KEYWORD_POS:
                continue
            w = word.word
            if len(w.strip()) < 2 or w.lower() in tfidf.stop_words:
                continue
            freq[w] = freq.get(w, 0.0) + times
    total = sum(freq.values())
    for w in freq:
        freq[w] *= tfidf.idf_freq.get(w, tfidf.median_idf) / total
    words = sorted(freq, key=freq.__getitem__, reverse=True)[:top + len(_STOPWORDS)]
    return [w for w in words if w not in _STOPWORDS and len(w) > 1][:top]


_KEYWORD_POS = frozenset(("n", "vn", "nz", "v"))


def hot_problems(year: int, month: int, *, using: str | None = None, limit: int = 5,
                 category_counts: dict[int, int] | None = None,
                 category_leads: dict[tuple[int, int], int] | None = None,
                 month_orders: int | None = None) -> tuple[TitledText, ...]:
    """The month's hot problems: topics of the orders' text that rose against the three months
    before (``month_hot_problems``: the stored result of the month's text pass, computed now if
    there is none or it is stale), whatever the orders' categories. Without any order in those
    months there is nothing to compare with, and the draft names the month's biggest categories.

    ``month_orders`` (the month's order count), ``category_counts`` (orders per category id this
    month) and ``category_leads`` (orders per category and lead unit) save passes over the month
    when the caller has them already (``PeriodStats.grand_total``, ``.category_counts`` and
    ``.category_leads``); only the no-history draft reads the last two."""
    from hotline.triage.hotspot_data import month_hot_problems

    db = using or settings.ANALYTICS_DATABASE
    found = month_hot_problems(year, month, using=db, orders=month_orders, top=limit)
    if found is not None:
        return tuple(TitledText(h["title"], h["paragraph"]) for h in found)
    return _biggest_categories(year, month, db=db, limit=limit, category_counts=category_counts,
                               category_leads=category_leads)


def _biggest_categories(year: int, month: int, *, db: str, limit: int, category_counts, category_leads):
    """No history: the month's biggest categories, with their keywords and leading unit."""
    orders = _month_orders(year, month, db).filter(category__isnull=False)
    if category_counts is None:
        category_counts = dict(orders.order_by().values("category").annotate(n=Count("id"))
                               .values_list("category", "n"))
    # Named as the tree stood at the end of the month (today, for the month still running): a
    # rename or move dated later leaves the month's draft as it was.
    first, last = month_bounds(year, month)
    tree, day = load_history(db), max(first, min(last, clock.today()))
    names = {pk: tree.node(pk, day) for pk in category_counts}
    current = {pk: {"category": pk, "category__name": names[pk].name, "category__full_name": names[pk].full_name,
                    "n": n} for pk, n in category_counts.items() if n}
    chosen = sorted(current, key=lambda c: (-current[c]["n"], current[c]["category__full_name"]))
    chosen = chosen[:limit]
    if not chosen:
        return ()
    if category_leads is None:
        lead_rows = list(orders.filter(category__in=chosen, lead_unit__isnull=False).order_by()
                         .values("category", "lead_unit__short_name").annotate(n=Count("id")))
    else:
        wanted = {pair: n for pair, n in category_leads.items() if pair[0] in chosen and n}
        short = dict(Unit.objects.using(db).filter(pk__in={unit for _, unit in wanted})
                     .values_list("pk", "short_name"))
        by_name: dict[tuple[int, str], int] = {}
        for (cat_id, unit_id), n in wanted.items():
            key = (cat_id, short[unit_id])
            by_name[key] = by_name.get(key, 0) + n
        lead_rows = [{"category": c, "lead_unit__short_name": name, "n": n} for (c, name), n in by_name.items()]
    leaders: dict[int, tuple[str, int]] = {}
    for row in lead_rows:
        best = leaders.get(row["category"])
        if best is None or (row["n"], best[0]) > (best[1], row["lead_unit__short_name"]):
            leaders[row["category"]] = (row["lead_unit__short_name"], row["n"])
    places = list(Unit.objects.using(db).filter(kind__in=Unit.LOCALITY_KINDS).values_list("short_name", flat=True))
    items = []
    for cat_id in chosen:
        row = current[cat_id]
        titles = list(orders.filter(category=cat_id).order_by("received_at", "id")
                      .values_list("title", flat=True)[:TITLES_PER_CLUSTER])
        words = keywords(titles, places=places)
        text = f"本月受理{row['category__full_name']}方面诉求{row['n']}件"
        if words:
            text += f"，主要反映{'、'.join(words)}等问题"
        if cat_id in leaders:
            text += f"，承办较多的单位为{leaders[cat_id][0]}"
        items.append(TitledText(f"{row['category__name']}问题", mask_identities(text, hide=True) + "。"))
    return tuple(items)


def _day(value: dt.datetime) -> str:
    local = clock.local(value)
    return f"{local.month}月{local.day}日"


def _typical_orders(year: int, month: int, db: str, limit: int) -> list:
    """The month's fastest well-handled dispatched orders with an answer, fastest first.

    Ranked on the month's covering index (every column of the condition and of ``took`` is in
    it), then a page of ranked ids is read from the table to drop those without an answer —
    reading every candidate's row to check its answer first was most of the briefing's time at
    a million orders a month.
    """
    ranked = (_month_orders(year, month, db)
              .filter(disposition=Disposition.DISPATCH, satisfaction=Satisfaction.VERY_SATISFIED,
                      rework_count=0, lead_unit__isnull=False, replied_at__isnull=False)
              .filter(Q(handle_deadline__isnull=True) | Q(replied_at__lte=F("handle_deadline")))
              .annotate(took=F("replied_at") - F("dispatched_at"))
              .order_by("took", "received_at", "id").values_list("id", flat=True))
    page, found, offset = max(50, limit * 10), [], 0
    while len(found) < limit:
        ids = list(ranked[offset:offset + page])
        if not ids:
            break
        rows = {o.pk: o for o in (WorkOrder.objects.using(db).filter(pk__in=ids).exclude(answer="")
                                  .select_related("lead_unit"))}
        found += [rows[pk] for pk in ids if pk in rows]
        offset += page
    return found[:limit]


def typical_cases(year: int, month: int, *, using: str | None = None, limit: int = 1) -> tuple[str, ...]:
    db = using or settings.ANALYTICS_DATABASE
    cases = []
    for order in _typical_orders(year, month, db, limit):
        lead = (Assignment.objects.using(db).filter(order=order, role=Assignment.Role.LEAD, active=True)
                .order_by("-round").first())
        title = re.sub(r"[。！？；，,.!?;\s]+$", "", order.title)
        title = re.sub(r"^(关于|反映)", "", re.sub(r"的?(诉求|问题)$", "", title)) or order.title
        if lead and lead.signed_at and lead.signed_at - lead.dispatched_at <= dt.timedelta(hours=2):
            sign = "当即签收并安排人员核实处办"
        elif lead and lead.signed_at:
            sign = f"于{_day(lead.signed_at)}签收并安排人员核实处办"
        else:
            sign = "安排人员核实处办"
        answer = order.answer.strip()
        if answer and answer[-1] not in "。！？":
            answer += "。"
        text = (f"{order.lead_unit.short_name}接到“{title}”的事项工单后，迅速响应，{sign}，"
                f"{_day(order.replied_at)}答复：{answer}经回访，群众对办理结果非常满意。")
        # A published document: identities masked, and no control character stored before the text
        # boundary existed carried into the draft.
        cases.append(scrub(outside_text(order, text)))
    return tuple(cases)


def business_work(year: int, month: int, *, using: str | None = None) -> tuple[TitledText, ...]:
    """The month's 通报 of 督办 not carried out (``queries.month_bulletin``: found failed by the SLA
    sweep in the month), by unit with the orders' numbers. The rest is left to the supervisor: the
    platform does not know the center's meetings and visits. A month without a failed 督办 drafts
    nothing here."""
    from hotline.workorders.queries import month_bulletin

    bulletin = month_bulletin(year, month, using=using)
    if not bulletin:
        return ()
    by_unit: dict[str, list[str]] = {}
    for row in bulletin:
        by_unit.setdefault(row["unit"] or "（未派单）", []).append(row["number"])
    named = "；".join(f"{unit}{len(numbers)}件（工单编号{'、'.join(numbers)}）" for unit, numbers in by_unit.items())
    text = (f"本月共有{len(bulletin)}件督办事项未在规定期限内书面反馈，认定为督办未落实：{named}。"
            "以上单位在本月考核中按规定扣分，特此通报。")
    return (TitledText("督办落实情况通报", text),)


def parse_items(text: str) -> tuple[TitledText, ...]:
    """Editor text → items: one paragraph per line; the first sentence (up to “。”) is the title."""
    items = []
    for line in (text or "").splitlines():
        line = re.sub(r"^\s*\d+\s*[、.．]\s*", "", line.strip())
        if not line:
            continue
        title, sep, rest = line.partition("。")
        items.append(TitledText(title, rest.strip()) if sep else TitledText("", title))
    return tuple(items)


def format_items(items) -> str:
    """Items → editor text (the inverse of ``parse_items``)."""
    lines = []
    for title, text in ((i.title, i.text) if isinstance(i, TitledText) else tuple(i) for i in items):
        lines.append(f"{title}。{text}" if title else text)
    return "\n".join(lines)


def parse_paragraphs(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in (text or "").splitlines() if line.strip())
