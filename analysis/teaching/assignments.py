"""Teachers' assignments: library previews, setting and editing work, extensions, the live
progress grid, returning work, export and insight. Teachers only, their own classes only."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import teacher_required
from analysis.classwork.services import submission_time_limits_refresh
from analysis.classwork.support import DESCRIPTIONS
from analysis.marking import anonymity, charts, export
from analysis.marking import selectors as marking_reads
from analysis.marking import services as marking
from analysis.marking.selectors import CellState
from analysis.marking.services import MARKABLE_STATUSES
from analysis.marking.views import cited, cited_regions, marking_responses
from analysis.models import Exercise, Extension, Response, StudentSupport, Submission, SupportLevel
from analysis.news.services import assignment_visited
from analysis.teaching import scope
from analysis.teaching import services as teaching_services
from analysis.teaching.forms import (
    AssignmentCreateForm,
    AssignmentForm,
    ExtensionForm,
    ReleaseForm,
    StudentSupportForm,
    exercises_for,
)
from analysis.teaching.scope import HtmxHttpRequest
from config.spreadsheet import csv_response

# The grid refreshes every 10 s. Every refresh counts as activity for the idle-session limit,
# so after half an hour without the teacher touching the page it stops and offers a button.
GRID_POLL_SECONDS = 10
GRID_MAX_POLLS = 180


# --- Exercises: preview and worksheet ----------------------------------------------------


def _exercise_context(request, pk):
    exercise = get_object_or_404(
        Exercise.objects.visible_to(request.user).select_related("background"), pk=pk
    )
    return {
        "exercise": exercise,
        "questions": scope.exercise_questions(exercise),
        "sources": scope.exercise_sources(exercise),
    }


@teacher_required
@require_GET
def exercise_preview(request, pk):
    return render(request, "analysis/exercise_preview.html", _exercise_context(request, pk))


@teacher_required
@require_GET
def exercise_worksheet(request, pk):
    return render(request, "analysis/exercise_worksheet.html", _exercise_context(request, pk))


# --- Assignments ---------------------------------------------------------------------------


def _exercise_list(teacher):
    return exercises_for(teacher).annotate(question_count=Count("questions")).order_by("title")


@teacher_required
@require_http_methods(["GET", "POST"])
def assignment_create(request):
    initial = {"opens_at": timezone.localtime().replace(second=0, microsecond=0)}
    # Links from the library (?exercise=) and a class page (?class=) pre-fill the form, with
    # ids the teacher may use only: anything else is ignored, as a wrong choice would be.
    exercise_id = scope.query_id(request, "exercise")
    if exercise_id is not None and exercises_for(request.user).filter(pk=exercise_id).exists():
        initial["exercise"] = exercise_id
    # ?classroom=<id>&pupils=<id>&pupils=<id> (docs/url-map.md): "set these pupils an exercise".
    class_id = scope.query_id(request, "classroom")
    if class_id is None:
        class_id = scope.query_id(request, "class")
    if class_id is not None:
        initial["classroom"] = [class_id]
    asked_pupils = scope.query_ids(request, "pupils")
    if asked_pupils:
        initial["pupils"] = asked_pupils
    form = AssignmentCreateForm(request.POST or None, teacher=request.user, initial=initial)
    left_out = 0
    if asked_pupils and not form.is_bound:
        # Pupils of the link who are not in the class now (left it, or another teacher's) are
        # not ticked; say how many, so a shorter list is no surprise.
        in_class = {
            str(pupil.pk) for group in form.pupil_groups() if group["chosen"] for pupil, _t in group["pupils"]
        }
        left_out = sum(1 for pk in asked_pupils if str(pk) not in in_class)
    if form.is_valid():
        try:
            created = teaching_services.assignments_create(
                template=form.instance,
                classrooms=form.cleaned_data["classroom"],
                pupils=form.cleaned_data["pupils"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if created[0].chosen_pupils_only:
                chosen = form.cleaned_data["pupils"]
                names = ngettext(
                    "%(count)s pupil of %(class)s (%(names)s)",
                    "%(count)s pupils of %(class)s (%(names)s)",
                    len(chosen),
                ) % {
                    "count": len(chosen),
                    "class": created[0].classroom.name,
                    "names": ", ".join(sorted(pupil.display_name for pupil in chosen)),
                }
            else:
                names = ", ".join(assignment.classroom.name for assignment in created)
            messages.success(
                request,
                _("“%(exercise)s” is set to %(class)s.")
                % {"exercise": created[0].exercise.title, "class": names},
            )
            if len(created) == 1:
                return redirect("teach:assignment-progress", created[0].pk)
            return redirect("teach:dashboard")
    return render(
        request,
        "analysis/assignment_form.html",
        {
            "form": form,
            "exercises": _exercise_list(request.user),
            "assignment": None,
            "time_zone": timezone.get_current_timezone_name(),
            "pupils_left_out": left_out,
        },
    )


@teacher_required
@require_http_methods(["GET", "POST"])
def assignment_edit(request, pk):
    assignment = scope.assignment(request, pk, current=True)
    has_work = assignment.submissions.exists()
    form = AssignmentForm(request.POST or None, instance=assignment, teacher=request.user, has_work=has_work)
    if form.is_valid():
        form.save()
        # A changed support level or time limit moves when time runs out for work in progress.
        submission_time_limits_refresh(assignment=assignment)
        messages.success(request, _("Assignment updated."))
        return redirect("teach:assignment-progress", assignment.pk)
    return render(
        request,
        "analysis/assignment_form.html",
        {
            "form": form,
            "exercises": _exercise_list(request.user),
            "assignment": assignment,
            "has_work": has_work,
            "time_zone": timezone.get_current_timezone_name(),
        },
    )


@teacher_required
@require_http_methods(["GET", "POST"])
def assignment_unassign(request, pk):
    assignment = scope.assignment(request, pk, current=True)
    if request.method == "POST":
        outcome = teaching_services.assignment_unassign(assignment=assignment, by=request.user)
        if outcome == "archived":
            messages.success(
                request,
                _(
                    "“%(exercise)s” is unassigned from %(class)s. Students' work is kept; "
                    "find it under “Unassigned”."
                )
                % {"exercise": assignment.exercise.title, "class": assignment.classroom.name},
            )
        else:
            messages.success(
                request,
                _("“%(exercise)s” is unassigned from %(class)s.")
                % {"exercise": assignment.exercise.title, "class": assignment.classroom.name},
            )
        return redirect("teach:dashboard")
    work_count = assignment.submissions.count()
    return render(
        request,
        "analysis/assignment_confirm_unassign.html",
        {"assignment": assignment, "work_count": work_count},
    )


@teacher_required
@require_POST
def assignment_restore(request, pk):
    assignment = scope.assignment(request, pk)
    teaching_services.assignment_restore(assignment=assignment, by=request.user)
    messages.success(request, _("The assignment is set again; students can see it."))
    return redirect("teach:assignment-progress", assignment.pk)


def _current_pupils(assignment):
    """The pupils the assignment is set to, by name: whom per-pupil settings are for."""
    return assignment.set_to().order_by("last_name", "first_name", "username")


def _saved(form, save) -> bool:
    """Run ``save`` with the form's cleaned data; a service's refusal becomes the form's errors."""
    try:
        save(form.cleaned_data)
    except ValidationError as error:
        for name, errors in error.message_dict.items():
            for message in errors:
                form.add_error(name if name in form.fields else None, message)
        return False
    return True


@teacher_required
@require_http_methods(["GET", "POST"])
def assignment_extensions(request, pk):
    assignment = scope.assignment(request, pk)
    form = ExtensionForm(request.POST or None, students=_current_pupils(assignment))
    if form.is_valid() and _saved(
        form,
        lambda data: teaching_services.extension_set(
            assignment=assignment, student=data["student"], due_at=data["due_at"], by=request.user
        ),
    ):
        messages.success(
            request, _("Extension saved for %(name)s.") % {"name": form.cleaned_data["student"].display_name}
        )
        return redirect("teach:assignment-extensions", assignment.pk)
    extensions = assignment.extensions.select_related("student").order_by("student__last_name", "due_at")
    return render(
        request,
        "analysis/assignment_extensions.html",
        {"assignment": assignment, "form": form, "extensions": extensions},
    )


@teacher_required
@require_POST
def extension_delete(request, pk, extension_id):
    assignment = scope.assignment(request, pk)
    extension = get_object_or_404(
        Extension.objects.select_related("assignment__classroom", "student"),
        assignment=assignment,
        pk=extension_id,
    )
    teaching_services.extension_remove(extension=extension, by=request.user)
    messages.success(request, _("Extension removed for %(name)s.") % {"name": extension.student.display_name})
    return redirect("teach:assignment-extensions", assignment.pk)


@teacher_required
@require_http_methods(["GET", "POST"])
def assignment_support(request, pk):
    """Per-pupil support: another level than the assignment's, and extra time."""
    assignment = scope.assignment(request, pk)
    form = StudentSupportForm(request.POST or None, students=_current_pupils(assignment))
    if form.is_valid() and _saved(
        form,
        lambda data: teaching_services.student_support_set(
            assignment=assignment,
            student=data["student"],
            support_level=data["support_level"],
            extra_time_percent=data["extra_time_percent"],
            by=request.user,
        ),
    ):
        messages.success(
            request, _("Support saved for %(name)s.") % {"name": form.cleaned_data["student"].display_name}
        )
        return redirect("teach:assignment-support", assignment.pk)
    supports = assignment.supports.select_related("student").order_by(
        "student__last_name", "student__first_name", "student__username"
    )
    return render(
        request,
        "analysis/assignment_support.html",
        {
            "assignment": assignment,
            "form": form,
            "supports": supports,
            "levels": [(level, DESCRIPTIONS[level]) for level in SupportLevel],
        },
    )


@teacher_required
@require_POST
def student_support_delete(request, pk, support_id):
    assignment = scope.assignment(request, pk)
    support = get_object_or_404(
        StudentSupport.objects.select_related("assignment__classroom", "student"),
        assignment=assignment,
        pk=support_id,
    )
    teaching_services.student_support_remove(support=support, by=request.user)
    messages.success(
        request, _("%(name)s now has the assignment's support.") % {"name": support.student.display_name}
    )
    return redirect("teach:assignment-support", assignment.pk)


# --- Progress grid -------------------------------------------------------------------------------


@teacher_required
@require_GET
def assignment_progress(request: HtmxHttpRequest, pk):
    assignment = scope.assignment(request, pk, for_grid=True)
    questions = scope.questions(assignment)
    rows = marking_reads.progress_grid(assignment, questions)
    counts = {"not-started": 0, "in-progress": 0, "submitted": 0, "returned": 0}
    for row in rows:
        counts[row.status] += 1
    try:
        polls = max(0, int(request.GET.get("polls", "0")))
    except ValueError:
        polls = 0
    context = {
        "assignment": assignment,
        "questions": questions,
        "rows": rows,
        "next_poll": polls + 1,
        "polling": assignment.archived_at is None and polls < GRID_MAX_POLLS,
        "poll_seconds": GRID_POLL_SECONDS,
        "counts": counts,
        "legend": CellState.labels(),
        "release_rows": [r for r in rows if r.submission and r.submission.status in MARKABLE_STATUSES],
        "ready_count": sum(1 for r in rows if r.ready_to_release),
        "updated_at": timezone.now(),
    }
    # The teacher has now seen the hand-ins so far (the open page's refreshes included): they are
    # no longer new on the dashboard. Written only when something was handed in since the last
    # visit, so a grid left open refreshes without writing.
    newest = max(
        (r.submission.submitted_at for r in rows if r.submission and r.submission.submitted_at), default=None
    )
    if newest is not None and (assignment.last_visit_at is None or newest > assignment.last_visit_at):
        assignment_visited(assignment=assignment, teacher=request.user)
    template = "analysis/assignment_progress.html"
    if request.htmx:
        template += "#progress-grid"
    return render(request, template, context)


# --- Returning work ----------------------------------------------------------------------------------


@teacher_required
@require_POST
def assignment_release(request, pk):
    assignment = scope.assignment(request, pk)
    form = ReleaseForm(request.POST, assignment=assignment)
    if not form.is_valid():
        for error in form.non_field_errors() or [_("Choose which marks to release.")]:
            messages.error(request, error)
        return redirect("teach:assignment-progress", assignment.pk)
    chosen = form.cleaned_data["submissions"] if form.cleaned_data["scope"] == "selected" else None
    result = marking.marks_release(assignment=assignment, submissions=chosen, by=request.user)
    if result.released:
        messages.success(
            request,
            ngettext(
                "Marks released to %(count)s student. They can read them on their feedback page now.",
                "Marks released to %(count)s students. They can read them on their feedback page now.",
                len(result.released),
            )
            % {"count": len(result.released)},
        )
    if result.not_ready:
        numbers = anonymity.anonymous_numbers(assignment)

        def names(submissions):
            return [
                anonymity.anonymous_label(numbers.get(s.pk, 0))
                if assignment.anonymous_marking
                else s.student.display_name
                for s in submissions
            ]

        changed = {s.pk for s in result.changed}
        unmarked = names(s for s in result.not_ready if s.pk not in changed)
        if unmarked:
            messages.warning(
                request,
                ngettext(
                    "Not released for %(count)s student with unmarked answers: %(names)s.",
                    "Not released for %(count)s students with unmarked answers: %(names)s.",
                    len(unmarked),
                )
                % {"count": len(unmarked), "names": ", ".join(unmarked)},
            )
        if changed:
            rewritten = names(result.changed)
            messages.warning(
                request,
                ngettext(
                    "Not released for %(count)s student whose answers changed after they were marked "
                    "(look at each flagged answer again and save its mark): %(names)s.",
                    "Not released for %(count)s students whose answers changed after they were marked "
                    "(look at each flagged answer again and save its mark): %(names)s.",
                    len(rewritten),
                )
                % {"count": len(rewritten), "names": ", ".join(rewritten)},
            )
    if not result.released and not result.not_ready:
        messages.info(request, _("There was nothing to release: no handed-in work is waiting."))
    return redirect("teach:assignment-progress", assignment.pk)


@teacher_required
@require_POST
def submission_reopen(request, pk, submission_id):
    assignment = scope.assignment(request, pk)
    submission = scope.submission(request, assignment, submission_id)
    numbers = anonymity.anonymous_numbers(assignment)
    name = anonymity.student_label(assignment, submission, numbers)
    try:
        marking.submission_reopen(submission=submission, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("%(name)s's work is open again for revision. Its marks are kept as drafts.") % {"name": name},
        )
    return redirect("teach:assignment-progress", assignment.pk)


@teacher_required
@require_GET
def submission_print(request, pk, submission_id):
    """A clean, printable copy of one student's marked work and feedback."""
    assignment = scope.assignment(request, pk)
    submission = scope.submission(request, assignment, submission_id)
    numbers = anonymity.anonymous_numbers(assignment)
    responses = list(
        marking_responses(Response.objects.filter(submission=submission)).order_by(
            "question__position", "question_id"
        )
    )
    marks = [r.mark for r in responses if hasattr(r, "mark")]
    context = {
        "assignment": assignment,
        "submission": submission,
        "student_name": anonymity.student_label(assignment, submission, numbers),
        "responses": [(r, cited(r), cited_regions(r)) for r in responses],
        "total": sum(m.marks for m in marks),
        "out_of": sum(r.question.max_marks for r in responses),
    }
    return render(request, "analysis/submission_print.html", context)


# --- Export and insight --------------------------------------------------------------------------------


@teacher_required
@require_GET
def assignment_export(request, pk):
    assignment = scope.assignment(request, pk)
    header, rows = export.export_table(assignment, scope.questions(assignment))
    filename = "{}-{}-marks.csv".format(
        slugify(assignment.classroom.name) or "class", slugify(assignment.exercise.title) or "exercise"
    )
    return csv_response(filename=filename, header=header, rows=rows)


@teacher_required
@require_GET
def assignment_insight(request, pk):
    assignment = scope.assignment(request, pk)
    questions = scope.questions(assignment)
    focus = None
    if (question_id := scope.query_id(request, "question")) is not None:
        focus = next((q for q in questions if q.pk == question_id), None)
    heat = marking_reads.evidence_heat(assignment, focus)
    students = Submission.objects.filter(assignment=assignment).count()
    sources = scope.exercise_sources(assignment.exercise)
    all_passages = [p.pk for source in sources for p in source.passages.all()]
    heat = {pk: heat.get(pk, 0) for pk in all_passages}
    region_heat = marking_reads.region_heat(assignment, focus)
    region_heat = {r.pk: region_heat.get(r.pk, 0) for source in sources for r in source.regions.all()}
    context = {
        "assignment": assignment,
        "questions": questions,
        "insights": marking_reads.level_distributions(assignment, questions),
        "focus": focus,
        "sources": sources,
        "heat": heat,
        "heat_levels": {pk: charts.heat_level(count, students) for pk, count in heat.items()},
        "region_heat": region_heat,
        "region_heat_levels": {pk: charts.heat_level(n, students) for pk, n in region_heat.items()},
        "students": students,
        "chart": {
            "label_width": charts.CHART_LABEL_WIDTH,
            "bar_height": charts.CHART_BAR_HEIGHT,
            "width": charts.CHART_LABEL_WIDTH + charts.CHART_BAR_SPACE + 60,
        },
    }
    return render(request, "analysis/assignment_insight.html", context)
