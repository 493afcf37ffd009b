from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import IntegrityError, transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts import throttle
from accounts.decorators import student_required
from accounts.forms import ChoosePasswordForm, JoinClassForm, LoginForm, NotificationsForm, StudentSignupForm
from accounts.models import Enrollment
from config.logging import log_account_event, log_refused


@login_not_required
@require_GET
def home(request):
    """Send each user to their own part of the app."""
    user = request.user
    if not user.is_authenticated:
        return redirect("accounts:login")
    if user.is_student:
        return redirect("learn:assignment-list")
    if user.is_staff and not user.classrooms_taught.exists():
        return redirect("admin:index")
    return redirect("teach:dashboard")


def _try_later(request, message: str, *, status: int, retry_after: int, outcome: str, back: str):
    """A refusal that costs no password hash and no lookup: a short page, ``Retry-After``, and
    one record in the security log."""
    log_refused(request, status=status, outcome=outcome)
    response = render(
        request,
        "accounts/try_later.html",
        {"message": message, "back_url": reverse(back)},
        status=status,
    )
    response["Retry-After"] = str(retry_after)
    return response


def _minutes(seconds: int) -> int:
    return max(1, (seconds + 59) // 60)


def _busy(request, back: str):
    return _try_later(
        request,
        _("The server is busy checking other passwords. Wait a few seconds and try again."),
        status=503,
        retry_after=5,
        outcome="password_hash_busy",
        back=back,
    )


class LoginView(auth_views.LoginView):
    """Django's log-in (never cached), behind two guards that run before any password is hashed:
    the failed log-ins of this address (successes never count) and this process's free
    password-hash slots. django-axes then locks one (user name, address) pair."""

    authentication_form = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        wait = throttle.used_up(request, throttle.LOGIN_FAILURES)
        if wait is not None:
            return _try_later(
                request,
                _(
                    "Too many wrong passwords have come from this network. Try again in "
                    "%(minutes)d minutes, or ask your teacher."
                )
                % {"minutes": _minutes(wait)},
                status=429,
                retry_after=wait,
                outcome="address_rate_limited",
                back="accounts:login",
            )
        with throttle.password_hash_slot() as free:
            if not free:
                return _busy(request, "accounts:login")
            return super().post(request, *args, **kwargs)


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default). Tells the browser to drop what it kept for this user,
    including drafts held in sessionStorage."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response


def _wrong_codes_refusal(request, back: str, *, per_pupil: bool):
    """429 if this address (or, signed in, this pupil) has typed too many wrong codes lately."""
    wait = throttle.used_up(request, throttle.JOIN_CODE_FAILURES)
    if wait is None and per_pupil:
        wait = throttle.used_up(request, throttle.JOIN_CODE_FAILURES_PUPIL, key="user")
    if wait is None:
        return None
    return _try_later(
        request,
        _("Too many wrong join codes. Check the code with your teacher and try again in %(minutes)d minutes.")
        % {"minutes": _minutes(wait)},
        status=429,
        retry_after=wait,
        outcome="join_code_rate_limited",
        back=back,
    )


def _count_wrong_code(request, *, per_pupil: bool):
    """One wrong join code: counted per address (and per pupil) and recorded in the security log;
    the form is shown again with its message (status 200), so the record is written here."""
    throttle.count(request, throttle.JOIN_CODE_FAILURES)
    if per_pupil:
        throttle.count(request, throttle.JOIN_CODE_FAILURES_PUPIL, key="user")
    log_refused(request, status=200, outcome="wrong_join_code", event="join_code_refused")


@never_cache
@login_not_required
@require_http_methods(["GET", "POST"])
def signup(request):
    """A pupil's account, created with their class's join code. Nothing about other accounts is
    said until the code is right (the form checks the code first); posts are limited per address,
    wrong codes per address, and new accounts per class."""
    if request.user.is_authenticated:
        return redirect("home")
    if request.method == "POST":
        refusal = _wrong_codes_refusal(request, "accounts:signup", per_pupil=False)
        if refusal is not None:
            return refusal
        wait = throttle.count(request, throttle.SIGNUPS)
        if wait is not None:
            return _try_later(
                request,
                _("Too many sign-ups from this network. Try again in %(minutes)d minutes.")
                % {"minutes": _minutes(wait)},
                status=429,
                retry_after=wait,
                outcome="signup_rate_limited",
                back="accounts:signup",
            )
    form = StudentSignupForm(request.POST or None, initial={"join_code": request.GET.get("code", "")})
    if request.method == "POST" and not form.is_valid():
        if form.has_error("join_code", "invalid_join_code"):
            _count_wrong_code(request, per_pupil=False)
        return render(request, "accounts/signup.html", {"form": form})
    if request.method != "POST":
        return render(request, "accounts/signup.html", {"form": form})

    classroom = form.cleaned_data["join_code"]
    if throttle.count(request, throttle.SIGNUPS_PER_CLASS, key=classroom.pk) is not None:
        log_refused(request, status=429, outcome="class_signup_cap")
        form.add_error(
            "join_code",
            _("Many accounts have joined this class in the last hour. Ask your teacher to check the code."),
        )
        return render(request, "accounts/signup.html", {"form": form}, status=429)
    with throttle.password_hash_slot() as free:
        if not free:
            return _busy(request, "accounts:signup")
        try:
            with transaction.atomic():
                user = form.save(commit=False)
                user.role = user.Role.STUDENT
                user.save()
                Enrollment.objects.create(classroom=classroom, student=user)
        except IntegrityError:
            # Another sign-up took the same user name between the form's check and this save.
            form.add_error("username", _("That user name has just been taken. Choose another."))
            return render(request, "accounts/signup.html", {"form": form})
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(
        request,
        _("Welcome, %(name)s. You have joined %(class)s.")
        % {"name": user.display_name, "class": classroom.name},
    )
    return redirect("home")


@student_required
@require_http_methods(["GET", "POST"])
def join(request):
    if request.method == "POST":
        refusal = _wrong_codes_refusal(request, "accounts:join", per_pupil=True)
        if refusal is not None:
            return refusal
    form = JoinClassForm(request.POST or None)
    if form.is_valid():
        classroom = form.cleaned_data["join_code"]
        _enrollment, created = Enrollment.objects.current().get_or_create(
            classroom=classroom, student=request.user
        )
        if created:
            messages.success(request, _("You have joined %(class)s.") % {"class": classroom.name})
        else:
            messages.info(request, _("You are already in %(class)s.") % {"class": classroom.name})
        return redirect(reverse("learn:assignment-list"))
    if request.method == "POST" and form.has_error("join_code", "invalid_join_code"):
        _count_wrong_code(request, per_pupil=True)
    return render(request, "accounts/join.html", {"form": form})


@require_http_methods(["GET", "POST"])
def password_choose(request):
    """After a teacher's reset: the pupil chooses their own password. Until they do,
    ``PasswordChangeRequiredMiddleware`` sends every other page here."""
    if not request.user.must_change_password:
        return redirect("home")
    form = ChoosePasswordForm(request.user, request.POST or None)
    if form.is_valid():
        user = form.save(commit=False)
        user.must_change_password = False
        user.save(update_fields=["password", "must_change_password"])
        update_session_auth_hash(request, user)  # stay logged in here
        log_account_event(request, event="password_chosen", target=user)
        messages.success(request, _("Your new password is saved. Use it next time you log in."))
        return redirect("home")
    return render(request, "accounts/password_choose.html", {"form": form})


@require_http_methods(["GET", "POST"])
def notifications(request):
    """The user's own notification settings: the daily e-mail digest of what's new
    (docs/whats-new.md) and the address it goes to. Only ever the logged-in user's own row."""
    form = NotificationsForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        if form.cleaned_data["email_digest"]:
            messages.success(
                request,
                _("Saved. A digest goes to %(email)s on days when something is new.")
                % {"email": form.cleaned_data["email"]},
            )
        else:
            messages.success(request, _("Saved. No digest e-mails will be sent."))
        return redirect("accounts:notifications")
    return render(request, "accounts/notifications.html", {"form": form})
