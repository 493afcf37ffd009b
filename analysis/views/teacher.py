"""The teachers' dashboard (``/teach/``): classes, assignments, the live progress grid,
marking by student and by question, returning marks, export and class insight.

Every view is for teachers only (``@teacher_required``: 404 for anyone else) and
fetches objects through querysets scoped to the classes the teacher teaches, so
another class's ids answer 404.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event
from django_htmx.middleware import HtmxDetails

from accounts.decorators import teacher_required
from accounts.models import Classroom, Enrollment, User
from analysis.forms_teacher import (
    AssignmentForm,
    ClassroomForm,
    CommentBankEntryForm,
    ExtensionForm,
    MarkForm,
    OverallCommentForm,
    ReleaseForm,
    RosterUploadForm,
)
from analysis.models import (
    Assignment,
    CommentBankEntry,
    Evidence,
    Exercise,
    ExerciseSource,
    Extension,
    MarkChange,
    Question,
    Response,
    Submission,
)
from analysis.services import classes as class_services
from analysis.services import marking
from analysis.services.marking import MARKABLE_STATUSES, CellState

DUE_SOON_DAYS = 7
# The grid refreshes every 10 s. Every refresh counts as activity for the idle-session limit,
# so after half an hour without the teacher touching the page it stops and offers a button.
GRID_POLL_SECONDS = 10
GRID_MAX_POLLS = 180


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


# --- Scoped lookups -------------------------------------------------------------------


def _classroom(request, pk) -> Classroom:
    return get_object_or_404(Classroom.objects.taught_by(request.user), pk=pk)


def _assignment(request, pk, *, current=False) -> Assignment:
    queryset = Assignment.objects.taught_by(request.user).select_related("exercise", "classroom")
    if current:
        queryset = queryset.filter(archived_at__isnull=True)
    return get_object_or_404(queryset, pk=pk)


def _submission(request, assignment, submission_id):
    """One submission of this assignment that the teacher may see, or 404."""
    return get_object_or_404(
        Submission.objects.visible_to(request.user).filter(assignment=assignment).select_related("student"),
        pk=submission_id,
    )


def _questions(assignment):
    return list(
        assignment.exercise.questions.select_related("mark_scheme", "source")
        .prefetch_related("mark_scheme__levels")
        .order_by("position", "pk")
    )


def _exercise_sources(exercise):
    links = (
        ExerciseSource.objects.filter(exercise=exercise)
        .order_by("position")
        .select_related("source")
        .prefetch_related("source__passages", "source__glossary")
    )
    return [link.source for link in links]


def _query_id(request, key) -> int | None:
    """An id from the query string, or None. ``str.isdigit()`` is not enough: "²" is a digit
    that ``int()`` refuses (a 500), and a very long number would be too."""
    raw = request.GET.get(key, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


# --- Dashboard -----------------------------------------------------------------------


@teacher_required
@require_GET
def dashboard(request: HtmxHttpRequest):
    user = request.user
    classes = list(Classroom.objects.taught_by(user).active().with_student_counts().order_by("name"))
    archived_classes = Classroom.objects.taught_by(user).filter(archived_at__isnull=False).order_by("name")
    assignments = list(
        Assignment.objects.for_teacher(user)
        .filter(classroom__archived_at__isnull=True)
        .select_related("exercise", "classroom")
        .with_progress_counts()
        .order_by("due_at", "pk")
    )
    now = timezone.now()
    due_soon = [a for a in assignments if a.due_at and now <= a.due_at <= now + timedelta(days=DUE_SOON_DAYS)]
    context = {
        "classes": classes,
        "archived_classes": archived_classes,
        "assignments": assignments,
        "due_soon": due_soon,
        "to_mark_total": sum(a.to_mark_count for a in assignments),
        "unassigned": Assignment.objects.taught_by(user)
        .filter(archived_at__isnull=False)
        .select_related("exercise", "classroom")
        .order_by("-archived_at")[:20],
        "due_soon_days": DUE_SOON_DAYS,
    }
    return render(request, "analysis/teacher_dashboard.html", context)


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
    return render(request, "analysis/classroom_form.html", {"form": form})


def _class_context(request, classroom, **extra):
    enrollments = classroom.enrollments.select_related("student").order_by(
        "student__last_name", "student__first_name", "student__username"
    )
    assignments = (
        Assignment.objects.for_teacher(request.user)
        .filter(classroom=classroom)
        .select_related("exercise")
        .with_progress_counts()
        .order_by("due_at", "pk")
    )
    context = {
        "classroom": classroom,
        "enrollments": enrollments,
        "assignments": assignments,
        "rename_form": ClassroomForm(instance=classroom, prefix="rename"),
        "roster_form": RosterUploadForm(),
    }
    context.update(extra)
    return context


@teacher_required
@require_GET
def class_detail(request, pk):
    classroom = _classroom(request, pk)
    return render(request, "analysis/classroom_detail.html", _class_context(request, classroom))


@teacher_required
@require_POST
def class_rename(request, pk):
    classroom = _classroom(request, pk)
    form = ClassroomForm(request.POST, instance=Classroom.objects.get(pk=classroom.pk), prefix="rename")
    if not form.is_valid():
        return render(
            request, "analysis/classroom_detail.html", _class_context(request, classroom, rename_form=form)
        )
    class_services.classroom_rename(classroom=classroom, name=form.cleaned_data["name"], by=request.user)
    messages.success(request, _("Class renamed to “%(name)s”.") % {"name": classroom.name})
    return redirect("teach:class-detail", classroom.pk)


@teacher_required
@require_POST
def class_archive(request, pk):
    classroom = _classroom(request, pk)
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
    classroom = _classroom(request, pk)
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
@require_http_methods(["GET", "POST"])
def class_student_remove(request, pk, student_id):
    classroom = _classroom(request, pk)
    enrollment = get_object_or_404(
        Enrollment.objects.select_related("student"), classroom=classroom, student_id=student_id
    )
    student = enrollment.student
    if request.method == "POST":
        class_services.enrollment_remove(classroom=classroom, student=student, by=request.user)
        messages.success(
            request,
            _("%(name)s was removed from %(class)s. Their work is kept.")
            % {"name": student.display_name, "class": classroom.name},
        )
        return redirect("teach:class-detail", classroom.pk)
    work_count = Submission.objects.filter(student=student, assignment__classroom=classroom).count()
    return render(
        request,
        "analysis/enrollment_confirm_remove.html",
        {"classroom": classroom, "student": student, "work_count": work_count},
    )


@teacher_required
@require_http_methods(["GET", "POST"])
def class_roster_upload(request, pk):
    classroom = _classroom(request, pk)
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
                request, "analysis/classroom_roster_result.html", {"classroom": classroom, "created": created}
            )
    return render(
        request,
        "analysis/classroom_roster_upload.html",
        {"classroom": classroom, "form": form, "problems": problems},
    )


# --- Exercises: preview and worksheet ----------------------------------------------------


def _exercise_context(pk):
    exercise = get_object_or_404(Exercise, pk=pk)
    questions = list(
        exercise.questions.select_related("mark_scheme", "source")
        .prefetch_related("mark_scheme__levels")
        .order_by("position", "pk")
    )
    return {"exercise": exercise, "questions": questions, "sources": _exercise_sources(exercise)}


@teacher_required
@require_GET
def exercise_preview(request, pk):
    return render(request, "analysis/exercise_preview.html", _exercise_context(pk))


@teacher_required
@require_GET
def exercise_worksheet(request, pk):
    return render(request, "analysis/exercise_worksheet.html", _exercise_context(pk))


# --- Assignments ---------------------------------------------------------------------------


def _exercise_list():
    return Exercise.objects.annotate(question_count=Count("questions")).order_by("title")


@teacher_required
@require_http_methods(["GET", "POST"])
def assignment_create(request):
    initial = {"opens_at": timezone.localtime().replace(second=0, microsecond=0)}
    for name, key in (("exercise", "exercise"), ("classroom", "class")):
        if (value := _query_id(request, key)) is not None:
            initial[name] = value
    form = AssignmentForm(request.POST or None, teacher=request.user, initial=initial)
    if form.is_valid():
        assignment = form.save(commit=False)
        assignment.created_by = request.user
        assignment.save()
        messages.success(
            request,
            _("“%(exercise)s” is set to %(class)s.")
            % {"exercise": assignment.exercise.title, "class": assignment.classroom.name},
        )
        return redirect("teach:assignment-progress", assignment.pk)
    return render(
        request,
        "analysis/assignment_form.html",
        {
            "form": form,
            "exercises": _exercise_list(),
            "assignment": None,
            "time_zone": timezone.get_current_timezone_name(),
        },
    )


@teacher_required
@require_http_methods(["GET", "POST"])
def assignment_edit(request, pk):
    assignment = _assignment(request, pk, current=True)
    has_work = assignment.submissions.exists()
    form = AssignmentForm(request.POST or None, instance=assignment, teacher=request.user, has_work=has_work)
    if form.is_valid():
        form.save()
        messages.success(request, _("Assignment updated."))
        return redirect("teach:assignment-progress", assignment.pk)
    return render(
        request,
        "analysis/assignment_form.html",
        {
            "form": form,
            "exercises": _exercise_list(),
            "assignment": assignment,
            "has_work": has_work,
            "time_zone": timezone.get_current_timezone_name(),
        },
    )


@teacher_required
@require_http_methods(["GET", "POST"])
def assignment_unassign(request, pk):
    assignment = _assignment(request, pk, current=True)
    if request.method == "POST":
        outcome = class_services.assignment_unassign(assignment=assignment, by=request.user)
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
    assignment = _assignment(request, pk)
    class_services.assignment_restore(assignment=assignment, by=request.user)
    messages.success(request, _("The assignment is set again; students can see it."))
    return redirect("teach:assignment-progress", assignment.pk)


@teacher_required
@require_http_methods(["GET", "POST"])
def assignment_extensions(request, pk):
    assignment = _assignment(request, pk)
    students = User.objects.filter(enrollments__classroom=assignment.classroom).order_by(
        "last_name", "first_name", "username"
    )
    form = ExtensionForm(request.POST or None, students=students)
    if form.is_valid():
        try:
            class_services.extension_set(
                assignment=assignment,
                student=form.cleaned_data["student"],
                due_at=form.cleaned_data["due_at"],
                by=request.user,
            )
        except ValidationError as error:
            for name, errors in error.message_dict.items():
                for message in errors:
                    form.add_error(name if name in form.fields else None, message)
        else:
            messages.success(
                request,
                _("Extension saved for %(name)s.") % {"name": form.cleaned_data["student"].display_name},
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
    assignment = _assignment(request, pk)
    extension = get_object_or_404(
        Extension.objects.select_related("assignment__classroom", "student"),
        assignment=assignment,
        pk=extension_id,
    )
    class_services.extension_remove(extension=extension, by=request.user)
    messages.success(request, _("Extension removed for %(name)s.") % {"name": extension.student.display_name})
    return redirect("teach:assignment-extensions", assignment.pk)


# --- Progress grid -------------------------------------------------------------------------------


@teacher_required
@require_GET
def assignment_progress(request: HtmxHttpRequest, pk):
    assignment = _assignment(request, pk)
    questions = _questions(assignment)
    rows = marking.progress_grid(assignment, questions)
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
    template = "analysis/assignment_progress.html"
    if request.htmx:
        template += "#progress-grid"
    return render(request, template, context)


# --- Marking ---------------------------------------------------------------------------------------


@dataclass
class MarkingItem:
    """One answer on a marking page, with what the teacher needs beside it."""

    response: Response
    submission: Submission
    question: Question
    heading: str
    student_name: str
    hidden: bool
    form: MarkForm | None
    cited: list = field(default_factory=list)  # [(passage, [evidence, ...]), ...] in passage order
    changes: list = field(default_factory=list)
    saved_message: str = ""

    @property
    def anchor(self) -> str:
        return f"item-{self.response.pk}"


def _marking_responses(queryset):
    return queryset.select_related("submission__student", "question__mark_scheme", "mark").prefetch_related(
        Prefetch(
            "evidence",
            queryset=Evidence.objects.select_related("passage__source").order_by(
                "passage__source_id", "passage__position", "start"
            ),
        ),
        Prefetch(
            "mark__changes", queryset=MarkChange.objects.select_related("changed_by").order_by("-changed_at")
        ),
    )


def _cited(response) -> list:
    by_passage = {}
    for evidence in response.evidence.all():
        by_passage.setdefault(evidence.passage, []).append(evidence)
    return list(by_passage.items())


def _build_item(request, assignment, response, *, levels, bank, numbers, heading, bound=None) -> MarkingItem:
    submission = response.submission
    hidden = marking.hides_name(assignment, submission)
    name = marking.student_label(assignment, submission, numbers)
    form = None
    if submission.status in MARKABLE_STATUSES:
        form = (
            bound
            if bound is not None
            else MarkForm(prefix=f"r{response.pk}", response=response, levels=levels, bank_entries=bank)
        )
    mark = getattr(response, "mark", None)
    return MarkingItem(
        response=response,
        submission=submission,
        question=response.question,
        heading=heading or name,
        student_name=name,
        hidden=hidden,
        form=form,
        cited=_cited(response),
        changes=list(mark.changes.all()) if mark else [],
    )


def _levels_by_question(questions):
    return {q.pk: list(q.mark_scheme.levels.all()) if q.mark_scheme_id else [] for q in questions}


def _question_heading(question):
    return _("Question %(number)s · %(stage)s") % {
        "number": question.number,
        "stage": question.get_stage_display(),
    }


def _handle_mark_post(
    request, assignment, responses, *, levels_for, numbers, heading_for, page_url, next_url
):
    """Validate and save one answer's mark from a marking page.

    ``responses`` is the page's scoped queryset: an id from elsewhere is a 404. htmx gets
    the item back (with the error or a saved note); otherwise the page is redisplayed
    (on error) or reloaded at the next answer (on success)."""
    try:
        response_id = int(request.POST.get("response", ""))
    except ValueError:
        messages.error(request, _("Nothing was saved: the form did not say which answer it was for."))
        return None  # the caller shows the page again
    ordered_ids = list(responses.values_list("pk", flat=True))
    if response_id not in ordered_ids:
        raise Http404
    bank = list(CommentBankEntry.objects.filter(teacher=request.user))
    response = _marking_responses(responses.filter(pk=response_id)).get()
    levels = levels_for(response.question)
    form = MarkForm(
        request.POST, prefix=f"r{response.pk}", response=response, levels=levels, bank_entries=bank
    )
    saved = False
    if response.submission.status not in MARKABLE_STATUSES:
        form = None
    elif form.is_valid():
        try:
            marking.mark_save(
                response=response,
                marker=request.user,
                level=form.level_number,
                marks=form.cleaned_data["marks"],
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            saved = True
            if form.cleaned_data["add_to_bank"]:
                marking.comment_bank_add(teacher=request.user, text=form.cleaned_data["comment"])
    position = ordered_ids.index(response_id)
    next_id = ordered_ids[position + 1] if position + 1 < len(ordered_ids) else None
    go_next = saved and request.POST.get("then") == "next"

    if saved and not request.htmx:
        messages.success(request, _("Mark saved (a draft until you release it)."))
        if go_next and next_id is None and next_url:
            return redirect(next_url)
        return redirect(f"{page_url}#item-{next_id if go_next and next_id else response_id}")
    if not request.htmx:
        return form  # the caller redisplays the whole page with this bound form
    if go_next and next_id is None and next_url:
        return HttpResponseClientRedirect(next_url)

    if saved:
        response = _marking_responses(responses.filter(pk=response_id)).get()
        form = None
        bank = list(CommentBankEntry.objects.filter(teacher=request.user))
    item = _build_item(
        request,
        assignment,
        response,
        levels=levels,
        bank=bank,
        numbers=numbers,
        heading=heading_for(response),
        bound=form,
    )
    if saved:
        mark = response.mark
        item.saved_message = _(
            "Saved for %(who)s, %(question)s: %(marks)s/%(max)s (draft until released)."
        ) % {
            "who": item.student_name,
            "question": _question_heading(response.question),
            "marks": mark.marks,
            "max": mark.max_marks,
        }
    result = render(
        request,
        "analysis/_mark_item.html",
        {"item": item, "assignment": assignment, "page_url": page_url, "oob_status": True},
    )
    if go_next and next_id:
        trigger_client_event(result, "marking-focus", {"target": f"#item-{next_id}"}, after="settle")
    return result


@teacher_required
@require_http_methods(["GET", "POST"])
def submission_mark(request: HtmxHttpRequest, pk, submission_id):
    assignment = _assignment(request, pk)
    submission = _submission(request, assignment, submission_id)
    questions = _questions(assignment)
    levels = _levels_by_question(questions)
    numbers = marking.anonymous_numbers(assignment)
    responses = Response.objects.filter(submission=submission).order_by("question__position", "question_id")
    page_url = reverse("teach:submission-mark", args=[assignment.pk, submission.pk])

    # The next handed-in student, in the order the question pages use.
    order = _marking_order(assignment)
    queue = list(
        Submission.objects.filter(assignment=assignment, status__in=MARKABLE_STATUSES)
        .order_by(*order)
        .values_list("pk", flat=True)
    )
    next_submission = None
    if submission.pk in queue and queue.index(submission.pk) + 1 < len(queue):
        next_submission = queue[queue.index(submission.pk) + 1]
    elif submission.pk not in queue and queue:
        next_submission = queue[0]
    next_url = (
        reverse("teach:submission-mark", args=[assignment.pk, next_submission]) if next_submission else ""
    )

    bound = None
    if request.method == "POST":
        outcome = _handle_mark_post(
            request,
            assignment,
            responses,
            levels_for=lambda q: levels[q.pk],
            numbers=numbers,
            heading_for=lambda r: _question_heading(r.question),
            page_url=page_url,
            next_url=next_url,
        )
        if isinstance(outcome, HttpResponseBase):
            return outcome
        bound = outcome

    bank = list(CommentBankEntry.objects.filter(teacher=request.user))
    items = []
    evidence_by_passage = {}
    for response in _marking_responses(responses):
        form = bound if bound is not None and bound.response.pk == response.pk else None
        item = _build_item(
            request,
            assignment,
            response,
            levels=levels[response.question_id],
            bank=bank,
            numbers=numbers,
            heading=_question_heading(response.question),
            bound=form,
        )
        items.append(item)
        for evidence in response.evidence.all():
            evidence_by_passage.setdefault(evidence.passage_id, []).append(evidence)
    hidden = marking.hides_name(assignment, submission)
    total = sum(item.response.mark.marks for item in items if hasattr(item.response, "mark"))
    context = {
        "assignment": assignment,
        "submission": submission,
        "student_name": marking.student_label(assignment, submission, numbers),
        "hidden": hidden,
        "items": items,
        "questions": questions,
        "page_url": page_url,
        "next_url": next_url,
        "sources": _exercise_sources(assignment.exercise),
        "evidence_by_passage": evidence_by_passage,
        "total": total,
        "out_of": sum(q.max_marks for q in questions),
        "markable": submission.status in MARKABLE_STATUSES,
        "comment_form": OverallCommentForm(instance=submission, prefix="overall"),
    }
    return render(request, "analysis/submission_mark.html", context)


def _marking_order(assignment):
    # Blind marking goes in anonymous-number order, so the order gives no names away.
    if assignment.anonymous_marking:
        return ["pk"]
    return ["student__last_name", "student__first_name", "student__username"]


@teacher_required
@require_POST
def submission_comment(request: HtmxHttpRequest, pk, submission_id):
    assignment = _assignment(request, pk)
    submission = get_object_or_404(
        Submission.objects.visible_to(request.user).filter(
            assignment=assignment, status__in=MARKABLE_STATUSES
        ),
        pk=submission_id,
    )
    form = OverallCommentForm(request.POST, instance=submission, prefix="overall")
    page_url = reverse("teach:submission-mark", args=[assignment.pk, submission.pk])
    saved = False
    if form.is_valid():
        form.save()
        saved = True
        if not request.htmx:
            messages.success(request, _("Overall comment saved."))
            return redirect(f"{page_url}#overall-comment")
    context = {"assignment": assignment, "submission": submission, "comment_form": form, "saved": saved}
    if request.htmx:
        return render(request, "analysis/submission_mark.html#overall-comment", context)
    messages.error(
        request, _("The overall comment was not saved: %(errors)s") % {"errors": form.errors.as_text()}
    )
    return redirect(f"{page_url}#overall-comment")


@teacher_required
@require_http_methods(["GET", "POST"])
def question_mark(request: HtmxHttpRequest, pk, question_id):
    assignment = _assignment(request, pk)
    questions = _questions(assignment)
    question = next((q for q in questions if q.pk == question_id), None)
    if question is None:
        raise Http404
    levels = list(question.mark_scheme.levels.all()) if question.mark_scheme_id else []
    numbers = marking.anonymous_numbers(assignment)
    responses = Response.objects.filter(
        question=question, submission__assignment=assignment, submission__status__in=MARKABLE_STATUSES
    ).order_by(*[f"submission__{key}" for key in _marking_order(assignment)])
    page_url = reverse("teach:question-mark", args=[assignment.pk, question.pk])
    index = questions.index(question)
    next_question = questions[index + 1] if index + 1 < len(questions) else None
    previous_question = questions[index - 1] if index > 0 else None
    next_url = reverse("teach:question-mark", args=[assignment.pk, next_question.pk]) if next_question else ""

    def heading_for(response):
        return marking.student_label(assignment, response.submission, numbers)

    bound = None
    if request.method == "POST":
        outcome = _handle_mark_post(
            request,
            assignment,
            responses,
            levels_for=lambda q: levels,
            numbers=numbers,
            heading_for=heading_for,
            page_url=page_url,
            next_url=next_url,
        )
        if isinstance(outcome, HttpResponseBase):
            return outcome
        bound = outcome

    bank = list(CommentBankEntry.objects.filter(teacher=request.user))
    items = [
        _build_item(
            request,
            assignment,
            response,
            levels=levels,
            bank=bank,
            numbers=numbers,
            heading=heading_for(response),
            bound=bound if bound is not None and bound.response.pk == response.pk else None,
        )
        for response in _marking_responses(responses)
    ]
    sources = _exercise_sources(assignment.exercise)
    if question.source_id:
        sources = [s for s in sources if s.pk == question.source_id]
    context = {
        "assignment": assignment,
        "question": question,
        "questions": questions,
        "levels": levels,
        "items": items,
        "page_url": page_url,
        "next_question": next_question,
        "previous_question": previous_question,
        "sources": sources,
        "marked_count": sum(1 for item in items if hasattr(item.response, "mark")),
    }
    return render(request, "analysis/question_mark.html", context)


# --- Returning work ----------------------------------------------------------------------------------


@teacher_required
@require_POST
def assignment_release(request, pk):
    assignment = _assignment(request, pk)
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
        numbers = marking.anonymous_numbers(assignment)
        names = [
            marking.anonymous_label(numbers.get(s.pk, 0))
            if assignment.anonymous_marking
            else s.student.display_name
            for s in result.not_ready
        ]
        messages.warning(
            request,
            ngettext(
                "Not released for %(count)s student with unmarked answers: %(names)s.",
                "Not released for %(count)s students with unmarked answers: %(names)s.",
                len(names),
            )
            % {"count": len(names), "names": ", ".join(names)},
        )
    if not result.released and not result.not_ready:
        messages.info(request, _("There was nothing to release: no handed-in work is waiting."))
    return redirect("teach:assignment-progress", assignment.pk)


@teacher_required
@require_POST
def submission_reopen(request, pk, submission_id):
    assignment = _assignment(request, pk)
    submission = _submission(request, assignment, submission_id)
    numbers = marking.anonymous_numbers(assignment)
    name = marking.student_label(assignment, submission, numbers)
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
    assignment = _assignment(request, pk)
    submission = _submission(request, assignment, submission_id)
    numbers = marking.anonymous_numbers(assignment)
    responses = list(
        _marking_responses(Response.objects.filter(submission=submission)).order_by(
            "question__position", "question_id"
        )
    )
    marks = [r.mark for r in responses if hasattr(r, "mark")]
    context = {
        "assignment": assignment,
        "submission": submission,
        "student_name": marking.student_label(assignment, submission, numbers),
        "responses": [(r, _cited(r)) for r in responses],
        "total": sum(m.marks for m in marks),
        "out_of": sum(r.question.max_marks for r in responses),
    }
    return render(request, "analysis/submission_print.html", context)


# --- Export and insight --------------------------------------------------------------------------------


@teacher_required
@require_GET
def assignment_export(request, pk):
    assignment = _assignment(request, pk)
    header, rows = marking.export_table(assignment, _questions(assignment))
    buffer = io.StringIO()
    buffer.write("\ufeff")  # a byte-order mark, so spreadsheet programs read UTF-8
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    filename = "{}-{}-marks.csv".format(
        slugify(assignment.classroom.name) or "class", slugify(assignment.exercise.title) or "exercise"
    )
    response = HttpResponse(buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@teacher_required
@require_GET
def assignment_insight(request, pk):
    assignment = _assignment(request, pk)
    questions = _questions(assignment)
    focus = None
    if (question_id := _query_id(request, "question")) is not None:
        focus = next((q for q in questions if q.pk == question_id), None)
    heat = marking.evidence_heat(assignment, focus)
    students = Submission.objects.filter(assignment=assignment).count()
    sources = _exercise_sources(assignment.exercise)
    all_passages = [p.pk for source in sources for p in source.passages.all()]
    heat = {pk: heat.get(pk, 0) for pk in all_passages}
    context = {
        "assignment": assignment,
        "questions": questions,
        "insights": marking.level_distributions(assignment, questions),
        "focus": focus,
        "sources": sources,
        "heat": heat,
        "heat_levels": {pk: marking.heat_level(count, students) for pk, count in heat.items()},
        "students": students,
        "chart": {
            "label_width": marking.CHART_LABEL_WIDTH,
            "bar_height": marking.CHART_BAR_HEIGHT,
            "width": marking.CHART_LABEL_WIDTH + marking.CHART_BAR_SPACE + 60,
        },
    }
    return render(request, "analysis/assignment_insight.html", context)


# --- Comment bank -------------------------------------------------------------------------------------------


@teacher_required
@require_http_methods(["GET", "POST"])
def comment_bank(request):
    form = CommentBankEntryForm(request.POST or None)
    if form.is_valid():
        marking.comment_bank_add(teacher=request.user, text=form.cleaned_data["text"])
        messages.success(request, _("Comment added to your bank."))
        return redirect("teach:comment-bank")
    entries = CommentBankEntry.objects.filter(teacher=request.user).order_by("text")
    return render(request, "analysis/commentbankentry_list.html", {"form": form, "entries": entries})


@teacher_required
@require_POST
def comment_bank_delete(request, entry_id):
    entry = get_object_or_404(CommentBankEntry, teacher=request.user, pk=entry_id)
    entry.delete()
    messages.success(request, _("Comment removed from your bank."))
    return redirect("teach:comment-bank")
