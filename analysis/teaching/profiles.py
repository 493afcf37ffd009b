"""Skills across the year, for teachers: one pupil's historical-thinking profile (printable for a
parents' evening) and the class skills view (who is at which level on each stage, and setting an
exercise to a group of them). The reads are in ``analysis.marking.skills``; docs/skills.md."""

from django import forms
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from accounts.decorators import teacher_required
from accounts.models import Enrollment
from analysis.library.models import COMMON_TOP
from analysis.marking import skills
from analysis.teaching import scope

DEFAULT_WINDOW = "3"
WINDOW_CHOICES = [
    ("1", gettext_lazy("the last assignment")),
    ("2", gettext_lazy("the last 2 assignments")),
    ("3", gettext_lazy("the last 3 assignments")),
    ("5", gettext_lazy("the last 5 assignments")),
    ("10", gettext_lazy("the last 10 assignments")),
    ("all", gettext_lazy("every assignment")),
]


class SkillsWindowForm(forms.Form):
    last = forms.ChoiceField(label=gettext_lazy("Count"), choices=WINDOW_CHOICES, initial=DEFAULT_WINDOW)


@teacher_required
@require_GET
def student_profile(request, pk, student_id):
    """A pupil's profile in one of the teacher's classes: pupils who left keep theirs, anyone who
    was never in the class is a 404."""
    classroom = scope.classroom(request, pk)
    found = skills.profile_student(classroom, student_id)
    if found is None:
        raise Http404
    student, enrolled = found
    profile = skills.student_profile(classroom=classroom, student=student, enrolled=enrolled)
    context = {
        "classroom": classroom,
        "profile": profile,
        "axis": skills.chart_axis(),
        "chart": {"width": skills.CHART_WIDTH, "height": skills.CHART_HEIGHT, "left": skills.CHART_LEFT},
        "top": COMMON_TOP,
    }
    return render(request, "analysis/student_profile.html", context)


@teacher_required
@require_GET
def class_skills(request, pk):
    """Per stage, how many pupils reached each common level in the last N assignments, with
    their names; ticking pupils (or following a cell's link) opens the assign form for them."""
    classroom = scope.classroom(request, pk)
    form = SkillsWindowForm(request.GET if "last" in request.GET else None)
    problem = ""
    window = DEFAULT_WINDOW
    if form.is_bound:
        if form.is_valid():
            window = form.cleaned_data["last"]
        else:
            problem = _("Choose how many assignments to count from the list. Showing the last 3.")
            form = SkillsWindowForm(initial={"last": DEFAULT_WINDOW})
    rows, pupils = skills.class_skills(classroom=classroom, last=None if window == "all" else int(window))
    left = (
        Enrollment.objects.filter(classroom=classroom, ended_at__isnull=False)
        .exclude(student__in=Enrollment.objects.current().filter(classroom=classroom).values("student"))
        .select_related("student")
        .order_by("student__last_name", "student__first_name", "student__username", "-ended_at")
    )
    left_pupils = list({e.student_id: e.student for e in left}.values())
    context = {
        "classroom": classroom,
        "form": form,
        "problem": problem,
        "window": window,
        "rows": rows,
        "pupil_count": pupils,
        "left_pupils": left_pupils,
        "top": COMMON_TOP,
    }
    return render(request, "analysis/class_skills.html", context)
