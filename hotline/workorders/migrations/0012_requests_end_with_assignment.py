"""Requests end with the assignment that filed them: a ``cancelled`` state, and the orphans cancelled.

Before this, a pending request outlived its assignment: an extension asked for by a unit that then
returned the order stayed pending after the redispatch (approving it moved the new unit's deadline,
and the new unit's own request was refused), and a reply left pending requests in the dispatcher's
queue for ever. The actions now cancel them (``actions._end_requests``); this migration cancels
those already left behind, each with a ``cancel_request`` event on the order's timeline, stamped
when the migration runs (the moment they were found, not a guess at when they should have ended).

A pending request is left behind when its assignment is no longer active, when the order is in a
state where no unit can still have it decided (anything but 办理中, 退单审核中 and 挂起), or when
it is a return and the order is no longer 退单审核中. The states are spelled out here rather than
imported, so the migration keeps meaning what it meant when it was written.
"""

from django.db import migrations, models
from django.db.models import Q
from django.utils import timezone

REQUEST_STATES = ("handling", "return_requested", "suspended")
KIND_LABELS = {"return": "退单", "extension": "延期", "suspension": "承诺办理"}
NOTE = "原承办单位的派单已结束或已回复，数据清理时撤销"


def cancel_orphans(apps, schema_editor):
    Request = apps.get_model("workorders", "Request")
    Event = apps.get_model("workorders", "Event")
    now = timezone.now()
    orphans = (Request.objects.filter(state="pending")
               .filter(Q(assignment__active=False) | ~Q(order__status__in=REQUEST_STATES)
                       | Q(kind="return") & ~Q(order__status="return_requested"))
               .select_related("order", "assignment").order_by("id"))
    for request in orphans.iterator(chunk_size=500):
        status = request.order.status
        Event.objects.create(
            order_id=request.order_id, at=now, action="cancel_request", actor=None, actor_role="system",
            from_status=status, to_status=status, note=f"{KIND_LABELS.get(request.kind, request.kind)}申请已撤销：{NOTE}",
            data={k: v for k, v in {"kind": request.kind, "request": request.pk, "unit_id": request.assignment.unit_id,
                                    "requested_deadline": request.requested_deadline.isoformat()
                                    if request.requested_deadline else None}.items() if v is not None})
        Request.objects.filter(pk=request.pk).update(state="cancelled", decided_at=now, decision_note=NOTE)


class Migration(migrations.Migration):

    dependencies = [
        ("workorders", "0011_fewer_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="request",
            name="state",
            field=models.CharField(choices=[("pending", "待审核"), ("approved", "已同意"), ("rejected", "已驳回"),
                                            ("cancelled", "已撤销")],
                                   default="pending", max_length=10, verbose_name="审核状态"),
        ),
        migrations.RunPython(cancel_orphans, migrations.RunPython.noop),
    ]
