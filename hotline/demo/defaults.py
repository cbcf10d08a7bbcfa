"""Ruzhou's default configuration: units, groups, upstream platforms, catalog, SLA, knowledge base.

Idempotent: running it twice changes nothing; rows an admin edited keep their edits (matched by
code, only missing rows are created). ``hotline setup`` and ``hotline demo`` call it.
"""

from __future__ import annotations

import csv
import datetime as dt
from importlib import resources

from django.db import transaction

from hotline.catalog import data as catalog_data
from hotline.catalog.knowledge_seed import HOTLINE_CENTER, KNOWLEDGE_ARTICLES
from hotline.catalog.models import AppealType, Category, DispatchRule, SlaPolicy, Urgency
from hotline.directory.models import Unit, UnitGroup, UpstreamPlatform
from hotline.knowledge.actions import load_published
from hotline.lib.workcalendar import HOURS, WORKING_DAYS

APPEAL_TYPES = [("consult", "咨询类"), ("problem", "问题处理类"), ("complaint", "投诉举报类"),
                ("suggestion", "建议类"), ("other", "其他")]

UPSTREAM_PLATFORMS = [("pds", "平顶山市“民呼必应”平台", "平顶山市民呼必应"), ("henan", "河南政务服务平台", "河南政务服务")]

ENTERPRISES = {"国网汝州市供电公司", "自来水公司", "移动公司", "联通公司"}
# Units the 2022 notice (汝政办〔2022〕37号) asks to keep staff at the center: the departments
# with the most orders, plus the utilities.
MUST_STATION = {"住房和城乡建设局", "人力资源和社会保障局", "城市管理局", "自然资源和规划局", "公安局",
                "市场监督管理局", "医疗保障局", "交通运输局", "国网汝州市供电公司", "自来水公司"}

# (name, appeal type code, urgency, source, sign, sign unit, handle, handle unit, position)
SLA_DEFAULTS = [
    ("默认：签收24小时，办理5个工作日", None, "", "", 24, HOURS, 5, WORKING_DAYS, 100),
    ("咨询类：1个工作日", "consult", "", "", 12, HOURS, 1, WORKING_DAYS, 50),
    ("问题处理类：5个工作日", "problem", "", "", 24, HOURS, 5, WORKING_DAYS, 50),
    ("投诉举报类：5个工作日", "complaint", "", "", 24, HOURS, 5, WORKING_DAYS, 50),
    ("建议类：10个工作日", "suggestion", "", "", 24, HOURS, 10, WORKING_DAYS, 50),
    ("紧急：签收2小时，办理2个工作日", None, Urgency.URGENT, "", 2, HOURS, 2, WORKING_DAYS, 20),
    ("特急：签收1小时，24小时内办结", None, Urgency.CRITICAL, "", 1, HOURS, 24, HOURS, 10),
    ("上级交办：签收12小时，办理5个工作日", None, "", "upstream", 12, HOURS, 5, WORKING_DAYS, 40),
]


def _town_kind(name: str) -> tuple[str, str]:
    if name.endswith("街道"):
        return Unit.Kind.STREET, f"{name}办事处"
    if name.endswith("乡"):
        return Unit.Kind.TOWNSHIP, f"{name}人民政府"
    return Unit.Kind.TOWN, f"{name}人民政府"


@transaction.atomic
def load_defaults() -> dict[str, int]:
    created = {"units": 0, "categories": 0, "articles": 0, "rules": 0}
    township, _ = UnitGroup.objects.get_or_create(key="township", defaults={"name": "乡镇街道", "position": 1})
    department, _ = UnitGroup.objects.get_or_create(key="department", defaults={"name": "市直单位", "position": 2})

    towns_csv = resources.files("hotline.directory").joinpath("data/ruzhou_towns_410482.csv").read_text("utf-8")
    for position, row in enumerate(csv.DictReader(towns_csv.splitlines()), start=1):
        kind, full = _town_kind(row["name"])
        _, new = Unit.objects.get_or_create(code=row["code"], defaults={
            "name": full, "short_name": row["name"], "kind": kind, "group": township,
            "division_code": row["code"], "position": position})
        created["units"] += new
    units_by_name: dict[str, Unit] = {}
    for position, name in enumerate(catalog_data.UNIT_NAMES, start=100):
        code = f"D{position:03d}"
        parent_name = catalog_data.SUB_UNIT_PARENTS.get(name)
        unit, new = Unit.objects.get_or_create(code=code, defaults={
            "name": name, "short_name": name,
            "kind": Unit.Kind.ENTERPRISE if name in ENTERPRISES else Unit.Kind.DEPARTMENT,
            # A sub-unit is assessed as part of its parent, so it has no group of its own.
            "group": None if parent_name else department,
            "parent": units_by_name.get(parent_name) if parent_name else None,
            "must_station": name in MUST_STATION, "position": position})
        units_by_name[name] = unit
        created["units"] += new
    for name, parent_name in catalog_data.SUB_UNIT_PARENTS.items():
        Unit.objects.filter(short_name=name, parent__isnull=True).update(parent=units_by_name[parent_name])

    for position, (code, name, short) in enumerate(UPSTREAM_PLATFORMS):
        UpstreamPlatform.objects.get_or_create(code=code, defaults={"name": name, "short_name": short,
                                                                   "position": position})
    for position, (code, name) in enumerate(APPEAL_TYPES):
        AppealType.objects.get_or_create(code=code, defaults={"name": name, "position": position})

    for code, name, leaves in catalog_data.CATEGORY_TREE:
        parent, new = Category.objects.get_or_create(code=code, defaults={"name": name})
        created["categories"] += new
        for leaf_code, leaf_name in leaves:
            _, new = Category.objects.get_or_create(code=leaf_code, defaults={"name": leaf_name, "parent": parent})
            created["categories"] += new

    if not SlaPolicy.objects.exists():
        types = {t.code: t for t in AppealType.objects.all()}
        for name, type_code, urgency, source, sign, sign_unit, handle, handle_unit, position in SLA_DEFAULTS:
            SlaPolicy.objects.create(name=name, appeal_type=types.get(type_code), urgency=urgency, source=source,
                                     sign_limit=sign, sign_limit_unit=sign_unit, handle_limit=handle,
                                     handle_limit_unit=handle_unit, position=position)

    categories = {c.code: c for c in Category.objects.filter(level=2)}
    if not DispatchRule.objects.exists():
        for leaf_code, unit_names in catalog_data.LEAF_ROUTING.items():
            if leaf_code not in categories or not unit_names:
                continue
            first = unit_names[0]
            DispatchRule.objects.create(category=categories[leaf_code],
                                        unit=None if first == catalog_data.TOWN else units_by_name.get(first))
            created["rules"] += 1
        towns = {u.short_name: u for u in Unit.objects.filter(group=township)}
        for (leaf_code, town), unit_name in catalog_data.TOWN_ROUTING.items():
            DispatchRule.objects.create(category=categories[leaf_code], town=towns[town],
                                        unit=units_by_name[unit_name])
            created["rules"] += 1

    units_by_short = {u.short_name: u for u in Unit.objects.all()}
    for article in KNOWLEDGE_ARTICLES:
        # Published as agreed, and public: they answer citizens' common questions (GB/T 44191: the
        # portal searches the public ones).
        _, new = load_published(
            title=article["title"], body=article["body"], category=categories.get(article["leaf_code"]),
            owner_unit=None if article["owner_unit"] == HOTLINE_CENTER else units_by_short.get(article["owner_unit"]),
            keywords=" ".join(article.get("keywords", [])), review_date=dt.date(2026, 12, 31), public=True)
        created["articles"] += new
    return created
