"""Marking by student and by question, overall comments and the teacher's comment bank.
Teachers only, and only work in the classes they teach."""

from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from accounts.decorators import teacher_required
from analysis.marking import anonymity
from analysis.marking import services as marking
from analysis.marking.forms import CommentBankEntryForm, MarkForm, OverallCommentForm
from analysis.marking.services import MARKABLE_STATUSES
from analysis.models import CommentBankEntry, Evidence, MarkChange, Question, Response, Submission
from analysis.teaching import scope
from analysis.teaching.scope import HtmxHttpRequest

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
    cited_regions: list = field(default_factory=list)  # [(source, [evidence, ...]), ...]: image regions
    changes: list = field(default_factory=list)
    saved_message: str = ""

    @property
    def anchor(self) -> str:
        return f"item-{self.response.pk}"


def marking_responses(queryset):
    return queryset.select_related("submission__student", "question__mark_scheme", "mark").prefetch_related(
        Prefetch(
            "evidence",
            queryset=Evidence.objects.select_related("passage__source", "region__source").order_by(
                "passage__source_id", "passage__position", "start", "region__position"
            ),
        ),
        Prefetch(
            "mark__changes", queryset=MarkChange.objects.select_related("changed_by").order_by("-changed_at")
        ),
    )


def cited(response) -> list:
    by_passage = {}
    for evidence in response.evidence.all():
        if evidence.passage_id:
            by_passage.setdefault(evidence.passage, []).append(evidence)
    return list(by_passage.items())


def cited_regions(response) -> list:
    """The regions of image sources an answer cites, by source: [(source, [evidence, ...])]."""
    by_source = {}
    for evidence in response.evidence.all():
        if evidence.region_id:
            by_source.setdefault(evidence.region.source, []).append(evidence)
    return list(by_source.items())


def _build_item(request, assignment, response, *, levels, bank, numbers, heading, bound=None) -> MarkingItem:
    submission = response.submission
    hidden = anonymity.hides_name(assignment, submission)
    name = anonymity.student_label(assignment, submission, numbers)
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
        cited=cited(response),
        cited_regions=cited_regions(response),
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
    response = marking_responses(responses.filter(pk=response_id)).get()
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
        response = marking_responses(responses.filter(pk=response_id)).get()
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
    assignment = scope.assignment(request, pk)
    submission = scope.submission(request, assignment, submission_id)
    questions = scope.questions(assignment)
    levels = _levels_by_question(questions)
    numbers = anonymity.anonymous_numbers(assignment)
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
    cited_region_ids = set()
    for response in marking_responses(responses):
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
            if evidence.region_id:
                cited_region_ids.add(evidence.region_id)
            else:
                evidence_by_passage.setdefault(evidence.passage_id, []).append(evidence)
    hidden = anonymity.hides_name(assignment, submission)
    total = sum(item.response.mark.marks for item in items if hasattr(item.response, "mark"))
    context = {
        "assignment": assignment,
        "submission": submission,
        "student_name": anonymity.student_label(assignment, submission, numbers),
        "hidden": hidden,
        "items": items,
        "questions": questions,
        "page_url": page_url,
        "next_url": next_url,
        "sources": scope.exercise_sources(assignment.exercise),
        "evidence_by_passage": evidence_by_passage,
        "cited_regions": cited_region_ids,
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
    assignment = scope.assignment(request, pk)
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
    assignment = scope.assignment(request, pk)
    questions = scope.questions(assignment)
    question = next((q for q in questions if q.pk == question_id), None)
    if question is None:
        raise Http404
    levels = list(question.mark_scheme.levels.all()) if question.mark_scheme_id else []
    numbers = anonymity.anonymous_numbers(assignment)
    responses = Response.objects.filter(
        question=question, submission__assignment=assignment, submission__status__in=MARKABLE_STATUSES
    ).order_by(*[f"submission__{key}" for key in _marking_order(assignment)])
    page_url = reverse("teach:question-mark", args=[assignment.pk, question.pk])
    index = questions.index(question)
    next_question = questions[index + 1] if index + 1 < len(questions) else None
    previous_question = questions[index - 1] if index > 0 else None
    next_url = reverse("teach:question-mark", args=[assignment.pk, next_question.pk]) if next_question else ""

    def heading_for(response):
        return anonymity.student_label(assignment, response.submission, numbers)

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
        for response in marking_responses(responses)
    ]
    sources = scope.exercise_sources(assignment.exercise)
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
