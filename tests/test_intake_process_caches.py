"""What a registration no longer rebuilds on every request, and why nothing it answers changed.

The story: operator 李 registers orders from 杨楼镇 on Monday 2023-07-03 through the JSON API, in one
of several app processes. Three things each process now keeps instead of rebuilding per request:

* the SLA policies and the working-day calendar (``hotline.workorders.sla``): when the admin changes
  a policy, the next order registered in the admin's process gets the new deadline at once, and an
  order registered in any other process within ``sla.CHECK_SECONDS`` — checked here with two real
  processes, one changing the policy and one registering;
* the Content-Security-Policy header (``hotline.web.csp``): the very header django-csp builds, on
  pages, API answers, 404s and attachments, with a nonce where a page asks for one;
* the order of the URL patterns (``hotline.urls``): the JSON API is tried first, and no other
  pattern can answer a path under /api/, so every URL resolves to the same view as before.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY, NONCE
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.core.cache import caches
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import Resolver404, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RegexPattern

from hotline.catalog.models import CalendarOverride, SlaPolicy
from hotline.web.csp import CSPMiddleware
from hotline.workorders import api as order_api
from hotline.workorders import sla
from tests.conftest import at, throwaway_postgres

ROOT = Path(__file__).resolve().parent.parent
ROAD = {"title": "村内道路破损", "content": "杨楼镇某村主路破损严重，雨天积水。", "town": "杨楼镇",
        "category": "农村管理—人居环境", "appeal_type": "problem", "caller_phone": "13812341234"}
MONDAY = at(2023, 7, 3, 9, 0)


def handle_day(order) -> dt.date:
    return order.handle_deadline.astimezone(MONDAY.tzinfo).date()


def problem_policy() -> SlaPolicy:
    """The policy a 问题处理类 order by phone at normal urgency gets (5 working days)."""
    from hotline.catalog.models import AppealType

    found = sla.policy_for(AppealType.objects.get(code="problem").pk, "normal", "phone")
    return SlaPolicy.objects.get(pk=found.pk)


# ---------------------------------------------------------------------------------------------
# SLA policies and the calendar, kept per process


def test_sla_policy_edited_in_this_process_reaches_the_next_registration(new_order):
    assert handle_day(new_order()) == dt.date(2023, 7, 10)  # five working days after Monday
    policy = problem_policy()
    policy.handle_limit = 7
    policy.save()  # the admin's save, in this process

    assert handle_day(new_order()) == dt.date(2023, 7, 12)
    appeal_type_id = policy.appeal_type_id
    policy.delete()  # the admin's delete: the general rule applies again
    assert sla.policy_for(appeal_type_id, "normal", "phone").name == "默认：签收24小时，办理5个工作日"


def test_sla_calendar_override_reaches_the_next_registration(new_order):
    assert handle_day(new_order()) == dt.date(2023, 7, 10)
    CalendarOverride.objects.create(date=dt.date(2023, 7, 5), is_workday=False, note="临时停工")

    assert handle_day(new_order()) == dt.date(2023, 7, 11)


def test_sla_change_elsewhere_is_seen_after_check_seconds(new_order, monkeypatch):
    """Another process's edit reaches this one only through the shared version: rows changed without
    a signal here, and the shared token changed as that process's commit does."""
    clock = [1000.0]
    monkeypatch.setattr(sla, "time", SimpleNamespace(monotonic=lambda: clock[0], time=time.time))
    sla.forget()
    assert handle_day(new_order()) == dt.date(2023, 7, 10)
    SlaPolicy.objects.filter(pk=problem_policy().pk).update(handle_limit=7)
    caches["shared"].set(sla.VERSION_KEY, "changed-by-another-process", None)

    clock[0] += sla.CHECK_SECONDS / 2
    assert handle_day(new_order()) == dt.date(2023, 7, 10)  # not asked yet
    clock[0] += sla.CHECK_SECONDS
    assert handle_day(new_order()) == dt.date(2023, 7, 12)

    # A shared cache that lost the token (Redis restarted) costs a reload, never a stale policy.
    SlaPolicy.objects.filter(pk=problem_policy().pk).update(handle_limit=8)
    caches["shared"].delete(sla.VERSION_KEY)
    clock[0] += sla.CHECK_SECONDS
    assert handle_day(new_order()) == dt.date(2023, 7, 13)


def test_sla_edit_without_a_signal_is_seen_after_max_age(new_order, monkeypatch):
    """An edit by SQL or ``update()`` changes no version: the copy is read again after MAX_AGE."""
    wall = [1_700_000_000.0]
    monkeypatch.setattr(sla, "time", SimpleNamespace(monotonic=time.monotonic, time=lambda: wall[0]))
    sla.forget()
    assert handle_day(new_order()) == dt.date(2023, 7, 10)
    SlaPolicy.objects.filter(pk=problem_policy().pk).update(handle_limit=7)

    wall[0] += sla.MAX_AGE / 2
    assert handle_day(new_order()) == dt.date(2023, 7, 10)
    wall[0] += sla.MAX_AGE
    assert handle_day(new_order()) == dt.date(2023, 7, 12)
    SlaPolicy.objects.filter(pk=problem_policy().pk).update(handle_limit=8)
    sla.changed()  # what to call after such an edit: seen at once
    assert handle_day(new_order()) == dt.date(2023, 7, 13)


def test_sla_version_is_published_after_the_commit(ruzhou, django_capture_on_commit_callbacks):
    before = caches["shared"].get(sla.VERSION_KEY)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        policy = problem_policy()
        policy.handle_limit = 9
        policy.save()
    # Told before the commit, another process could read the old rows under the new version.
    assert caches["shared"].get(sla.VERSION_KEY) == before
    for callback in callbacks:
        callback()
    assert caches["shared"].get(sla.VERSION_KEY) not in (None, before)


def test_sla_calendar_answers_each_day_once_and_alike(ruzhou):
    calendar = sla.work_calendar()
    days = [dt.date(2023, 9, 28) + dt.timedelta(days=i) for i in range(12)]  # 中秋、国庆 and 调休
    first = [calendar.is_workday(day) for day in days]
    assert first == [calendar._is_workday(day) for day in days]
    assert [calendar.is_workday(day) for day in days] == first
    assert first == [True] + [False] * 8 + [True] * 3  # 9-29 to 10-6 off, Saturday 10-7 and Sunday 10-8 worked


CHILD = """
import json, sys, django
django.setup()
from hotline.catalog.models import AppealType, SlaPolicy
from hotline.workorders import sla
problem = AppealType.objects.get(code="problem").pk
for line in sys.stdin:
    command = line.split()
    if command[0] == "limit":
        print(json.dumps(sla.limits_for(problem, "normal", "phone")["handle"]), flush=True)
    elif command[0] == "edit":
        policy = SlaPolicy.objects.get(pk=sla.policy_for(problem, "normal", "phone").pk)
        policy.handle_limit = int(command[1])
        policy.save()
        print("saved", flush=True)
"""


@pytest.fixture
def two_app_processes(tmp_path):
    """Two processes on one database of their own (committed rows, the shared cache's table), each
    answering ``limit`` (the handle limit of a 问题处理类 order) and ``edit N`` (the admin's save)."""
    env = {**os.environ, "HOTLINE_VAR_DIR": str(tmp_path), "DEBUG": "0", "PYTHONPATH": str(ROOT),
           "DJANGO_SETTINGS_MODULE": "hotline.settings"}
    env.pop("REDIS_URL", None)  # the database's shared cache: the case that had no cross-process signal
    dropdb = None
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        env["DATABASE_URL"], dropdb = throwaway_postgres("test_sla")
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'sla.sqlite3'}"
    procs = []
    try:
        setup = ("import django; django.setup(); from django.core.management import call_command; "
                 "call_command('migrate', verbosity=0); from hotline.demo.defaults import load_defaults; load_defaults()")
        out = subprocess.run([sys.executable, "-c", setup], env=env, cwd=ROOT, capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        for _ in range(2):
            procs.append(subprocess.Popen([sys.executable, "-c", CHILD], env=env, cwd=ROOT, stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, text=True))

        def ask(proc, command: str) -> str:
            proc.stdin.write(command + "\n")
            proc.stdin.flush()
            return proc.stdout.readline().strip()

        yield [lambda command, p=p: ask(p, command) for p in procs]
    finally:
        for p in procs:
            p.stdin.close()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        if dropdb:
            dropdb()


@pytest.mark.slow
def test_sla_policy_edited_in_one_process_reaches_another_within_check_seconds(two_app_processes):
    registering, admin = two_app_processes
    assert json.loads(registering("limit")) == [5, "working_days"]  # read and kept
    assert admin("edit 7") == "saved"

    time.sleep(sla.CHECK_SECONDS + 0.2)
    assert json.loads(registering("limit")) == [7, "working_days"]
    assert json.loads(admin("limit")) == [7, "working_days"]


# ---------------------------------------------------------------------------------------------
# The Content-Security-Policy header, built once per process


def _both(request_factory_call, response_factory, settings_changes=None):
    """The header django-csp's own middleware writes and the one ours writes, for equal requests and
    responses."""
    got = []
    for middleware_class in (DjangoCSPMiddleware, CSPMiddleware):
        request = request_factory_call()
        middleware = middleware_class(lambda r: response_factory(r))
        response = middleware(request)
        got.append((response.get(HEADER), response.get(HEADER_REPORT_ONLY), request))
    return got


def test_csp_header_is_django_csps_own_on_pages_api_answers_and_404s(client, people):
    rf = RequestFactory()
    for path, status in (("/", 200), ("/api/orders/", 201), ("/nowhere/", 404), ("/static/x.css", 500)):
        theirs, ours = _both(lambda p=path: rf.get(p), lambda r, s=status: HttpResponse(status=s))
        assert ours[:2] == theirs[:2] and ours[0] == build_policy()
        with pytest.raises(CSPNonceError):  # asking for a nonce after the header is written
            str(ours[2].csp_nonce)
    # Through the whole stack: the console's page and the API's answer.
    client.force_login(people["operator_li"])
    page = client.get("/")
    answer = client.post("/api/orders/", ROAD, content_type="application/json")
    assert answer.status_code == 201
    assert page[HEADER] == answer[HEADER] == build_policy()
    assert "script-src 'self'" in page[HEADER] and "frame-ancestors 'none'" in page[HEADER]


def test_csp_header_leaves_a_views_own_policy_and_decorators_alone(settings):
    from csp.decorators import csp_update

    rf = RequestFactory()
    attachment = lambda r: HttpResponse(headers={HEADER: "default-src 'none'; sandbox"})  # noqa: E731
    theirs, ours = _both(lambda: rf.get("/attachments/1/"), attachment)
    assert ours[0] == theirs[0] == "default-src 'none'; sandbox"

    @csp_update({"img-src": ["https://tiles.example.cn"]})
    def map_view(request):
        return HttpResponse()

    theirs, ours = _both(lambda: rf.get("/map/"), map_view)
    assert ours[0] == theirs[0] and "https://tiles.example.cn" in ours[0]


def test_csp_nonce_a_page_asks_for_is_in_its_header(settings):
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {
        **settings.CONTENT_SECURITY_POLICY["DIRECTIVES"], "script-src": ["'self'", NONCE]}}
    rf = RequestFactory()

    def page(request):
        return HttpResponse(f'<script nonce="{request.csp_nonce}"></script>')

    for middleware_class in (DjangoCSPMiddleware, CSPMiddleware):
        request = rf.get("/")
        response = middleware_class(page)(request)
        assert f"'nonce-{request._csp_nonce}'" in response[HEADER]
        assert f'nonce="{request._csp_nonce}"' in response.content.decode()
    # A page that does not ask gets the policy without a nonce (the settings change was seen).
    theirs, ours = _both(lambda: rf.get("/"), lambda r: HttpResponse())
    assert ours[0] == theirs[0] and "nonce" not in ours[0] and "script-src 'self'" in ours[0]


def test_csp_report_only_and_excluded_prefixes_as_django_csp(settings):
    settings.CONTENT_SECURITY_POLICY = {**settings.CONTENT_SECURITY_POLICY, "EXCLUDE_URL_PREFIXES": ["/notify/"]}
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'self'"],
                                                                   "report-uri": "/csp-report/"}}
    rf = RequestFactory()
    for path in ("/", "/notify/kannel/"):
        theirs, ours = _both(lambda p=path: rf.get(p), lambda r: HttpResponse())
        assert ours[:2] == theirs[:2]
        assert (ours[0] is None) == path.startswith("/notify/") and "report-uri /csp-report/" in ours[1]


# ---------------------------------------------------------------------------------------------
# The JSON API's URLs, tried first


API_PATHS = ["/api/orders/", "/api/orders/17/", "/api/orders/RZ2307-000001/", "/api/metrics/2023-07/",
             "/api/openapi.json"]


def test_api_urls_are_tried_first_and_no_other_pattern_answers_them():
    top = get_resolver().url_patterns
    assert [str(p.pattern) for p in top[:2]] == ["api/", "api/"]
    others = URLResolver(RegexPattern(r"^/"), [p for p in top if str(p.pattern) != "api/"])
    for path in [*API_PATHS, "/api/", "/api/orders/1/2/", "/api/nothing/", "/api/metrics/x/"]:
        with pytest.raises(Resolver404):
            others.resolve(path)  # so being first changes what no path resolves to
    assert resolve("/api/orders/").func is order_api.orders
    assert resolve("/api/orders/RZ2307-000001/").func is order_api.order_detail
    assert resolve("/api/orders/RZ2307-000001/").kwargs == {"key": "RZ2307-000001"}
    assert reverse("api:orders") == "/api/orders/" and reverse("openapi") == "/api/openapi.json"
    assert reverse("api:month_metrics", args=[2023, 7]) == "/api/metrics/2023-7/"
    assert resolve("/orders/RZ2307-000001/").url_name == "order_detail"  # the console's, unchanged
    with pytest.raises(Resolver404):
        resolve("/api/nothing/")
