"""django-csp's middleware with the header built once per process.

django-csp builds the Content-Security-Policy header from the settings afresh for every response
(0.15–0.25 ms of an API registration's CPU): the directives are copied, merged and joined each time,
though without a nonce or a per-view decorator the result is the same string every time. Here that
string is built once (and again when the settings change, as in tests); a response that asked for a
nonce (``request.csp_nonce`` was read) or carries a decorator's policy goes through django-csp
unchanged, so both keep working.
"""

from __future__ import annotations

import functools
import http.client

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as _CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed

# What @csp_update, @csp_replace and @csp leave on a response (csp.decorators).
_PER_RESPONSE = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")
_SETTINGS = {False: "CONTENT_SECURITY_POLICY", True: "CONTENT_SECURITY_POLICY_REPORT_ONLY"}
_HEADERS = ((False, HEADER, "_csp_exempt"), (True, HEADER_REPORT_ONLY, "_csp_exempt_ro"))
_DEBUG_EXEMPT = (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND)


@functools.cache
def settings_policy(report_only: bool) -> tuple[str, tuple[str, ...]]:
    """The header django-csp builds from the settings alone (no nonce, no decorator), and the path
    prefixes it is not sent on."""
    policy = getattr(settings, _SETTINGS[report_only], None) or {}
    return build_policy(report_only=report_only), tuple(policy.get("EXCLUDE_URL_PREFIXES", None) or ())


def _settings_changed(setting, **_kwargs):
    if setting in _SETTINGS.values():
        settings_policy.cache_clear()


setting_changed.connect(_settings_changed, dispatch_uid="hotline-csp-settings")


class CSPMiddleware(_CSPMiddleware):
    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(
                getattr(response, name, None) is not None for name in _PER_RESPONSE):
            return super().process_response(request, response)
        # From here on what django-csp's process_response does, with the built header.
        if response.status_code in _DEBUG_EXEMPT and settings.DEBUG:
            return response
        for report_only, header, exempt in _HEADERS:
            policy, excluded = settings_policy(report_only)
            if (policy and header not in response and getattr(response, exempt, False) is False
                    and not request.path_info.startswith(excluded)):
                response[header] = policy
        # No nonce was asked for: asking after the header is written is an error, as in django-csp.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
