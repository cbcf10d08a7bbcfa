"""Staff at work, for locust: the mixed workload of ``hotline bench --only mixed`` (hotline/bench/mixed.py).

Run by mixed.py as ``locust -f hotline/bench/locustfile.py --headless …`` against nginx; it does not
import Django (locust's gevent patches the process), it is a browser as far as the server can tell:
each simulated person logs in through the login form with an account of their own and works
through the pages people use —

* 接线员 (operators) register orders through the intake form (most sent on to dispatch, some
  answered at once) or the JSON API, and close callbacks from the callback queue;
* 派单员 (dispatchers) dispatch from the dispatch board to the unit the form suggests, review
  replies, and decide extension and return requests;
* 承办人 (unit handlers) sign for, reply to and ask for extensions of the orders in their inbox;
* 督办 (supervisors) review replies, open the supervision page and search;
* everyone opens their queue, the order list, order pages and searches.

Every request has a page name (ids and numbers left out), so the figures are per page. An action
that another person made impossible in the meantime — the form answers 404, or the action's
Chinese refusal, because someone else already dispatched, replied or decided — is a *refusal*: the
right answer, counted apart. Anything else that is not the expected answer (5xx, a timeout, a lost
connection, a 403, a form that refused our fields, a login page instead of the work) is an error.

Environment: ``HOTLINE_LOAD_ACCOUNTS`` (a JSON file of ``[[username, role], …]``; one simulated
person per account), ``HOTLINE_LOAD_PASSWORD``, ``HOTLINE_LOAD_RESULT`` (where the summary JSON is
written when the run ends).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import random
import re
from collections import Counter, defaultdict

from locust import HttpUser, between, events, task
from locust.exception import StopUser

ACCOUNTS = json.loads(open(os.environ["HOTLINE_LOAD_ACCOUNTS"], encoding="utf-8").read()) \
    if os.environ.get("HOTLINE_LOAD_ACCOUNTS") else []
PASSWORD = os.environ.get("HOTLINE_LOAD_PASSWORD", "hotline12345")
RESULT = os.environ.get("HOTLINE_LOAD_RESULT", "")
TIMEOUT = 30  # seconds: a page slower than this is an error, not a slow page
SEARCH_WORDS = ["燃气", "噪音", "路灯", "拖欠工资", "供暖", "物业", "漏水", "停车", "垃圾", "施工"]

ROW = re.compile(r'<tr data-number="([^"]+)"(.*?)</tr>', re.S)
BUTTON = re.compile(r'data-action="(\w+)" href="([^"]+)"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
REFUSAL = re.compile(r'<p class="error" role="alert">(.*?)</p>', re.S)
FIELD_ERROR = re.compile(r'<span class="error">(.*?)</span>|<ul class="errorlist[^"]*">(.*?)</ul>', re.S)

# What happened, besides locust's own per-request statistics (kept per process; mixed.py runs one).
times: dict[str, list[float]] = defaultdict(list)
failures: Counter = Counter()
failure_samples: dict[str, str] = {}
refusals: Counter = Counter()
done: Counter = Counter()
registered: list[str] = []  # numbers of the orders whose registration the server acknowledged


@events.request.add_listener
def _record(name, response_time, exception, **_kw):
    times[name].append(response_time)
    if exception is not None:
        failures[name] += 1
        failure_samples.setdefault(name, str(exception)[:300])


@events.quitting.add_listener
def _write(environment, **_kw):
    if RESULT:
        with open(RESULT, "w", encoding="utf-8") as f:
            json.dump({"times": times, "failures": failures, "failure_samples": failure_samples,
                       "refusals": refusals, "done": done, "registered": registered}, f, ensure_ascii=False)


def _pool(role: str) -> list[str]:
    return [u for u, r in ACCOUNTS if r == role]


class Staff(HttpUser):
    """One member of staff: their own account, their own session."""

    abstract = True
    role = ""
    wait_time = between(0.5, 2.5)  # thinking and typing, compressed: people take longer

    def on_start(self):
        pool = type(self).accounts
        if not pool:
            raise StopUser()
        self.username = pool.pop()
        page = self.get("/accounts/login/", "登录页 GET /accounts/login/")
        token = CSRF.search(page or "")
        with self.client.post("/accounts/login/", name="登录 POST /accounts/login/", allow_redirects=False,
                              data={"username": self.username, "password": PASSWORD,
                                    "csrfmiddlewaretoken": token.group(1) if token else ""},
                              headers={"Referer": self.host + "/accounts/login/"}, catch_response=True,
                              timeout=TIMEOUT) as r:
            if r.status_code != 302 or "sessionid" not in self.client.cookies:
                r.failure(f"{self.username} 登录失败：HTTP {r.status_code}")
                raise StopUser()

    # -- requests ---------------------------------------------------------------------------------

    def get(self, path: str, name: str) -> str | None:
        """A page; its HTML, or None when it was not the page (counted as an error)."""
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True, timeout=TIMEOUT) as r:
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code} {r.headers.get('Location', '')}")
                return None
            return r.text

    def open_form(self, url: str, label: str) -> tuple[str, str, str | None]:
        """GET an action's form: (its URL, the name its POST is counted under, its HTML or None)."""
        url = html.unescape(url)
        action = re.search(r"/act/(\w+)/", url).group(1)
        post = f"{label} 提交 POST /orders/<编号>/act/{action}/"
        with self.client.get(url, name=f"{label} 表单 GET /orders/<编号>/act/{action}/", allow_redirects=False,
                             catch_response=True, timeout=TIMEOUT) as r:
            if r.status_code == 404:  # someone else acted first: the action is no longer offered
                r.success()
                refusals[post] += 1
                return url, post, None
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code}")
                return url, post, None
            return url, post, r.text

    def act(self, url: str, label: str, fields: dict) -> bool:
        """One workflow action as a person takes it: open its form, fill it in, send it."""
        url, post, form = self.open_form(url, label)
        if form is None:
            return False
        token = CSRF.search(form)
        return self.submit(url, post, {**fields, "csrfmiddlewaretoken": token.group(1) if token else ""})

    def submit(self, url: str, name: str, fields: dict) -> bool:
        with self.client.post(url, name=name, data=fields, allow_redirects=False, catch_response=True,
                              headers={"Referer": self.host + url}, timeout=TIMEOUT) as r:
            location = r.headers.get("Location", "")
            if r.status_code == 302 and "/accounts/login/" not in location:
                done[name] += 1
                saved = re.search(r"[?&]saved=([^&]+)", location)
                if saved:
                    registered.append(saved.group(1))
                return True
            if r.status_code == 404:
                r.success()
                refusals[name] += 1
                return False
            if r.status_code == 200 and REFUSAL.search(r.text):
                r.success()  # the action's own refusal: another person changed the order first
                refusals[name] += 1
                return False
            problem = FIELD_ERROR.search(r.text) if r.status_code == 200 else None
            detail = re.sub(r"<[^>]+>", "", next(g for g in problem.groups() if g)) if problem else ""
            r.failure(f"HTTP {r.status_code} {detail or r.headers.get('Location', '')}"[:300])
            return False

    # -- what everyone does -------------------------------------------------------------------------

    def rows(self, page: str | None, wanted: str) -> list[tuple[str, str]]:
        """(number, action URL) of the rows that offer ``wanted``."""
        found = []
        for number, body in ROW.findall(page or ""):
            for action, url in BUTTON.findall(body):
                if action == wanted:
                    found.append((number, url))
        return found

    def open_order(self, page: str | None) -> None:
        numbers = [n for n, _ in ROW.findall(page or "")]
        if not numbers:
            return
        name, number = "工单页 GET /orders/<编号>/", random.choice(numbers)
        with self.client.get(f"/orders/{number}/", name=name, allow_redirects=False,
                             catch_response=True, timeout=TIMEOUT) as r:
            if r.status_code == 404 and self.role == "operator":
                # An operator sees an order while it is theirs or waits in the intake or callback
                # queue: one another operator took in or closed since the list was read is gone
                # from their door, which answers 404 (the right answer, as for a taken action).
                # Center roles see every order and a unit every order it was assigned, so for them
                # a 404 stays an error.
                r.success()
                refusals[name] += 1
            elif r.status_code != 200:
                r.failure(f"HTTP {r.status_code}（{self.username}，{number}）{r.headers.get('Location', '')}")

    @task(2)
    def browse(self):
        self.get("/", "首页 GET /")
        page = self.get("/orders/", "工单查询 GET /orders/")
        self.open_order(page)

    @task(2)
    def search(self):
        page = self.get(f"/orders/?q={random.choice(SEARCH_WORDS)}", "全文检索 GET /orders/?q=…")
        self.open_order(page)


def _deadline(days: int) -> str:
    return (dt.datetime.now() + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


class Operator(Staff):
    role = "operator"
    accounts = _pool("operator")
    fixed_count = len(accounts)
    intake_options: dict | None = None

    def options(self, page: str) -> dict:
        def select(name):
            block = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S)
            return re.findall(r'<option value="(\d+)"', block.group(1)) if block else []

        datalist = re.search(r'<datalist id="category-list">(.*?)</datalist>', page, re.S)
        return {"town": select("town"), "appeal_type": select("appeal_type"),
                "category": re.findall(r'<option value="([^"]+)">', datalist.group(1)) if datalist else []}

    @task(6)
    def register(self):
        page = self.get("/intake/", "受理页 GET /intake/")
        if page is None:
            return
        if self.intake_options is None:
            self.intake_options = self.options(page)
        o, token = self.intake_options, CSRF.search(page)
        answer_now = random.random() < 0.2
        self.submit("/intake/", "登记 POST /intake/", {
            "csrfmiddlewaretoken": token.group(1) if token else "",
            "caller_phone": f"139{random.randrange(10**8):08d}", "caller_name": "市民", "source": "phone",
            "town": random.choice(o["town"]) if o["town"] else "", "address": "某小区",
            "appeal_type": o["appeal_type"][0] if o["appeal_type"] else "",
            "category": random.choice(o["category"]) if o["category"] else "", "urgency": "normal",
            "title": f"负载测试：{random.choice(SEARCH_WORDS)}问题", "content": "来电反映小区附近问题，请相关单位核实处理。",
            "disposition": "direct_answer" if answer_now else "submit_for_dispatch",
            "answer": "已告知来电人相关政策和办理渠道。" if answer_now else "",
        })

    @task(2)
    def register_by_api(self):
        csrf = self.client.cookies.get("csrftoken", "")
        with self.client.post("/api/orders/", name="登记 POST /api/orders/", catch_response=True, timeout=TIMEOUT,
                              json={"title": "负载测试：接口登记", "content": "来电反映路灯不亮，请核实处理。",
                                    "appeal_type": "problem", "caller_name": "市民",
                                    "caller_phone": f"138{random.randrange(10**8):08d}"},
                              headers={"X-CSRFToken": csrf, "Referer": self.host + "/"}) as r:
            if r.status_code == 201:
                done["登记 POST /api/orders/"] += 1
                registered.append(r.json()["number"])
            else:
                r.failure(f"HTTP {r.status_code} {r.text[:200]}")

    @task(2)
    def take_in(self):
        # What the API, the portal and Open311 registered waits in 待受理 for an operator.
        page = self.get("/intake/queue/", "待受理 GET /intake/queue/")
        rows = self.rows(page, "submit_for_dispatch")
        if rows:
            self.act(random.choice(rows)[1], "转派单", {"note": ""})

    @task(2)
    def callback(self):
        page = self.get("/callbacks/", "回访 GET /callbacks/")
        rows = self.rows(page, "callback_close")
        if rows:
            _, url = random.choice(rows)
            self.act(url, "回访办结", {"reached": "1", "satisfaction": "satisfied", "solved": "1",
                                           "reasonable": "1", "note": ""})


class Dispatcher(Staff):
    role = "dispatcher"
    accounts = _pool("dispatcher")
    fixed_count = len(accounts)

    @task(6)
    def dispatch(self):
        page = self.get("/dispatch/", "派单台 GET /dispatch/")
        rows = self.rows(page, "dispatch")
        if not rows:
            return
        url, post, form = self.open_form(random.choice(rows[:20])[1], "派单")
        if form is None:
            return
        # The unit the form suggests (the catalog's routing), as a dispatcher mostly accepts it.
        lead = (re.search(r'<select name="lead_unit"[^>]*>.*?<option value="(\d+)"[^>]*selected', form, re.S)
                or re.search(r'<select name="lead_unit"[^>]*>.*?<option value="(\d+)"', form, re.S))
        token = CSRF.search(form)
        self.submit(url, post, {"lead_unit": lead.group(1) if lead else "", "note": "",
                                "csrfmiddlewaretoken": token.group(1) if token else ""})

    @task(3)
    def review(self):
        page = self.get("/dispatch/", "派单台 GET /dispatch/")
        rows = self.rows(page, "approve_reply")
        if rows:
            self.act(random.choice(rows)[1], "审核通过", {"note": ""})

    @task(2)
    def decide_requests(self):
        page = self.get("/dispatch/", "派单台 GET /dispatch/")
        for action, name, fields in (("approve_extension", "同意延期", {"note": ""}),
                                     ("reject_return", "驳回退单", {"note": "属于本单位职责，请继续办理"})):
            rows = self.rows(page, action)
            if rows:
                self.act(random.choice(rows)[1], name, fields)


class Handler(Staff):
    role = "handler"
    accounts = _pool("handler")
    fixed_count = len(accounts)

    @task(8)
    def work_inbox(self):
        page = self.get("/inbox/", "单位待办 GET /inbox/")
        choice = random.random()
        if choice < 0.35:
            rows = self.rows(page, "sign")
            if rows:
                self.act(random.choice(rows)[1], "签收", {"note": ""})
                return
        if choice < 0.85:
            rows = self.rows(page, "reply")
            if rows:
                self.act(random.choice(rows)[1], "回复", {
                    "public_reply": "经现场核实，已协调相关部门处理完毕，并已电话告知来电人。",
                    "internal_note": "", "is_true": "", "solved": "1", "contacted_at": _deadline(0)})
                return
        rows = self.rows(page, "request_extension")
        if rows:
            self.act(random.choice(rows)[1], "申请延期", {
                "new_deadline": _deadline(40), "reason": "需协调多个部门现场处置，时间较长", "basis": ""})

    @task(2)
    def overdue_page(self):
        page = self.get("/inbox/", "单位待办 GET /inbox/")
        self.open_order(page)


class Supervisor(Staff):
    role = "supervisor"
    accounts = _pool("supervisor")
    fixed_count = len(accounts)

    @task(3)
    def review(self):
        page = self.get("/dispatch/", "派单台 GET /dispatch/")
        rows = self.rows(page, "approve_reply")
        if rows:
            self.act(random.choice(rows)[1], "审核通过", {"note": ""})

    @task(2)
    def supervision(self):
        self.get("/supervision/", "督办 GET /supervision/")

    @task(3)
    def search_more(self):
        self.search()

