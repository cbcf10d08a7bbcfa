"""The statements every registration runs, built once (hotline.lib.compiled, the session engine and
the auth backend): they must read and write exactly what the ORM did, and refuse what it refused.

The story: operator 李 is logged in at her desk and registers orders through the JSON API. When
the admin deactivates her account, or she changes her password elsewhere, or logs out in another
window (another app process), or her session expires, her next request is refused at once — the
app keeps no copy of her session or her account between requests. What she registers is stored
column for column as Django's ``save()`` stored it.
"""

import datetime as dt
import json

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import connections
from django.db.models.signals import post_save, pre_save
from django.test import Client
from django.utils import timezone

from hotline.accounts.models import User
from hotline.lib import compiled
from hotline.workorders.models import Event, WorkOrder
from tests.conftest import at

ROAD = {"title": "村内道路破损", "content": "杨楼镇某村主路破损严重，雨天积水。联系人王先生13812341234。",
        "town": "杨楼镇", "category": "农村管理—人居环境", "appeal_type": "problem", "caller_phone": "13812341234",
        "caller_name": "王先生", "address": "杨楼镇某村"}


@pytest.fixture
def li(people):
    """李's own browser: a real session, with the CSRF check the API enforces."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["operator_li"])
    client.get("/accounts/login/")  # sets the csrftoken cookie
    return client


def register(client):
    return client.post("/api/orders/", json.dumps(ROAD, ensure_ascii=False), content_type="application/json",
                       headers={"X-CSRFToken": client.cookies["csrftoken"].value})


def test_the_session_names_the_platforms_backend(li):
    session = li.session
    assert session[BACKEND_SESSION_KEY] == "hotline.accounts.backends.ModelBackend"
    assert settings.SESSION_ENGINE in ("hotline.accounts.sessions", "django.contrib.sessions.backends.cached_db")
    assert register(li).status_code == 201


def test_a_deactivated_operator_is_refused_at_her_next_request(li, people):
    assert register(li).status_code == 201
    User.objects.filter(pk=people["operator_li"].pk).update(is_active=False)

    assert register(li).status_code == 401


def test_a_password_changed_elsewhere_ends_the_session(li, people):
    assert register(li).status_code == 201
    user = User.objects.get(pk=people["operator_li"].pk)
    user.set_password("另一个密码-2026-12-06")
    user.save(update_fields=["password"])

    assert register(li).status_code == 401


def test_a_logout_in_another_process_ends_the_session_here(li):
    assert register(li).status_code == 201
    Session.objects.filter(session_key=li.session.session_key).delete()  # what logout does anywhere

    assert register(li).status_code == 401


def test_an_expired_session_is_refused(li):
    assert register(li).status_code == 201
    Session.objects.filter(session_key=li.session.session_key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))

    assert register(li).status_code == 401


def test_a_deleted_account_is_refused(li, people):
    assert register(li).status_code == 201
    User.objects.filter(pk=people["operator_li"].pk).update(role="nonsense", is_active=False)
    assert register(li).status_code == 401


def test_the_user_read_is_the_orms(people):
    for user in people.values():
        fast = compiled.get_by_pk(User, str(user.pk))
        slow = User.objects.get(pk=user.pk)
        assert fast is not None and fast.pk == slow.pk and fast._state.db == slow._state.db
        for field in User._meta.concrete_fields:
            fast_value, slow_value = getattr(fast, field.attname), getattr(slow, field.attname)
            assert (fast_value, type(fast_value)) == (slow_value, type(slow_value)), field.name
    assert compiled.get_by_pk(User, 10**12) is None


def test_nothing_listens_for_the_saves_the_fast_insert_skips():
    for model in (WorkOrder, Event):
        assert not pre_save.has_listeners(model) and not post_save.has_listeners(model), model


def _row(model, pk):
    values = model.objects.filter(pk=pk).values().get()
    return {k: v for k, v in values.items() if k not in ("id", "number", "order_id", "updated_at")}


@pytest.mark.parametrize("confidential", [False, True])
def test_a_registration_stores_the_same_order_and_event_as_save_did(new_order, monkeypatch, confidential):
    when = at(2023, 7, 3, 9, 0)
    fast = new_order(at=when, confidential=confidential, address="杨楼镇某村", note="来电")

    def orm_insert(obj, using="default"):
        obj.save(force_insert=True, using=using)

    monkeypatch.setattr(compiled, "insert", orm_insert)
    slow = new_order(at=when, confidential=confidential, address="杨楼镇某村", note="来电")

    assert fast.pk != slow.pk and not fast._state.adding and fast._state.db == "default"
    assert _row(WorkOrder, fast.pk) == _row(WorkOrder, slow.pk)
    fast_event, slow_event = Event.objects.get(order=fast), Event.objects.get(order=slow)
    assert _row(Event, fast_event.pk) == _row(Event, slow_event.pk)
    # The instances the action returns hold what was stored.
    stored = WorkOrder.objects.get(pk=fast.pk)
    for field in WorkOrder._meta.concrete_fields:
        if field.attname != "updated_at":
            assert getattr(fast, field.attname) == getattr(stored, field.attname), field.name


def test_an_upstream_order_with_its_platform_and_deadline_is_stored_whole(new_order):
    from hotline.directory.models import UpstreamPlatform

    platform = UpstreamPlatform.objects.first() or UpstreamPlatform.objects.create(code="pds", name="平顶山市民呼必应平台")
    order = new_order(source="upstream", upstream_platform=platform, upstream_number="PDS-1",
                      upstream_deadline=at(2023, 7, 5, 18, 0), latitude="34.167000", longitude="112.845000")
    stored = WorkOrder.objects.get(pk=order.pk)
    assert (stored.upstream_platform_id, stored.upstream_number, stored.upstream_deadline) == (
        platform.pk, "PDS-1", at(2023, 7, 5, 18, 0))
    assert str(stored.latitude) == "34.167000" and stored.handle_deadline == order.handle_deadline


def test_the_compiled_statements_are_per_connection(db):
    compiled.get_by_pk(User, 1)
    assert ("get", User) in compiled._compiled[connections["default"]]
