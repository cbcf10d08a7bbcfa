"""The only writers of briefings: create a draft, (re)build it, edit its narrative, publish it.

Only supervisors (督办) and admins may write; everyone else gets a Chinese ``PermissionDenied``.
A published ``BriefingVersion`` is never changed: publishing again makes the next version.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from hotline.accounts.access import role_of
from hotline.briefing import assessment_bridge, drafting
from hotline.briefing.build import build_briefing_data, month_statistics, warnings_for
from hotline.briefing.models import Briefing, BriefingVersion
from hotline.lib import clock
from hotline.workorders.workflow import Role

WRITER_ROLES = {Role.SUPERVISOR, Role.ADMIN}


class BriefingError(Exception):
    """A refused briefing action, with a message for people (Chinese)."""


def may_write(user) -> bool:
    return role_of(user) in WRITER_ROLES


def require_writer(user, what: str = "管理工作简报") -> None:
    if not may_write(user):
        raise PermissionDenied(f"只有督办人员或管理员可以{what}")


def _check_month(year: int, month: int) -> None:
    if not (2000 <= int(year) <= 2100 and 1 <= int(month) <= 12):
        raise BriefingError(f"月份无效：{year}-{month}")
    if dt.date(int(year), int(month), 1) > clock.today():
        raise BriefingError("不能为尚未开始的月份编制简报")


@transaction.atomic
def create_draft(year: int, month: int, *, acting_user, issue_date: dt.date | None = None,
                 build: bool = True) -> Briefing:
    """Open the month's briefing as a draft; ``build`` fills figures and first drafts at once."""
    require_writer(acting_user, "编制工作简报")
    _check_month(year, month)
    if Briefing.objects.filter(year=year, month=month).exists():
        raise BriefingError(f"{year}年{month}月的工作简报已存在")
    briefing = Briefing.objects.create(year=year, month=month, issue_date=issue_date, created_by=acting_user,
                                       updated_by=acting_user)
    if build:
        briefing = rebuild(briefing, acting_user=acting_user)
    return briefing


def rebuild(briefing: Briefing | int, *, acting_user=None, redraft: bool = False) -> Briefing:
    """Recompute the month's figures (and draft empty narrative sections, or all with ``redraft``).

    ``acting_user`` None is the background task acting for whoever queued it.
    """
    if acting_user is not None:
        require_writer(acting_user, "生成工作简报")
    pk = briefing.pk if isinstance(briefing, Briefing) else briefing
    Briefing.objects.filter(pk=pk).update(build_state=Briefing.BuildState.RUNNING, build_error="")
    current = Briefing.objects.get(pk=pk)
    try:
        stats = month_statistics(current.year, current.month)
        first = not current.data
        kwargs = {}
        if not (first or redraft):  # keep the supervisor's texts: only the figures are rebuilt
            kwargs = {"hot_problems": (), "typical_cases": (), "business_work": ()}
        data = build_briefing_data(current.year, current.month, issue_date=current.issue_date, stats=stats,
                                   **kwargs)
    except Exception as exc:
        Briefing.objects.filter(pk=pk).update(build_state=Briefing.BuildState.FAILED, build_error=str(exc)[:2000])
        raise
    with transaction.atomic():
        b = Briefing.objects.select_for_update().get(pk=pk)
        snapshot = data.to_dict()
        fields = ["data", "warnings", "build_state", "build_error", "built_at", "updated_at"]
        b.data, b.warnings = snapshot, warnings_for(stats, data)
        b.build_state, b.build_error, b.built_at = Briefing.BuildState.DONE, "", timezone.now()
        if first or redraft:
            b.hot_problems, b.typical_cases, b.business_work = (
                snapshot["hot_problems"], snapshot["typical_cases"], snapshot["business_work"])
            fields += ["hot_problems", "typical_cases", "business_work"]
        if acting_user is not None:
            b.updated_by = acting_user
            fields.append("updated_by")
        if b.state == Briefing.State.PUBLISHED and _differs_from_latest(b):
            b.state = Briefing.State.DRAFT
            fields.append("state")
        b.save(update_fields=fields)
    return b


def _differs_from_latest(b: Briefing) -> bool:
    latest = b.versions.order_by("-number").first()
    data = b.briefing_data()
    return latest is None or data is None or data.to_dict() != latest.data


@transaction.atomic
def update_narrative(briefing: Briefing | int, *, acting_user, hot_problems=None, typical_cases=None,
                     business_work=None, issue_date: dt.date | None = None) -> Briefing:
    """Save the supervisor's texts. Items are (title, text) pairs or editor text (one per line)."""
    require_writer(acting_user, "修改工作简报")
    pk = briefing.pk if isinstance(briefing, Briefing) else briefing
    b = Briefing.objects.select_for_update().get(pk=pk)
    fields = {"updated_by", "updated_at"}
    if hot_problems is not None:
        b.hot_problems = _pairs(hot_problems)
        fields.add("hot_problems")
    if typical_cases is not None:
        b.typical_cases = (list(drafting.parse_paragraphs(typical_cases)) if isinstance(typical_cases, str)
                           else [str(t).strip() for t in typical_cases if str(t).strip()])
        fields.add("typical_cases")
    if business_work is not None:
        b.business_work = _pairs(business_work)
        fields.add("business_work")
    if issue_date is not None:
        b.issue_date = issue_date
        fields.add("issue_date")
    b.updated_by = acting_user
    if b.state == Briefing.State.PUBLISHED and _differs_from_latest(b):
        b.state = Briefing.State.DRAFT
        fields.add("state")
    b.save(update_fields=sorted(fields))
    return b


def _pairs(items) -> list[list[str]]:
    if isinstance(items, str):
        items = drafting.parse_items(items)
    out = []
    for item in items:
        title, text = (item.title, item.text) if hasattr(item, "title") else item
        if str(title).strip() or str(text).strip():
            out.append([str(title).strip(), str(text).strip()])
    return out


@transaction.atomic
def publish(briefing: Briefing | int, *, acting_user, note: str = "") -> BriefingVersion:
    """Freeze the working copy as the next version, with its DOCX exactly as published."""
    from hotline.briefing.render_docx import render_docx

    require_writer(acting_user, "发布工作简报")
    pk = briefing.pk if isinstance(briefing, Briefing) else briefing
    b = Briefing.objects.select_for_update().get(pk=pk)
    data = b.briefing_data()
    if data is None:
        raise BriefingError("简报尚未生成统计数据，请先生成再发布")
    if b.build_state in (Briefing.BuildState.QUEUED, Briefing.BuildState.RUNNING):
        raise BriefingError("简报正在生成中，请稍后再发布")
    state = assessment_bridge.currency(b.year, b.month, data.assessment_version)
    if state.outdated:
        raise BriefingError(state.message)
    version = BriefingVersion(briefing=b, number=b.version + 1, data=data.to_dict(), docx=render_docx(data),
                              published_at=timezone.now(), published_by=acting_user, note=(note or "").strip()[:200],
                              assessment_version=data.assessment_version)
    version.save(force_insert=True)
    b.version, b.state, b.updated_by = version.number, Briefing.State.PUBLISHED, acting_user
    b.save(update_fields=["version", "state", "updated_by", "updated_at"])
    return version


def request_build(briefing: Briefing | int, *, acting_user, redraft: bool = False) -> Briefing:
    """Queue a rebuild as a background task; the page polls ``build_state``."""
    from hotline.briefing.tasks import build_briefing

    require_writer(acting_user, "生成工作简报")
    pk = briefing.pk if isinstance(briefing, Briefing) else briefing
    with transaction.atomic():
        b = Briefing.objects.select_for_update().get(pk=pk)
        if b.build_state in (Briefing.BuildState.QUEUED, Briefing.BuildState.RUNNING):
            raise BriefingError("简报正在生成中，请勿重复提交")
        b.build_state, b.build_error = Briefing.BuildState.QUEUED, ""
        b.save(update_fields=["build_state", "build_error", "updated_at"])

    def enqueue():
        result = build_briefing.enqueue(pk, redraft)
        Briefing.objects.filter(pk=pk).update(build_task_id=str(result.id))

    transaction.on_commit(enqueue)
    b.refresh_from_db()
    return b
