"""Reads that build the pupils' pages: "My assignments", the workspace and the feedback
page. Nothing here writes (except that the workspace starts a submission through the service)."""

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, F, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import User
from analysis.classwork.errors import WorkClosed
from analysis.classwork.heuristics import Check, submission_self_check
from analysis.classwork.panels import source_first_lines, source_panels
from analysis.classwork.rules import (
    answered_q,
    check_accepting,
    effective_support_level,
    is_time_up,
    started_exists,
    student_due_subquery,
)
from analysis.classwork.services import submission_start, submissions_hand_in_timed_out
from analysis.classwork.support import Support
from analysis.models import (
    Assignment,
    Evidence,
    Passage,
    Question,
    Response,
    Source,
    Stage,
    StudentSupport,
    Submission,
    TimeLimitAction,
)
from analysis.news import selectors as news
from config.prepared import PreparedQuery

# --- Reads ------------------------------------------------------------------------------------

Status = Submission.Status


def assignments_visible_to(student) -> QuerySet:
    """The student's current assignments (``Assignment.objects.for_student``) with the exercise
    (and its background) and class joined in, ``student_due_at`` annotated (their own due date,
    counting an extension) and their own support settings (``own_support_level``,
    ``own_extra_time``; see ``support_of``). Fetch one with
    ``get_object_or_404(assignments_visible_to(user), pk=…)``."""
    own = StudentSupport.objects.filter(assignment=OuterRef("pk"), student=student.pk)
    return (
        Assignment.objects.for_student(student)
        .select_related("exercise__background", "classroom")
        .annotate(
            student_due_at=Coalesce(
                student_due_subquery(assignment_ref="pk", student_ref=student.pk), F("due_at")
            ),
            own_support_level=Subquery(own.values("support_level")[:1]),
            own_extra_time=Subquery(own.values("extra_time_percent")[:1]),
        )
    )


def support_of(assignment: Assignment) -> Support:
    """The pupil's support on an assignment from ``assignments_visible_to``."""
    return Support(
        level=effective_support_level(assignment, getattr(assignment, "own_support_level", None)),
        extra_time_percent=getattr(assignment, "own_extra_time", None) or 0,
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
    is_new: bool = False  # never opened (analysis.news.selectors)
    feedback_unread: bool = False  # returned, feedback not read since

    @property
    def is_news(self) -> bool:
        return self.is_new or self.feedback_unread


def assignment_rows_for_student(*, student, now=None) -> list[AssignmentRow]:
    """The student's assignments, soonest (own) due date first, undated last, in ONE query:
    status, answered count and question count come from subqueries, never per row.

    A submission in progress counts as "not started" until the pupil writes an answer or cites a
    quotation (``rules.started_exists``): opening the workspace creates it, and a glance at the
    questions is not a start.
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
            submission_time_up=Subquery(mine.values("time_up_at")[:1]),
            submission_started=Subquery(mine.annotate(started=started_exists()).values("started")[:1]),
            submission_late=Subquery(mine.values("is_late")[:1]),
            submission_returned_at=Subquery(mine.values("returned_at")[:1]),
            submission_feedback_seen_at=Subquery(mine.values("feedback_seen_at")[:1]),
            answered_count=_count(answered, "submission"),
            question_count=_count(Question.objects.filter(exercise=OuterRef("exercise")), "exercise"),
        )
        .order_by(F("student_due_at").asc(nulls_last=True), "opens_at", "pk")
    )
    timed_out = [
        a
        for a in queryset
        if a.submission_status == Status.IN_PROGRESS
        and a.submission_time_up is not None
        and now > a.submission_time_up
        and a.on_time_limit == TimeLimitAction.HAND_IN
    ]
    if timed_out:
        # Out of time under a limit that hands the work in: handed in now, as it stood then.
        submissions_hand_in_timed_out(student=student, now=now)
        queryset = queryset.all()
    rows = []
    for assignment in queryset:
        status = assignment.submission_status or "not_started"
        if status == Status.IN_PROGRESS and not assignment.submission_started:
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
                is_new=news.is_new_work(
                    opened=assignment.submission_status is not None,
                    is_open=assignment.opens_at <= now,
                    due_at=due,
                    now=now,
                ),
                feedback_unread=news.is_feedback_unread(
                    status=assignment.submission_status,
                    returned_at=assignment.submission_returned_at,
                    feedback_seen_at=assignment.submission_feedback_seen_at,
                ),
            )
        )
    return rows


# --- The workspace, read in a fixed number of queries -----------------------------------------


CONTEXT_WORDS = 6  # words shown either side of a quotation on the feedback page
_WORDS_BEFORE = re.compile(rf"(?:\S+\s+){{0,{CONTEXT_WORDS}}}\S*$")
_WORDS_AFTER = re.compile(rf"\S*(?:\s+\S+){{0,{CONTEXT_WORDS}}}")


@dataclass
class Chip:
    """A piece of evidence as the student sees it under an answer. Line numbers count through
    the whole source (``first_lines``), as the workspace numbers them."""

    evidence: Evidence
    source_letter: str
    first_line: int
    last_line: int

    @property
    def lines(self) -> str:
        if self.first_line == self.last_line:
            return _("line %(n)s") % {"n": self.first_line}
        return _("lines %(a)s–%(b)s") % {"a": self.first_line, "b": self.last_line}

    @property
    def where(self) -> str:
        """ "Source A, line 14" (or "Source B, region: the badge"): what a teacher can say aloud."""
        if getattr(self.evidence, "region_id", None):
            return _("Source %(letter)s, region: %(label)s") % {
                "letter": self.source_letter,
                "label": self.evidence.region.label,
            }
        return _("Source %(letter)s, %(lines)s") % {"letter": self.source_letter, "lines": self.lines}

    @property
    def before(self) -> str:
        """The few words of the passage just before the quotation ("…" if there are more)."""
        if getattr(self.evidence, "region_id", None):  # a region of an image: no words around it
            return ""
        text = self.evidence.passage.text[: self.evidence.start]
        found = _WORDS_BEFORE.search(text)
        words = " ".join(found.group(0).split()) if found else ""
        gap = " " if text[-1:].isspace() else ""
        return ("…" if found and found.start() > 0 else "") + words + gap

    @property
    def after(self) -> str:
        """The few words just after it ("…" if the passage goes on)."""
        if getattr(self.evidence, "region_id", None):
            return ""
        text = self.evidence.passage.text[self.evidence.end :]
        found = _WORDS_AFTER.match(text)
        words = " ".join(found.group(0).split()) if found else ""
        gap = " " if text[:1].isspace() and words else ""
        return gap + words + ("…" if found and found.end() < len(text.rstrip()) else "")


def make_chip(evidence: Evidence, letters: dict[int, str], first_lines: dict[int, int] | None = None) -> Chip:
    """``first_lines``: passage id → the number of its first line in its source
    (``panels.source_first_lines``); a passage missing from it starts at line 1."""
    if evidence.region_id:  # a region of an image source: no lines
        return Chip(evidence, letters.get(evidence.region.source_id, "?"), 0, 0)
    text = evidence.passage.text
    first = (first_lines or {}).get(evidence.passage_id, 1) + text.count("\n", 0, evidence.start)
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
    def hint_tiers(self) -> list[tuple[str, str]]:
        """(tier label, hint) of the hints revealed: a nudge first, then a stronger pointer."""
        labels = [_("A nudge"), _("A stronger pointer")]
        return [
            (labels[index] if index < len(labels) else _("Another pointer"), text)
            for index, text in enumerate(self.hints_shown)
        ]

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
            # Not get_stage_display(): it hashes (so translates) every stage's label to find one.
            "stage": Stage(self.question.stage).label,
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
    html: str = ""  # the rendered panel, from the cache (analysis.classwork.panels)
    sentences: dict = field(default_factory=dict)  # passage id (str) → [[start, end, text], …]


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
    support: Support

    @property
    def background(self):
        """The exercise's timeline and key people, when this pupil's level shows them."""
        return self.assignment.exercise.background if self.support.background else None

    @property
    def time_up_at(self) -> datetime | None:
        return self.submission.time_up_at if self.submission.is_editable else None

    @property
    def over_time(self) -> bool:
        """Past an exam time limit that lets the pupil carry on (the work will be marked late)."""
        return (
            self.submission.is_editable
            and is_time_up(self.submission, now=self.now)
            and self.assignment.on_time_limit == TimeLimitAction.MARK_LATE
        )

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


def _exercise_sources_query(exercise_id: int) -> QuerySet:
    return Source.objects.filter(exercise_links__exercise_id=exercise_id).order_by("exercise_links__position")


_EXERCISE_SOURCES = PreparedQuery(_exercise_sources_query, "exercise_id")


def exercise_sources(exercise_id: int) -> list[Source]:
    """The exercise's sources in its order (one query, compiled once: ``config.prepared``)."""
    return _EXERCISE_SOURCES(exercise_id=exercise_id)


def source_letters(sources: list[Source]) -> dict[int, str]:
    """Source id → "A", "B"… in the order given."""
    return {source.pk: chr(ord("A") + index) for index, source in enumerate(sources)}


def workspace_assignments(student) -> QuerySet:
    """``assignments_visible_to`` with the exercise's number of questions annotated, so the
    workspace knows without another query whether the student's answers are all there."""
    questions = Question.objects.filter(exercise_id=OuterRef("exercise_id"))
    return assignments_visible_to(student).annotate(question_total=_count(questions, "exercise_id"))


def _workspace_assignment_query(*, student_id: int, pk: int) -> QuerySet:
    return workspace_assignments(User(pk=student_id, role=User.Role.STUDENT)).filter(pk=pk)


def _workspace_answers_query(*, assignment_id: int, student_id: int) -> QuerySet:
    return (
        Response.objects.filter(submission__assignment_id=assignment_id, submission__student_id=student_id)
        .select_related("question", "submission")
        .order_by("question__position", "question_id")
    )


def _workspace_evidence_query(*, assignment_id: int, student_id: int) -> QuerySet:
    # Explicit order: the default ("response", …) would join through every model's own default
    # ordering (response → submission → assignment, student) for nothing.
    return (
        Evidence.objects.filter(
            response__submission__assignment_id=assignment_id, response__submission__student_id=student_id
        )
        .select_related("passage", "region")
        .order_by("created_at", "pk")
    )


# The workspace's reads, compiled once per process (config/prepared.py): building and compiling
# these querysets cost the ORM ten times what running them costs the database.
_WORKSPACE_ASSIGNMENT = PreparedQuery(_workspace_assignment_query, "student_id", "pk")
_WORKSPACE_ANSWERS = PreparedQuery(_workspace_answers_query, "assignment_id", "student_id")
_WORKSPACE_EVIDENCE = PreparedQuery(_workspace_evidence_query, "assignment_id", "student_id")


def workspace_assignment(*, student, pk: int) -> Assignment | None:
    """The assignment ``pk`` from ``workspace_assignments(student)``, or None when the student
    may not open it (one query)."""
    if not (student.is_authenticated and student.is_student):
        return None
    found = _WORKSPACE_ASSIGNMENT(student_id=student.pk, pk=pk)
    return found[0] if found else None


def _workspace_responses(*, assignment: Assignment, student) -> list[Response]:
    """The student's answers in question order, each with its question, its submission and its
    evidence (``response.cited``, oldest first): two queries."""
    keys = {"assignment_id": assignment.pk, "student_id": student.pk}
    responses = _WORKSPACE_ANSWERS(**keys)
    cited: dict[int, list[Evidence]] = {response.pk: [] for response in responses}
    if responses:
        for evidence in _WORKSPACE_EVIDENCE(**keys):
            cited[evidence.response_id].append(evidence)
    for response in responses:
        response.cited = cited[response.pk]
    return responses


def _handed_in_at_limit(submission: Submission, assignment: Assignment, now: datetime) -> bool:
    """Whether this work is still in progress past an exam time limit that hands it in."""
    return (
        submission.status == Status.IN_PROGRESS
        and is_time_up(submission, now=now)
        and assignment.on_time_limit == TimeLimitAction.HAND_IN
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
    if submission is not None and _handed_in_at_limit(submission, assignment, now):
        # Out of time under a limit that hands the work in: handed in now, as it stood then.
        submissions_hand_in_timed_out(assignment_id=assignment.pk, student=student, now=now)
        responses = _workspace_responses(assignment=assignment, student=student)
        submission = responses[0].submission
    incomplete = len(responses) < getattr(assignment, "question_total", len(responses) + 1)
    if submission is None or (incomplete and submission.status == Status.IN_PROGRESS):
        submission = submission_start(assignment=assignment, student=student)
        responses = _workspace_responses(assignment=assignment, student=student)
    submission.assignment = assignment
    submission.student_due_at = assignment.student_due_at

    sources = exercise_sources(assignment.exercise_id)
    letters = source_letters(sources)
    support = support_of(assignment)
    rendered = source_panels(sources, support=support)
    panels = [
        SourcePanel(source, letters[source.pk], html=entry["html"], sentences=entry["sentences"])
        for source, entry in zip(sources, rendered, strict=True)
    ]
    first_lines = {pk: line for entry in rendered for pk, line in entry["first_lines"].items()}

    items = []
    highlights: dict[int, list[tuple[int, int]]] = {}
    for response in responses:
        response.submission = submission
        evidence = response.cited
        for cited in evidence:
            if cited.passage_id is None:
                continue  # a region: outlined in the browser from the chips (regions.js)
            highlights.setdefault(cited.passage_id, []).append((cited.start, cited.end))
        items.append(
            QuestionItem(
                question=response.question,
                response=response,
                chips=[make_chip(cited, letters, first_lines) for cited in evidence],
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
        support=support,
    )


def response_chips(*, response: Response, sources: list[Source]) -> list[Chip]:
    """The evidence chips of one answer (one query, with the source panels cached)."""
    letters, first_lines = source_letters(sources), source_first_lines(sources)
    return [
        make_chip(evidence, letters, first_lines)
        for evidence in Evidence.objects.filter(response=response).select_related("passage", "region")
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

    @property
    def level(self):
        """The mark scheme's level the mark was given at, with its descriptor (what it means)."""
        mark, scheme = self.mark, self.question.mark_scheme
        if mark is None or mark.level is None or scheme is None:
            return None
        return next((level for level in scheme.levels.all() if level.number == mark.level), None)


def feedback_load(*, submission: Submission) -> tuple[list[FeedbackItem], int, int]:
    """The per-question marks, comments, answers and evidence of a returned submission, and
    the total and maximum marks. Fixed number of queries."""
    sources = exercise_sources(submission.assignment.exercise_id)
    letters, first_lines = source_letters(sources), source_first_lines(sources)
    responses = (
        Response.objects.filter(submission=submission)
        .select_related("question__mark_scheme", "mark")
        .prefetch_related(
            Prefetch("evidence", queryset=Evidence.objects.select_related("passage", "region")),
            "question__mark_scheme__levels",
        )
        .order_by("question__position", "question_id")
    )
    items = [
        FeedbackItem(
            question=response.question,
            response=response,
            chips=[make_chip(evidence, letters, first_lines) for evidence in response.evidence.all()],
        )
        for response in responses
    ]
    total = sum(item.mark.marks for item in items if item.mark)
    maximum = sum(item.question.max_marks for item in items)
    return items, total, maximum


def submission_for_student(*, assignment: Assignment, student) -> Submission | None:
    return Submission.objects.filter(assignment=assignment, student=student).first()
