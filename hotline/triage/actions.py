"""The only writers of a near-duplicate pair's review: not a repeat, or linked as a repeat (重办).

The nightly pass (``dupindex.nightly``) records pairs; a dispatcher or supervisor decides each one
from the review queue. Each function locks the pair, refuses a pair already decided (by anyone:
two people working the same queue get a clear answer, not a second decision), goes through the
work orders' own action for what it does to the orders — ``note_not_duplicate`` (a fact on the
later order's timeline) or ``repeat_closed`` (the project's one way to make an order the 重办 of
another) — and stamps the pair with who and when, all in one transaction: a refusal, whatever
raised it, changes nothing. Refusals are ``WorkflowError`` with a Chinese message.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from hotline.accounts.access import role_of
from hotline.lib import clock
from hotline.triage.models import NearDuplicate
from hotline.workorders import actions as order_actions
from hotline.workorders.workflow import Role, WorkflowError

# The center's staff who work every order (DESIGN.md §2); a unit never sees another unit's text,
# and an operator sees only what they registered, so neither can judge a pair.
REVIEWERS = frozenset({Role.DISPATCHER, Role.SUPERVISOR})


def may_review(user) -> bool:
    return role_of(user) in REVIEWERS


def _pending(pair: NearDuplicate | int, acting_user) -> NearDuplicate:
    """The pair locked, if ``acting_user`` may decide it and nobody has yet."""
    if not may_review(acting_user):
        raise WorkflowError("只有派单员、督办人员可以核实疑似重复件")
    pk = pair.pk if isinstance(pair, NearDuplicate) else pair
    locked = (NearDuplicate.objects.select_for_update(of=("self",)).select_related("reviewed_by")
              .filter(pk=pk).first())
    if locked is None:
        raise WorkflowError("该疑似重复记录不存在")
    if locked.state != NearDuplicate.State.PENDING:
        who = str(locked.reviewed_by) if locked.reviewed_by else "他人"  # the display name (王), else the username
        when = clock.local(locked.reviewed_at).strftime("%m-%d %H:%M") if locked.reviewed_at else ""
        raise WorkflowError(f"该疑似重复已由{who}于{when}核实为“{locked.get_state_display()}”，无需再处理")
    return locked


def _decided(pair: NearDuplicate, state: str, acting_user, at: dt.datetime) -> NearDuplicate:
    pair.state, pair.reviewed_by, pair.reviewed_at = state, acting_user, at
    pair.save(update_fields=["state", "reviewed_by", "reviewed_at"])
    return pair


@transaction.atomic
def dismiss(pair: NearDuplicate | int, *, acting_user, note: str = "", at: dt.datetime | None = None
            ) -> NearDuplicate:
    """不是重复: the pair leaves the queue and stays recorded, so the nightly pass (which records a
    pair once) never offers it again; the later order's timeline says who judged it and when."""
    pair = _pending(pair, acting_user)
    at = clock.local(at) if at is not None else clock.now()
    order_actions.note_not_duplicate(pair.order_id, acting_user=acting_user, of=pair.similar_to_id, note=note,
                                     at=at, jaccard=round(pair.jaccard, 4))
    return _decided(pair, NearDuplicate.State.DISMISSED, acting_user, at)


@transaction.atomic
def link_as_repeat(pair: NearDuplicate | int, *, acting_user, note: str = "", at: dt.datetime | None = None
                   ) -> NearDuplicate:
    """标为重办: the later order becomes the repeat of the earlier one through
    ``workorders.actions.repeat_closed`` — its rules (the later order not yet taken in, the
    earlier one closed within the repeat window, the center's repeat policy) and its events —
    then the pair leaves the queue. Whatever that action refuses is refused here, unchanged."""
    pair = _pending(pair, acting_user)
    at = clock.local(at) if at is not None else clock.now()
    why = (note or "").strip() or f"夜间文本比对疑似重复（相似度 {pair.jaccard:.2f}），经核实为重复诉求"
    order_actions.repeat_closed(pair.order_id, acting_user=acting_user, of=pair.similar_to_id, note=why, at=at)
    return _decided(pair, NearDuplicate.State.LINKED, acting_user, at)
