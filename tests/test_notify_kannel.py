"""SMS through a real Kannel on loopback, sent by the platform's real worker processes.

The operator side of Kannel's HTTP SMSC is played by the test (``tests/gateways.py``): it keeps
every message and reports it delivered. The platform runs as real processes on its own SQLite
database: a web server (which receives Kannel's delivery reports), task workers the test starts,
kills with SIGKILL and restarts, and a scheduler.

The story: citizens of 杨楼镇 submit appeals on the portal and get their 受理回执 with the order
number; 杨楼镇's contact phone gets the 督办 SMS; a worker dies in the middle of a send and no
citizen gets a receipt twice; Kannel's smsbox goes down, the worker retries and gives up, 督办 周
sees the failure and retries it by hand once the gateway is back.
"""

import http.cookiejar
import re
import signal
import urllib.parse
import urllib.request

import pytest

from tests.gateways import PASSWORD, Kannel, Operator, Platform, Proxy, wait_for

REGISTER = """
from hotline.catalog.models import AppealType, Source
from hotline.directory.models import Unit
from hotline.workorders import actions
numbers = []
for phone in {phones!r}:
    order = actions.register_order(acting_user=None, source=Source.WEB, title="路灯不亮",
                                   content="杨楼镇某村路灯损坏多日。", appeal_type=AppealType.objects.get(code="problem"),
                                   town=Unit.objects.get(short_name="杨楼镇"), caller_phone=phone)
    numbers.append(order.number)
print(json.dumps(numbers))
"""


@pytest.fixture(scope="session")
def operator():
    yield Operator()


@pytest.fixture(scope="session")
def kannel(tmp_path_factory, operator):
    gateway = Kannel(tmp_path_factory.mktemp("kannel"), operator).start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def proxy(kannel):
    return Proxy(kannel.sendsms_url)


@pytest.fixture(scope="module")
def platform(tmp_path_factory, kannel, proxy):
    app = Platform(tmp_path_factory.mktemp("platform"), {
        "KANNEL_SENDSMS_URL": proxy.url, "KANNEL_USERNAME": kannel.username, "KANNEL_PASSWORD": kannel.password,
        "KANNEL_ADMIN_URL": kannel.admin_url, "KANNEL_ADMIN_PASSWORD": kannel.admin_password,
        "NOTIFY_LEASE_SECONDS": "2", "NOTIFY_BACKOFF_SECONDS": "1", "NOTIFY_MAX_ATTEMPTS": "3",
        "NOTIFY_TIMEOUT_SECONDS": "5",
    })
    app.run(f"""
        from django.core.management import call_command
        from hotline.demo.people import ensure_people
        call_command("setup", verbosity=0)
        ensure_people({PASSWORD!r})
        print(1)
    """, timeout=300)
    app.start_web()
    yield app
    app.stop()


@pytest.fixture
def worker(platform):
    process = platform.worker()
    yield process
    process.terminate()
    process.wait(20)


def delivery(platform, number: str, kind: str = "receipt"):
    rows = platform.rows("SELECT d.status, d.attempts, d.report_status, d.last_error, d.gateway_id FROM notify_delivery d "
                         "JOIN workorders_workorder o ON o.id = d.order_id WHERE o.number = ? AND d.kind = ?",
                         (number, kind))
    return rows[0] if rows else None


def test_a_citizen_gets_a_receipt_with_the_order_number_and_its_report_is_recorded(platform, operator, worker):
    [number] = platform.run(REGISTER.format(phones=["13900000001"]))

    texts = wait_for(lambda: operator.texts_to("13900000001"), what="the receipt at the operator")
    assert len(texts) == 1 and number in texts[0] and "已受理" in texts[0]
    assert f"{platform.url}/portal/track/{number}/" in texts[0]
    # Kannel reported it twice: accepted by the SMSC (8), then delivered to the phone (1).
    status, attempts, report, error, gateway_id = wait_for(
        lambda: (row := delivery(platform, number)) and row[0] == "delivered" and row, what="the delivery report")
    assert (attempts, report, error) == (1, "已送达手机", "")
    assert re.fullmatch(r"[0-9a-f-]{36}", gateway_id)  # Kannel's message id, from its first report


def test_a_unit_contact_gets_the_supervision_sms(platform, operator, worker):
    [number] = platform.run("""
        from hotline.accounts.models import User
        from hotline.catalog.models import AppealType
        from hotline.directory.models import Unit
        from hotline.workorders import actions
        yanglou = Unit.objects.get(short_name="杨楼镇")
        yanglou.contact_phone = "13700008888"
        yanglou.save(update_fields=["contact_phone"])
        people = {u.username: u for u in User.objects.all()}
        order = actions.register_order(acting_user=people["operator_li"], title="排水沟堵塞", content="杨楼镇某村排水沟堵塞。",
                                       appeal_type=AppealType.objects.get(code="problem"), town=yanglou)
        actions.submit_for_dispatch(order, acting_user=people["operator_li"])
        actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=yanglou)
        actions.supervise(order, acting_user=people["supervisor_zhou"], notice="群众反映强烈，请两日内落实")
        print(json.dumps([order.number]))
    """)

    def supervision_texts():
        return [t for t in operator.texts_to("13700008888") if number in t and "督办" in t]

    texts = wait_for(supervision_texts, what="the 督办 SMS at the operator")
    assert len(texts) == 1 and "群众反映强烈" in texts[0] and "书面反馈" in texts[0]
    assert any(number in t and "派至贵单位" in t for t in operator.texts_to("13700008888"))  # the dispatch too
    wait_for(lambda: (delivery(platform, number, "supervision") or ("",))[0] == "delivered",
             what="the 督办 SMS delivered")


def test_a_worker_killed_mid_send_and_restarted_sends_each_message_once(platform, operator, proxy):
    phones = [f"1390000010{i}" for i in range(4)]
    numbers = platform.run(REGISTER.format(phones=phones))

    # 1. The worker's request reaches Kannel; it dies before it reads the answer or records anything.
    proxy.arm("after")
    first = platform.worker()
    assert proxy.stalled.wait(30), platform.logs()
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    proxy.release.set()
    # Kannel has it; its report names the row, which is then marked sent although no worker said so.
    wait_for(lambda: len(operator.texts_to(phones[0])) == 1, what="the first message at the operator")
    wait_for(lambda: delivery(platform, numbers[0])[0] in ("sent", "delivered"), what="the report resolving it")

    # 2. The next worker dies before its request reaches Kannel: the row stays "sending".
    proxy.arm("before")
    second = platform.worker()
    assert proxy.stalled.wait(30), platform.logs()
    second.send_signal(signal.SIGKILL)
    second.wait(10)
    proxy.release.set()
    assert delivery(platform, numbers[1])[0] == "sending"

    # 3. After the lease, the scheduler's tick asks Kannel's store, finds nothing, puts the row back
    #    in the queue and wakes a worker, which sends it (and the two never claimed).
    third = platform.worker()
    scheduler = platform.start("scheduler", "--tick", "0.5", "--every", "60", log="scheduler.log")
    try:
        # Two fresh processes must start first (seconds each on a busy machine): a longer wait than
        # the rest, though the lease itself is 2 s.
        for phone, number in zip(phones, numbers, strict=True):
            wait_for(lambda p=phone: operator.texts_to(p), timeout=90, what=f"the receipt for {phone}")
            wait_for(lambda n=number: delivery(platform, n)[0] == "delivered", timeout=30, what=f"{number} delivered")
    finally:
        for process in (third, scheduler):
            process.terminate()
            process.wait(20)
    for phone, number in zip(phones, numbers, strict=True):
        texts = operator.texts_to(phone)
        assert len(texts) == 1 and number in texts[0], (phone, texts)
    assert delivery(platform, numbers[1])[1] == 2  # claimed twice, sent once


class Browser:
    """A staff member's session over plain HTTP (cookies and CSRF as a browser keeps them)."""

    def __init__(self, base: str, username: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.get("/accounts/login/")
        self.post("/accounts/login/", {"username": username, "password": PASSWORD})

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=20) as response:
            return response.read().decode()

    def post(self, path: str, data: dict) -> str:
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": self.csrf()}).encode()
        request = urllib.request.Request(self.base + path, data=body, headers={"Referer": self.base + path})
        with self.opener.open(request, timeout=20) as response:
            return response.read().decode()


def test_a_gateway_that_is_down_retries_fails_visibly_and_a_manual_retry_succeeds(platform, operator, kannel):
    phone = "13900000009"
    kannel.stop_smsbox()
    try:
        [number] = platform.run(REGISTER.format(phones=[phone]))
        worker = platform.worker()
        scheduler = platform.start("scheduler", "--tick", "0.5", "--every", "60", log="scheduler.log")
        try:
            status, attempts, _, error, _ = wait_for(
                lambda: (row := delivery(platform, number)) and row[0] == "failed" and row, timeout=60,
                what="three attempts, then failed")
        finally:
            scheduler.terminate()
            scheduler.wait(20)
        assert attempts == 3 and error and phone not in error
    finally:
        kannel.start_smsbox()
    assert operator.texts_to(phone) == []

    zhou = Browser(platform.url, "supervisor_zhou")
    page = zhou.get("/notify/failures/")
    assert number in page and "139****0009" in page and phone not in page
    order_page = zhou.get(f"/orders/{number}/")
    assert "消息发送" in order_page and "发送失败" in order_page and phone not in order_page
    [pk] = platform.rows("SELECT d.id FROM notify_delivery d JOIN workorders_workorder o ON o.id = d.order_id "
                         "WHERE o.number = ? AND d.kind = 'receipt'", (number,))[0]
    zhou.post(f"/notify/deliveries/{pk}/retry/", {})
    try:
        wait_for(lambda: delivery(platform, number)[0] == "delivered", what="the retried message delivered")
    finally:
        worker.terminate()
        worker.wait(20)
    assert len(operator.texts_to(phone)) == 1
    # Nobody's phone number in the platform's logs (web server, workers, scheduler).
    logs = platform.logs()
    assert phone not in logs and "13900000001" not in logs and "13700008888" not in logs
