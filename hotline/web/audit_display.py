"""The audit trail in words an auditor reads: Chinese names for the object types, the detail keys
and the search filters an export was made with, ids shown as the unit, category or status they
name. The stored rows keep their plain keys (they are evidence and are never rewritten); only the
page translates them.
"""

from __future__ import annotations

from django.apps import apps

from hotline.lib.masking import mask_identities
from hotline.workorders.models import Attachment

OBJECT_TYPES = {
    "workorders.workorder": "工单", "accounts.user": "账号", "intake.import": "导入文件", "backup": "数据备份",
    "assessment.monthlyresult": "月度考核结果", "briefing.briefing": "工作简报",
    "catalog.knowledgearticle": "知识库条目",
}
# object_id values that are not an id but name what was done.
OBJECT_IDS = {"search": "查询结果"}

DETAIL_KEYS = {
    "rows": "行数", "filters": "查询条件", "via": "途径", "result": "结果", "reason": "原因", "errors": "错误",
    "imported": "导入", "skipped": "跳过", "file": "文件", "bytes": "字节", "database": "数据库", "format": "格式",
    "year": "年", "month": "月", "version": "版本", "content_type": "类型", "field": "字段",
    "attachment": "附件编号", "name": "文件名", "kind": "附件类别",
}
DETAIL_VALUES = {"via": {"page": "工单页", "print": "打印", "api": "接口", "portal": "市民网站"},
                 "kind": dict(Attachment.Kind.choices)}

FILTER_KEYS = {
    "number": "工单号", "phone": "电话", "q": "关键词", "status": "状态", "source": "来源", "urgency": "紧急程度",
    "lead_unit": "主办单位", "town": "乡镇街道", "category": "分类", "appeal_type": "诉求类型",
    "overdue": "仅超期", "from": "登记起", "to": "登记止",
}


def _choice_label(field: str, value: str) -> str:
    from hotline.workorders.models import WorkOrder

    choices = dict(WorkOrder._meta.get_field(field).flatchoices)
    return str(choices.get(value, value))


def _named(model_label: str, value, names: dict) -> str:
    """The display name of the row ``value`` of ``model_label`` (the id itself if it is gone);
    ``names`` remembers them for one page, so 200 rows naming the same unit ask once."""
    if not str(value).isdigit():
        return str(value)
    key = (model_label, int(value))
    if key not in names:
        row = apps.get_model(model_label).objects.filter(pk=key[1]).first()
        names[key] = str(row) if row is not None else f"#{value}"
    return names[key]


FILTER_VALUES = {
    "status": lambda v, _: _choice_label("status", v), "source": lambda v, _: _choice_label("source", v),
    "urgency": lambda v, _: _choice_label("urgency", v),
    "lead_unit": lambda v, n: _named("directory.Unit", v, n), "town": lambda v, n: _named("directory.Unit", v, n),
    "category": lambda v, n: _named("catalog.Category", v, n),
    "appeal_type": lambda v, n: _named("catalog.AppealType", v, n),
    "overdue": lambda v, _: "是",
}


def object_label(object_type: str, object_id: str) -> str:
    kind = OBJECT_TYPES.get(object_type)
    if kind is None and "." in object_type:
        try:
            kind = str(apps.get_model(object_type)._meta.verbose_name)
        except (LookupError, ValueError):
            kind = object_type
    return f"{kind or object_type} {OBJECT_IDS.get(object_id, object_id)}".strip()


def _filters(value, names: dict) -> str:
    if not isinstance(value, dict):
        return str(value)
    parts = []
    for key, v in value.items():
        shown = FILTER_VALUES[key](v, names) if key in FILTER_VALUES else str(v)
        parts.append(f"{FILTER_KEYS.get(key, key)}：{shown}")
    return "；".join(parts) or "无"


def detail_texts(details: list[dict | None]) -> list[str]:
    """``detail_text`` of a page of rows, each id looked up once."""
    names: dict = {}
    return [detail_text(d, names) for d in details]


def detail_text(detail: dict | None, names: dict | None = None) -> str:
    """"行数 14，查询条件：主办单位：杨楼镇；状态：办理中" — identities in it stay masked."""
    parts = []
    for key, value in (detail or {}).items():
        if key == "filters":
            shown = _filters(value, {} if names is None else names)
        elif isinstance(value, dict):
            shown = "，".join(f"{DETAIL_KEYS.get(k, k)} {v}" for k, v in value.items())
        elif isinstance(value, list):
            shown = "、".join(str(v) for v in value)
        else:
            shown = DETAIL_VALUES.get(key, {}).get(value, value)
        parts.append(f"{DETAIL_KEYS.get(key, key)}：{shown}" if key == "filters" else f"{DETAIL_KEYS.get(key, key)} {shown}")
    # The trail says who looked, not what they saw: a phone searched for stays masked here.
    return mask_identities("，".join(parts))
