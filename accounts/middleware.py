import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

LOGIN_AT_KEY = "_login_at"
SEEN_AT_KEY = "_seen_at"


class HtmxLoginRequiredMiddleware(LoginRequiredMiddleware):
    """LoginRequiredMiddleware that never swaps the log-in page into a fragment.

    A plain request is redirected to log in as usual. An htmx request (an
    autosave, a grid refresh) gets 401 and a ``session-expired`` event instead:
    the page keeps what the user typed and offers a way to log in again.
    """

    def handle_no_permission(self, request, view_func):
        if getattr(request, "htmx", False):
            response = HttpResponse(
                _("Your session has ended. Log in again to keep saving."),
                status=401,
                content_type="text/plain; charset=utf-8",
            )
            return trigger_client_event(response, "session-expired", {})
        return super().handle_no_permission(request, view_func)


class PasswordChangeRequiredMiddleware:
    """A user whose password a teacher has reset goes nowhere but the "choose your password"
    page (and may log out) until they have chosen their own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.must_change_password:
            target = reverse("accounts:password-choose")
            # Static files never get here: WhiteNoise serves them before the session is read.
            if request.path not in (target, reverse("accounts:logout")):
                if getattr(request, "htmx", False):
                    return HttpResponseClientRedirect(target)
                return redirect(target)
        return self.get_response(request)


class NoStoreForAuthenticatedMiddleware:
    """Pages for a signed-in user must never sit in a shared or back-button cache."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, no_store=True, private=True)
        return response


class SessionTimeoutMiddleware:
    """Idle and absolute session limits (ASVS 7.3).

    Any authenticated request counts as activity, autosaves included, so a pupil
    typing for an hour is never logged out under them. Activity is written at most
    once a minute to keep the session table quiet.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            session = request.session
            login_at = session.setdefault(LOGIN_AT_KEY, now)
            seen_at = session.get(SEEN_AT_KEY, now)
            if (
                now - login_at > settings.SESSION_ABSOLUTE_TIMEOUT
                or now - seen_at > settings.SESSION_IDLE_TIMEOUT
            ):
                logout(request)
            elif now - seen_at >= 60 or SEEN_AT_KEY not in session:
                session[SEEN_AT_KEY] = now
        return self.get_response(request)


def start_session_clock(sender, request, user, **kwargs):
    """Every log-in starts the absolute and idle clocks afresh."""
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[LOGIN_AT_KEY] = now
        request.session[SEEN_AT_KEY] = now
