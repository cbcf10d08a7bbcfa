"""Every text the platform sends, in one place: in-app titles and bodies, SMS, e-mail, robots.

One template per ``Kind``: ``title`` (the bell's line and the e-mail subject) and ``text`` (the
in-app body, the SMS and the robot message). Fields available: ``number``, ``title`` (the
order's, cut short), ``unit``, ``deadline``, ``note``, ``link`` (the order page for staff, the
portal's tracking page for citizens), ``hotline`` (the centre's name, as SMS signature).

SMS to citizens carry nothing but the order number, the link and the centre's name: the phone
may be shared, so neither the appeal's text nor a name is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.notify.models import Kind


@dataclass(frozen=True)
class Template:
    title: str
    text: str


TEMPLATES: dict[str, Template] = {
    Kind.DISPATCHED: Template("新工单 {number} 待签收",
                              "【{hotline}】{unit}：工单 {number}“{title}”已派至贵单位，办理时限 {deadline}，"
                              "请及时签收办理。{link}"),
    Kind.NEAR_DUE: Template("工单 {number} 临期",
                            "【{hotline}】{unit}：工单 {number}“{title}”将于 {deadline} 到期，请抓紧办理。{link}"),
    Kind.OVERDUE: Template("工单 {number} 已超期",
                           "【{hotline}】{unit}：工单 {number}“{title}”已超过办理时限 {deadline}，请立即办理并回复。"
                           "{link}"),
    Kind.REMINDER: Template("催办：工单 {number}",
                            "【{hotline}】{unit}：工单 {number}“{title}”催办。{note}请尽快办理。{link}"),
    Kind.SUPERVISION: Template("督办：工单 {number}",
                               "【{hotline}】{unit}：工单 {number}“{title}”已列入督办。{note}"
                               "请于 {respond_by} 前书面反馈。{link}"),
    Kind.SENT_BACK: Template("工单 {number} 被退回重办",
                             "【{hotline}】{unit}：工单 {number}“{title}”的答复未通过审核，已退回重办。{note}{link}"),
    Kind.REWORK: Template("工单 {number} 回访不满意，重办",
                          "【{hotline}】{unit}：工单 {number}“{title}”回访不满意，转重办，办理时限 {deadline}。{link}"),
    Kind.REQUEST_DECIDED: Template("工单 {number}：{decision}",
                                   "【{hotline}】{unit}：工单 {number}“{title}”{decision}。{note}{link}"),
    Kind.TO_REVIEW: Template("待审核：工单 {number} {what}",
                             "工单 {number}“{title}”{unit}{what}，请审核。{note}"),
    Kind.TO_TAKE_IN: Template("待受理：工单 {number}（{source}）",
                              "{source}提交的工单 {number}“{title}”已登记，请受理。"),
    Kind.SUPERVISION_FAILED: Template("督办未落实：工单 {number}",
                                      "工单 {number}“{title}”的督办 {unit} 未按期反馈。{note}"),
    Kind.RECEIPT: Template("受理回执",
                           "【{hotline}】您反映的诉求已受理，工单编号 {number}。查询办理进度：{link}"),
    Kind.ANSWERED: Template("办结通知",
                            "【{hotline}】您的工单 {number} 已办理完毕，答复及满意度评价请见：{link}"),
    Kind.KB_REVIEW_DUE: Template("知识库待复核：{count} 条",
                                 "{unit}维护的知识库条目中有 {count} 条复核日期已到或将在 {days} 天内到期（{titles}），"
                                 "请核对内容，修改或确认后提交热线中心审核。"),
    # 未诉先办 (hotline.triage.hotspot_data): one place, one rising topic, many orders in a few days.
    Kind.HOTSPOT_ALERT: Template("未诉先办预警：{place}{topic}",
                                 "近{days}日{place}有 {count} 件关于“{topic}”的诉求（{keywords}），明显多于以往，"
                                 "请研判是否需要主动协调有关单位提前处置。"),
    # To the caller of an order merged into the one that closed: {number} is the caller's own order.
    Kind.MERGED_CLOSED: Template("并单办结通知",
                                 "【{hotline}】您反映的诉求（工单 {number}）已与同类诉求合并办理，现已办结，"
                                 "办理结果请见：{link}"),
    Kind.CHASE_ANSWERED: Template("督办反馈：工单 {number}",
                                  "工单 {number}“{title}”{unit}{what}。{note}"),
    Kind.SURVEY: Template("回访未接通",
                          "【{hotline}】我们就工单 {number} 致电回访未能接通，请通过以下链接查看答复并评价：{link}"),
}


class _Blank(dict):
    """A missing field renders empty rather than breaking a message."""

    def __missing__(self, key):
        return ""


def render(kind: str, **fields) -> tuple[str, str]:
    template = TEMPLATES[kind]
    values = _Blank(fields)
    return template.title.format_map(values), template.text.format_map(values)
