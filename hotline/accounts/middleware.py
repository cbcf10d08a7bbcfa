"""What every staff request passes through after authentication: the idle timeout, the second
factor for the roles that need one, and ``Cache-Control: no-store`` on what comes back.

Citizens never log in (the portal proves an order by number and phone), so none of this touches
the portal: its tracking pages carry ``no-store`` by their own decorator.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode

from hotline.accounts.otp import needs_second_factor

LAST_SEEN = "hotline_last_seen"
# Writing the session on every request would cost a database write per click: the stamp moves
# at most once a minute, which is all a timeout counted in minutes needs.
STAMP_EVERY = 60
# Requests a page makes by itself (the live-update stream reconnects every half minute): they are
# not the person at work and must not keep an unattended session alive.
PASSIVE = ("/live/",)


def _wants_json(request) -> bool:
    return request.path_info.startswith(("/api/", "/open311/"))


class IdleTimeoutMiddleware:
    """A staff session unused for HOTLINE_IDLE_MINUTES is logged out (audited as such); the request
    then goes on as anonymous, so a page redirects to the login and the API answers 401."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.HOTLINE_IDLE_MINUTES * 60
        if limit and request.user.is_authenticated:
            now = int(time.time())
            last = request.session.get(LAST_SEEN)
            if last is not None and now - int(last) > limit:
                request.hotline_logout_reason = "idle"
                logout(request)
                messages.info(request, f"超过 {settings.HOTLINE_IDLE_MINUTES} 分钟未操作，已自动退出，请重新登录。")
                if request.headers.get("HX-Request") == "true":
                    # htmx would swap the login page into a panel: send the whole window there instead.
                    response = HttpResponse(status=200)
                    response["HX-Redirect"] = reverse("login")
                    return response
            elif (last is None or now - int(last) >= STAMP_EVERY) and not request.path_info.startswith(PASSIVE):
                request.session[LAST_SEEN] = now
        return self.get_response(request)


# Pages a person who still owes the second factor may open.
OTP_OPEN = {"login", "logout", "otp_verify", "otp_setup", "set_language", "healthz"}


class SecondFactorMiddleware:
    """Admins, supervisors and auditors reach nothing but the TOTP pages until they have entered
    a code in this session (when required: hotline/accounts/otp.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not user.is_verified() and needs_second_factor(user):
            try:
                name = resolve(request.path_info).url_name
            except Resolver404:
                name = None
            if name not in OTP_OPEN:
                if _wants_json(request):
                    return JsonResponse({"error": "请先在网页上完成两步验证"}, status=403)
                target = "otp_verify" if user_has_confirmed_device(user) else "otp_setup"
                return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


def user_has_confirmed_device(user) -> bool:
    from django_otp import user_has_device

    return user_has_device(user, confirmed=True)


class NoStoreMiddleware:
    """Nothing a logged-in person is shown may stay in a browser's or a proxy's cache: every page,
    fragment, API answer and export of a staff session is ``no-store``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or response.has_header("Content-Disposition"):
            add_never_cache_headers(response)
        return response
