"""Reads that build the pupils' pages: "My assignments", the workspace and the feedback
page. Nothing here writes (except that the workspace starts a submission through the service)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from analysis.classwork.errors import WorkClosed
from analysis.classwork.heuristics import Check, submission_self_check
from analysis.classwork.rules import answered_q, check_accepting, student_due_subquery
from analysis.classwork.services import submission_start
from analysis.models import (
    Assignment,
    Evidence,
    Passage,
    Question,
    Response,
    Source,
    Stage,
    Submission,
)

# --- Reads ------------------------------------------------------------------------------------

Status = Submission.Status


def assignments_visible_to(student) -> QuerySet:
    """The student's current assignments (``Assignment.objects.for_student``) with the exercise
    and class joined in and ``student_due_at`` annotated: their own due date, counting an
    extension. Fetch one with ``get_object_or_404(assignments_visible_to(user), pk=…)``."""
    return (
        Assignment.objects.for_student(student)
        .select_related("exercise", "classroom")
        .annotate(
            student_due_at=Coalesce(
                student_due_subquery(assignment_ref="pk", student_ref=student.pk), F("due_at")
            )
        )
    )


def _count(queryset, key):
    return Coalesce(Subquery(queryset.order_by().values(key).annotate(n=Count("pk")).values("n")[:1]), 0)


@dataclass
class AssignmentRow:
    """One line of "My assignments"."""

    assignment: Assignment
    status: str  # "not_started" | "in_progress" | "submitted" | "returned"
    due_at: datetime | None
    answered: int
    total: int
    is_open: bool
    is_overdue: bool
    is_late: bool

    STATUS_LABELS = {
        "not_started": gettext_lazy("Not started"),
        "in_progress": gettext_lazy("In progress"),
        "submitted": gettext_lazy("Submitted"),
        "returned": gettext_lazy("Returned"),
    }

    @property
    def status_label(self) -> str:
        return self.STATUS_LABELS[self.status]

    @property
    def badge(self) -> str:
        return self.status.replace("_", "-")


def assignment_rows_for_student(*, student, now=None) -> list[AssignmentRow]:
    """The student's assignments, soonest (own) due date first, undated last, in ONE query:
    status, answered count and question count come from subqueries, never per row.

    A submission that exists but has no answer yet counts as "not started": opening the
    workspace creates it, and a glance at the questions is not a start.
    """
    now = now or timezone.now()
    mine = Submission.objects.filter(assignment=OuterRef("pk"), student=student)
    answered = Response.objects.filter(
        answered_q(), submission__assignment=OuterRef("pk"), submission__student=student
    )
    queryset = (
        assignments_visible_to(student)
        .annotate(
            submission_status=Subquery(mine.values("status")[:1]),
            submission_late=Subquery(mine.values("is_late")[:1]),
            answered_count=_count(answered, "submission"),
            question_count=_count(Question.objects.filter(exercise=OuterRef("exercise")), "exercise"),
        )
        .order_by(F("student_due_at").asc(nulls_last=True), "opens_at", "pk")
    )
    rows = []
    for assignment in queryset:
        status = assignment.submission_status or "not_started"
        if status == Status.IN_PROGRESS and assignment.answered_count == 0:
            status = "not_started"
        due = assignment.student_due_at
        rows.append(
            AssignmentRow(
                assignment=assignment,
                status=status,
                due_at=due,
                answered=assignment.answered_count,
                total=assignment.question_count,
                is_open=assignment.opens_at <= now,
                is_overdue=bool(due and due < now and status in ("not_started", Status.IN_PROGRESS)),
                is_late=bool(assignment.submission_late),
            )
        )
    return rows


# --- The workspace, read in a fixed number of queries -----------------------------------------


@dataclass
class Chip:
    """A piece of evidence as the student sees it under an answer."""

    evidence: Evidence
    source_letter: str
    first_line: int
    last_line: int

    @property
    def lines(self) -> str:
        if self.first_line == self.last_line:
            return _("line %(n)s") % {"n": self.first_line}
        return _("lines %(a)s–%(b)s") % {"a": self.first_line, "b": self.last_line}


def make_chip(evidence: Evidence, letters: dict[int, str]) -> Chip:
    text = evidence.passage.text
    first = text.count("\n", 0, evidence.start) + 1
    last = first + text.count("\n", evidence.start, max(evidence.start, evidence.end - 1))
    return Chip(
        evidence=evidence,
        source_letter=letters.get(evidence.passage.source_id, "?"),
        first_line=first,
        last_line=last,
    )


@dataclass
class QuestionItem:
    question: Question
    response: Response
    chips: list[Chip]

    @property
    def answered(self) -> bool:
        return self.response.is_answered

    @property
    def hints_shown(self) -> list[str]:
        return self.question.hints[: self.response.hints_used]

    @property
    def more_hints(self) -> int:
        return max(0, len(self.question.hints) - self.response.hints_used)

    @property
    def word_count(self) -> int:
        return len(self.response.text.split())

    # Labels the workspace repeats for every question, translated here once per question rather
    # than by a {% blocktranslate %} node each (the page's costliest template nodes).
    @property
    def title(self) -> str:
        return _("Question %(n)s") % {"n": self.question.number}

    @property
    def title_with_stage(self) -> str:
        return _("Question %(n)s (%(stage)s)") % {
            "n": self.question.number,
            "stage": self.question.get_stage_display(),
        }

    @property
    def marks_label(self) -> str:
        marks = self.question.max_marks
        return ngettext("%(marks)s mark", "%(marks)s marks", marks) % {"marks": marks}

    @property
    def answer_label(self) -> str:
        return _("Your answer to question %(n)s") % {"n": self.question.number}


@dataclass
class StageGroup:
    value: str
    label: str
    items: list[QuestionItem]
    number: int = 0
    next_value: str = "review"
    next_label: str = gettext_lazy("Check and submit")

    @property
    def answered_count(self) -> int:
        return sum(item.answered for item in self.items)

    @property
    def done(self) -> bool:
        return self.answered_count == len(self.items)


@dataclass
class SourcePanel:
    source: Source
    letter: str
    html: str = ""  # the rendered panel, filled in by the view (analysis.classwork.panels)


@dataclass
class Workspace:
    assignment: Assignment
    submission: Submission
    due_at: datetime | None
    sources: list[SourcePanel]
    items: list[QuestionItem]
    stages: list[StageGroup]
    highlights_by_passage: dict[int, list[tuple[int, int]]]  # passage id → (start, end), sorted
    self_check: list[Check]
    now: datetime

    @property
    def is_editable(self) -> bool:
        return self.submission.is_editable and self.closed_reason is None

    @property
    def closed_reason(self) -> str | None:
        try:
            check_accepting(self.submission, now=self.now)
        except WorkClosed as closed:
            return closed.reason
        return None

    @property
    def answered_count(self) -> int:
        return sum(item.answered for item in self.items)

    @property
    def is_overdue(self) -> bool:
        return bool(self.due_at and self.due_at < self.now and self.submission.is_editable)

    @property
    def current_stage(self) -> str:
        """Where the student is: the first stage with an unanswered question (else the review,
        which is also where handed-in work opens)."""
        if not self.submission.is_editable:
            return "review"
        for group in self.stages:
            if not group.done:
                return group.value
        return "review"


def exercise_source_letters(exercise_id: int) -> dict[int, str]:
    """Source id → "A", "B"… in the exercise's order (one query)."""
    ids = Source.objects.filter(exercise_links__exercise_id=exercise_id).order_by("exercise_links__position")
    return {pk: chr(ord("A") + index) for index, pk in enumerate(ids.values_list("pk", flat=True))}


def workspace_assignments(student) -> QuerySet:
    """``assignments_visible_to`` with the exercise's number of questions annotated, so the
    workspace knows without another query whether the student's answers are all there."""
    questions = Question.objects.filter(exercise_id=OuterRef("exercise_id"))
    return assignments_visible_to(student).annotate(question_total=_count(questions, "exercise_id"))


def _workspace_responses(*, assignment: Assignment, student) -> list[Response]:
    return list(
        Response.objects.filter(submission__assignment=assignment, submission__student=student)
        .select_related("question", "submission")
        .prefetch_related(
            # Explicit order: the default ("response", …) would join through every model's own
            # default ordering (response → submission → assignment, student) for nothing.
            Prefetch(
                "evidence",
                queryset=Evidence.objects.select_related("passage").order_by("created_at", "pk"),
            )
        )
        .order_by("question__position", "question_id")
    )


def workspace_load(*, assignment: Assignment, student, now=None) -> Workspace:
    """Everything the workspace page shows about the student's work, in a number of queries
    that does not depend on the number of questions, sources or evidence items: the answers
    with their submission and evidence (two), and the sources' rows (one). ``assignment`` must
    come from ``workspace_assignments(student)`` (it carries ``student_due_at`` and
    ``question_total``). Starts the submission, and adds answers for questions added since, if
    needed (see ``submission_start``).

    The sources' passages and glossary are not loaded here: the page shows them from the
    rendered source panels (``analysis.classwork.panels``), cached per source version. Evidence is
    returned as spans per passage for the page to highlight.
    """
    now = now or timezone.now()
    responses = _workspace_responses(assignment=assignment, student=student)
    submission = responses[0].submission if responses else None
    incomplete = len(responses) < getattr(assignment, "question_total", len(responses) + 1)
    if submission is None or (incomplete and submission.status == Status.IN_PROGRESS):
        submission = submission_start(assignment=assignment, student=student)
        responses = _workspace_responses(assignment=assignment, student=student)
    submission.assignment = assignment
    submission.student_due_at = assignment.student_due_at

    sources = list(
        Source.objects.filter(exercise_links__exercise_id=assignment.exercise_id).order_by(
            "exercise_links__position"
        )
    )
    letters = {source.pk: chr(ord("A") + index) for index, source in enumerate(sources)}
    panels = [SourcePanel(source=source, letter=letters[source.pk]) for source in sources]

    items = []
    highlights: dict[int, list[tuple[int, int]]] = {}
    for response in responses:
        response.submission = submission
        evidence = list(response.evidence.all())
        for cited in evidence:
            highlights.setdefault(cited.passage_id, []).append((cited.start, cited.end))
        items.append(
            QuestionItem(
                question=response.question,
                response=response,
                chips=[make_chip(cited, letters) for cited in evidence],
            )
        )
    stages = []
    for value, label in Stage.choices:
        in_stage = [item for item in items if item.question.stage == value]
        if in_stage:
            stages.append(StageGroup(value=value, label=label, items=in_stage, number=len(stages) + 1))
    for group, following in zip(stages, stages[1:], strict=False):
        group.next_value, group.next_label = following.value, following.label
    return Workspace(
        assignment=assignment,
        submission=submission,
        due_at=assignment.student_due_at,
        sources=panels,
        items=items,
        stages=stages,
        highlights_by_passage={pk: sorted(spans) for pk, spans in highlights.items()},
        self_check=submission_self_check(items=items, sources=sources),
        now=now,
    )


def response_chips(*, response: Response, letters: dict[int, str]) -> list[Chip]:
    """The evidence chips of one answer (one query)."""
    return [
        make_chip(evidence, letters)
        for evidence in Evidence.objects.filter(response=response).select_related("passage")
    ]


def passage_highlights(*, submission_id: int, passage: Passage) -> list[Evidence]:
    """Everything this submission cites in ``passage`` (one query)."""
    return list(Evidence.objects.filter(response__submission_id=submission_id, passage=passage))


@dataclass
class FeedbackItem:
    question: Question
    response: Response
    chips: list[Chip]

    @property
    def mark(self):
        return getattr(self.response, "mark", None)


def feedback_load(*, submission: Submission) -> tuple[list[FeedbackItem], int, int]:
    """The per-question marks, comments, answers and evidence of a returned submission, and
    the total and maximum marks. Fixed number of queries."""
    letters = exercise_source_letters(submission.assignment.exercise_id)
    responses = (
        Response.objects.filter(submission=submission)
        .select_related("question", "mark")
        .prefetch_related(Prefetch("evidence", queryset=Evidence.objects.select_related("passage")))
        .order_by("question__position", "question_id")
    )
    items = [
        FeedbackItem(
            question=response.question,
            response=response,
            chips=[make_chip(evidence, letters) for evidence in response.evidence.all()],
        )
        for response in responses
    ]
    total = sum(item.mark.marks for item in items if item.mark)
    maximum = sum(item.question.max_marks for item in items)
    return items, total, maximum


def submission_for_student(*, assignment: Assignment, student) -> Submission | None:
    return Submission.objects.filter(assignment=assignment, student=student).first()
