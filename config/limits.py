"""Refuse a request body larger than its path needs before a byte of it is read.

Django would parse a 50 MiB multipart post to the log-in page in full before the view could
refuse it. Here the declared ``Content-Length`` is compared with the limit for the path
(``REQUEST_BODY_LIMITS``: the first matching pattern wins, else ``REQUEST_BODY_DEFAULT_LIMIT``)
and an oversized request is answered 413 at once. A body sent without a length (chunked) is not
read by Django under WSGI at all, so the declared length is the whole story here; the proxy in
front enforces the same limits on the wire (README, "Production shape").
"""

import re
from functools import lru_cache

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext as _

from config.logging import log_refused


@lru_cache(maxsize=8)
def _compiled(table: tuple) -> tuple:
    return tuple((re.compile(pattern), limit) for pattern, limit in table)


def body_limit(path: str) -> int:
    """The largest body, in bytes, a request to ``path`` may declare."""
    for pattern, limit in _compiled(tuple(settings.REQUEST_BODY_LIMITS)):
        if pattern.search(path):
            return limit
    return settings.REQUEST_BODY_DEFAULT_LIMIT


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{max(1, limit // 1024)} KiB"


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # Django treats an unreadable length as no body
        if declared > 0:
            limit = body_limit(request.path_info)
            if declared > limit:
                log_refused(request, status=413, outcome="body_too_large")
                return HttpResponse(
                    _("This request is too large for this page (at most %(size)s). Nothing was saved.")
                    % {"size": _size(limit)},
                    status=413,
                    content_type="text/plain; charset=utf-8",
                )
        return self.get_response(request)
