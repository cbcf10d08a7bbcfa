"""A fixed-window counter per client IP in Django's cache (shared by all app processes when the
cache is Redis), so order numbers and phones cannot be tried by the thousand."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache


def client_ip(request) -> str:
    """REMOTE_ADDR, or the address a trusted proxy saw when ``PORTAL_PROXY_HOPS`` proxies front us.

    Behind nginx every request comes from 127.0.0.1; counting that would lock out the whole city.
    Only the right-most hops added by our own proxies are trusted, never the left-most (forgeable).
    """
    hops = int(getattr(settings, "PORTAL_PROXY_HOPS", 0) or 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        chain = [part.strip() for part in forwarded.split(",") if part.strip()]
        if len(chain) >= hops:
            return chain[-hops]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def hit(request, bucket: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt; False when this IP has used up ``limit`` attempts in the window."""
    key = f"portal:rl:{bucket}:{client_ip(request)}"
    if cache.add(key, 1, timeout=window_seconds):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window_seconds)
        return True
    return count <= limit
