"""Refuse requests carrying NUL characters before any view sees them.

PostgreSQL text cannot hold U+0000, so a NUL in a URL path segment (``/open311/v2/requests/%00.json``),
a query string (``?q=%00``), a form field, an uploaded file's name or a cookie would otherwise
reach the database and fail there (a 500 on PostgreSQL, silently accepted on SQLite). No
legitimate request contains it, so the request is answered 400 with a Chinese message and nothing
runs. A multipart body Django cannot parse is answered 400 here too (Django itself would let
the parser's error through as a 500). JSON bodies are checked where they are parsed
(``hotline.lib.parsing.parse_json``), with their depth and size; views that read the raw body are
marked ``@parsing.reads_raw_body`` so their multipart bodies stay unparsed for them. (Django drops
unprintable characters from uploaded file names itself.)
"""

import json

from django.http import HttpResponseBadRequest
from django.http.multipartparser import MultiPartParserError

from hotline.lib.parsing import READS_RAW_BODY
from hotline.lib.text import NUL_MESSAGE as _NUL
from hotline.open311.georeport import CONTENT_TYPES, error_list, to_json, to_xml

NUL_MESSAGE = f"请求{_NUL}，已拒绝。"  # the text boundary's words, one message for NUL everywhere
URLENCODED, MULTIPART = "application/x-www-form-urlencoded", "multipart/form-data"


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or _has_nul(request.GET) or any(
                "\x00" in k or "\x00" in v for k, v in request.COOKIES.items()):
            return _bad(NUL_MESSAGE, request)
        if request.method == "POST" and request.content_type == URLENCODED and _has_nul(request.POST):
            return _bad(NUL_MESSAGE, request)  # Django keeps the raw body of these, so reading is harmless
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST" or request.content_type != MULTIPART or getattr(view_func, READS_RAW_BODY, False):
            return None
        try:
            fields, files = request.POST, request.FILES
        except MultiPartParserError:
            return _bad("表单数据格式错误，无法读取，已拒绝。", request)
        if _has_nul(fields) or any("\x00" in key for key in files):
            return _bad(NUL_MESSAGE, request)
        return None


def _bad(message: str, request=None):
    """A 400 in the form the caller reads: Open311's error list in XML or JSON, the JSON API's
    ``{"error": …}``, plain text for pages."""
    path = request.path if request is not None and "\x00" not in request.path else ""
    if path.startswith("/open311/") and path.endswith((".xml", ".json")):
        fmt = "xml" if path.endswith(".xml") else "json"
        body = to_xml("errors", error_list(400, message)) if fmt == "xml" else to_json(error_list(400, message))
        return HttpResponseBadRequest(body, content_type=CONTENT_TYPES[fmt])
    if path.startswith("/api/"):
        return HttpResponseBadRequest(json.dumps({"error": message}, ensure_ascii=False).encode(),
                                      content_type="application/json")
    return HttpResponseBadRequest(message.encode(), content_type="text/plain; charset=utf-8")


def _has_nul(query) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in query.lists())
