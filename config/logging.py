"""Structured security log: one JSON object per line, never answer text or passwords."""

import json
import logging
import uuid

from django.utils.crypto import salted_hmac

from config.clientip import client_ip

security_log = logging.getLogger("provenance.security")

# Statuses worth a record: refused, missing, conflicting or throttled requests.
LOGGED_STATUSES = {401, 403, 404, 405, 409, 413, 422, 429}


class JsonFormatter(logging.Formatter):
    FIELDS = (
        "event",
        "user_id",
        "target_user_id",
        "client_ip",
        "path",
        "method",
        "status",
        "request_id",
        "outcome",
        "username_hash",
    )

    def format(self, record):
        payload = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name}
        payload["message"] = record.getMessage()
        for field in self.FIELDS:
            if hasattr(record, field):
                payload[field] = getattr(record, field)
        return json.dumps(payload, ensure_ascii=True)


def _user_id(request):
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None


class RequestIdMiddleware:
    """Gives every request an id (echoed as X-Request-ID) and records refused requests."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        # A refused log-in has already been recorded (once) by log_failed_login.
        if response.status_code in LOGGED_STATUSES and not getattr(request, "security_logged", False):
            log_refused(request, status=response.status_code, outcome=response.reason_phrase)
        return response


def username_hash(username: str) -> str:
    """A keyed hash (HMAC-SHA256, key derived from SECRET_KEY) of a typed user name: the same
    name gives the same value across records, so repeated attempts on one account can be seen,
    but without the key a list of likely names cannot be hashed and matched against the log."""
    return salted_hmac("provenance.security-log.username", username, algorithm="sha256").hexdigest()


def log_refused(request, *, status: int, outcome: str, event: str = "refused", **fields):
    """The one record of a refused request. A view that logs its own refusal (with a more precise
    ``outcome``, e.g. ``rate_limited``) calls this; the middleware then does not log it again.
    A refusal that is not an error status (a wrong join code re-shows the form) passes its own
    ``event``."""
    request.security_logged = True
    security_log.warning(
        "request refused",
        extra={
            **fields,
            "event": event,
            "user_id": _user_id(request),
            "client_ip": client_ip(request),
            "path": request.path,
            "method": request.method,
            "status": status,
            "request_id": getattr(request, "request_id", ""),
            "outcome": outcome,
        },
    )


def log_account_event(request, *, event: str, target, outcome: str = "ok"):
    """One record of a change to someone's account: who did it (``user_id``), to whom
    (``target_user_id``) and where. Never the password itself."""
    security_log.warning(
        event.replace("_", " "),
        extra={
            "event": event,
            "user_id": _user_id(request),
            "target_user_id": target.pk,
            "path": request.path,
            "method": request.method,
            "request_id": getattr(request, "request_id", ""),
            "outcome": outcome,
        },
    )


def log_failed_login(sender, credentials, request=None, **kwargs):
    """One record per failed log-in, locked-out attempts included (outcome ``locked_out``; the
    429 that follows is not recorded again). The user name is hashed: it may be a password
    typed in the wrong box."""
    username = str(credentials.get("username", ""))
    # django-axes (whose receiver runs first) has marked the request if this attempt is locked out.
    locked_out = bool(getattr(request, "axes_locked_out", False))
    if request is not None:
        request.security_logged = True
    security_log.warning(
        "login failed",
        extra={
            "event": "login_failed",
            "path": getattr(request, "path", ""),
            "client_ip": client_ip(request) if request is not None else None,
            "request_id": getattr(request, "request_id", ""),
            "outcome": "locked_out" if locked_out else "failed",
            "username_hash": username_hash(username),
        },
    )
