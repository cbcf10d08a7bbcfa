"""Hostile input in every HTML form: the staff console, the portal, assessment, briefing, the
knowledge base, notifications and the Django admin.

The story: every person of the demo (operator 李, dispatcher 王, handler 赵 of 杨楼镇, handler 钱 of
寄料镇, supervisor 周, admin) — and a citizen on the portal — opens each page they use, and pastes
garbage into every field of every form there: control characters, NUL, lone surrogates, 10,000
characters, impossible dates (2023-02-30, 25:00, year 1), "false"/"true" for yes/no, negative and
huge numbers, the other unit's ids, or leaves fields out. Whatever they send:

- the answer is never a 5xx;
- a refusal (an error on the page, a 400/403/404, or an error message after a redirect) says why in
  Chinese and changes nothing in the database;
- whatever is accepted is stored cleaned (no control character in any text column), and the outputs
  that include it still open: the order export in openpyxl, Open311 XML in an XML parser, and the
  briefing's DOCX in python-docx.

``URLS`` names, for every URL pattern of the project (listed by tests/urltable.py, the access
matrix's enumerator), who uses it and how its path parameters are filled;
``test_every_url_is_in_the_table`` fails when a pattern is added without a row, so a new form cannot
escape the fuzz. The admin's per-model patterns are covered by ``ADMIN_MODELS``.
Machine entries (the JSON API, Open311, the upstream push, Kannel's reports) are fuzzed in
tests/test_hostile_input.py and tests/test_schemathesis.py; the Excel import's file in
tests/test_import_limits.py — here only their HTML pages are.
"""

from __future__ import annotations

import dataclasses
import io
import re
import xml.etree.ElementTree as ET
from urllib.parse import quote, urljoin, urlsplit

import lxml.html
import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.db import models, transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import urltable
from tests.conftest import at

pytestmark = pytest.mark.django_db

# ---------------------------------------------------------------------------------------------
# Who uses which URL, and how to fill its path parameters

ANON, MACHINE = "anonymous", "machine"


@dataclasses.dataclass(frozen=True)
class Url:
    """``who`` opens the page (a demo username, ``anonymous`` for the portal, ``machine`` for an
    entry no person opens in a browser); ``params`` maps each path parameter to a key of the
    ``world`` fixture (or a literal); ``forms`` says the page shows that person POST forms to fuzz."""

    who: str
    params: dict = dataclasses.field(default_factory=dict)
    forms: bool = False


URLS = {
    "favicon.ico": Url(ANON),
    "login": Url(ANON, forms=True),
    "logout": Url("operator_li"),  # a POST button in every page's header, no fields
    "password_change": Url("handler_zhao", forms=True),
    "password_change_done": Url("handler_zhao"),
    "otp_verify": Url("supervisor_zhou"),  # redirects to setup until a device is enrolled
    "otp_setup": Url("supervisor_zhou", forms=True),
    "set_language": Url(ANON),  # the language switch: fuzzed through login's page (base.html)
    "home": Url("operator_li"),
    "intake": Url("operator_li", forms=True),
    "intake_lookup": Url("operator_li"),
    "kb_search": Url("operator_li"),
    "intake_queue": Url("operator_li"),
    "dispatch": Url("dispatcher_wang"),
    "inbox": Url("handler_zhao"),
    "callbacks": Url("supervisor_zhou"),
    "supervision": Url("supervisor_zhou"),
    "dashboard": Url("supervisor_zhou"),
    "kb_list": Url("handler_zhao"),
    "kb_new": Url("handler_zhao", forms=True),
    "kb_detail": Url("supervisor_zhou", {"pk": "proposed_article"}, forms=True),
    "kb_edit": Url("supervisor_zhou", {"pk": "article"}, forms=True),
    "kb_review": Url("supervisor_zhou", {"pk": "proposed_article"}),  # posted from kb_detail's form
    "order_list": Url("dispatcher_wang"),
    "order_export": Url("dispatcher_wang"),
    "order_detail": Url("dispatcher_wang", {"key": "handling"}, forms=True),  # the reveal button
    "order_reveal": Url("dispatcher_wang", {"key": "handling"}),
    # One row per workflow action in ACTIONS below: who performs it on which order.
    "order_action": Url("by ACTIONS", {"key": "by ACTIONS", "action": "by ACTIONS"}, forms=True),
    "attachment_file": Url("handler_zhao", {"pk": "attachment"}),
    "attachment_thumb": Url("handler_zhao", {"pk": "attachment"}),
    "audit_log": Url("auditor_wu"),
    "notifications": Url("handler_zhao", forms=True),
    "notifications_read_all": Url("handler_zhao"),  # posted from the notifications page
    "notification_read": Url("handler_zhao", {"pk": "notification"}),
    "notification_preferences": Url("handler_zhao", forms=True),
    "unit_contacts": Url("dispatcher_wang"),
    "unit_contact": Url("dispatcher_wang", {"pk": "yanglou"}, forms=True),
    "live_stream": Url("handler_zhao"),
    "healthz": Url(MACHINE),
    "briefing:list": Url("supervisor_zhou", forms=True),
    "briefing:create": Url("supervisor_zhou"),  # posted from briefing:list
    "briefing:stats": Url("supervisor_zhou"),
    "briefing:edit": Url("supervisor_zhou", {"year": 2023, "month": 7}, forms=True),
    "briefing:build": Url("supervisor_zhou", {"year": 2023, "month": 7}),  # posted from briefing:edit
    "briefing:status": Url("supervisor_zhou", {"year": 2023, "month": 7}),
    "briefing:publish": Url("supervisor_zhou", {"year": 2023, "month": 7}),  # posted from briefing:edit
    "briefing:draft_download": Url("supervisor_zhou", {"year": 2023, "month": 7, "fmt": "docx"}),
    "briefing:download": Url("supervisor_zhou", {"year": 2023, "month": 7, "number": 1, "fmt": "docx"}),
    "assessment:index": Url("supervisor_zhou"),
    "assessment:mine": Url("handler_zhao"),
    "assessment:appeals": Url("supervisor_zhou", forms=True),
    "assessment:decide_appeal": Url("supervisor_zhou", {"appeal_id": "appeal"}),  # from appeals
    "assessment:adjustments": Url("supervisor_zhou", forms=True),
    "assessment:decide_adjustment": Url("supervisor_zhou", {"adjustment_id": "adjustment"}),
    "assessment:month": Url("supervisor_zhou", {"year": 2023, "month": 7}, forms=True),
    "assessment:compute": Url("supervisor_zhou", {"year": 2023, "month": 7}),  # from month
    "assessment:publish": Url("supervisor_zhou", {"year": 2023, "month": 7, "version": 1}),
    "assessment:export": Url("supervisor_zhou", {"year": 2023, "month": 7}),
    # The appeal form shows only within the appeal window on a deduction: tests/test_assessment_views.py.
    "assessment:sheet": Url("handler_zhao", {"year": 2023, "month": 7, "unit_id": "yanglou"}),
    "assessment:file_appeal": Url("handler_zhao", {"year": 2023, "month": 7, "unit_id": "yanglou"}),
    "openapi": Url(MACHINE),
    "api:orders": Url(MACHINE),
    "api:order_detail": Url(MACHINE, {"key": "handling"}),
    "api:month_metrics": Url(MACHINE, {"year": 2023, "month": 7}),
    "portal:index": Url(ANON),
    "portal:submit": Url(ANON, forms=True),
    "portal:submitted": Url(ANON),
    "portal:category_options": Url(ANON),
    "portal:kb": Url(ANON),
    "portal:kb_article": Url(ANON, {"pk": "article"}),
    "portal:track": Url(ANON, forms=True),
    "portal:track_detail": Url(ANON, {"number": "awaiting_callback"}),  # needs the phone: tested below
    "portal:rate": Url(ANON, {"number": "awaiting_callback"}),
    "portal:evidence_file": Url(ANON, {"number": "awaiting_callback", "pk": "attachment"}),
    "portal:evidence_thumb": Url(ANON, {"number": "awaiting_callback", "pk": "attachment"}),
    "triage_suggest": Url("operator_li"),
    "triage_duplicates": Url("dispatcher_wang", forms=True),
    "triage_duplicate_review": Url("dispatcher_wang", {"pk": "near_duplicate", "decision": "dismiss"}),  # from it
    "open311:services": Url(MACHINE, {"fmt": "xml"}),
    "open311:service_definition": Url(MACHINE, {"code": "0401", "fmt": "xml"}),
    "open311:requests": Url(MACHINE, {"fmt": "xml"}),
    "open311:request_detail": Url(MACHINE, {"number": "handling", "fmt": "xml"}),
    "intake/upstream/<slug:platform_code>/orders": Url(MACHINE, {"platform_code": "pds"}),
    "intake:import": Url("dispatcher_wang", forms=True),
    "intake:import_job": Url("dispatcher_wang", {"pk": "import_job"}),
    "intake:import_status": Url("dispatcher_wang", {"pk": "import_job"}),
    "intake:import_confirm": Url("dispatcher_wang", {"pk": "import_job"}),
    "notify:dlr": Url(MACHINE),
    "notify:failures": Url("dispatcher_wang", forms=True),
    "notify:retry": Url("dispatcher_wang", {"pk": "failed_delivery"}),  # from failures
    # The admin site's own pages; each model's pages are in ADMIN_MODELS.
    "admin:index": Url("admin"),
    "admin:login": Url("admin"),
    "admin:logout": Url("admin"),
    "admin:password_change": Url("admin", forms=True),
    "admin:password_change_done": Url("admin"),
    "admin:autocomplete": Url("admin"),
    "admin:jsi18n": Url("admin"),
    "admin:view_on_site": Url("admin", {"content_type_id": 1, "object_id": 1}),
    "admin/(?P<url>.*)$": Url("admin", {"url": "no/such/page/"}),  # the admin's catch-all
    "admin:app_list": Url("admin", {"app_label": "workorders"}),
}

# Every model in the admin: its add and change forms are fuzzed as admin (the add page only where
# the admin offers one: rows that only an action function writes are not added by hand).
ADMIN_MODELS = {
    "auth.Group", "axes.AccessAttempt", "axes.AccessLog", "axes.AccessFailureLog", "otp_totp.TOTPDevice",
    "django_tasks_database.DBTaskResult", "accounts.User", "accounts.AuditLog", "directory.Unit",
    "directory.UnitGroup", "directory.UpstreamPlatform", "directory.Stationing", "catalog.Category",
    "catalog.AppealType", "catalog.SlaPolicy", "catalog.CalendarOverride", "catalog.CalendarYear",
    "catalog.KnowledgeArticle", "catalog.KnowledgeRevision", "catalog.DispatchRule", "intake.UpstreamCredential",
    "intake.ReportBackAttempt", "triage.TriageModel", "triage.Suggestion", "assessment.ScorecardVersion",
    "assessment.MonthlyResult", "assessment.ManualAdjustment", "assessment.BonusAward",
    "assessment.ExclusionDecision", "assessment.Appeal", "open311.Open311Client", "notify.UnitContact",
    "notify.Preference", "notify.Delivery",
}
# Models whose rows only an action (or a machine) writes: the admin must not offer "add".
ADMIN_NO_ADD = {
    "axes.AccessAttempt", "axes.AccessLog", "axes.AccessFailureLog", "django_tasks_database.DBTaskResult",
    "accounts.AuditLog", "catalog.KnowledgeArticle", "intake.UpstreamCredential", "catalog.KnowledgeRevision", "intake.ReportBackAttempt", "triage.TriageModel",
    "triage.Suggestion", "assessment.MonthlyResult", "assessment.ManualAdjustment", "assessment.BonusAward",
    "assessment.ExclusionDecision", "assessment.Appeal", "notify.Delivery",
}
ADMIN_VIEWS = ("changelist", "add", "change", "delete", "history")

# Each workflow action: who performs it, on which order of the world (the order's key in ``world``).
ACTIONS = {
    "direct_answer": ("operator_li", "received"),
    "coordinate": ("operator_li", "received"),
    "submit_for_dispatch": ("operator_li", "received"),
    "transfer": ("operator_li", "received"),
    "inform": ("operator_li", "received"),
    "not_accept": ("operator_li", "received"),
    "merge": ("operator_li", "received"),
    "dispatch": ("dispatcher_wang", "awaiting_dispatch"),
    "sign": ("handler_zhao", "dispatched"),
    "co_sign": ("handler_qian", "dispatched"),
    "request_return": ("handler_zhao", "handling"),
    "request_extension": ("handler_zhao", "handling"),
    "request_suspension": ("handler_zhao", "handling"),
    "reply": ("handler_zhao", "handling"),
    "co_reply": ("handler_qian", "handling"),
    "approve_return": ("dispatcher_wang", "return_requested"),
    "reject_return": ("dispatcher_wang", "return_requested"),
    "approve_extension": ("dispatcher_wang", "extension_requested"),
    "reject_extension": ("dispatcher_wang", "extension_requested"),
    "approve_suspension": ("dispatcher_wang", "suspension_requested"),
    "reject_suspension": ("dispatcher_wang", "suspension_requested"),
    "resume": ("handler_zhao", "suspended"),
    "approve_reply": ("dispatcher_wang", "replied"),
    "send_back": ("dispatcher_wang", "replied"),
    "callback_close": ("supervisor_zhou", "awaiting_callback"),
    "callback_rework": ("supervisor_zhou", "awaiting_callback"),
    "callback_redispatch": ("supervisor_zhou", "awaiting_callback_center"),
    "remind": ("supervisor_zhou", "handling"),
    "supervise": ("supervisor_zhou", "handling"),
    "acknowledge_reminder": ("handler_zhao", "reminded"),
    "respond_supervision": ("handler_zhao", "supervised"),
    # Not a console form: queries.available_actions leaves it out (its page answers 404, below).
    "annotate": ("supervisor_zhou", "handling"),
    "report_back": ("dispatcher_wang", "upstream_closed"),
    "exclude_from_assessment": ("supervisor_zhou", "handling"),
}


def all_patterns() -> list[tuple[str, str, list[str]]]:
    """(key, route, parameter names) of every URL pattern: the one enumerator of tests/urltable.py
    (the access matrix's), so both tests see the same list of URLs."""
    return [(p.key, p.route, list(p.params)) for p in urltable.patterns()]


def admin_model_of(route: str) -> str | None:
    """``app.Model`` of a URL under a model's admin pages (``admin/<app>/<model>/…``), or None."""
    for model in admin.site._registry:
        if route.startswith(f"admin/{model._meta.app_label}/{model._meta.model_name}/"):
            return model._meta.label
    return None


def test_every_url_is_in_the_table():
    patterns = all_patterns()
    assert len(patterns) > 150  # the whole project, admin included, was walked
    missing = []
    for key, route, params in patterns:
        label = admin_model_of(route)
        if label is not None:
            if label not in ADMIN_MODELS:
                missing.append(f"{key} (admin model {label}: add it to ADMIN_MODELS)")
            continue
        row = URLS.get(key)
        if row is None:
            missing.append(f"{key} ({route}): add a row to URLS saying who uses it")
        elif not urltable.is_admin(key) and set(row.params) != set(params):  # the admin's are regexes
            missing.append(f"{key}: URLS fills {sorted(row.params)}, the pattern has {sorted(params)}")
    assert not missing, "URL patterns without a row:\n" + "\n".join(missing)
    registered = {m._meta.label for m in admin.site._registry}
    assert registered == ADMIN_MODELS, registered ^ ADMIN_MODELS
    from hotline.web.forms import ACTION_FORMS

    assert set(ACTIONS) == set(ACTION_FORMS), set(ACTIONS) ^ set(ACTION_FORMS)
    stale = set(URLS) - {k for k, _, _ in patterns}
    assert not stale, f"rows for URLs that no longer exist: {stale}"


# ---------------------------------------------------------------------------------------------
# The world: one order in each state the actions need, and the objects the other pages show


@pytest.fixture
def world(people, unit, new_order):
    from hotline.workorders import actions

    li, wang, zhao, qian, zhou = (people[k] for k in ("operator_li", "dispatcher_wang", "handler_zhao",
                                                       "handler_qian", "supervisor_zhou"))
    yanglou, jiliao = unit("杨楼镇"), unit("寄料镇")

    def order(**kw):
        return new_order(at=None, **kw)

    def dispatched(**kw):
        o = order(**kw)
        actions.submit_for_dispatch(o, acting_user=li)
        actions.dispatch(o, acting_user=wang, lead_unit=yanglou, co_units=[jiliao])
        return o

    def handling(**kw):
        o = dispatched(**kw)
        actions.sign(o, acting_user=zhao)
        actions.co_sign(o, acting_user=qian)
        return o

    w = {"yanglou": yanglou.pk, "jiliao": jiliao.pk, "admin_id": people["admin"].pk}
    w["received"] = order()
    w["merge_target"] = order(title="同一路段另一来电")
    w["awaiting_dispatch"] = order()
    actions.submit_for_dispatch(w["awaiting_dispatch"], acting_user=li)
    w["dispatched"] = dispatched()
    w["handling"] = handling()
    w["return_requested"] = handling()
    actions.request_return(w["return_requested"], acting_user=zhao, reason="不属于本镇职责", basis="三定方案")
    w["extension_requested"] = handling()
    actions.request_extension(w["extension_requested"], acting_user=zhao,
                              new_deadline=w["extension_requested"].handle_deadline + dt_days(5),
                              reason="需采购材料", basis="采购流程")
    w["suspension_requested"] = handling()
    actions.request_suspension(w["suspension_requested"], acting_user=zhao, reason="需列入明年计划", basis="规划")
    w["suspended"] = handling()
    actions.request_suspension(w["suspended"], acting_user=zhao, reason="需列入明年计划", basis="规划")
    actions.approve_suspension(w["suspended"], acting_user=wang)
    w["replied"] = handling()
    actions.co_reply(w["replied"], acting_user=qian, public_reply="寄料镇已配合。")
    actions.reply(w["replied"], acting_user=zhao, public_reply="已修复路面。", is_true="true", solved=True)
    w["awaiting_callback"] = handling(caller_phone="13800001234")
    actions.co_reply(w["awaiting_callback"], acting_user=qian, public_reply="寄料镇已配合。")
    actions.reply(w["awaiting_callback"], acting_user=zhao, public_reply="已修复路面。", is_true="true", solved=True)
    actions.approve_reply(w["awaiting_callback"], acting_user=wang)
    w["awaiting_callback_center"] = order()
    actions.coordinate(w["awaiting_callback_center"], acting_user=li, answer="中心已协调解决。")
    w["reminded"] = handling()
    actions.remind(w["reminded"], acting_user=zhou, notice="请尽快办理")
    w["supervised"] = handling()
    actions.supervise(w["supervised"], acting_user=zhou, notice="督办：请两日内回复")
    w["upstream_closed"] = upstream_closed_order(w, people, unit, new_order)
    w.update(other_objects(people, w))
    for value in list(w.values()):
        if hasattr(value, "number"):
            value.refresh_from_db()
    return w


def other_objects(people, w) -> dict:
    """A knowledge article with a pending proposal, an unread notification and a failed SMS."""
    from hotline.catalog.models import KnowledgeArticle
    from hotline.knowledge import actions as knowledge
    from hotline.lib import clock
    from hotline.notify.models import Delivery, Notification
    from hotline.triage.models import NearDuplicate

    article = KnowledgeArticle.objects.filter(active=True, owner_unit__isnull=True).order_by("pk").first()
    proposal = knowledge.propose(None, acting_user=people["handler_zhao"], title="杨楼镇农村道路维修报修渠道",
                                 body="村内道路破损可向镇村建办报修。", keywords="道路 维修", category=article.category)
    notification = Notification.objects.filter(recipient=people["handler_zhao"]).order_by("pk").first()
    delivery = Delivery.objects.create(order=w["handling"], kind=Delivery._meta.get_field("kind").choices[0][0], channel="sms",
                                       recipient_kind=Delivery.RecipientKind.values[0], address="13800001111",
                                       body="工单待签收", status=Delivery.Status.FAILED, created_at=clock.now())
    # A near-duplicate pair for the review queue: the second call about the road → the first.
    pair = NearDuplicate.objects.create(order=w["merge_target"], similar_to=w["received"], jaccard=0.6,
                                        found_on=clock.local_date(clock.now()))
    return {"article": article, "proposed_article": proposal.article, "notification": notification,
            "failed_delivery": delivery, "near_duplicate": pair}


def dt_days(n):
    import datetime as dt

    return dt.timedelta(days=n)


def upstream_closed_order(w, people, unit, new_order):
    from hotline.directory.models import UpstreamPlatform
    from hotline.workorders import actions

    o = new_order(at=None, source="upstream", upstream_platform=UpstreamPlatform.objects.get(code="pds"),
                  upstream_number="PDS-1")
    actions.coordinate(o, acting_user=people["operator_li"], answer="中心已协调解决。")
    actions.record_callback(o, acting_user=people["supervisor_zhou"], satisfaction="satisfied", solved=True)
    return o


def param_value(world, value):
    if isinstance(value, str) and value in world:
        obj = world[value]
        return getattr(obj, "number", None) or getattr(obj, "pk", obj)
    return value


# ---------------------------------------------------------------------------------------------
# Hostile values, forms and the invariants

CONTROL = "".join(chr(c) for c in range(0x20) if c not in (0x09, 0x0A)) + "\x7f"
CONTROL_RE = re.compile(f"[{re.escape(CONTROL)}]")
NASTY = ["", " ", "\x00", "路\x00灯", "\x01\x07\x1b标题", "\x1f\x0b\x0c", "\r\n\r", "x" * 10_000, "杨" * 10_000,
         "2023-02-30", "2023-02-30T10:00", "2023-07-03T25:00", "25:00", "0001-01-01", "0001-01-01T00:00",
         "9999-12-31T23:59", "2023-07-03T09:00:00+99:00", "false", "true", "False", "on", "否", "-1", "0",
         "-2147483649", "2147483648", "9" * 40, "1e999", "NaN", "-Infinity", "3.5", "<script>alert(1)</script>",
         "=HYPERLINK(\"http://x\")", "\ud800", "a\udfffb", "\u202e\ufeff\u200b", "１３７-0000-8888"]
FUZZ = settings(max_examples=15, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
SKIP_FIELDS = {"csrfmiddlewaretoken"}


@dataclasses.dataclass
class Form:
    action: str
    fields: dict  # name -> list of values the page offers (first: the value shown)
    page: str

    def __str__(self):
        return f"{self.action} ({', '.join(self.fields)})"


def page_forms(html: str, page_url: str) -> list[Form]:
    """Every ``<form method=post>`` of a page: action URL, fields with the values the page offers."""
    doc = lxml.html.fromstring(html)
    out = []
    for form in doc.xpath("//form"):
        if (form.get("method") or "get").lower() != "post":
            continue
        action = urljoin(page_url, form.get("action") or page_url)
        fields: dict[str, list[str]] = {}
        for el in form.xpath(".//input|.//select|.//textarea|.//button"):
            name = el.get("name")
            if not name:
                continue
            tag, kind = el.tag, (el.get("type") or "text").lower()
            if tag == "select":
                options = [o.get("value", o.text_content()) for o in el.xpath(".//option")]
                chosen = [o.get("value", o.text_content()) for o in el.xpath(".//option[@selected]")]
                fields.setdefault(name, []).extend(chosen + options)
            elif tag == "textarea":
                fields.setdefault(name, []).append(el.text_content())
            elif kind == "file":
                continue  # uploads: tests/test_attachments.py and tests/test_import_limits.py
            elif kind in ("checkbox", "radio"):
                fields.setdefault(name, []).append(el.get("value", "on"))
            else:
                fields.setdefault(name, []).append(el.get("value", ""))
        out.append(Form(action=action, fields=fields, page=page_url))
    return out


def field_values(offered: list[str], others: list[str]) -> st.SearchStrategy:
    shown = [v for v in offered if v is not None] or [""]
    return st.one_of(
        st.sampled_from(shown),
        st.sampled_from(NASTY),
        st.sampled_from(others) if others else st.nothing(),
        st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x9fff), max_size=30),
        st.builds(lambda v, c: v + c, st.sampled_from(shown), st.sampled_from(list(CONTROL))),
    )


def form_data(form: Form, others: list[str]) -> st.SearchStrategy:
    """A hostile body for ``form``: each field kept, replaced, repeated or left out."""
    names = [n for n in form.fields if n not in SKIP_FIELDS]
    per_field = {n: st.one_of(st.none(), st.lists(field_values(form.fields[n], others), min_size=1, max_size=2))
                 for n in names}
    return st.fixed_dictionaries(per_field)


def encode(form: Form, data: dict) -> bytes:
    """An urlencoded body, lone surrogates sent as the bytes a broken client would send."""
    pairs = [(k, v) for k in SKIP_FIELDS for v in form.fields.get(k, [])[:1]]
    pairs += [(k, v) for k, values in data.items() if values is not None for v in values]
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='', errors='surrogatepass')}" for k, v in pairs).encode()


SNAPSHOT_SKIP = {"accounts.AuditLog", "axes.AccessAttempt", "axes.AccessLog", "axes.AccessFailureLog",
                 "sessions.Session", "admin.LogEntry", "django_tasks_database.DBTaskResult", "otp_totp.TOTPDevice"}
FIELD_SKIP = {"last_login", "updated_at", "last_seen_at"}


def snapshot() -> dict:
    """Every row of the project's own tables (audit trail, sessions and login records aside), as
    plain values: compared before and after a refusal, and scanned for control characters."""
    out = {}
    for model in apps.get_models():
        label = model._meta.label
        if label in SNAPSHOT_SKIP or not model._meta.managed or model._meta.proxy:
            continue
        names = [f.attname for f in model._meta.concrete_fields
                 if not isinstance(f, models.BinaryField | models.FileField) and f.name not in FIELD_SKIP]
        out[label] = list(model._default_manager.order_by("pk").values_list(*names))
    return out


def control_chars_in(snap: dict) -> list[str]:
    found = []

    def scan(label, value):
        if isinstance(value, str):
            if CONTROL_RE.search(value) or re.search("[\ud800-\udfff]", value):
                found.append(f"{label}: {value[:80]!r}")
        elif isinstance(value, dict):
            for k, v in value.items():
                scan(label, k)
                scan(label, v)
        elif isinstance(value, list | tuple):
            for v in value:
                scan(label, v)

    for label, rows in snap.items():
        for row in rows:
            scan(label, row)
    return found


def diff(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after.get(label)]


HAN = re.compile("[\u4e00-\u9fff]")


def refusal_text(response) -> str | None:
    """The error the person is shown (page errors, a redirect's error message, a 4xx body), or
    None when the response does not refuse."""
    # Only this request's messages: earlier examples' (never shown: redirects are not followed) stay
    # in the cookie.
    queued = getattr(get_messages(response.wsgi_request), "_queued_messages", [])
    errors = [str(m) for m in queued if m.level >= message_levels.WARNING]
    if response.status_code >= 400:
        errors.append(response.content.decode("utf-8", "replace"))
    elif response.status_code == 200 and "html" in response.get("Content-Type", ""):
        doc = lxml.html.fromstring(response.content.decode("utf-8", "replace") or "<p></p>")
        errors += [e.text_content() for e in doc.xpath(
            "//*[contains(@class,'error') or contains(@class,'errorlist') or contains(@class,'errornote')"
            " or @role='alert' or contains(@class,'invalid')]")]
    errors = [e for e in errors if e.strip()]
    return "\n".join(errors) if errors else None


def outputs_open(snap_changed: bool, staff: Client) -> None:
    """The order export opens in openpyxl and Open311's XML parses, with whatever was accepted."""
    if not snap_changed:
        return
    from openpyxl import load_workbook

    response = staff.get("/orders/export.xlsx")
    assert response.status_code == 200, response.status_code
    body = b"".join(response.streaming_content) if response.streaming else response.content
    load_workbook(io.BytesIO(body))
    for url in ("/open311/v2/requests.xml", "/open311/v2/services.xml"):
        response = Client().get(url)
        assert response.status_code == 200, (url, response.status_code)
        ET.fromstring(response.content)


def fuzz_form(client: Client, form: Form, others: list[str], staff: Client, *, examples: int = 15):
    """POST hostile bodies to ``form``; each example runs in a savepoint rolled back afterwards, so
    every example meets the same page state."""

    @settings(FUZZ, max_examples=examples)
    @given(data=form_data(form, others))
    def run(data):
        with transaction.atomic():
            before = snapshot()
            body = encode(form, data)
            response = client.post(form.action, body, content_type="application/x-www-form-urlencoded")
            where = f"POST {form.action} {body[:300]!r}"
            assert response.status_code < 500, f"{where}: {response.status_code}"
            assert response.status_code in (200, 204, 302, 400, 403, 404, 405, 413, 429), where
            after = snapshot()
            refused = refusal_text(response)
            changed = diff(before, after)
            if refused is not None:
                assert HAN.search(refused), f"{where}: refused without a Chinese message: {refused[:200]}"
                assert not changed, f"{where}: refused ({refused[:120]}) but changed {changed}"
            stored = control_chars_in({k: after[k] for k in changed})
            assert not stored, f"{where}: stored raw {stored[:3]}"
            outputs_open(bool(changed), staff)
            transaction.set_rollback(True)

    run()


def login(people, who) -> Client:
    client = Client()
    if who != ANON:
        client.force_login(people[who])
    return client


def others_of(world) -> list[str]:
    """Ids and numbers that belong to someone else: 寄料镇, other orders, missing rows."""
    return [str(world["jiliao"]), str(world["handling"].pk), world["handling"].number, "999999999",
            str(world["merge_target"].pk), world["merge_target"].number]


# ---------------------------------------------------------------------------------------------
# The tests

FORM_PAGES = sorted(k for k, row in URLS.items() if row.forms and k != "order_action" and row.who != "admin")
# Pages grouped by area, one test each: the world is built once per test, not once per page.
AREAS = {
    "console": [k for k in FORM_PAGES if ":" not in k],
    "portal": [k for k in FORM_PAGES if k.startswith("portal:")],
    "assessment and briefing": [k for k in FORM_PAGES if k.startswith(("assessment:", "briefing:"))],
    "import and outbox": [k for k in FORM_PAGES if k.startswith(("intake:", "notify:"))],
}


# Forms whose every accepted example recomputes a month: fewer examples.
# Password forms hash on every example: fewer examples too.
EXAMPLES = {"assessment:month": 4, "briefing:edit": 6, "briefing:list": 6, "login": 4, "password_change": 4,
            "otp_setup": 6}
NOT_IN_THE_CONSOLE = {"annotate"}


def fuzz_page(key, people, world) -> list[str]:
    """Fuzz every POST form ``key``'s page shows its person; the failures, as text."""
    row = URLS[key]
    url = reverse(key, kwargs={p: param_value(world, v) for p, v in row.params.items()})
    client = login(people, row.who)
    page = client.get(url)
    if page.status_code != 200:
        return [f"{key}: GET {url} as {row.who} answered {page.status_code}"]
    forms = [f for f in page_forms(page.content.decode(), "http://testserver" + url)
             if urlsplit(f.action).path not in ("/accounts/logout/", "/i18n/setlang/") or key == "login"]
    if not forms:
        return [f"{key}: {url} shows {row.who} no POST form"]
    failures = []
    for form in forms:
        form.action = urlsplit(form.action).path
        try:
            fuzz_form(client, form, others_of(world), login(people, "dispatcher_wang"),
                      examples=EXAMPLES.get(key, 12))
        except AssertionError as exc:
            failures.append(f"{key}: {exc}")
    return failures


def test_areas_cover_every_form_page():
    assert sorted(k for keys in AREAS.values() for k in keys) == FORM_PAGES


@pytest.mark.parametrize("area", sorted(AREAS))
def test_every_form_refuses_garbage_and_stores_only_clean_text(area, people, world, settings):
    settings.HOTLINE_LIVE_STREAM_SECONDS = 0
    extra_setup(area, people, world)
    failures = [f for key in AREAS[area] for f in fuzz_page(key, people, world)]
    assert not failures, "\n\n".join(failures)


def test_every_workflow_action_form_refuses_garbage(people, world):
    failures = []
    for action, (who, key) in sorted(ACTIONS.items()):
        url = reverse("order_action", kwargs={"key": world[key].number, "action": action})
        client = login(people, who)
        page = client.get(url)
        if action in NOT_IN_THE_CONSOLE:
            assert page.status_code == 404 and client.post(url, {"note": "x"}).status_code == 404
            continue
        if page.status_code != 200:
            failures.append(f"{action} is not offered to {who} on the {key} order ({page.status_code})")
            continue
        forms = [f for f in page_forms(page.content.decode(), "http://testserver" + url)
                 if urlsplit(f.action).path == url]
        forms[0].action = url
        try:
            fuzz_form(client, forms[0], others_of(world), login(people, "dispatcher_wang"), examples=6)
        except AssertionError as exc:
            failures.append(f"{action}: {exc}")
    assert not failures, "\n\n".join(failures)


def extra_setup(key, people, world):
    """What a page needs before it shows its forms."""
    from hotline.assessment import actions as assess
    from hotline.assessment.models import Appeal
    from hotline.briefing.models import Briefing

    if key == "assessment and briefing":
        if not Briefing.objects.filter(year=2023, month=7).exists():
            Briefing.objects.create(year=2023, month=7)
        zhou = people["supervisor_zhou"]
        result = assess.compute_month(2023, 7, acting_user=zhou, at=at(2023, 8, 5, 9))
        assess.publish_result(result, acting_user=zhou, at=at(2023, 8, 5, 10))
        assess.enter_adjustment(world_unit(world), 2023, 7, acting_user=zhou, points="-1", reason="杨楼镇的调整",
                                at=at(2023, 8, 6, 9))
        Appeal.objects.create(unit=world_unit(world), year=2023, month=7, result=result, line_code="x",
                              line_label="x", line_points=-1, reason="杨楼镇的申诉", filed_by=people["handler_zhao"],
                              filed_at=at(2023, 8, 6, 9))


def world_unit(world):
    from hotline.directory.models import Unit

    return Unit.objects.get(pk=world["yanglou"])


# ---------------------------------------------------------------------------------------------
# The admin: add and change forms of every model


def test_the_admin_adds_only_rows_a_person_may_create(rf, people):
    """Rows written only by action functions or machines (knowledge revisions, triage models and
    suggestions, assessment results, audit and delivery logs, …) have no "add" page: added by hand
    they missed what the action fills in (a revision's proposal time was a 500 IntegrityError)."""
    request = rf.get("/admin/")
    request.user = people["admin"]
    offers = {model._meta.label for model, model_admin in admin.site._registry.items()
              if model_admin.has_add_permission(request)}
    assert offers == ADMIN_MODELS - ADMIN_NO_ADD


def test_every_admin_form_refuses_garbage(people, world):
    client = login(people, "admin")
    staff = login(people, "dispatcher_wang")
    urls = [reverse(k, kwargs={p: param_value(world, v) for p, v in row.params.items()})
            for k, row in URLS.items() if row.who == "admin" and row.forms]
    for model in sorted(admin.site._registry, key=lambda m: m._meta.label):
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        urls.append(reverse(f"admin:{info}_add"))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(reverse(f"admin:{info}_change", args=[first.pk]))
    failures = []
    for url in urls:
        page = client.get(url)
        if page.status_code == 403:  # no add (ADMIN_NO_ADD) or no change (read-only logs)
            continue
        if page.status_code != 200:
            failures.append(f"GET {url}: {page.status_code}")
            continue
        forms = [f for f in page_forms(page.content.decode(), "http://testserver" + url)
                 if urlsplit(f.action).path == url]
        for form in forms:
            form.action = url
            try:
                fuzz_form(client, form, others_of(world), staff, examples=3)
            except AssertionError as exc:
                failures.append(f"{url}: {exc}")
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("value", ["2023-02-30", "2023-02-30T25:00", "/x\x01y", "/a\r\nLocation: //evil", "//evil.example",
                                   "/\\evil.example", "javascript:alert(1)", "https://evil.example/", "/" + "x" * 3000])
def test_every_next_goes_through_one_rule(value, people, world):
    """``hotline.lib.pages.safe_next``: a hostile ``next`` is ignored (the page's default), never a 500."""
    wang = login(people, "dispatcher_wang")
    zhao = login(people, "handler_zhao")
    cases = [
        (zhao, reverse("notifications_read_all"), "/notifications/"),
        (zhao, reverse("notification_read", args=[world["notification"].pk]), "/notifications/"),
        (wang, reverse("notify:retry", args=[world["failed_delivery"].pk]), "/notify/failures/"),
        (wang, reverse("order_action", args=[world["replied"].number, "approve_reply"]),
         reverse("order_detail", args=[world["replied"].number])),
    ]
    for client, url, default in cases:
        response = client.post(url, {"next": value, "note": "已核实"})
        assert response.status_code == 302 and response["Location"] == default, (url, response.status_code)
    assert wang.get(reverse("order_action", args=[world["handling"].number, "annotate"]),
                    {"next": value}).status_code == 404
    page = wang.get(reverse("order_action", args=[world["awaiting_dispatch"].number, "dispatch"]), {"next": value})
    assert page.status_code == 200
    supervisor = login(people, "supervisor_zhou")
    assert supervisor.get(reverse("otp_setup"), {"next": value}).status_code == 200
    # A path of this site is followed.
    assert zhao.post(reverse("notifications_read_all"), {"next": "/inbox/?s=1"})["Location"] == "/inbox/?s=1"


# ---------------------------------------------------------------------------------------------
# What the forms accept reaches every output, and every output opens

IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def test_control_characters_typed_into_forms_reach_no_output(people, unit, new_order, settings,
                                                             django_capture_on_commit_callbacks):
    """李 pastes a title with \\x01 and content with \\x07 at intake, 周 pastes \\x07 into the briefing
    narrative: the order export opens in openpyxl, Open311's XML parses, the briefing's DOCX opens in
    python-docx — and none of them carries a control character."""
    from docx import Document
    from openpyxl import load_workbook

    from hotline.catalog.models import AppealType
    from hotline.workorders.models import WorkOrder
    from tests.test_analytics import build_july

    settings.TASKS = IMMEDIATE_TASKS
    build_july(people, unit, new_order)
    li, wang, zhou = (login(people, k) for k in ("operator_li", "dispatcher_wang", "supervisor_zhou"))
    response = li.post("/intake/", {
        "caller_phone": "13912345678", "caller_name": "刘\x1b备", "source": "phone", "urgency": "normal",
        "town": unit("杨楼镇").pk, "address": "杨楼\x0b村", "appeal_type": AppealType.objects.get(code="problem").pk,
        "category": "农村管理—人居环境", "title": "村口\x01垃圾\x7f无人清运", "content": "村口垃圾\x07堆积\r\n一周。",
        "disposition": "submit_for_dispatch", "answer": ""})
    assert response.status_code == 302, refusal_text(response)
    order = WorkOrder.objects.order_by("-pk").first()
    assert (order.title, order.content, order.caller_name, order.address) == (
        "村口垃圾无人清运", "村口垃圾堆积\n一周。", "刘备", "杨楼村")

    export = wang.get("/orders/export.xlsx")
    body = b"".join(export.streaming_content) if export.streaming else export.content
    cells = [str(v) for ws in load_workbook(io.BytesIO(body)).worksheets for row in ws.iter_rows(values_only=True)
             for v in row if v is not None]
    assert "村口垃圾无人清运" in cells and not any(CONTROL_RE.search(c) for c in cells)
    for url in ("/open311/v2/requests.xml", f"/open311/v2/requests/{order.number}.xml"):
        xml = Client().get(url)
        assert xml.status_code in (200, 404) and not CONTROL_RE.search(xml.content.decode())
        ET.fromstring(xml.content)

    with django_capture_on_commit_callbacks(execute=True):
        assert zhou.post("/briefing/new/", {"month": "2023-07"}).status_code == 302
    response = zhou.post("/briefing/2023/7/", {"issue_date": "2023-08-22",
                                               "hot_problems": "驾驶员考试问题。科目二\x07考试无法如期进行。",
                                               "typical_cases": "公路局\x01接到……\x0c", "business_work": "召开\x1f协调会。"})
    assert response.status_code == 302
    draft = zhou.get("/briefing/2023/7/draft.docx")
    assert draft.status_code == 200
    text = "\n".join(p.text for p in Document(io.BytesIO(draft.content)).paragraphs)
    assert "科目二考试无法如期进行" in text and "公路局接到" in text and not CONTROL_RE.search(text)
    assert zhou.post("/briefing/2023/7/publish/", {"note": "首次\x07发布"}).status_code == 302
    published = zhou.get("/briefing/2023/7/v1.docx")
    assert published.status_code == 200
    text = "\n".join(p.text for p in Document(io.BytesIO(published.content)).paragraphs)
    assert "召开协调会" in text and not CONTROL_RE.search(text)
