"""Refuse requests carrying NUL characters before any view sees them.

PostgreSQL text cannot hold U+0000, so a query string like ``?q=%00`` would otherwise reach the
database and fail there (a 500 on PostgreSQL, silently accepted on SQLite). No legitimate form
field contains it, so the request is answered 400 with a Chinese message and nothing runs.
"""

from django.http import HttpResponseBadRequest


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request.GET) or (request.content_type == "application/x-www-form-urlencoded"
                                     and request.method == "POST" and _has_nul(request.POST)):
            return HttpResponseBadRequest("请求中含有非法字符（NUL），已拒绝。".encode(),
                                          content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _has_nul(query) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in query.lists())
