"""Every URL pattern of the project, and how to fill its parameters.

The access matrix (tests/test_access_matrix.py) and the hostile-input tests walk every URL the
resolver knows. They read the list from the resolver itself (``patterns()``) and look each one up
here (``ROUTES``): what kind of object each parameter names, and how the route authenticates.
``test_every_pattern_is_in_the_table`` fails when a URL is added without an entry, so a new page
cannot escape the matrix by being forgotten.

A parameter names a *slot*; a test fills the slots with the values of its own world for each
owner it asks about — 杨楼镇's objects, 寄料镇's objects, or objects that do not exist — and
``urls(key, fill)`` reverses every combination. The slots:

==================  ============================================================================
order               a work order's number (杨楼镇's: dispatched to 杨楼镇, a pending extension)
action              an action of the order page (``hotline.web.forms.ACTION_FORMS``)
article             a knowledge article's pk owned by the unit (the center's for "missing": none)
attachment          an attachment's pk on the unit's order, uploaded by the unit
appeal              an assessment appeal's pk filed by the unit
adjustment          a manual assessment adjustment's pk entered for the unit
unit                a unit's pk (the assessment sheet of that unit)
notification        a notification's pk addressed to the unit's handler
delivery            an outbox delivery's pk addressed to the unit
import_job          an Excel import job's pk
year, month         a month of the assessment and the briefing (2023, 7)
assessment_version  a published assessment result's version
briefing_version    a published briefing's version number
briefing_fmt        docx, html or pdf
open311_fmt         json or xml
service_code        an Open311 service code (a category code)
platform            an upstream platform's code
near_duplicate      a near-duplicate pair's pk (the center's: 寄料镇's order → 杨楼镇's)
duplicate_decision  dismiss or repeat (a pair's review)
portal_order        an order's number as the portal's citizen tracks it
portal_file         an attachment's pk shown to the citizen (public evidence)
==================  ============================================================================

How a route authenticates (``Entry.auth``), which decides what the anonymous visitor gets:

- ``login``: staff pages; anonymous visitors are sent to ``/accounts/login/`` (302).
- ``api``: the JSON API; anonymous requests get 401 with a JSON error.
- ``stream``: the live-update stream; anonymous gets 204 (an EventSource cannot follow a login).
- ``public``: open to anyone (portal, Open311, the health check, the login pages).
- ``portal``: public, but an order is shown only to the session that proved it (number + phone).
- ``token``: Kannel's delivery reports, proven by a shared token.
- ``signature``: upstream pushes, proven by the platform's HMAC signature.
- ``admin``: Django's admin site; only ``is_staff`` accounts, others go to the admin's login.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver, reverse

LOGIN, API, STREAM, PUBLIC, PORTAL, TOKEN, SIGNATURE, ADMIN = (
    "login", "api", "stream", "public", "portal", "token", "signature", "admin")


@dataclass(frozen=True)
class Entry:
    auth: str
    params: Mapping[str, str] = field(default_factory=dict)  # URL parameter -> slot
    # Whether the route shows or changes an object that belongs to a unit (an order, a unit's
    # article, appeal, sheet, notification): its "other unit" answer must equal its "missing" one.
    owned: bool = False


ROUTES: dict[str, Entry] = {
    # accounts
    "login": Entry(PUBLIC),
    "logout": Entry(PUBLIC),
    "password_change": Entry(LOGIN),
    "password_change_done": Entry(LOGIN),
    "otp_verify": Entry(LOGIN),
    "otp_setup": Entry(LOGIN),
    "set_language": Entry(PUBLIC),
    "favicon.ico": Entry(PUBLIC),  # unnamed: keyed by its route
    # console
    "home": Entry(LOGIN),
    "intake": Entry(LOGIN),
    "intake_lookup": Entry(LOGIN),
    "kb_search": Entry(LOGIN),
    "intake_queue": Entry(LOGIN),
    "dispatch": Entry(LOGIN),
    "inbox": Entry(LOGIN),
    "callbacks": Entry(LOGIN),
    "supervision": Entry(LOGIN),
    "dashboard": Entry(LOGIN),
    "kb_list": Entry(LOGIN),
    "kb_new": Entry(LOGIN),
    "kb_detail": Entry(LOGIN, {"pk": "article"}, owned=True),
    "kb_edit": Entry(LOGIN, {"pk": "article"}, owned=True),
    "kb_review": Entry(LOGIN, {"pk": "article"}, owned=True),
    "order_list": Entry(LOGIN),
    "order_export": Entry(LOGIN),
    "order_detail": Entry(LOGIN, {"key": "order"}, owned=True),
    "order_reveal": Entry(LOGIN, {"key": "order"}, owned=True),
    "order_action": Entry(LOGIN, {"key": "order", "action": "action"}, owned=True),
    "attachment_file": Entry(LOGIN, {"pk": "attachment"}, owned=True),
    "attachment_thumb": Entry(LOGIN, {"pk": "attachment"}, owned=True),
    "audit_log": Entry(LOGIN),
    "notifications": Entry(LOGIN),
    "notifications_read_all": Entry(LOGIN),
    "notification_read": Entry(LOGIN, {"pk": "notification"}, owned=True),
    "notification_preferences": Entry(LOGIN),  # always the signed-in person's own
    "unit_contacts": Entry(LOGIN),
    "unit_contact": Entry(LOGIN, {"pk": "unit"}, owned=True),
    "live_stream": Entry(STREAM),
    "healthz": Entry(PUBLIC),
    # briefing
    "briefing:list": Entry(LOGIN),
    "briefing:create": Entry(LOGIN),
    "briefing:stats": Entry(LOGIN),
    "briefing:edit": Entry(LOGIN, {"year": "year", "month": "month"}),
    "briefing:build": Entry(LOGIN, {"year": "year", "month": "month"}),
    "briefing:status": Entry(LOGIN, {"year": "year", "month": "month"}),
    "briefing:publish": Entry(LOGIN, {"year": "year", "month": "month"}),
    "briefing:draft_download": Entry(LOGIN, {"year": "year", "month": "month", "fmt": "briefing_fmt"}),
    "briefing:download": Entry(LOGIN, {"year": "year", "month": "month", "number": "briefing_version",
                                       "fmt": "briefing_fmt"}),
    # assessment
    "assessment:index": Entry(LOGIN),
    "assessment:mine": Entry(LOGIN),
    "assessment:appeals": Entry(LOGIN),
    "assessment:decide_appeal": Entry(LOGIN, {"appeal_id": "appeal"}, owned=True),
    "assessment:adjustments": Entry(LOGIN),
    "assessment:decide_adjustment": Entry(LOGIN, {"adjustment_id": "adjustment"}, owned=True),
    "assessment:month": Entry(LOGIN, {"year": "year", "month": "month"}),
    "assessment:compute": Entry(LOGIN, {"year": "year", "month": "month"}),
    "assessment:publish": Entry(LOGIN, {"year": "year", "month": "month", "version": "assessment_version"}),
    "assessment:export": Entry(LOGIN, {"year": "year", "month": "month"}),
    "assessment:sheet": Entry(LOGIN, {"year": "year", "month": "month", "unit_id": "unit"}, owned=True),
    "assessment:file_appeal": Entry(LOGIN, {"year": "year", "month": "month", "unit_id": "unit"}, owned=True),
    # JSON API and its document
    "openapi": Entry(PUBLIC),
    "api:orders": Entry(API),
    "api:order_detail": Entry(API, {"key": "order"}, owned=True),
    "api:month_metrics": Entry(API, {"year": "year", "month": "month"}),
    # portal
    "portal:index": Entry(PUBLIC),
    "portal:submit": Entry(PUBLIC),
    "portal:submitted": Entry(PUBLIC),
    "portal:category_options": Entry(PUBLIC),
    "portal:kb": Entry(PUBLIC),
    "portal:kb_article": Entry(PUBLIC, {"pk": "article"}),
    "portal:track": Entry(PUBLIC),
    "portal:track_detail": Entry(PORTAL, {"number": "portal_order"}, owned=True),
    "portal:rate": Entry(PORTAL, {"number": "portal_order"}, owned=True),
    "portal:evidence_file": Entry(PORTAL, {"number": "portal_order", "pk": "portal_file"}, owned=True),
    "portal:evidence_thumb": Entry(PORTAL, {"number": "portal_order", "pk": "portal_file"}, owned=True),
    # triage
    "triage_suggest": Entry(LOGIN),
    "triage_duplicates": Entry(LOGIN),
    "triage_duplicate_review": Entry(LOGIN, {"pk": "near_duplicate", "decision": "duplicate_decision"}),
    # Open311 GeoReport v2
    "open311:services": Entry(PUBLIC, {"fmt": "open311_fmt"}),
    "open311:service_definition": Entry(PUBLIC, {"code": "service_code", "fmt": "open311_fmt"}),
    "open311:requests": Entry(PUBLIC, {"fmt": "open311_fmt"}),
    "open311:request_detail": Entry(PUBLIC, {"number": "order", "fmt": "open311_fmt"}),
    # intake: upstream push, Excel import
    "intake/upstream/<slug:platform_code>/orders": Entry(SIGNATURE, {"platform_code": "platform"}),
    "intake:import": Entry(LOGIN),
    "intake:import_job": Entry(LOGIN, {"pk": "import_job"}),
    "intake:import_status": Entry(LOGIN, {"pk": "import_job"}),
    "intake:import_confirm": Entry(LOGIN, {"pk": "import_job"}),
    # notifications
    "notify:dlr": Entry(TOKEN),
    "notify:failures": Entry(LOGIN),
    "notify:retry": Entry(LOGIN, {"pk": "delivery"}, owned=True),
}

# Django's admin site is one family: its patterns come from the registered ModelAdmins and every
# one of them is behind ``admin_view`` (is_staff). It is listed as a family, not route by route.
ADMIN_FAMILY = "admin:"


@dataclass(frozen=True)
class Pattern:
    key: str  # the namespaced name, or the route for an unnamed pattern
    route: str
    params: tuple[str, ...]

    @property
    def named(self) -> bool:
        return self.key != self.route


def patterns() -> list[Pattern]:
    """Every URL pattern the resolver knows, the admin's included."""
    out: list[Pattern] = []

    def walk(items, prefix: str, namespace: str):
        for p in items:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                key = namespace + p.name if p.name else route
                out.append(Pattern(key, route, tuple(p.pattern.converters)))

    walk(get_resolver().url_patterns, "", "")
    return out


def is_admin(key: str) -> bool:
    return key.startswith(ADMIN_FAMILY) or key.startswith("admin/")


def missing_from_table() -> list[str]:
    """Patterns the resolver has and the table does not (the admin family aside)."""
    return sorted(p.key for p in patterns() if not is_admin(p.key) and p.key not in ROUTES)


def stale_in_table() -> list[str]:
    """Entries of the table no pattern answers to any more."""
    keys = {p.key for p in patterns()}
    return sorted(set(ROUTES) - keys)


def routes() -> list[tuple[str, Entry]]:
    """(key, entry) of every non-admin pattern, in the resolver's order."""
    return [(p.key, ROUTES[p.key]) for p in patterns() if not is_admin(p.key)]


def combinations(key: str, fill: Mapping[str, object]) -> list[tuple[dict, str]]:
    """(parameters, URL) of every combination of ``key``'s slots filled from ``fill`` (slot -> value,
    or a list of values: each one is a combination)."""
    entry = ROUTES[key]
    out = []
    for kwargs in _combinations(entry, fill):
        if _unnamed(key):
            path = key
            for name, value in kwargs.items():
                path = re.sub(rf"<(?:\w+:)?{name}>", str(value), path)
            out.append((kwargs, "/" + path))
        else:
            out.append((kwargs, reverse(key, kwargs=kwargs)))
    return out


def urls(key: str, fill: Mapping[str, object]) -> list[str]:
    """Every URL of ``key`` with its slots filled from ``fill``."""
    return [url for _kwargs, url in combinations(key, fill)]


def _unnamed(key: str) -> bool:
    return "/" in key or "." in key  # a route; names have neither


def _combinations(entry: Entry, fill: Mapping[str, object]) -> list[dict]:
    choices = []
    for param, slot in entry.params.items():
        if slot not in fill:
            raise KeyError(f"no value for slot {slot!r} (parameter {param!r})")
        value = fill[slot]
        choices.append([(param, v) for v in (value if isinstance(value, list | tuple) else [value])])
    return [dict(combo) for combo in itertools.product(*choices)]

