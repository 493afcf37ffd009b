"""Classes: create, rename, archive, join codes, roster and
removing a student. Teachers only (``@teacher_required``), their own classes only."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.classes import services as class_services
from accounts.classes.forms import ClassroomForm, RosterUploadForm
from accounts.decorators import teacher_required
from accounts.models import Classroom, Enrollment
from analysis.models import Assignment, Submission
from analysis.teaching import scope
from config.logging import log_account_event

# --- Classes ---------------------------------------------------------------------------


@teacher_required
@require_http_methods(["GET", "POST"])
def class_create(request):
    form = ClassroomForm(request.POST or None)
    if form.is_valid():
        classroom = class_services.classroom_create(name=form.cleaned_data["name"], teacher=request.user)
        messages.success(
            request,
            _("Class “%(name)s” created. Give students the join code %(code)s, or upload a roster.")
            % {"name": classroom.name, "code": classroom.join_code},
        )
        return redirect("teach:class-detail", classroom.pk)
    return render(request, "accounts/classroom_form.html", {"form": form})


def _class_context(request, classroom, **extra):
    enrollments = (
        classroom.enrollments.current()
        .select_related("student")
        .order_by("student__last_name", "student__first_name", "student__username")
    )
    assignments = (
        Assignment.objects.for_teacher(request.user)
        .filter(classroom=classroom)
        .select_related("exercise")
        .with_progress_counts()
        .order_by("due_at", "pk")
    )
    enrollments = list(enrollments)
    context = {
        "classroom": classroom,
        "enrollments": enrollments,
        "locked_out": class_services.locked_out_usernames(e.student.username for e in enrollments),
        "assignments": assignments,
        "rename_form": ClassroomForm(instance=classroom, prefix="rename"),
        "roster_form": RosterUploadForm(),
    }
    context.update(extra)
    return context


@teacher_required
@require_GET
def class_detail(request, pk):
    classroom = scope.classroom(request, pk)
    return render(request, "accounts/classroom_detail.html", _class_context(request, classroom))


@teacher_required
@require_POST
def class_rename(request, pk):
    classroom = scope.classroom(request, pk)
    form = ClassroomForm(request.POST, instance=Classroom.objects.get(pk=classroom.pk), prefix="rename")
    if not form.is_valid():
        return render(
            request, "accounts/classroom_detail.html", _class_context(request, classroom, rename_form=form)
        )
    class_services.classroom_rename(classroom=classroom, name=form.cleaned_data["name"], by=request.user)
    messages.success(request, _("Class renamed to “%(name)s”.") % {"name": classroom.name})
    return redirect("teach:class-detail", classroom.pk)


@teacher_required
@require_POST
def class_archive(request, pk):
    classroom = scope.classroom(request, pk)
    archive = request.POST.get("action") != "restore"
    class_services.classroom_archive(classroom=classroom, by=request.user, archived=archive)
    if archive:
        messages.success(
            request,
            _("“%(name)s” is archived. Its join code is off; all work is kept.") % {"name": classroom.name},
        )
    else:
        messages.success(request, _("“%(name)s” is active again.") % {"name": classroom.name})
    return redirect("teach:class-detail", classroom.pk)


@teacher_required
@require_POST
def class_join_code(request, pk):
    classroom = scope.classroom(request, pk)
    action = request.POST.get("action")
    if action == "regenerate":
        class_services.classroom_join_code_set(classroom=classroom, by=request.user, regenerate=True)
        messages.success(
            request,
            _("New join code: %(code)s. The old code no longer works.") % {"code": classroom.join_code},
        )
    elif action in ("disable", "enable"):
        enabled = action == "enable"
        class_services.classroom_join_code_set(classroom=classroom, by=request.user, enabled=enabled)
        messages.success(
            request,
            _("The join code is on: students can join with it.")
            if enabled
            else _("The join code is off: nobody new can join with it."),
        )
    return redirect("teach:class-detail", classroom.pk)


@teacher_required
@require_POST
def class_student_unlock(request, pk, student_id):
    """Lift a pupil's log-in lock-out (wrong passwords), from every address."""
    classroom = scope.classroom(request, pk)
    enrollment = get_object_or_404(
        Enrollment.objects.current().select_related("student"), classroom=classroom, student_id=student_id
    )
    class_services.enrollment_unlock(classroom=classroom, student=enrollment.student, by=request.user)
    messages.success(
        request,
        _("%(name)s can log in again.") % {"name": enrollment.student.display_name},
    )
    return redirect("teach:class-detail", classroom.pk)


@teacher_required
@require_http_methods(["GET", "POST"])
def class_student_remove(request, pk, student_id):
    classroom = scope.classroom(request, pk)
    enrollment = get_object_or_404(
        Enrollment.objects.current().select_related("student"), classroom=classroom, student_id=student_id
    )
    student = enrollment.student
    if request.method == "POST":
        regenerate = request.POST.get("regenerate_code") == "on"
        class_services.enrollment_remove(
            classroom=classroom, student=student, by=request.user, regenerate_code=regenerate
        )
        messages.success(
            request,
            _("%(name)s was removed from %(class)s. Their work is kept.")
            % {"name": student.display_name, "class": classroom.name},
        )
        if regenerate:
            messages.success(
                request,
                _("New join code: %(code)s. The old code no longer works.") % {"code": classroom.join_code},
            )
        return redirect("teach:class-detail", classroom.pk)
    work_count = Submission.objects.filter(student=student, assignment__classroom=classroom).count()
    return render(
        request,
        "accounts/enrollment_confirm_remove.html",
        {"classroom": classroom, "student": student, "work_count": work_count},
    )


@teacher_required
@require_http_methods(["GET", "POST"])
def class_student_password(request, pk, student_id):
    """Reset a pupil's forgotten password: a one-time password, shown once on this page,
    that they must replace with their own when they next log in."""
    classroom = scope.classroom(request, pk)
    enrollment = get_object_or_404(
        Enrollment.objects.current().select_related("student"), classroom=classroom, student_id=student_id
    )
    student = enrollment.student
    context = {"classroom": classroom, "student": student}
    if request.method == "POST":
        context["password"] = class_services.student_password_reset(
            classroom=classroom, student=student, by=request.user
        )
        log_account_event(request, event="password_reset", target=student)
    return render(request, "accounts/student_password_reset.html", context)


@teacher_required
@require_http_methods(["GET", "POST"])
def class_roster_upload(request, pk):
    classroom = scope.classroom(request, pk)
    form = RosterUploadForm(request.POST or None, request.FILES or None)
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            created = class_services.roster_import(
                classroom=classroom, data=form.cleaned_data["file"].read(), by=request.user
            )
        except class_services.RosterInvalid as error:
            problems = error.problems
        else:
            # The passwords exist only in this response: shown once, never stored in clear.
            return render(
                request, "accounts/classroom_roster_result.html", {"classroom": classroom, "created": created}
            )
    return render(
        request,
        "accounts/classroom_roster_upload.html",
        {
            "classroom": classroom,
            "form": form,
            "problems": problems,
            "max_rows": class_services.ROSTER_MAX_ROWS,
        },
    )
