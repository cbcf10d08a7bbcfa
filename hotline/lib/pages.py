"""A page or its htmx fragment from one template: the console's rendering rule, for every app."""

from __future__ import annotations

from django.shortcuts import render

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

