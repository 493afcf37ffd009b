import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.utils.translation import gettext as _

logger = logging.getLogger("provenance.availability")


class DatabaseUnavailableMiddleware:
    """The database being down for a moment is not a bug: answer 503 with Retry-After, so
    autosaves show "Not saved — retrying" and try again, instead of a 500 and a traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable: %s", type(exception).__name__)
        response = HttpResponse(
            _("The server cannot reach its database just now. Nothing was changed; try again in a moment."),
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = "5"
        return response
