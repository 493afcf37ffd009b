"""The student's side of classroom work: starting, saving, citing, hinting, submitting.

Every function takes keyword-only arguments and never a request, so the views in
``analysis/views/student.py`` and the demo-data command share the same rules.

Concurrency. Every write to a student's work first locks that student's submission row
(``SELECT … FOR NO KEY UPDATE`` on PostgreSQL; on SQLite the project's IMMEDIATE transactions
serialise writers). So an autosave, an evidence change and the submit of one submission never
interleave: what the receipt hashes is exactly the last acknowledged text, and a save that
arrives after submitting is refused. Inside the lock an answer is still written with a
compare-and-set on its version, so a save based on a stale version is refused too (and a save
from one tab can never silently replace newer text from another).

Errors are exceptions carrying a translated, user-facing ``message``; the views turn them into
status codes (``WorkClosed`` → 409, ``VersionConflict`` → 409 with the server's text,
``AnswerRejected``/``EvidenceRejected`` → 422). Objects outside the student's reach raise the
model's ``DoesNotExist`` (→ 404).
"""

import calendar
import re
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from analysis.models import (
    Assignment,
    Evidence,
    Extension,
    Passage,
    Question,
    Response,
    Source,
    Stage,
    Submission,
)

# A student citing more than this for one answer is pasting the source, not choosing evidence.
EVIDENCE_MAX_PER_ANSWER = 40

Status = Submission.Status


# --- Errors -----------------------------------------------------------------------------------


class WorkError(Exception):
    """A rule of the workspace refused the action; ``message`` is shown to the student."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class WorkClosed(WorkError):
    """The work can no longer change: submitted, returned, not open yet or past a strict due date."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason  # "submitted" | "late" | "not_open"


class VersionConflict(WorkError):
    """The answer changed since the version the client based its edit on."""

    def __init__(self, *, text: str, version: int, updated_at: datetime):
        super().__init__(
            _("This answer was changed in another tab or window since you started editing it here.")
        )
        self.text = text
        self.version = version
        self.updated_at = updated_at


class AnswerRejected(WorkError):
    """The answer text cannot be stored (too long, or characters the database cannot hold)."""


class EvidenceRejected(WorkError):
    """The quotation cannot be attached (outside the passage, blank, not in this exercise…)."""


class HintsUnavailable(WorkError):
    """The assignment has hints turned off."""


# --- Reads ------------------------------------------------------------------------------------


def _student_due_subquery(*, assignment_ref: str, student_ref):
    """The student's extended due date, if the teacher gave one (else NULL)."""
    return Subquery(
        Extension.objects.filter(assignment=OuterRef(assignment_ref), student=student_ref).values("due_at")[
            :1
        ]
    )


def assignments_visible_to(student) -> QuerySet:
    """The student's current assignments (``Assignment.objects.for_student``) with the exercise
    and class joined in and ``student_due_at`` annotated: their own due date, counting an
    extension. Fetch one with ``get_object_or_404(assignments_visible_to(user), pk=…)``."""
    return (
        Assignment.objects.for_student(student)
        .select_related("exercise", "classroom")
        .annotate(
            student_due_at=Coalesce(
                _student_due_subquery(assignment_ref="pk", student_ref=student.pk), F("due_at")
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
        submission__assignment=OuterRef("pk"), submission__student=student, text__regex=r"\S"
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


# --- Starting ---------------------------------------------------------------------------------


def submission_start(*, assignment: Assignment, student) -> Submission:
    """Return the student's submission for ``assignment``, creating it (and one empty response
    per question) on first use.

    Safe to call concurrently: the unique constraints make the second creator fall back to
    reading the first one's rows (``get_or_create`` retries on IntegrityError, responses are
    inserted with ``ignore_conflicts``). Questions added to the exercise later get their
    response on the next call while the work is in progress. The caller is responsible for the
    student being allowed to see the assignment (``assignments_visible_to``); raises
    ``WorkClosed(reason="not_open")`` before the assignment opens. Two queries when everything
    already exists.
    """
    if not assignment.is_open():
        raise WorkClosed(_("This assignment is not open yet."), reason="not_open")
    # One transaction: nobody else sees the new submission before its answers exist (a submit
    # racing the first visit would otherwise hand in, and hash, an empty set of answers).
    with transaction.atomic():
        submission, created = Submission.objects.get_or_create(assignment=assignment, student=student)
        if created:
            missing = list(
                Question.objects.filter(exercise_id=assignment.exercise_id).values_list("pk", flat=True)
            )
        elif submission.status == Status.IN_PROGRESS:
            missing = list(
                Question.objects.filter(exercise_id=assignment.exercise_id)
                .exclude(pk__in=Response.objects.filter(submission=submission).values("question_id"))
                .values_list("pk", flat=True)
            )
        else:
            missing = []
        if missing:
            Response.objects.bulk_create(
                [Response(submission=submission, question_id=pk) for pk in missing], ignore_conflicts=True
            )
    return submission


# --- Writing under the submission lock --------------------------------------------------------


def _check_accepting(submission: Submission, *, now: datetime) -> None:
    """Raise ``WorkClosed`` unless this (locked, due-annotated) submission may still change."""
    assignment = submission.assignment
    if submission.status != Status.IN_PROGRESS:
        raise WorkClosed(
            _("These answers have already been submitted, so they can no longer be changed."),
            reason="submitted",
        )
    if now < assignment.opens_at:
        raise WorkClosed(_("This assignment is not open yet."), reason="not_open")
    due = submission.student_due_at
    if due is not None and now > due and not assignment.late_allowed:
        raise WorkClosed(
            _("The due date has passed and this assignment does not accept late work."), reason="late"
        )


def _locked_submission(*, student, now: datetime, response_id=None, submission_id=None, assignment_id=None):
    """Lock and return the submission owning ``response_id`` (or ``submission_id``); with a
    ``student``, only theirs and only within an assignment they can still see. Must run inside
    ``transaction.atomic``. Raises ``Response.DoesNotExist`` when there is no such submission,
    ``WorkClosed`` when it can no longer change."""
    queryset = (
        Submission.objects.select_for_update(of=("self",), no_key=True)
        .select_related("assignment")
        .annotate(
            student_due_at=Coalesce(
                _student_due_subquery(assignment_ref="assignment_id", student_ref=OuterRef("student_id")),
                F("assignment__due_at"),
            )
        )
    )
    if student is not None:
        queryset = queryset.filter(
            student=student, assignment__in=Assignment.objects.for_student(student).values("pk")
        )
    if assignment_id is not None:
        queryset = queryset.filter(assignment_id=assignment_id)
    if submission_id is not None:
        queryset = queryset.filter(pk=submission_id)
    if response_id is not None:
        queryset = queryset.filter(pk__in=Response.objects.filter(pk=response_id).values("submission_id"))
    submission = queryset.first()
    if submission is None:
        raise Response.DoesNotExist
    _check_accepting(submission, now=now)
    return submission


@dataclass(frozen=True)
class SavedAnswer:
    response_id: int
    version: int
    updated_at: datetime
    answered: bool


def answer_validate(text: str) -> None:
    """Raise ``AnswerRejected`` unless ``text`` can be stored exactly as given."""
    limit = settings.ANSWER_MAX_CHARS
    if len(text) > limit:
        raise AnswerRejected(
            _(
                "This answer is %(length)s characters long; the most an answer can hold is %(limit)s. "
                "Shorten it and it will save."
            )
            % {"length": f"{len(text):,}", "limit": f"{limit:,}"}
        )
    if "\x00" in text:
        raise AnswerRejected(_("This answer contains a character that cannot be saved (a null character)."))


# The autosave is the busiest request there is (every few seconds for every pupil typing), so
# its two statements are written out in SQL: building the same conditions with the ORM cost
# several times the rest of the request. ``_ACCEPTS`` holds, for a submission row ``s``, the
# rules ``_locked_submission`` applies: the student's own, in an assignment they can still see
# (``Assignment.objects.for_student``), in progress (``_check_accepting``), open, and not past
# a strict due date, their extension counting (COALESCE(..., now) >= now: no due date at all
# passes). tests/analysis/test_work_services.py checks each rule on this path.
_ACCEPTS = """
    s.student_id = %(student)s AND s.status = 'in_progress' {assignment} AND s.assignment_id IN (
        SELECT a.id FROM analysis_assignment a
        JOIN accounts_classroom c ON c.id = a.classroom_id
        JOIN accounts_enrollment e ON e.classroom_id = c.id
        WHERE e.student_id = %(student)s AND a.archived_at IS NULL AND c.archived_at IS NULL
        AND a.opens_at <= %(now)s
        AND (a.late_allowed OR COALESCE(
            (SELECT x.due_at FROM analysis_extension x
             WHERE x.assignment_id = a.id AND x.student_id = %(student)s),
            a.due_at, %(now)s) >= %(now)s))"""

# The compare-and-set; its condition also locks the submission as ``_locked_submission`` does
# (FOR NO KEY UPDATE on PostgreSQL; SQLite's IMMEDIATE transactions serialise writers), so it
# never interleaves with a submit: a submit holding the lock makes it wait, and once the
# submit commits the locking subquery re-reads the row (READ COMMITTED), finds it submitted
# and matches nothing.
_SAVE_IF_CURRENT = """
    UPDATE analysis_response SET text = %(text)s, version = version + 1, updated_at = %(now)s
    WHERE id = %(answer)s AND version = %(base)s AND EXISTS (
        SELECT 1 FROM analysis_submission s
        WHERE s.id = analysis_response.submission_id AND {accepts} {lock})"""

# After a refused compare-and-set: the answer as it stands and whether its submission still
# takes changes. A plain read, no lock, so a stale save writes nothing at all: the stored
# version only grows (it still differs from the base), and the text sent back is a committed
# state of the answer. A submission that no longer takes changes goes the long way.
_CURRENT = """
    SELECT r.id, r.text, r.version, r.updated_at, ({accepts}) AS accepting
    FROM analysis_response r JOIN analysis_submission s ON s.id = r.submission_id
    WHERE r.id = %(answer)s AND s.student_id = %(student)s"""


def _fit_the_database(*numbers) -> bool:
    """Whether these integers can be sent as they are: SQLite refuses any past 64 bits (a
    version from a tampered form), where a lookup should simply find nothing."""
    low, high = connection.ops.integer_field_range("BigIntegerField")
    return all(low <= number <= high for number in numbers if number is not None)


def _autosave_sql(template: str, *, assignment_id) -> str:
    mine = "AND s.assignment_id = %(assignment)s" if assignment_id is not None else ""
    accepts = _ACCEPTS.format(assignment=mine)
    lock = ""
    if connection.features.has_select_for_update:
        lock = connection.ops.for_update_sql(no_key=True)
    return template.format(accepts=accepts, lock=lock)


def response_save(
    *, response_id: int, student, text: str, base_version: int, assignment_id=None, now=None
) -> SavedAnswer:
    """Store ``text`` exactly as given (no stripping) as the answer ``response_id`` of
    ``student``, provided the answer is still at ``base_version``; return the new version.

    Raises ``AnswerRejected`` (too long, null character: nothing stored), ``WorkClosed`` (already
    submitted, or past a strict due date), ``VersionConflict`` with the stored text and version
    when the answer moved on since ``base_version`` (nothing stored), ``Response.DoesNotExist``
    when the answer is not this student's. Saving the same text again still bumps the version,
    so every acknowledged save has its own version number.

    One statement when it saves (``_SAVE_IF_CURRENT``), two when the answer moved on (the
    compare-and-set, then ``_CURRENT``); only a closed or foreign answer goes on to
    ``_locked_submission``, which says precisely why.
    """
    answer_validate(text)
    if not _fit_the_database(response_id, assignment_id):
        raise Response.DoesNotExist  # no row has an id like that
    now = now or timezone.now()
    params = {
        "text": text,
        "now": connection.ops.adapt_datetimefield_value(now),
        "answer": response_id,
        "base": base_version,
        "student": student.pk,
        "assignment": assignment_id,
    }
    saved = SavedAnswer(
        response_id=response_id, version=base_version + 1, updated_at=now, answered=bool(text.strip())
    )
    with transaction.atomic():
        if student.is_student and _fit_the_database(base_version):
            with connection.cursor() as cursor:
                cursor.execute(_autosave_sql(_SAVE_IF_CURRENT, assignment_id=assignment_id), params)
                if cursor.rowcount == 1:
                    return saved
            current = next(
                iter(Response.objects.raw(_autosave_sql(_CURRENT, assignment_id=assignment_id), params)),
                None,
            )
            if current is not None and current.accepting and current.version != base_version:
                raise VersionConflict(
                    text=current.text, version=current.version, updated_at=current.updated_at
                )
        # Not theirs, or closed (this raises, saying which); or it changed between the two
        # statements above (an extension granted that very moment), or a version no column
        # can hold (the ORM's lookup finds nothing): the long way, under the lock.
        submission = _locked_submission(
            student=student, now=now, response_id=response_id, assignment_id=assignment_id
        )
        if Response.objects.filter(pk=response_id, submission=submission, version=base_version).update(
            text=text, version=F("version") + 1, updated_at=now
        ):
            return saved
        current = Response.objects.only("text", "version", "updated_at").get(pk=response_id)
        raise VersionConflict(text=current.text, version=current.version, updated_at=current.updated_at)


def response_hint_reveal(*, response_id: int, student, assignment_id=None, now=None) -> Response:
    """Reveal the next hint of the answer's question and record it (``hints_used`` + 1, capped
    at the number of hints). Returns the response with its question. Raises
    ``HintsUnavailable`` when the assignment has hints off, ``WorkClosed`` once submitted."""
    now = now or timezone.now()
    with transaction.atomic():
        submission = _locked_submission(
            student=student, now=now, response_id=response_id, assignment_id=assignment_id
        )
        if not submission.assignment.hints_enabled:
            raise HintsUnavailable(_("Hints are turned off for this assignment."))
        response = Response.objects.select_related("question").get(pk=response_id, submission=submission)
        if response.hints_used < len(response.question.hints):
            Response.objects.filter(pk=response.pk).update(hints_used=F("hints_used") + 1)
            response.hints_used += 1
        return response


def _trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def evidence_add(
    *, response_id: int, student, passage_id: int, start: int, end: int, assignment_id=None, now=None
) -> tuple[Evidence, bool]:
    """Cite ``passage.text[start:end]`` as evidence for the answer; return ``(evidence, created)``.

    The quotation is always re-derived from the stored passage, never taken from the client.
    The span must satisfy ``0 <= start < end <= len(passage.text)``; surrounding whitespace is
    trimmed off, and a span of only whitespace is refused. The passage must belong to one of
    the exercise's sources. Citing the same span twice returns the existing evidence with
    ``created=False``. The evidence comes back with its response (and the response's locked
    submission and assignment) and passage attached. Raises ``EvidenceRejected``, ``WorkClosed``
    or ``Response.DoesNotExist``.
    """
    now = now or timezone.now()
    with transaction.atomic():
        submission = _locked_submission(
            student=student, now=now, response_id=response_id, assignment_id=assignment_id
        )
        response = Response.objects.select_related("question").get(pk=response_id, submission=submission)
        response.submission = submission
        passage = (
            Passage.objects.filter(
                pk=passage_id, source__exercise_links__exercise_id=submission.assignment.exercise_id
            )
            .select_related("source")
            .first()
        )
        if passage is None:
            raise EvidenceRejected(_("That passage is not one of this exercise's sources."))
        if not (0 <= start < end <= len(passage.text)):
            raise EvidenceRejected(_("That selection is not inside the passage. Select the words again."))
        start, end = _trim_span(passage.text, start, end)
        if start == end:
            raise EvidenceRejected(_("Select some words of the source, not just spaces."))
        existing = Evidence.objects.filter(response=response, passage=passage, start=start, end=end).first()
        if existing is not None:
            existing.response, existing.passage = response, passage
            return existing, False
        if Evidence.objects.filter(response=response).count() >= EVIDENCE_MAX_PER_ANSWER:
            raise EvidenceRejected(
                _("An answer can cite at most %(max)s quotations. Remove one to add another.")
                % {"max": EVIDENCE_MAX_PER_ANSWER}
            )
        evidence = Evidence(
            response=response, passage=passage, start=start, end=end, quote=passage.text[start:end]
        )
        try:
            evidence.full_clean()
        except ValidationError as error:  # pragma: no cover - the checks above cover the constraints
            raise EvidenceRejected(" ".join(error.messages)) from error
        evidence.save()
        return evidence, True


def evidence_remove(*, evidence_id: int, response_id: int, student, assignment_id=None, now=None) -> Evidence:
    """Delete one piece of evidence from the student's answer; return it (deleted, with its
    response, submission and passage attached) so the caller can say what was removed. Raises
    ``Evidence.DoesNotExist`` when it is not on this answer, ``WorkClosed`` once submitted."""
    now = now or timezone.now()
    with transaction.atomic():
        submission = _locked_submission(
            student=student, now=now, response_id=response_id, assignment_id=assignment_id
        )
        evidence = Evidence.objects.select_related("passage__source", "response__question").get(
            pk=evidence_id, response_id=response_id, response__submission=submission
        )
        evidence.response.submission = submission
        evidence.delete()
        return evidence


def submission_submit(*, submission: Submission, now=None) -> Submission:
    """Hand the work in, once. Returns the submission as stored afterwards.

    Idempotent: whoever gets the row lock first submits; every other call (a double click, a
    retry, 20 parallel requests) finds it no longer in progress and returns the same submission
    with the same ``submitted_at`` and ``receipt_hash``. The receipt hashes the answers as they
    stand under the lock, which autosaves also take, so it covers the last acknowledged save.
    Late work: refused (``WorkClosed(reason="late")``) when the assignment does not accept it,
    otherwise marked ``is_late``. Answers need not be complete: the self-check only advises.
    """
    return _submit(
        Submission.objects.filter(pk=submission.pk), student=None, submission_id=submission.pk, now=now
    )


def submission_submit_own(*, student, assignment_id: int, now=None) -> Submission:
    """``submission_submit`` for the student's own submit button: finds their submission for an
    assignment they can still see under its lock, in one query, without loading the assignment
    first. Raises ``Response.DoesNotExist`` when there is none (never opened, or not theirs to
    see); the caller then starts it (``submission_start``) and submits that."""
    mine = Submission.objects.filter(student=student, assignment_id=assignment_id)
    return _submit(mine, student=student, assignment_id=assignment_id, now=now)


def _submit(stored: QuerySet, *, now, **locate) -> Submission:
    now = now or timezone.now()
    with transaction.atomic():
        try:
            locked = _locked_submission(now=now, **locate)
        except WorkClosed as closed:
            if closed.reason != "submitted":
                raise
            return stored.get()
        responses = list(Response.objects.filter(submission=locked))
        due = locked.student_due_at
        locked.status = Status.SUBMITTED
        locked.submitted_at = now
        locked.is_late = bool(due and now > due)
        locked.receipt_hash = locked.compute_receipt_hash(responses)
        # Values set here, not by a user; the database constraints still hold the invariants.
        locked.save(update_fields=["status", "submitted_at", "is_late", "receipt_hash"])
        return locked


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
class Check:
    ok: bool
    message: str


@dataclass
class Sentence:
    start: int
    end: int
    text: str


@dataclass
class SourcePanel:
    source: Source
    letter: str
    html: str = ""  # the rendered panel, filled in by the view (analysis.panels)


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
            _check_accepting(self.submission, now=self.now)
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


def _origin_mentions_who_and_when(text: str, sources: list[Source]) -> tuple[bool, bool]:
    lowered = text.lower()
    names = set()
    for source in sources:
        for raw in (re.sub(r"\(.*?\)", " ", source.author), source.publication.split(",")[0]):
            names.update(word.lower() for word in re.findall(r"[^\W\d_]{4,}", raw) if word[0].isupper())
    words = set(re.findall(r"[^\W\d_]+", lowered))
    who = bool(names & words)
    months = {name.lower() for name in calendar.month_name if name} | {
        str(name).lower() for name in MONTHS.values()
    }
    when = bool(re.search(r"\b(1\d{3}|20\d{2})\b", text)) or bool(months & words)
    return who, when


def submission_self_check(*, items: list[QuestionItem], sources: list[Source]) -> list[Check]:
    """Advice before submitting, computed from the answers (never a gate): every question
    answered; evidence cited where the question expects it; the origin answer names who
    produced the source (a name from its author or publication) and when (a year or a month)."""
    unanswered = [item.question.number for item in items if not item.answered]
    uncited = [item.question.number for item in items if item.question.expects_evidence and not item.chips]
    checks = [
        Check(
            ok=not unanswered,
            message=_("Every question has an answer.")
            if not unanswered
            else _("Not answered yet: question %(numbers)s.") % {"numbers": ", ".join(map(str, unanswered))},
        ),
        Check(
            ok=not uncited,
            message=_("Every answer that needs evidence quotes the source.")
            if not uncited
            else _("No quotation attached to question %(numbers)s.")
            % {"numbers": ", ".join(map(str, uncited))},
        ),
    ]
    for item in items:
        if item.question.stage != Stage.ORIGIN:
            continue
        about = [s for s in sources if item.question.source_id in (None, s.pk)]
        who, when = _origin_mentions_who_and_when(item.response.text, about)
        if who and when:
            message = _("Question %(n)s says who produced the source and when.")
        elif who:
            message = _("Question %(n)s names who produced the source but not when (a year or a month).")
        elif when:
            message = _("Question %(n)s says when but does not name who produced the source.")
        else:
            message = _("Question %(n)s does not yet say who produced the source or when.")
        checks.append(Check(ok=who and when, message=message % {"n": item.question.number}))
    return checks


_SENTENCE_END = re.compile(r"[.!?…]+[\"”’)\]]*(?=\s+|$)")


def passage_sentences(text: str) -> list[Sentence]:
    """Split a passage into sentences (start/end offsets into ``text``, whitespace trimmed), for
    citing a sentence from the keyboard. A full stop after a bare number or a single capital
    ("1.", "J.") does not end a sentence; a line break always does."""
    spans = []
    for line_start, line in _lines_with_offsets(text):
        cursor = line_start
        for match in _SENTENCE_END.finditer(line):
            before = line[: match.start()].split()
            token = before[-1] if before else ""
            if re.fullmatch(r"\d+|[A-Z]", token):
                continue
            spans.append((cursor, line_start + match.end()))
            cursor = line_start + match.end()
        spans.append((cursor, line_start + len(line)))
    sentences = []
    for raw_start, raw_end in spans:
        s, e = _trim_span(text, raw_start, raw_end)
        if s < e:
            sentences.append(Sentence(start=s, end=e, text=text[s:e]))
    return sentences


def _lines_with_offsets(text: str):
    offset = 0
    for line in text.split("\n"):
        yield offset, line
        offset += len(line) + 1


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
    rendered source panels (``analysis.panels``), cached per source version. Evidence is
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
