"""A page or its htmx fragment from one template: the console's rendering rule, for every app."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

# The address as the platform counts and audits it (proxies in PROXY_HOPS honoured): one definition.
from hotline.lib.clientip import client_ip  # noqa: F401


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def render_page(request, template: str, context: dict, *, status: int = 200):
    """Render ``template`` as a full page, or — for an htmx request — only its ``content`` block.

    Each page template extends ``base_template``: ``base.html`` for a browser load, the bare
    ``web/_fragment.html`` for htmx, so page and fragment come from one template.
    """
    context = {**context, "base_template": "web/_fragment.html" if is_htmx(request) else "base.html"}
    return render(request, template, context, status=status)



# Longer than any address the platform writes into a ``next`` field; a longer one is not ours.
MAX_NEXT_CHARS = 2000


def safe_next(request, fallback: str) -> str:
    """Where to go after a form: ``next`` from the POST body or the query string when it is a path
    on this site, otherwise ``fallback``. Every view that honours ``next`` asks here, so a hostile
    value (another host, ``javascript:``, a relative ``2023-02-30``, control characters, a page of
    text) is one rule's business: it is ignored, never redirected to and never a server error."""
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if (not nxt or len(nxt) > MAX_NEXT_CHARS or not nxt.isprintable() or not nxt.startswith("/")
            or nxt.startswith(("//", "/\\"))):
        return fallback
    if url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return nxt
    return fallback
