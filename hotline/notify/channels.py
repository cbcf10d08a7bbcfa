"""The outbound channels behind one interface: ``send(delivery) -> Result``.

- SMS through Kannel's smsbox (``/cgi-bin/sendsms``), with a delivery-report URL that carries the
  delivery's id and a secret token (``dlr_url``), so reports find their row and nobody else can
  post one;
- e-mail through Django's SMTP backend (``EMAIL_*`` settings);
- 企业微信 and 钉钉 group robots (JSON POST to the webhook; 钉钉's optional signing).

``send`` never raises: a failure is a ``Result`` with an error text that names no recipient
(errors are masked: an exception's text may quote a URL that holds a phone number).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from hotline.lib.masking import mask_identities
from hotline.notify.models import Channel, Delivery


@dataclass(frozen=True)
class Result:
    ok: bool
    gateway_id: str = ""
    error: str = ""


def _conf(name):
    return settings.HOTLINE_NOTIFY[name]


def dlr_token(delivery_id: int) -> str:
    """The secret a delivery report must carry for ``delivery_id``."""
    key = (_conf("DLR_TOKEN") or settings.SECRET_KEY).encode()
    return hmac.new(key, f"dlr:{delivery_id}".encode(), hashlib.sha256).hexdigest()[:32]


# Written out for the reason of emit.ORDER_PATH (a worker's first reverse() imports every view);
# tests/test_notify.py checks it against the URLconf.
DLR_PATH = "/notify/dlr/"


def dlr_url(delivery: Delivery) -> str:
    """The URL Kannel calls with each delivery report. %d (report type), %A (the SMSC's answer),
    %T (time) and %F (the SMSC's message id) are Kannel's escapes; the receiver's number (%p) is
    deliberately not asked for."""
    base = _conf("PUBLIC_URL").rstrip("/") + DLR_PATH
    query = urllib.parse.urlencode({"delivery": delivery.pk, "token": dlr_token(delivery.pk)})
    return f"{base}?{query}&type=%d&reply=%A&ts=%T&fid=%F"


def _clean_error(text: str) -> str:
    return mask_identities(str(text), hide=True)[:500]


def _http(request: urllib.request.Request) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(request, timeout=_conf("TIMEOUT_SECONDS")) as response:
            return response.status, response.read(4096)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(4096) if exc.fp else b""


def _failure(exc: BaseException) -> Result:
    # URLError's text is its reason (refused, timed out), never the URL; still masked, for safety.
    reason = getattr(exc, "reason", exc)
    return Result(False, error=_clean_error(f"{type(exc).__name__}: {reason}"))


def send_sms(delivery: Delivery) -> Result:
    params = {
        "username": _conf("KANNEL_USERNAME"), "password": _conf("KANNEL_PASSWORD"),
        "to": delivery.address, "from": _conf("SMS_FROM"), "text": delivery.body,
        "charset": "UTF-8", "coding": "2",
        # 1 delivered, 2 undeliverable, 4 queued at the SMSC, 8 accepted by the SMSC, 16 rejected by it.
        "dlr-mask": "31", "dlr-url": dlr_url(delivery),
    }
    if _conf("KANNEL_SMSC"):
        params["smsc"] = _conf("KANNEL_SMSC")
    url = _conf("KANNEL_SENDSMS_URL") + "?" + urllib.parse.urlencode(params)
    try:
        status, body = _http(urllib.request.Request(url, method="GET"))
    except OSError as exc:  # URLError and timeouts are OSErrors
        return _failure(exc)
    text = body.decode("utf-8", "replace").strip()
    if status in (200, 202):  # "0: Accepted for delivery" / "3: Queued for later delivery"
        return Result(True, gateway_id="")
    return Result(False, error=_clean_error(f"短信网关返回 HTTP {status}：{text[:200]}"))


def send_email(delivery: Delivery) -> Result:
    message_id = make_msgid(idstring=f"delivery-{delivery.pk}", domain="hotline.local")
    message = EmailMessage(subject=delivery.subject or delivery.body[:40], body=delivery.body,
                           to=[delivery.address], headers={"Message-ID": message_id})
    try:
        sent = get_connection(timeout=_conf("TIMEOUT_SECONDS")).send_messages([message])
    except Exception as exc:  # smtplib and socket errors have many classes; each is one failed attempt
        return _failure(exc)
    return Result(True, gateway_id=message_id) if sent else Result(False, error="邮件服务器未接受该邮件")


def _robot_post(url: str, content: str) -> Result:
    payload = json.dumps({"msgtype": "text", "text": {"content": content}}, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=payload, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        status, body = _http(request)
    except OSError as exc:  # URLError and timeouts are OSErrors
        return _failure(exc)
    if status != 200:
        return Result(False, error=f"机器人接口返回 HTTP {status}")
    try:
        answer = json.loads(body.decode("utf-8") or "{}")
    except ValueError:
        return Result(False, error="机器人接口的应答不是 JSON")
    if answer.get("errcode", 0) != 0:
        return Result(False, error=_clean_error(f"机器人接口错误 {answer.get('errcode')}：{answer.get('errmsg', '')}"))
    return Result(True, gateway_id=str(answer.get("msgid", ""))[:100])


def send_wecom(delivery: Delivery) -> Result:
    return _robot_post(delivery.address, delivery.body)


def dingtalk_signed(url: str, secret: str, now_ms: int | None = None) -> str:
    """钉钉 加签: timestamp and HMAC-SHA256 of "timestamp\\nsecret" keyed by the secret, base64."""
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


def send_dingtalk(delivery: Delivery) -> Result:
    from hotline.notify.models import UnitContact

    url = delivery.address
    secret = (UnitContact.objects.filter(unit_id=delivery.unit_id, dingtalk_webhook=url)
              .values_list("dingtalk_secret", flat=True).first() if delivery.unit_id else "")
    if secret:
        url = dingtalk_signed(url, secret)
    return _robot_post(url, delivery.body)


SENDERS = {Channel.SMS: send_sms, Channel.EMAIL: send_email, Channel.WECOM: send_wecom,
           Channel.DINGTALK: send_dingtalk}


def send(delivery: Delivery) -> Result:
    try:
        return SENDERS[delivery.channel](delivery)
    except Exception as exc:  # a bug in one channel must not stop the outbox
        return Result(False, error=_clean_error(f"{type(exc).__name__}: {exc}"))
