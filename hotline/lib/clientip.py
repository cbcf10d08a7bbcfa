"""The address a request came from, as the platform counts and audits it: one definition for the
portal's rate limits, login throttling (django-axes) and the audit log's IP column."""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or the address a trusted proxy saw when ``PORTAL_PROXY_HOPS`` proxies front us.

    Behind nginx every request comes from 127.0.0.1; counting that would lock out the whole city.
    Only the right-most hops added by our own proxies are trusted, never the left-most (forgeable).
    None when there is no valid address (the audit log's column holds addresses only).
    """
    hops = int(getattr(settings, "PORTAL_PROXY_HOPS", 0) or 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    candidate = request.META.get("REMOTE_ADDR", "")
    if hops and forwarded:
        chain = [part.strip() for part in forwarded.split(",") if part.strip()]
        if len(chain) >= hops:
            candidate = chain[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def client_ip_or_unknown(request) -> str:
    """For counters keyed by address: requests without one share one key rather than escaping the count."""
    return client_ip(request) or "unknown"
