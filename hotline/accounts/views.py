"""The second factor's two pages: enrol an authenticator app, and enter its code after the password."""

from __future__ import annotations

import base64

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django_otp import login as otp_login

from hotline.accounts import otp
from hotline.accounts.access import audit
from hotline.lib.clientip import client_ip
from hotline.lib.pages import safe_next


def _next(request) -> str:
    return safe_next(request, "/")


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a locked username+address: a Chinese page, 429 Too Many Requests."""
    cooloff = settings.AXES_COOLOFF_TIME
    return render(request, "registration/locked.html", {
        "failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": int(cooloff.total_seconds() // 60)}, status=429)


@login_required
def otp_verify(request):
    device = otp.confirmed_device(request.user)
    if device is None:
        return redirect(_otp_url("otp_setup", request))
    error = ""
    if request.method == "POST":
        if otp.verify(device, request.POST.get("token", "")):
            otp_login(request, device)
            audit(request.user, "login", object_type="accounts.user", object_id=request.user.username,
                  ip=client_ip(request), result="两步验证通过")
            return redirect(_next(request))
        audit(request.user, "login", object_type="accounts.user", object_id=request.user.username,
              ip=client_ip(request), result="两步验证码错误")
        error = "验证码不正确或已使用，请输入身份验证器上当前的6位数字。"
    return render(request, "accounts/otp_verify.html", {"next": _next(request), "error": error})


@login_required
def otp_setup(request):
    if not otp.second_factor_role(request.user):
        messages.info(request, "您的角色不需要两步验证。")
        return redirect("home")
    # Enrolling a new device must not be a way around the one already enrolled.
    if otp.confirmed_device(request.user) is not None and not request.user.is_verified():
        return redirect(_otp_url("otp_verify", request))
    device = otp.pending_device(request.user)
    error = ""
    if request.method == "POST":
        if otp.verify(device, request.POST.get("token", "")):
            from django_otp.plugins.otp_totp.models import TOTPDevice

            TOTPDevice.objects.filter(user=request.user).exclude(pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            audit(request.user, "login", object_type="accounts.user", object_id=request.user.username,
                  ip=client_ip(request), result="启用两步验证")
            messages.success(request, "两步验证已启用：以后每次登录后输入身份验证器上的6位数字。")
            return redirect(_next(request))
        error = "验证码不正确，请核对手机时间后输入身份验证器上当前的6位数字。"
    uri = device.config_url
    return render(request, "accounts/otp_setup.html", {
        "next": _next(request), "error": error, "uri": uri, "qr": _qr_svg(uri),
        "secret": " ".join(_chunks(base64.b32encode(device.bin_key).decode().rstrip("="), 4)),
    })


def _otp_url(name: str, request) -> str:
    return f"{reverse(name)}?{urlencode({'next': _next(request)})}"


def _chunks(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def _qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code (segno writes plain SVG: no script, no external file)."""
    import segno

    return segno.make(uri, error="m").svg_inline(scale=4, dark="#1a1a1a", light="#ffffff")
