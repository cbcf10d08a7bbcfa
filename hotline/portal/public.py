"""What a citizen may see of their own order: states, dates and the approved public answer.

The event log is the order's timeline, but most of it is internal (notes, unit staff, returns,
reminders, review comments). Only the actions listed here are shown, each with a fixed Chinese
label — never the event's note, actor, unit or data — so nothing internal can leak by accident
when a new kind of event is added: unknown actions are simply not shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.accounts.access import outside_text
from hotline.lib import clock
from hotline.workorders.models import Attachment, Disposition, WorkOrder
from hotline.workorders.workflow import Status

PUBLIC_STEPS = {
    "register": "已受理",
    "submit_for_dispatch": "已转交办理，等待派单",
    "dispatch": "已派发承办单位办理",
    "approve_return": "正在重新派发承办单位",
    "sign": "承办单位已签收，正在办理",
    "approve_extension": "经批准延长办理时限",
    "approve_suspension": "经批准转为承诺办理（长期办理）",
    "resume": "恢复办理",
    "reply": "承办单位已答复，热线中心审核中",
    "send_back": "答复未通过审核，承办单位重新办理",
    "approve_reply": "答复已审核，等待回访",
    "direct_answer": "热线中心已答复，等待回访",
    "coordinate": "热线中心协调办理完毕，等待回访",
    "transfer": "已转相关部门（110/119/120/122）处理",
    "inform": "已告知依法处理途径，办结",
    "not_accept": "不予受理，办结",
    "merge": "与相同诉求合并办理",
    "callback_close": "已办结",
    "callback_rework": "回访后重新办理",
    "callback_redispatch": "回访后重新派单办理",
    "citizen_rating": "已收到您的评价，热线工作人员将回访核实",
}

# Public state names: the citizen does not need the center's internal queue names.
PUBLIC_STATUS = {
    Status.RECEIVED: "已受理",
    Status.AWAITING_DISPATCH: "办理中",
    Status.DISPATCHED: "办理中",
    Status.HANDLING: "办理中",
    Status.RETURN_REQUESTED: "办理中",
    Status.SUSPENDED: "承诺办理中",
    Status.REPLIED: "办理中",
    Status.AWAITING_CALLBACK: "已答复，待评价",
    Status.CLOSED: "已办结",
    Status.MERGED: "已合并办理",
}

# A citizen rating that did not close the order is noted with this prefix (see models.CitizenRating).
RATING_NOTE_PREFIX = "市民网上评价："


@dataclass(frozen=True)
class Step:
    at: object
    label: str


def public_steps(order: WorkOrder) -> list[Step]:
    steps = []
    for action, at, note in order.events.order_by("at", "id").values_list("action", "at", "note"):
        if action == "annotate":
            if not note.startswith(RATING_NOTE_PREFIX):
                continue
            action = "citizen_rating"
        label = PUBLIC_STEPS.get(action)
        if label and not (steps and steps[-1].label == label):
            steps.append(Step(clock.local(at), label))
    return steps


def public_title(order: WorkOrder) -> str:
    """The title as anyone holding the number and phone may read it: identities hidden."""
    return outside_text(order, order.title)


def public_answer(order: WorkOrder) -> str:
    """The answer the citizen is told, once approved (never the unit's draft or internal note)."""
    if order.status not in (Status.AWAITING_CALLBACK, Status.CLOSED):
        return ""
    if order.disposition in (Disposition.MERGE, Disposition.TRANSFER):
        return ""
    return outside_text(order, order.answer or "")


def public_evidence(order: WorkOrder) -> dict[str, Attachment]:
    """The files the citizen may see, by id: the evidence the unit marked public on the reply the
    center approved — shown with the approved answer (``public_answer``), from the callback on. A
    confidential order shows none (its files stay inside the center and the unit that added them),
    and neither does a reply that was sent back or an answer reopened for rework."""
    if order.confidential or order.status not in (Status.AWAITING_CALLBACK, Status.CLOSED):
        return {}
    approved = order.events.filter(action="approve_reply").order_by("-at", "-id").first()
    if approved is None:
        return {}
    reply = (order.events.filter(action="reply", at__lte=approved.at).exclude(pk__gt=approved.pk)
             .order_by("-at", "-id").first())
    if reply is None:
        return {}
    files = Attachment.objects.filter(order=order, event=reply, kind=Attachment.Kind.EVIDENCE, public=True)
    return {str(a.pk): a for a in files.order_by("uploaded_at", "id")}


def public_file_name(order: WorkOrder, attachment: Attachment) -> str:
    return outside_text(order, attachment.name)


def photos_sent(order: WorkOrder) -> int:
    """How many photos the citizen sent with the order (only the count is shown back)."""
    return Attachment.objects.filter(order=order, kind=Attachment.Kind.PHOTO).count()


def may_rate(order: WorkOrder) -> bool:
    return order.status == Status.AWAITING_CALLBACK and not hasattr_rating(order)


def hasattr_rating(order: WorkOrder) -> bool:
    from hotline.portal.models import CitizenRating

    return CitizenRating.objects.filter(order=order).exists()


def normalize_phone(phone: str) -> str:
    return "".join(ch for ch in (phone or "") if ch.isdigit())
