from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.decorators import student_required
from accounts.forms import JoinClassForm, LoginForm, StudentSignupForm
from accounts.models import Enrollment


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


class LoginView(auth_views.LoginView):
    authentication_form = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default). Tells the browser to drop what it kept for this user,
    including drafts held in sessionStorage."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response


@login_not_required
@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = StudentSignupForm(request.POST or None, initial={"join_code": request.GET.get("code", "")})
    if form.is_valid():
        with transaction.atomic():
            user = form.save(commit=False)
            user.role = user.Role.STUDENT
            user.save()
            Enrollment.objects.create(classroom=form.cleaned_data["join_code"], student=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(
            request,
            _("Welcome, %(name)s. You have joined %(class)s.")
            % {"name": user.display_name, "class": form.cleaned_data["join_code"].name},
        )
        return redirect("home")
    return render(request, "accounts/signup.html", {"form": form})


@student_required
@require_http_methods(["GET", "POST"])
def join(request):
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
    return render(request, "accounts/join.html", {"form": form})
