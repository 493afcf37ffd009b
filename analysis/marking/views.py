"""Marking by student and by question, overall comments and the teacher's comment bank.
Teachers only, and only work in the classes they teach."""

from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from accounts.decorators import teacher_required
from analysis.marking import anonymity
from analysis.marking import services as marking
from analysis.marking.forms import CommentBankEntryForm, MarkForm, OverallCommentForm
from analysis.marking.services import MARKABLE_STATUSES
from analysis.models import CommentBankEntry, Evidence, Mark, MarkChange, Question, Response, Submission
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
    refusal: str = ""
    by: str = "submission"  # which marking page the card is on: "submission" or "question"

    @property
    def anchor(self) -> str:
        return f"item-{self.response.pk}"

    @property
    def changed_since_marked(self) -> bool:
        """Marked, then the pupil changed the answer (after a reopen): look again before release."""
        mark = getattr(self.response, "mark", None)
        return mark is not None and mark.answer_hash != self.response.content_hash


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


# --- The marking pages and their one saving endpoint ------------------------------------------

BY_SUBMISSION = "submission"
BY_QUESTION = "question"


@dataclass
class MarkingPage:
    """One marking page as the saving endpoint needs to know it: its answers in page order
    (what "Save and next" follows), where it lives, where it goes after its last answer, and
    how a card on it is headed (by question on a student's page, by student on a question's)."""

    by: str
    responses: object  # a Response queryset, in page order
    url: str
    next_url: str
    numbers: dict
    levels: dict  # question id -> the scheme's levels

    def heading_for(self, assignment, response) -> str:
        if self.by == BY_QUESTION:
            return anonymity.student_label(assignment, response.submission, self.numbers)
        return _question_heading(response.question)


def _submission_page(assignment, questions, submission, numbers) -> MarkingPage:
    # The next handed-in student, in the order the question pages use.
    queue = list(
        Submission.objects.filter(assignment=assignment, status__in=MARKABLE_STATUSES)
        .order_by(*_marking_order(assignment))
        .values_list("pk", flat=True)
    )
    next_submission = None
    if submission.pk in queue and queue.index(submission.pk) + 1 < len(queue):
        next_submission = queue[queue.index(submission.pk) + 1]
    elif submission.pk not in queue and queue:
        next_submission = queue[0]
    return MarkingPage(
        by=BY_SUBMISSION,
        responses=Response.objects.filter(submission=submission).order_by(
            "question__position", "question_id"
        ),
        url=reverse("teach:submission-mark", args=[assignment.pk, submission.pk]),
        next_url=(
            reverse("teach:submission-mark", args=[assignment.pk, next_submission]) if next_submission else ""
        ),
        numbers=numbers,
        levels=_levels_by_question(questions),
    )


def _question_page(assignment, questions, question, numbers) -> MarkingPage:
    index = questions.index(question)
    next_question = questions[index + 1] if index + 1 < len(questions) else None
    return MarkingPage(
        by=BY_QUESTION,
        responses=Response.objects.filter(
            question=question, submission__assignment=assignment, submission__status__in=MARKABLE_STATUSES
        ).order_by(*[f"submission__{key}" for key in _marking_order(assignment)]),
        url=reverse("teach:question-mark", args=[assignment.pk, question.pk]),
        next_url=reverse("teach:question-mark", args=[assignment.pk, next_question.pk])
        if next_question
        else "",
        numbers=numbers,
        levels=_levels_by_question([question]),
    )


def _progress(page: MarkingPage, questions) -> dict:
    """What the page's bar says about the marking so far, recounted after every save."""
    marks = Mark.objects.filter(response__in=page.responses.order_by())
    if page.by == BY_QUESTION:
        return {"marked_count": marks.count(), "answer_count": page.responses.count()}
    return {
        "total": marks.aggregate(total=Sum("marks"))["total"] or 0,
        "out_of": sum(q.max_marks for q in questions),
    }


@teacher_required
@require_POST
def response_mark(request: HtmxHttpRequest, pk, response_id):
    """Save one answer's mark, from either marking page (the form says which, in ``by``).

    With htmx the answer's card comes back, with out-of-band updates of the page's status
    line and its "marks so far", and a ``comment-bank-added`` event when the comment went
    into the bank (so every other card offers it). Without JavaScript a save goes back to
    the page, at the next answer; a refusal shows the answer alone with what to correct."""
    assignment = scope.assignment(request, pk)
    response = get_object_or_404(
        Response.objects.filter(submission__assignment=assignment).select_related("submission", "question"),
        pk=response_id,
    )
    questions = scope.questions(assignment)
    numbers = anonymity.anonymous_numbers(assignment)
    if request.POST.get("by") == BY_QUESTION:
        question = next(q for q in questions if q.pk == response.question_id)
        page = _question_page(assignment, questions, question, numbers)
    else:
        page = _submission_page(assignment, questions, response.submission, numbers)
    response = marking_responses(Response.objects.filter(pk=response.pk)).get()
    levels = page.levels[response.question_id]
    bank = list(CommentBankEntry.objects.filter(teacher=request.user))
    form = MarkForm(
        request.POST, prefix=f"r{response.pk}", response=response, levels=levels, bank_entries=bank
    )
    saved, banked, refusal = False, None, ""
    if response.submission.status not in MARKABLE_STATUSES:
        form = None
        refusal = _("Not saved: this work is no longer handed in (it was reopened for the student).")
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
            if form.cleaned_data["add_to_bank"] and form.cleaned_data["comment"]:
                before = {entry.pk for entry in bank}
                banked = marking.comment_bank_add(teacher=request.user, text=form.cleaned_data["comment"])
                banked = banked if banked is not None and banked.pk not in before else None
    heading = page.heading_for(assignment, response)
    if not saved and not refusal:
        refusal = _("Not saved for %(who)s: check the level and mark.") % {"who": heading}

    ordered_ids = list(page.responses.values_list("pk", flat=True))
    position = ordered_ids.index(response.pk) if response.pk in ordered_ids else len(ordered_ids)
    next_id = ordered_ids[position + 1] if position + 1 < len(ordered_ids) else None
    go_next = saved and request.POST.get("then") == "next"

    if not request.htmx:
        if saved:
            messages.success(request, _("Mark saved (a draft until you release it)."))
            if go_next and next_id is None and page.next_url:
                return redirect(page.next_url)
            return redirect(f"{page.url}#item-{next_id if go_next and next_id else response.pk}")
        messages.error(request, refusal)
        if form is None:
            return redirect(f"{page.url}#item-{response.pk}")
    elif go_next and next_id is None and page.next_url:
        return HttpResponseClientRedirect(page.next_url)

    if saved:
        response = marking_responses(Response.objects.filter(pk=response.pk)).get()
        form = None
        bank = list(CommentBankEntry.objects.filter(teacher=request.user))
    item = _build_item(
        request, assignment, response, levels=levels, bank=bank, numbers=numbers, heading=heading, bound=form
    )
    item.by = page.by
    item.refusal = "" if saved else refusal
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
    context = {
        "item": item,
        "assignment": assignment,
        "page_url": page.url,
        "show_question": page.by == BY_SUBMISSION,
        "show_guidance": page.by == BY_SUBMISSION,
    }
    if not request.htmx:
        # A refusal without JavaScript: this answer alone, with what to correct.
        return render(request, "analysis/response_mark.html", context)
    context.update({"oob": True, "by": page.by, **_progress(page, questions)})
    result = render(request, "analysis/_mark_item.html", context)
    if banked is not None:
        trigger_client_event(result, "comment-bank-added", {"id": banked.pk, "text": banked.text})
    if go_next and next_id:
        trigger_client_event(result, "marking-focus", {"target": f"#item-{next_id}"}, after="settle")
    return result


@teacher_required
@require_GET
def submission_mark(request: HtmxHttpRequest, pk, submission_id):
    assignment = scope.assignment(request, pk)
    submission = scope.submission(request, assignment, submission_id)
    questions = scope.questions(assignment)
    numbers = anonymity.anonymous_numbers(assignment)
    page = _submission_page(assignment, questions, submission, numbers)
    bank = list(CommentBankEntry.objects.filter(teacher=request.user))
    items = []
    evidence_by_passage = {}
    cited_region_ids = set()
    for response in marking_responses(page.responses):
        item = _build_item(
            request,
            assignment,
            response,
            levels=page.levels[response.question_id],
            bank=bank,
            numbers=numbers,
            heading=_question_heading(response.question),
        )
        item.by = page.by
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
        "page_url": page.url,
        "next_url": page.next_url,
        "sources": scope.exercise_sources(assignment.exercise),
        "evidence_by_passage": evidence_by_passage,
        "cited_regions": cited_region_ids,
        "total": total,
        "out_of": sum(q.max_marks for q in questions),
        "markable": submission.status in MARKABLE_STATUSES,
        "comment_form": OverallCommentForm(instance=submission, prefix="overall"),
        "bank": bank,
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
@require_GET
def question_mark(request: HtmxHttpRequest, pk, question_id):
    assignment = scope.assignment(request, pk)
    questions = scope.questions(assignment)
    question = next((q for q in questions if q.pk == question_id), None)
    if question is None:
        raise Http404
    numbers = anonymity.anonymous_numbers(assignment)
    page = _question_page(assignment, questions, question, numbers)
    levels = page.levels[question.pk]
    index = questions.index(question)
    bank = list(CommentBankEntry.objects.filter(teacher=request.user))
    items = []
    for response in marking_responses(page.responses):
        item = _build_item(
            request,
            assignment,
            response,
            levels=levels,
            bank=bank,
            numbers=numbers,
            heading=page.heading_for(assignment, response),
        )
        item.by = page.by
        items.append(item)
    sources = scope.exercise_sources(assignment.exercise)
    if question.source_id:
        sources = [s for s in sources if s.pk == question.source_id]
    context = {
        "assignment": assignment,
        "question": question,
        "questions": questions,
        "levels": levels,
        "items": items,
        "page_url": page.url,
        "next_question": questions[index + 1] if index + 1 < len(questions) else None,
        "previous_question": questions[index - 1] if index > 0 else None,
        "sources": sources,
        "marked_count": sum(1 for item in items if hasattr(item.response, "mark")),
        "answer_count": len(items),
        "bank": bank,
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
