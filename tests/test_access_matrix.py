"""The access matrix: every role × every URL × 杨楼镇's object / 寄料镇's object / a missing one.

One world, built once for the module: 杨楼镇 and 寄料镇 each have a dispatched order with a pending
extension and its basis file, a knowledge article of their own, an appeal and an adjustment on the
published July assessment, notifications and outbox deliveries. Ten people ask for every URL the
resolver knows (``tests/urltable.py``), with GET and with POST, once with 杨楼镇's objects, once with
寄料镇's and once with objects that do not exist:

    anonymous · the portal's citizen who proved 杨楼镇's order (number + phone) · 李 operator ·
    王 dispatcher · 赵 handler of 杨楼镇 · 钱 handler of 寄料镇 · 周 supervisor · 吴 auditor · admin

``MATRIX`` states the status each one gets. For an object a person may not see, the answer is the
missing object's answer: the same status and the same body, with no number, title or caller in it.
Every request runs in a savepoint that is rolled back, so a POST that succeeds (a reply, a
published assessment) leaves the next request the same world.

Set ``ACCESS_MATRIX_PRINT=1`` to print the observed table in ``MATRIX``'s format (to review a
change of rule, never to copy blindly).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from PIL import Image

from hotline.web.forms import ACTION_FORMS
from tests import urltable

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


DEADLINE = at(2023, 7, 14, 18, 0)
# What each unit's order says and who called: none of it may reach anyone outside that unit.
Y_TITLE, Y_NAME, Y_PHONE = "杨楼村路灯全部不亮", "欧阳娜娜", "13700001111"
J_TITLE, J_NAME, J_PHONE = "寄料街排水沟堵塞", "孙大圣", "13600002222"
MISSING_NUMBER, MISSING_PK = "20230799999", 987654


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 128, 0)).save(out, "PNG")
    return out.getvalue()


def build_world() -> dict:
    from hotline.accounts.models import User
    from hotline.assessment import actions as assess
    from hotline.assessment.models import Appeal
    from hotline.briefing.models import Briefing
    from hotline.catalog.models import AppealType, Category
    from hotline.demo.defaults import load_defaults
    from hotline.demo.people import ensure_people
    from hotline.directory.models import Unit
    from hotline.intake.models import ImportJob
    from hotline.knowledge import actions as kb
    from hotline.lib.files import inspect
    from hotline.notify.emit import notify_users
    from hotline.notify.models import Delivery, Notification
    from hotline.triage.models import NearDuplicate
    from hotline.workorders import actions
    from hotline.workorders.models import Attachment

    load_defaults()
    people = ensure_people()
    li, wang, zhou = people["operator_li"], people["dispatcher_wang"], people["supervisor_zhou"]
    yl, jl = Unit.objects.get(short_name="杨楼镇"), Unit.objects.get(short_name="寄料镇")
    problem, road = AppealType.objects.get(code="problem"), Category.objects.get(code="0401")

    def dispatched(town, handler, title, name, phone):
        order = actions.register_order(acting_user=li, at=at(2023, 7, 3, 9), title=title,
                                       content=f"来电人{name}（{phone}）反映：{title}。", appeal_type=problem,
                                       category=road, town=town, caller_name=name, caller_phone=phone)
        actions.submit_for_dispatch(order, acting_user=li, at=at(2023, 7, 3, 9, 30))
        actions.dispatch(order, acting_user=wang, lead_unit=town, handle_deadline=DEADLINE, at=at(2023, 7, 3, 10))
        actions.sign(order, acting_user=handler, note="已签收", at=at(2023, 7, 3, 11))
        actions.request_extension(order, acting_user=handler, new_deadline=at(2023, 7, 20, 18), reason="需采购灯具",
                                  basis="采购流程", at=at(2023, 7, 4, 9), basis_files=[inspect(png(), "依据.png")])
        order.refresh_from_db()
        return order

    y = dispatched(yl, people["handler_zhao"], Y_TITLE, Y_NAME, Y_PHONE)
    j = dispatched(jl, people["handler_qian"], J_TITLE, J_NAME, J_PHONE)
    result = assess.compute_month(2023, 7, acting_user=zhou, at=at(2023, 8, 5, 9))
    assess.publish_result(result, acting_user=zhou, at=at(2023, 8, 5, 10))
    owned = {}
    for unit, handler, order in ((yl, people["handler_zhao"], y), (jl, people["handler_qian"], j)):
        article, _ = kb.load_published(title=f"{unit.short_name}路灯报修流程", body="拨打镇政府电话报修。",
                                       owner_unit=unit, at=at(2023, 6, 1, 9))
        appeal = Appeal.objects.create(unit=unit, year=2023, month=7, result=result, line_code="x", line_label="x",
                                       line_points=-1, reason=f"{unit.short_name}的申诉", filed_by=handler,
                                       filed_at=at(2023, 8, 6, 9))
        adjustment = assess.enter_adjustment(unit, 2023, 7, acting_user=zhou, points="-1",
                                             reason=f"{unit.short_name}的调整", at=at(2023, 8, 6, 9))
        # The world's events are of 2023, too old to notify anyone now (emit.MAX_AGE_MINUTES): the
        # unit's notification and its failed robot message are written as the emitter would.
        notify_users([handler.pk], kind="dispatched", title=f"新工单 {order.number}", order=order)
        notification = Notification.objects.get(recipient=handler)
        delivery = Delivery.objects.create(order=order, kind="dispatched", channel="wecom", recipient_kind="unit",
                                           unit=unit, address="https://qyapi.weixin.qq.com/x", body=order.title,
                                           status="failed", attempts=3, created_at=at(2023, 7, 3, 10))
        attachment = Attachment.objects.get(order=order)
        owned[unit.short_name] = {
            "order": order.number, "attachment": attachment.pk, "article": article.pk, "appeal": appeal.pk,
            "adjustment": adjustment.pk, "unit": unit.pk, "notification": notification.pk,
            "delivery": delivery.pk, "portal_order": order.number, "portal_file": attachment.pk,
        }
    missing = {slot: MISSING_PK for slot in owned["杨楼镇"]}
    missing.update(order=MISSING_NUMBER, portal_order=MISSING_NUMBER)
    job = ImportJob.objects.create(kind="orders", name="工单.xlsx", path="imports/none.xlsx", created_by=wang,
                                   created_at=at(2023, 7, 5, 9), state="done")
    Briefing.objects.create(year=2023, month=7)
    pair = NearDuplicate.objects.create(order=j, similar_to=y, jaccard=0.6, found_on=dt.date(2023, 7, 3))
    common = {"near_duplicate": pair.pk, "duplicate_decision": ["dismiss", "repeat"], "action": sorted(ACTION_FORMS), "year": 2023, "month": 7, "assessment_version": result.version, "briefing_version": 1,
              "briefing_fmt": ["docx", "html", "pdf"], "open311_fmt": ["json", "xml"], "service_code": "0401",
              "platform": "henan", "import_job": job.pk}
    return {"people": {u.username: u for u in User.objects.filter(pk__in=[p.pk for p in people.values()])},
            "y": y, "j": j, "fill": {"Y": {**common, **owned["杨楼镇"]}, "J": {**common, **owned["寄料镇"]},
                                     "M": {**common, **missing}}}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world, built once and rolled back after the module's last test."""
    from django.conf import settings

    with django_db_blocker.unblock():
        old_root = settings.MEDIA_ROOT
        settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))
        with transaction.atomic():
            yield build_world()
            transaction.set_rollback(True)
        settings.MEDIA_ROOT = old_root


ROLES = ("anonymous", "citizen", "operator_li", "dispatcher_wang", "handler_zhao", "handler_qian",
         "supervisor_zhou", "auditor_wu", "admin")
# Whose objects a role's "own" column is: the citizen proved 杨楼镇's order; a handler has one unit.
HOME = {"citizen": "Y", "handler_zhao": "Y", "handler_qian": "J"}
SLOTS_BY_OWNER = {"order", "attachment", "article", "appeal", "adjustment", "unit", "notification", "delivery",
                  "portal_order", "portal_file"}
POST_DATA = {"note": "x", "reason": "x", "decision": "accept", "correction_points": "1", "answer": "x"}
# Routes that change who is logged in: asked with a client of their own.
SESSION_ROUTES = {"login", "logout", "password_change", "password_change_done", "otp_verify", "otp_setup",
                  "set_language"}


def client_for(world, role: str) -> Client:
    client = Client()
    if role == "citizen":
        y = world["y"]
        response = client.post("/portal/track/", {"number": y.number, "phone": Y_PHONE})
        assert response.status_code == 302, "the citizen proves their order with its number and phone"
    elif role != "anonymous":
        client.force_login(world["people"][role])
    return client


def rows(world):
    """(label, owned, {variant: url}) for every URL of the table: one row per combination of the
    parameters that do not name a unit's object (an action, a format)."""
    out = []
    for key, entry in urltable.routes():
        per_variant = {v: urltable.combinations(key, world["fill"][v]) for v in "YJM"}
        for i, (kwargs, url) in enumerate(per_variant["Y"]):
            label = " ".join([key] + [str(value) for param, value in kwargs.items()
                                      if entry.params[param] not in SLOTS_BY_OWNER])
            if entry.owned or any(entry.params[p] in SLOTS_BY_OWNER for p in kwargs):
                out.append((label, key, {v: per_variant[v][i][1] for v in "YJM"}))
            else:
                out.append((label, key, {"-": url}))
    return out


def ask(client: Client, method: str, url: str):
    """One request in a savepoint rolled back afterwards: the world stays as built."""
    cache.clear()  # rate limits and cached counts start afresh for every request
    with transaction.atomic():
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, POST_DATA)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        transaction.set_rollback(True)
    return response.status_code, body, response.get("Location", "")


NOISE = [re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"'), re.compile(rb'nonce="[^"]*"'),
         re.compile(rb'"csrfToken": *"[^"]*"'), re.compile(rb"csrf-token\" content=\"[^\"]*\"")]


def shape(body: bytes, url: str) -> bytes:
    """The body with what is expected to differ between two requests removed: tokens, nonces, and
    the request's own address echoed back (a login link's ``next=``)."""
    for pattern in NOISE:
        body = pattern.sub(b"", body)
    for echo in (url, quote(url, safe=""), quote(url)):
        body = body.replace(echo.encode(), b"<URL>")
    return body


def observe(world):
    """{(label, method): {role: "status" or "Y|J|M statuses"}} and the bodies to compare."""
    table, bodies = {}, []
    for role in ROLES:
        shared = client_for(world, role)
        for label, key, urls in rows(world):
            for method in ("GET", "POST"):
                cells = {}
                for variant, url in urls.items():
                    client = client_for(world, role) if key in SESSION_ROUTES else shared
                    status, body, location = ask(client, method, url)
                    cells[variant] = status
                    bodies.append((role, label, method, variant, url, status, body, location))
                values = [cells[v] for v in urls]
                table.setdefault((label, method), {})[role] = (
                    str(values[0]) if len(set(values)) == 1 else "|".join(str(v) for v in values))
    return table, bodies


def format_table(table) -> str:
    lines = []
    for (label, method), cells in table.items():
        lines.append(f"    ({label!r}, {method!r}): {' '.join(cells[r] for r in ROLES)!r},")
    return "\n".join(lines)


def test_every_pattern_is_in_the_url_table():
    """A URL added without an entry in tests/urltable.py fails here: the matrix would skip it."""
    assert urltable.missing_from_table() == [], "add these patterns to tests/urltable.py ROUTES"
    assert urltable.stale_in_table() == [], "these ROUTES entries match no pattern any more"


def test_access_matrix(world):
    table, bodies = observe(world)
    if os.environ.get("ACCESS_MATRIX_PRINT"):
        print("\n" + format_table(table))
    observed = {key: " ".join(cells[r] for r in ROLES) for key, cells in table.items()}
    wrong = [f"{label} {method}: expected {MATRIX.get((label, method))!r}, got {got!r}"
             for (label, method), got in observed.items() if MATRIX.get((label, method)) != got]
    stale = sorted(set(MATRIX) - set(observed))
    assert not wrong and not stale, "\n".join(wrong + [f"no such row any more: {k}" for k in stale])
    check_other_is_missing(bodies)
    check_no_secrets(world, bodies)


def check_other_is_missing(bodies):
    """For a person with a home (a unit's handler, the citizen), another unit's object answers
    exactly as a missing one: same status, same body (tokens and the echoed address aside), same
    redirect — unless the object is one they may see (a shared knowledge article, a public order)."""
    by_key = {(role, label, method, variant): (url, status, body, location)
              for role, label, method, variant, url, status, body, location in bodies}
    checked = 0
    for (role, label, method, variant), (url, status, body, location) in by_key.items():
        home = HOME.get(role)
        if not home or variant in (home, "M", "-") or label.split()[0] in SHARED_OBJECTS:
            continue
        m_url, m_status, m_body, m_location = by_key[(role, label, method, "M")]
        where = f"{role} {method} {url}"
        assert status == m_status, f"{where}: {status}, a missing object answers {m_status}"
        assert shape(body, url) == shape(m_body, m_url), f"{where}: the body differs from a missing object's"
        assert shape(location.encode(), url) == shape(m_location.encode(), m_url), where
        checked += 1
    assert checked > 100  # every owned route for three people, both methods


# Objects a unit may see whoever owns them: published knowledge (shared by every unit, editable
# only by its owner — kb_edit answers 403, the article being visible anyway); Open311 shows the
# public every order, masked.
SHARED_OBJECTS = {"kb_detail", "kb_edit", "kb_review", "open311:request_detail", "notification_read"}


def check_no_secrets(world, bodies):
    """Nobody outside the center reads a caller's name or phone as written, anywhere; nobody reads
    another unit's order number or title outside the public pages (Open311, the portal)."""
    y, j = world["y"], world["j"]
    callers = {"Y": (Y_NAME, Y_PHONE), "J": (J_NAME, J_PHONE)}
    orders = {"Y": (y.number, Y_TITLE), "J": (j.number, J_TITLE)}
    for role, label, method, _variant, url, _status, body, location in bodies:
        if role in CENTER:
            continue
        key = label.split()[0]
        # What the request itself said (its address, echoed in a login link's ``next=``) is no leak.
        text = (shape(body, url) + shape(location.encode(), url)).decode("utf-8", errors="replace")
        home = HOME.get(role)
        for owner in "YJ":
            if owner == home and role != "citizen" and key == "order_reveal":
                continue  # the audited reveal: the unit's own caller, on request
            for secret in callers[owner]:
                assert secret not in text, f"{role} {method} {url} shows {secret}"
            if owner != home and urltable.ROUTES[key].auth not in (urltable.PUBLIC, urltable.PORTAL):
                for secret in orders[owner]:
                    assert secret not in text, f"{role} {method} {url} shows {owner}'s {secret}"


CENTER = {"operator_li", "dispatcher_wang", "supervisor_zhou", "admin"}


# (URL, method): the status of each role, in the order of ROLES —
#   anonymous  citizen  li(operator)  wang(dispatcher)  zhao(杨楼镇)  qian(寄料镇)  zhou(supervisor)  wu(auditor)  admin
# "a|b|c" is the status with 杨楼镇's object, 寄料镇's object and a missing one; a single value is all three.
# The object-less rows of the order page's actions 404 where the workflow does not offer the action
# now (the order is in 办理中 with a pending extension): an action nobody may take looks like no action.
MATRIX: dict[tuple[str, str], str] = {
    ('favicon.ico', 'GET'): '301 301 301 301 301 301 301 301 301',
    ('favicon.ico', 'POST'): '301 301 301 301 301 301 301 301 301',
    ('login', 'GET'): '200 200 200 200 200 200 200 200 200',
    ('login', 'POST'): '200 200 200 200 200 200 200 200 200',
    ('logout', 'GET'): '405 405 405 405 405 405 405 405 405',
    ('logout', 'POST'): '302 302 302 302 302 302 302 302 302',
    ('password_change', 'GET'): '302 302 200 200 200 200 200 200 200',
    ('password_change', 'POST'): '302 302 200 200 200 200 200 200 200',
    ('password_change_done', 'GET'): '302 302 200 200 200 200 200 200 200',
    ('password_change_done', 'POST'): '302 302 405 405 405 405 405 405 405',
    ('otp_verify', 'GET'): '302 302 302 302 302 302 302 302 302',
    ('otp_verify', 'POST'): '302 302 302 302 302 302 302 302 302',
    ('otp_setup', 'GET'): '302 302 302 302 302 302 200 200 200',
    ('otp_setup', 'POST'): '302 302 302 302 302 302 200 200 200',
    ('set_language', 'GET'): '302 302 302 302 302 302 302 302 302',
    ('set_language', 'POST'): '302 302 302 302 302 302 302 302 302',
    ('home', 'GET'): '302 302 200 200 200 200 200 200 200',
    ('home', 'POST'): '302 302 200 200 200 200 200 200 200',
    ('intake', 'GET'): '302 302 200 200 403 403 200 403 200',
    ('intake', 'POST'): '302 302 200 200 403 403 200 403 200',
    ('intake_lookup', 'GET'): '302 302 200 200 403 403 200 403 200',
    ('intake_lookup', 'POST'): '302 302 200 200 403 403 200 403 200',
    ('kb_search', 'GET'): '302 302 200 200 200 200 200 403 200',
    ('kb_search', 'POST'): '302 302 200 200 200 200 200 403 200',
    ('intake_queue', 'GET'): '302 302 200 200 403 403 200 403 200',
    ('intake_queue', 'POST'): '302 302 200 200 403 403 200 403 200',
    ('dispatch', 'GET'): '302 302 403 200 403 403 200 403 200',
    ('dispatch', 'POST'): '302 302 403 200 403 403 200 403 200',
    ('inbox', 'GET'): '302 302 403 403 200 200 403 403 200',
    ('inbox', 'POST'): '302 302 403 403 200 200 403 403 200',
    ('callbacks', 'GET'): '302 302 200 200 403 403 200 403 200',
    ('callbacks', 'POST'): '302 302 200 200 403 403 200 403 200',
    ('supervision', 'GET'): '302 302 403 200 403 403 200 403 200',
    ('supervision', 'POST'): '302 302 403 200 403 403 200 403 200',
    ('dashboard', 'GET'): '302 302 200 200 200 200 200 200 200',
    ('dashboard', 'POST'): '302 302 200 200 200 200 200 200 200',
    ('kb_list', 'GET'): '302 302 200 200 200 200 200 403 200',
    ('kb_list', 'POST'): '302 302 200 200 200 200 200 403 200',
    ('kb_new', 'GET'): '302 302 200 200 200 200 200 403 200',
    ('kb_new', 'POST'): '302 302 200 200 200 200 200 403 200',
    ('kb_detail', 'GET'): '302 302 200|200|404 200|200|404 200|200|404 200|200|404 200|200|404 403 200|200|404',
    ('kb_detail', 'POST'): '302 302 200|200|404 200|200|404 200|200|404 200|200|404 200|200|404 403 200|200|404',
    ('kb_edit', 'GET'): '302 302 200|200|404 200|200|404 200|403|404 403|200|404 200|200|404 403 200|200|404',
    ('kb_edit', 'POST'): '302 302 200|200|404 200|200|404 200|403|404 403|200|404 200|200|404 403 200|200|404',
    ('kb_review', 'GET'): '302 302 405 405 405 405 405 405 405',
    ('kb_review', 'POST'): '302 302 403 404 403 403 404 403 404',
    ('order_list', 'GET'): '302 302 200 200 200 200 200 200 200',
    ('order_list', 'POST'): '302 302 200 200 200 200 200 200 200',
    ('order_export', 'GET'): '302 302 200 200 200 200 200 200 200',
    ('order_export', 'POST'): '302 302 200 200 200 200 200 200 200',
    ('order_detail', 'GET'): '302 302 200|200|404 200|200|404 200|404|404 404|200|404 200|200|404 404 200|200|404',
    ('order_detail', 'POST'): '302 302 200|200|404 200|200|404 200|404|404 404|200|404 200|200|404 404 200|200|404',
    ('order_reveal', 'GET'): '302 302 405 405 405 405 405 405 405',
    ('order_reveal', 'POST'): '302 302 200|200|404 200|200|404 200|404|404 404|200|404 200|200|404 404 403|403|404',
    ('order_action acknowledge_reminder', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action acknowledge_reminder', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action annotate', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action annotate', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action approve_extension', 'GET'): '302 302 404 200|200|404 404 404 200|200|404 404 404',
    ('order_action approve_extension', 'POST'): '302 302 404 302|302|404 404 404 302|302|404 404 404',
    ('order_action approve_reply', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action approve_reply', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action approve_return', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action approve_return', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action approve_suspension', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action approve_suspension', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action callback_close', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action callback_close', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action callback_redispatch', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action callback_redispatch', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action callback_rework', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action callback_rework', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action co_reply', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action co_reply', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action co_sign', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action co_sign', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action coordinate', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action coordinate', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action direct_answer', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action direct_answer', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action dispatch', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action dispatch', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action exclude_from_assessment', 'GET'): '302 302 404 404 404 404 200|200|404 404 404',
    ('order_action exclude_from_assessment', 'POST'): '302 302 404 404 404 404 200|200|404 404 404',
    ('order_action inform', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action inform', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action merge', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action merge', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action not_accept', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action not_accept', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action reject_extension', 'GET'): '302 302 404 200|200|404 404 404 200|200|404 404 404',
    ('order_action reject_extension', 'POST'): '302 302 404 302|302|404 404 404 302|302|404 404 404',
    ('order_action reject_return', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action reject_return', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action reject_suspension', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action reject_suspension', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action remind', 'GET'): '302 302 404 200|200|404 404 404 200|200|404 404 404',
    ('order_action remind', 'POST'): '302 302 404 302|302|404 404 404 302|302|404 404 404',
    ('order_action reply', 'GET'): '302 302 404 404 200|404|404 404|200|404 404 404 404',
    ('order_action reply', 'POST'): '302 302 404 404 200|404|404 404|200|404 404 404 404',
    ('order_action report_back', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action report_back', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action request_extension', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action request_extension', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action request_return', 'GET'): '302 302 404 404 200|404|404 404|200|404 404 404 404',
    ('order_action request_return', 'POST'): '302 302 404 404 200|404|404 404|200|404 404 404 404',
    ('order_action request_suspension', 'GET'): '302 302 404 404 200|404|404 404|200|404 404 404 404',
    ('order_action request_suspension', 'POST'): '302 302 404 404 302|404|404 404|302|404 404 404 404',
    ('order_action respond_supervision', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action respond_supervision', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action resume', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action resume', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action send_back', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action send_back', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action sign', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action sign', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action submit_for_dispatch', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action submit_for_dispatch', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('order_action supervise', 'GET'): '302 302 404 404 404 404 200|200|404 404 404',
    ('order_action supervise', 'POST'): '302 302 404 404 404 404 200|200|404 404 404',
    ('order_action transfer', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('order_action transfer', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('attachment_file', 'GET'): '302 302 200|200|404 200|200|404 200|404|404 404|200|404 200|200|404 404 200|200|404',
    ('attachment_file', 'POST'): '302 302 405 405 405 405 405 405 405',
    ('attachment_thumb', 'GET'): '302 302 200|200|404 200|200|404 200|404|404 404|200|404 200|200|404 404 200|200|404',
    ('attachment_thumb', 'POST'): '302 302 405 405 405 405 405 405 405',
    ('audit_log', 'GET'): '302 302 403 403 403 403 403 200 200',
    ('audit_log', 'POST'): '302 302 403 403 403 403 403 200 200',
    ('notifications', 'GET'): '302 302 200 200 200 200 200 200 200',
    ('notifications', 'POST'): '302 302 200 200 200 200 200 200 200',
    ('notifications_read_all', 'GET'): '302 302 405 405 405 405 405 405 405',
    ('notifications_read_all', 'POST'): '302 302 302 302 302 302 302 302 302',
    ('notification_read', 'GET'): '302 302 405 405 405 405 405 405 405',
    ('notification_read', 'POST'): '302 302 302 302 302 302 302 302 302',
    ('notification_preferences', 'GET'): '302 302 200 200 200 200 200 200 200',
    ('notification_preferences', 'POST'): '302 302 302 302 302 302 302 302 302',
    ('unit_contacts', 'GET'): '302 302 403 200 403 403 403 403 200',
    ('unit_contacts', 'POST'): '302 302 403 200 403 403 403 403 200',
    ('unit_contact', 'GET'): '302 302 403 200|200|404 403 403 403 403 200|200|404',
    ('unit_contact', 'POST'): '302 302 403 302|302|404 403 403 403 403 302|302|404',
    ('live_stream', 'GET'): '204 204 204 204 204 204 204 204 204',
    ('live_stream', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('healthz', 'GET'): '200 200 200 200 200 200 200 200 200',
    ('healthz', 'POST'): '200 200 200 200 200 200 200 200 200',
    ('briefing:list', 'GET'): '302 302 404 404 404 404 200 404 200',
    ('briefing:list', 'POST'): '302 302 404 404 404 404 200 404 200',
    ('briefing:create', 'GET'): '302 302 404 404 404 404 405 404 405',
    ('briefing:create', 'POST'): '302 302 404 404 404 404 302 404 302',
    ('briefing:stats', 'GET'): '302 302 404 404 404 404 200 404 200',
    ('briefing:stats', 'POST'): '302 302 404 404 404 404 200 404 200',
    ('briefing:edit 2023 7', 'GET'): '302 302 404 404 404 404 200 404 200',
    ('briefing:edit 2023 7', 'POST'): '302 302 404 404 404 404 302 404 302',
    ('briefing:build 2023 7', 'GET'): '302 302 404 404 404 404 405 404 405',
    ('briefing:build 2023 7', 'POST'): '302 302 404 404 404 404 302 404 302',
    ('briefing:status 2023 7', 'GET'): '302 302 404 404 404 404 200 404 200',
    ('briefing:status 2023 7', 'POST'): '302 302 404 404 404 404 200 404 200',
    ('briefing:publish 2023 7', 'GET'): '302 302 404 404 404 404 405 404 405',
    ('briefing:publish 2023 7', 'POST'): '302 302 404 404 404 404 302 404 302',
    ('briefing:draft_download 2023 7 docx', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('briefing:draft_download 2023 7 docx', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('briefing:draft_download 2023 7 html', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('briefing:draft_download 2023 7 html', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('briefing:draft_download 2023 7 pdf', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('briefing:draft_download 2023 7 pdf', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('briefing:download 2023 7 1 docx', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('briefing:download 2023 7 1 docx', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('briefing:download 2023 7 1 html', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('briefing:download 2023 7 1 html', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('briefing:download 2023 7 1 pdf', 'GET'): '302 302 404 404 404 404 404 404 404',
    ('briefing:download 2023 7 1 pdf', 'POST'): '302 302 404 404 404 404 404 404 404',
    ('assessment:index', 'GET'): '302 302 302 200 302 302 200 302 200',
    ('assessment:index', 'POST'): '302 302 302 200 302 302 200 302 200',
    ('assessment:mine', 'GET'): '302 302 403 302 200 200 302 403 302',
    ('assessment:mine', 'POST'): '302 302 403 302 200 200 302 403 302',
    ('assessment:appeals', 'GET'): '302 302 404 200 404 404 200 404 200',
    ('assessment:appeals', 'POST'): '302 302 404 200 404 404 200 404 200',
    ('assessment:decide_appeal', 'GET'): '302 302 405 405 405 405 405 405 405',
    ('assessment:decide_appeal', 'POST'): '302 302 404 302|302|404 404 404 302|302|404 404 302|302|404',
    ('assessment:adjustments', 'GET'): '302 302 404 200 404 404 200 404 200',
    ('assessment:adjustments', 'POST'): '302 302 404 302 404 404 302 404 302',
    ('assessment:decide_adjustment', 'GET'): '302 302 405 405 405 405 405 405 405',
    ('assessment:decide_adjustment', 'POST'): '302 302 404 302|302|404 404 404 302|302|404 404 302|302|404',
    ('assessment:month 2023 7', 'GET'): '302 302 404 200 404 404 200 404 200',
    ('assessment:month 2023 7', 'POST'): '302 302 404 200 404 404 200 404 200',
    ('assessment:compute 2023 7', 'GET'): '302 302 405 405 405 405 405 405 405',
    ('assessment:compute 2023 7', 'POST'): '302 302 404 302 404 404 302 404 302',
    ('assessment:publish 2023 7 1', 'GET'): '302 302 405 405 405 405 405 405 405',
    ('assessment:publish 2023 7 1', 'POST'): '302 302 404 302 404 404 302 404 302',
    ('assessment:export 2023 7', 'GET'): '302 302 404 200 404 404 200 404 200',
    ('assessment:export 2023 7', 'POST'): '302 302 404 200 404 404 200 404 200',
    ('assessment:sheet 2023 7', 'GET'): '302 302 404 200|200|404 200|404|404 404|200|404 200|200|404 404 200|200|404',
    ('assessment:sheet 2023 7', 'POST'): '302 302 404 200|200|404 200|404|404 404|200|404 200|200|404 404 200|200|404',
    ('assessment:file_appeal 2023 7', 'GET'): '302 302 405 405 405 405 405 405 405',
    ('assessment:file_appeal 2023 7', 'POST'): '302 302 404 302|302|404 302|404|404 404|302|404 302|302|404 404 302|302|404',
    ('openapi', 'GET'): '200 200 200 200 200 200 200 200 200',
    ('openapi', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('api:orders', 'GET'): '405 405 405 405 405 405 405 405 405',
    ('api:orders', 'POST'): '401 401 400 400 400 400 400 400 400',
    ('api:order_detail', 'GET'): '401 401 200|200|404 200|200|404 200|404|404 404|200|404 200|200|404 404 200|200|404',
    ('api:order_detail', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('api:month_metrics 2023 7', 'GET'): '401 401 403 200 200 200 200 403 200',
    ('api:month_metrics 2023 7', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('portal:index', 'GET'): '200 200 200 200 200 200 200 200 200',
    ('portal:index', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('portal:submit', 'GET'): '200 200 200 200 200 200 200 200 200',
    ('portal:submit', 'POST'): '200 200 200 200 200 200 200 200 200',
    ('portal:submitted', 'GET'): '302 302 302 302 302 302 302 302 302',
    ('portal:submitted', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('portal:category_options', 'GET'): '200 200 200 200 200 200 200 200 200',
    ('portal:category_options', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('portal:kb', 'GET'): '200 200 200 200 200 200 200 200 200',
    ('portal:kb', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('portal:kb_article', 'GET'): '404 404 404 404 404 404 404 404 404',
    ('portal:kb_article', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('portal:track', 'GET'): '200 200 200 200 200 200 200 200 200',
    ('portal:track', 'POST'): '200 200 200 200 200 200 200 200 200',
    ('portal:track_detail', 'GET'): '302 200|302|302 302 302 302 302 302 302 302',
    ('portal:track_detail', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('portal:rate', 'GET'): '405 405 405 405 405 405 405 405 405',
    ('portal:rate', 'POST'): '302 400|302|302 302 302 302 302 302 302 302',
    ('portal:evidence_file', 'GET'): '404 404 404 404 404 404 404 404 404',
    ('portal:evidence_file', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('portal:evidence_thumb', 'GET'): '404 404 404 404 404 404 404 404 404',
    ('portal:evidence_thumb', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('triage_suggest', 'GET'): '302 302 200 200 404 404 200 404 200',
    ('triage_suggest', 'POST'): '302 302 405 405 405 405 405 405 405',
    ('triage_duplicates', 'GET'): '302 302 403 200 403 403 200 403 200',
    ('triage_duplicates', 'POST'): '302 302 405 405 405 405 405 405 405',
    ('triage_duplicate_review 1 dismiss', 'GET'): '302 302 405 405 405 405 405 405 405',
    ('triage_duplicate_review 1 dismiss', 'POST'): '302 302 403 302 403 403 302 403 409',
    ('triage_duplicate_review 1 repeat', 'GET'): '302 302 405 405 405 405 405 405 405',
    ('triage_duplicate_review 1 repeat', 'POST'): '302 302 403 409 403 403 409 403 409',
    ('open311:services json', 'GET'): '200 200 200 200 200 200 200 200 200',
    ('open311:services json', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('open311:services xml', 'GET'): '200 200 200 200 200 200 200 200 200',
    ('open311:services xml', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('open311:service_definition 0401 json', 'GET'): '200 200 200 200 200 200 200 200 200',
    ('open311:service_definition 0401 json', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('open311:service_definition 0401 xml', 'GET'): '200 200 200 200 200 200 200 200 200',
    ('open311:service_definition 0401 xml', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('open311:requests json', 'GET'): '200 200 200 200 200 200 200 200 200',
    ('open311:requests json', 'POST'): '403 403 403 403 403 403 403 403 403',
    ('open311:requests xml', 'GET'): '200 200 200 200 200 200 200 200 200',
    ('open311:requests xml', 'POST'): '403 403 403 403 403 403 403 403 403',
    ('open311:request_detail json', 'GET'): '200|200|404 200|200|404 200|200|404 200|200|404 200|200|404 200|200|404 200|200|404 200|200|404 200|200|404',
    ('open311:request_detail json', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('open311:request_detail xml', 'GET'): '200|200|404 200|200|404 200|200|404 200|200|404 200|200|404 200|200|404 200|200|404 200|200|404 200|200|404',
    ('open311:request_detail xml', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('intake/upstream/<slug:platform_code>/orders henan', 'GET'): '405 405 405 405 405 405 405 405 405',
    ('intake/upstream/<slug:platform_code>/orders henan', 'POST'): '403 403 403 403 403 403 403 403 403',
    ('intake:import', 'GET'): '302 302 403 200 403 403 200 403 200',
    ('intake:import', 'POST'): '302 302 403 400 403 403 400 403 400',
    ('intake:import_job 1', 'GET'): '302 302 403 200 403 403 404 403 404',
    ('intake:import_job 1', 'POST'): '302 302 403 200 403 403 404 403 404',
    ('intake:import_status 1', 'GET'): '302 302 403 200 403 403 404 403 404',
    ('intake:import_status 1', 'POST'): '302 302 403 200 403 403 404 403 404',
    ('intake:import_confirm 1', 'GET'): '302 302 405 405 405 405 405 405 405',
    ('intake:import_confirm 1', 'POST'): '302 302 403 400 403 403 404 403 404',
    ('notify:dlr', 'GET'): '403 403 403 403 403 403 403 403 403',
    ('notify:dlr', 'POST'): '405 405 405 405 405 405 405 405 405',
    ('notify:failures', 'GET'): '302 302 403 200 403 403 200 403 200',
    ('notify:failures', 'POST'): '302 302 403 200 403 403 200 403 200',
    ('notify:retry', 'GET'): '302 302 405 405 405 405 405 405 405',
    ('notify:retry', 'POST'): '302 302 403 302 403 403 302 403 302',
}
