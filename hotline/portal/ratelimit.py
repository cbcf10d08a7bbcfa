"""A fixed-window counter per client IP, so order numbers and phones cannot be tried by the thousand.

The counters live in the "shared" cache that every app process sees: Redis when ``REDIS_URL`` is
set, otherwise a table in the database (settings.CACHES). A per-process memory would let a client
spread its attempts over the processes and multiply the limit.
"""

from __future__ import annotations

from django.core.cache import caches

from hotline.lib.clientip import client_ip_or_unknown as client_ip


def hit(request, bucket: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt; False when this IP has used up ``limit`` attempts in the window."""
    cache = caches["shared"]
    key = f"portal:rl:{bucket}:{client_ip(request)}"
    if cache.add(key, 1, timeout=window_seconds):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window_seconds)
        return True
    return count <= limit
