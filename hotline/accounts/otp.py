"""Who owes a second factor (TOTP, django-otp), and the one place that checks a code.

Admins, supervisors and auditors see or change everything, so a stolen password alone must not be
enough: with ``HOTLINE_OTP_REQUIRED`` (the default when ``HOTLINE_ENV=production``) they enrol an
authenticator app on first login and enter its six-digit code after their password in every new
session. In the demo and development it is optional, but whoever enrolled a device is asked for it.
"""

from __future__ import annotations

from django.conf import settings

from hotline.accounts.access import role_of


def second_factor_role(user) -> bool:
    role = role_of(user)
    return role is not None and role.value in settings.HOTLINE_OTP_ROLES


def needs_second_factor(user) -> bool:
    if not second_factor_role(user):
        return False
    if settings.HOTLINE_OTP_REQUIRED:
        return True
    from django_otp import user_has_device

    return user_has_device(user, confirmed=True)


def confirmed_device(user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def pending_device(user):
    """The device being enrolled: created once, shown until its first code confirms it."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="身份验证器", confirmed=False)
    return device


def verify(device, token: str) -> bool:
    """A six-digit code of this device (django-otp refuses a code used before and throttles failures)."""
    token = (token or "").strip().replace(" ", "")
    if not (token.isascii() and token.isdigit() and len(token) == device.digits):
        return False
    return bool(device.verify_token(token))
