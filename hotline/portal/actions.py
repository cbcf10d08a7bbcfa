"""The portal's writer: the citizen's rating (市民网上评价). Like every state change it is an
action function, one transaction that locks the order first and takes its time after the lock;
a deadlock is retried as every workorders action is (``actions.one_transaction``)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from hotline.lib import clock
from hotline.portal import public
from hotline.portal.models import CitizenRating
from hotline.workorders import actions
from hotline.workorders.models import WorkOrder
from hotline.workorders.workflow import Status, WorkflowError

ALREADY_RATED = "您已评价过该工单，感谢您的反馈"


@actions.one_transaction
def record_rating(order: WorkOrder | int, *, satisfaction: str, satisfaction_label: str, solved: bool,
                  comment: str, closes: bool) -> CitizenRating:
    """Keep the rating and act on it: a satisfied one (``closes``) is the callback that closes the
    order; any other is noted on the order for the callback staff, who phone and decide."""
    order = WorkOrder.objects.select_for_update().get(pk=getattr(order, "pk", order))
    if CitizenRating.objects.filter(order=order).exists():
        raise WorkflowError(ALREADY_RATED)
    if order.status != Status.AWAITING_CALLBACK:
        raise WorkflowError("该工单当前不在待评价状态")
    at = clock.now()
    comment = comment.strip()
    note = (f"{public.RATING_NOTE_PREFIX}{satisfaction_label}，{'已解决' if solved else '未解决'}"
            + (f"。意见：{comment}" if comment else ""))
    try:
        with transaction.atomic():
            rating = CitizenRating.objects.create(order=order, at=at, satisfaction=satisfaction, solved=solved,
                                                  comment=comment, closed_order=closes)
    except IntegrityError:
        raise WorkflowError(ALREADY_RATED) from None
    if closes:
        actions.record_callback(order, acting_user=None, satisfaction=satisfaction, solved=solved, rework=False,
                                note=note, at=at)
    else:
        actions.annotate(order, acting_user=None, note=note + "。请回访人员电话核实后决定办结或重办。", at=at)
    return rating
