"""Limits on the anonymous and joining doors: log-in, sign-up and join codes.

Counts live in the default cache through django-ratelimit (Redis in production, so every
instance sees the same counts, as the workspace's limits do); addresses come from
``config.clientip.client_ip`` (django-ratelimit's ``ip`` key, IPv6 grouped by /64). Each limit
has a setting (``config/settings.py``) and a line in the README's Security section.

A second guard is per process: at most ``PASSWORD_HASH_CONCURRENCY`` password hashes run at once,
so a burst of log-ins from many addresses cannot take every thread from the pages.
"""

import threading
from contextlib import contextmanager

from django.conf import settings
from django_ratelimit.core import get_usage

# Groups (cache-key prefixes) of the counts kept here.
LOGIN_FAILURES = "accounts.login-failures"  # per address
JOIN_CODE_FAILURES = "accounts.join-code-failures"  # per address (sign-up and join)
JOIN_CODE_FAILURES_PUPIL = "accounts.join-code-failures-pupil"  # per pupil (join)
SIGNUPS = "accounts.signups"  # sign-up posts per address
SIGNUPS_PER_CLASS = "accounts.signups-per-class"  # accounts created per class

_RATES = {
    LOGIN_FAILURES: "LOGIN_FAILURE_RATE",
    JOIN_CODE_FAILURES: "JOIN_CODE_FAILURE_RATE",
    JOIN_CODE_FAILURES_PUPIL: "JOIN_CODE_FAILURE_RATE_PER_PUPIL",
    SIGNUPS: "SIGNUP_RATE",
    SIGNUPS_PER_CLASS: "SIGNUPS_PER_CLASS_RATE",
}


def _usage(request, group: str, key, *, increment: bool):
    """django-ratelimit's count for ``group``; ``key`` is ``"ip"``, ``"user"`` or a fixed value."""
    rate = getattr(settings, _RATES[group])
    keyed = key if key in ("ip", "user") else (lambda _group, _request: str(key))
    return get_usage(request, group=group, key=keyed, rate=rate, increment=increment)


def used_up(request, group: str, key="ip") -> int | None:
    """Seconds until the count resets if the limit has been reached (the next attempt must be
    refused), else None. Counts nothing."""
    usage = _usage(request, group, key, increment=False)
    if usage is not None and usage["count"] >= usage["limit"]:
        return max(1, usage["time_left"])
    return None


def count(request, group: str, key="ip") -> int | None:
    """Count one event; seconds until the reset if this one went over the limit, else None."""
    usage = _usage(request, group, key, increment=True)
    if usage is not None and usage["should_limit"]:
        return max(1, usage["time_left"])
    return None


def count_login_failure(sender, credentials, request=None, **kwargs):
    """``user_login_failed`` receiver: one failed log-in from this address (successes never count)."""
    if request is not None and hasattr(request, "META"):
        count(request, LOGIN_FAILURES)


# --- Password hashes at once, per process ------------------------------------------------------
_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def _semaphore() -> threading.BoundedSemaphore:
    size = settings.PASSWORD_HASH_CONCURRENCY
    with _slots_lock:
        if size not in _slots:
            _slots[size] = threading.BoundedSemaphore(size) if size > 0 else threading.BoundedSemaphore(1)
            if size <= 0:  # 0 means "none free": a test or an emergency switch
                _slots[size].acquire()
        return _slots[size]


@contextmanager
def password_hash_slot():
    """Yields True while holding one of this process's password-hash slots, False if none came
    free within ``PASSWORD_HASH_WAIT`` seconds (then the caller answers 503 without hashing)."""
    semaphore = _semaphore()
    acquired = semaphore.acquire(timeout=settings.PASSWORD_HASH_WAIT)
    try:
        yield acquired
    finally:
        if acquired:
            semaphore.release()
