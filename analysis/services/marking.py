"""Marking: saving marks against a levels-based scheme, releasing them to students,
reopening work, and the anonymous labels used while marking blind.

Marks are drafts while their submission is ``submitted``; releasing moves the
submission to ``returned`` and the student sees them. Every change to a mark is
recorded as a ``MarkChange`` row (who, when, from → to).
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from accounts.models import User, display_name_of
from analysis.models import Assignment, CommentBankEntry, Evidence, Mark, MarkChange, Response, Submission

MARKABLE_STATUSES = (Submission.Status.SUBMITTED, Submission.Status.RETURNED)


def _check_teaches(assignment: Assignment, user) -> None:
    if not assignment.classroom.teachers.filter(pk=user.pk).exists():
        raise PermissionDenied


def check_mark(*, question, levels, level: int | None, marks: int) -> None:
    """Raise ``ValidationError`` unless ``marks`` (and ``level``) fit the question.

    With a mark scheme, a level must be chosen and the mark must lie inside its
    band; ``level=None`` means "nothing creditable" and allows only 0. Without a
    scheme there are no levels and any mark from 0 to the maximum is allowed.
    ``levels`` is the scheme's levels (already fetched, so forms and the service
    share this check without extra queries).
    """
    if marks is None or marks < 0 or marks > question.max_marks:
        raise ValidationError(
            {"marks": _("Give a mark from 0 to %(max)s.") % {"max": question.max_marks}}, code="range"
        )
    levels = list(levels)
    if not levels:
        if level is not None:
            raise ValidationError({"level": _("This question has no mark scheme levels.")}, code="level")
        return
    if level is None:
        if marks != 0:
            raise ValidationError(
                {"level": _("Choose a level: only 0 marks can be given without one.")}, code="level"
            )
        return
    chosen = next((item for item in levels if item.number == level), None)
    if chosen is None:
        raise ValidationError({"level": _("Choose one of the scheme's levels.")}, code="level")
    if not chosen.contains(marks):
        raise ValidationError(
            {
                "marks": _("Level %(level)s allows %(min)s to %(max)s marks.")
                % {"level": chosen.number, "min": chosen.min_marks, "max": chosen.max_marks}
            },
            code="band",
        )


@transaction.atomic
def mark_save(*, response: Response, marker, level: int | None, marks: int, comment: str) -> Mark:
    """Create or change the mark on one answer, keeping an audit row for the change.

    Only handed-in work (submitted or returned) can be marked, only by a teacher of
    the class, and only within the chosen level's band. Saving the same values again
    changes nothing and adds no audit row.
    """
    response = (
        # Lock only the answer: the mark scheme is an outer join, which PostgreSQL cannot lock.
        Response.objects.select_for_update(of=("self",))
        .select_related("submission__assignment__classroom", "question__mark_scheme")
        .get(pk=response.pk)
    )
    submission = response.submission
    _check_teaches(submission.assignment, marker)
    if submission.status not in MARKABLE_STATUSES:
        raise ValidationError(_("Only handed-in work can be marked."), code="not_submitted")
    question = response.question
    levels = question.mark_scheme.levels.all() if question.mark_scheme_id else ()
    check_mark(question=question, levels=levels, level=level, marks=marks)
    comment = (comment or "").strip()

    mark = Mark.objects.filter(response=response).first()
    before = (mark.level, mark.marks, mark.comment) if mark else (None, None, "")
    if mark is not None and before == (level, marks, comment) and mark.max_marks == question.max_marks:
        return mark
    if mark is None:
        mark = Mark(response=response)
    mark.level = level
    mark.marks = marks
    mark.max_marks = question.max_marks
    mark.comment = comment
    mark.marker = marker
    mark.full_clean()
    mark.save()
    MarkChange.objects.create(
        mark=mark,
        changed_by=marker,
        from_level=before[0],
        to_level=level,
        from_marks=before[1],
        to_marks=marks,
        from_comment=before[2],
        to_comment=comment,
    )
    return mark


@dataclass
class ReleaseResult:
    released: list[Submission] = field(default_factory=list)
    not_ready: list[Submission] = field(default_factory=list)


@transaction.atomic
def marks_release(*, assignment: Assignment, submissions=None, by) -> ReleaseResult:
    """Return marked work to students: each handed-in submission whose answers are all
    marked moves to ``returned`` (with ``returned_at``) and its marks become visible.

    ``submissions`` limits the release to chosen ones (default: the whole assignment).
    Submissions with an answer still unmarked are left as they are and reported in
    ``not_ready``; already returned or unsubmitted ones are skipped silently.
    """
    _check_teaches(assignment, by)
    queryset = (
        Submission.objects.select_for_update()
        .filter(assignment=assignment, status=Submission.Status.SUBMITTED)
        .select_related("student")
        .annotate(
            has_unmarked=Exists(
                Response.objects.filter(submission=OuterRef("pk"), mark__isnull=True).exclude(text="")
            )
        )
    )
    if submissions is not None:
        queryset = queryset.filter(pk__in=[getattr(s, "pk", s) for s in submissions])
    result = ReleaseResult()
    for submission in queryset:
        (result.not_ready if submission.has_unmarked else result.released).append(submission)
    now = timezone.now()
    Submission.objects.filter(pk__in=[s.pk for s in result.released]).update(
        status=Submission.Status.RETURNED, returned_at=now
    )
    for submission in result.released:
        submission.status = Submission.Status.RETURNED
        submission.returned_at = now
    return result


@transaction.atomic
def submission_reopen(*, submission: Submission, by) -> Submission:
    """Give handed-in work back to the student to revise. Its marks stay, as drafts:
    the student no longer sees them until the teacher releases again."""
    submission = (
        Submission.objects.select_for_update().select_related("assignment__classroom").get(pk=submission.pk)
    )
    _check_teaches(submission.assignment, by)
    if submission.status == Submission.Status.IN_PROGRESS:
        raise ValidationError(_("This work is already open for the student."), code="not_submitted")
    submission.status = Submission.Status.IN_PROGRESS
    submission.returned_at = None
    submission.full_clean()
    submission.save(update_fields=["status", "returned_at"])
    return submission


def anonymous_numbers(assignment: Assignment) -> dict[int, int]:
    """Submission id → a stable number for "Student N" while marking blind: the order in
    which students started (submissions are never deleted, so numbers never shift)."""
    ids = Submission.objects.filter(assignment=assignment).order_by("pk").values_list("pk", flat=True)
    return {pk: number for number, pk in enumerate(ids, start=1)}


def hides_name(assignment: Assignment, submission: "Submission | GridSubmission | None") -> bool:
    """Anonymous marking hides a student's name until that submission's marks are released."""
    return bool(
        assignment.anonymous_marking
        and submission is not None
        and submission.status != Submission.Status.RETURNED
    )


def anonymous_label(number: int) -> str:
    return _("Student %(number)s") % {"number": number}


def student_label(assignment, submission, numbers: dict) -> str:
    """The name a teacher sees for this submission: "Student N" while anonymous marking hides it."""
    if hides_name(assignment, submission):
        return anonymous_label(numbers.get(submission.pk, 0))
    return submission.student.display_name


def comment_bank_add(*, teacher, text: str):
    """Keep a comment for reuse; adding the same text twice keeps one entry."""
    text = text.strip()
    if not text:
        return None
    entry, _created = CommentBankEntry.objects.get_or_create(teacher=teacher, text=text)
    return entry


# --- Reading: the progress grid ---------------------------------------------------


class CellState:
    """What one student has done on one question. Precisely:

    - not started: no answer text yet (or no submission at all);
    - draft: some text, but no evidence cited yet on a question that expects it;
    - answered: text, with evidence where the question expects it; not handed in yet;
    - submitted: handed in, not marked yet (an empty answer shows "no answer");
    - marked: handed in and marked (a draft mark until released to the student).
    """

    NOT_STARTED = "not-started"
    DRAFT = "draft"
    ANSWERED = "answered"
    SUBMITTED = "submitted"
    MARKED = "marked"

    @staticmethod
    def labels():
        return {
            CellState.NOT_STARTED: _("Not started"),
            CellState.DRAFT: _("Draft"),
            CellState.ANSWERED: _("Answered"),
            CellState.SUBMITTED: _("Submitted"),
            CellState.MARKED: _("Marked"),
        }


@dataclass(slots=True)
class GridCell:
    """One question's cell in a student's row: plain values, no model instances, because
    a class of 300 has 1,500 of them on a page that refreshes every few seconds."""

    state: str
    label: str
    hints_used: int = 0
    marks: int | None = None  # None: not marked
    max_marks: int | None = None
    answered: bool = False  # some text other than white space
    has_text: bool = False  # any text at all: what releasing counts as needing a mark


class GridStudent(NamedTuple):
    pk: int
    username: str
    display_name: str


class GridSubmission(NamedTuple):
    """The few fields of a submission the grid, its release table and the export show."""

    pk: int
    status: str
    is_late: bool
    submitted_at: datetime | None
    returned_at: datetime | None


@dataclass(slots=True)
class GridRow:
    student: GridStudent
    submission: GridSubmission | None
    name: str
    hidden: bool
    number: int | None
    cells: list[GridCell]
    marked_count: int = 0
    answered_count: int = 0

    @property
    def status(self) -> str:
        if self.submission is None:
            return "not-started"
        return self.submission.status.replace("_", "-")

    @property
    def ready_to_release(self) -> bool:
        return (
            self.submission is not None
            and self.submission.status == Submission.Status.SUBMITTED
            and self.marked_count >= self.answered_count
        )


def _cell_for(expects_evidence: bool, handed_in: bool, answer, labels) -> GridCell:
    """``answer`` is one value of ``_grid_answers``, or None when there is no response."""
    if answer is None:
        return GridCell(CellState.NOT_STARTED, labels[CellState.NOT_STARTED])
    answered, has_text, hints_used, marks, max_marks, cited = answer
    if handed_in and marks is not None:
        state = CellState.MARKED
    elif handed_in:
        state = CellState.SUBMITTED
    elif not answered:
        state = CellState.NOT_STARTED
    elif expects_evidence and cited is None:
        state = CellState.DRAFT
    else:
        state = CellState.ANSWERED
    return GridCell(state, labels[state], hints_used, marks, max_marks, answered, has_text)


def _grid_answers(assignment: Assignment) -> dict:
    """(submission id, question id) → (answered, has text, hints used, marks, out of, and
    whether any evidence is cited: the response's own id if so, else None).

    Plain values, not model instances (1,500 of them for a class of 300 on a page polled
    every few seconds). The text tests run in the database (``\\S`` as on the student's
    assignment list), so the answers themselves stay there. Evidence is probed with a
    ``LIMIT 1`` subquery rather than counted with a join and ``GROUP BY`` or tested with
    ``EXISTS`` (which PostgreSQL plans as a hash of the whole evidence table): one index
    probe per answer, about half the database time of the count."""
    # response_id, not pk: the response_id index alone answers it (an index-only scan).
    one_cited = Evidence.objects.filter(response=OuterRef("pk")).order_by().values("response_id")[:1]
    rows = (
        Response.objects.filter(submission__assignment=assignment)
        .annotate(
            answered=ExpressionWrapper(Q(text__regex=r"\S"), output_field=BooleanField()),
            has_text=ExpressionWrapper(~Q(text=""), output_field=BooleanField()),
            one_cited=Subquery(one_cited),
        )
        .order_by()
        .values_list(
            "submission_id",
            "question_id",
            "answered",
            "has_text",
            "hints_used",
            "mark__marks",
            "mark__max_marks",
            "one_cited",
        )
    )
    return {(row[0], row[1]): row[2:] for row in rows}


def progress_grid(assignment: Assignment, questions) -> list[GridRow]:
    """One row per enrolled student, one cell per question, in a constant number of
    queries (students, submissions, answers with their marks and whether they cite evidence),
    all read as plain values: building model instances cost more than everything else per
    row. ``export_table`` reads the same rows."""
    students = (
        User.objects.filter(enrollments__classroom_id=assignment.classroom_id)
        .order_by("last_name", "first_name", "username")
        .values_list("pk", "username", "first_name", "last_name")
    )
    submissions = {
        student_id: GridSubmission(pk, *rest)
        for pk, student_id, *rest in Submission.objects.filter(assignment=assignment)
        .order_by()
        .values_list("pk", "student_id", "status", "is_late", "submitted_at", "returned_at")
    }
    answers = _grid_answers(assignment)
    numbers = {pk: n for n, pk in enumerate(sorted(s.pk for s in submissions.values()), start=1)}
    labels = CellState.labels()
    columns = [(question.pk, question.expects_evidence) for question in questions]
    not_started = [_cell_for(False, False, None, labels) for _column in columns]
    rows = []
    for pk, username, first_name, last_name in students:
        student = GridStudent(pk, username, display_name_of(first_name, last_name, username))
        submission = submissions.get(pk)
        if submission is None:
            cells = list(not_started)  # never changed once built, so rows can share them
            number = None
            hidden = False
        else:
            handed_in = submission.status in MARKABLE_STATUSES
            cells = [
                _cell_for(expects_evidence, handed_in, answers.get((submission.pk, question_id)), labels)
                for question_id, expects_evidence in columns
            ]
            number = numbers[submission.pk]
            hidden = hides_name(assignment, submission)
        rows.append(
            GridRow(
                student=student,
                submission=submission,
                name=anonymous_label(number) if hidden else student.display_name,
                hidden=hidden,
                number=number,
                cells=cells,
                # As marks_release counts them: any non-empty answer needs a mark.
                marked_count=sum(1 for c in cells if c.marks is not None and c.has_text),
                answered_count=sum(1 for c in cells if c.has_text),
            )
        )
    # Blind marking: hidden rows in number order, so the order gives no names away.
    rows.sort(key=lambda row: (0, row.number) if row.hidden else (1, 0))
    return rows


# --- Reading: export and class insight --------------------------------------------

# Spreadsheet programs run a cell starting with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """Neutralise a text cell that a spreadsheet would read as a formula by prefixing a
    single quote; numbers and empty cells pass through unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def export_table(assignment: Assignment, questions) -> tuple[list[str], list[list]]:
    """Header and one row per enrolled student: each question's mark, total, status and
    times. With anonymous marking, a student whose marks are not yet released appears
    under their "Student N" label, without username, exactly as on the marking pages."""

    def when(moment):
        return date_format(localtime(moment), "Y-m-d H:i") if moment else ""

    header = [_("Student"), _("Username")]
    header += [
        _("Q%(number)s %(stage)s (/%(max)s)")
        % {"number": q.number, "stage": q.get_stage_display(), "max": q.max_marks}
        for q in questions
    ]
    header += [_("Total"), _("Out of"), _("Status"), _("Submitted at"), _("Late"), _("Returned at")]
    statuses = {
        "not-started": _("Not started"),
        **{s.value.replace("_", "-"): s.label for s in Submission.Status},
    }
    out_of = sum(q.max_marks for q in questions)
    rows = []
    for row in progress_grid(assignment, questions):
        marks = ["" if cell.marks is None else cell.marks for cell in row.cells]
        submission = row.submission
        rows.append(
            [
                row.name,
                "" if row.hidden else row.student.username,
                *marks,
                sum(m for m in marks if m != ""),
                out_of,
                str(statuses[row.status]),
                when(submission.submitted_at) if submission else "",
                (_("yes") if submission.is_late else _("no")) if submission else "",
                when(submission.returned_at) if submission else "",
            ]
        )
    return [str(h) for h in header], [[csv_safe(cell) for cell in row] for row in rows]


@dataclass
class Bar:
    label: str
    count: int
    y: int = 0
    width: int = 0
    text_x: int = 0


@dataclass
class QuestionInsight:
    question: object
    bars: list[Bar]
    handed_in: int
    marked: int
    average: float | None
    chart_height: int = 0

    @property
    def description(self) -> str:
        parts = [_("%(label)s: %(count)s") % {"label": bar.label, "count": bar.count} for bar in self.bars]
        return "; ".join(parts)


CHART_BAR_HEIGHT = 28
CHART_GAP = 10
CHART_LABEL_WIDTH = 150
CHART_BAR_SPACE = 300


def level_distributions(assignment: Assignment, questions) -> list[QuestionInsight]:
    """Per question: how many handed-in answers were marked at each level (or, without a
    scheme, at each mark), with bar geometry for a server-drawn SVG chart. Two queries."""
    marks = (
        Mark.objects.filter(
            response__submission__assignment=assignment, response__submission__status__in=MARKABLE_STATUSES
        )
        .values("response__question_id", "level", "marks")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {}
    for row in marks:
        counts.setdefault(row["response__question_id"], []).append(row)
    handed_in = {
        row["question_id"]: row["n"]
        for row in Response.objects.filter(
            submission__assignment=assignment, submission__status__in=MARKABLE_STATUSES
        )
        .values("question_id")
        .annotate(n=Count("pk"))
        .order_by()
    }
    insights = []
    for question in questions:
        rows = counts.get(question.pk, [])
        levels = list(question.mark_scheme.levels.all()) if question.mark_scheme_id else []
        if levels:
            bars = [Bar(_("No level (0)"), sum(r["n"] for r in rows if r["level"] is None))]
            bars += [
                Bar(
                    _("Level %(number)s (%(min)s–%(max)s)")
                    % {"number": lv.number, "min": lv.min_marks, "max": lv.max_marks},
                    sum(r["n"] for r in rows if r["level"] == lv.number),
                )
                for lv in levels
            ]
        else:
            bars = [
                Bar(_("%(marks)s marks") % {"marks": m}, sum(r["n"] for r in rows if r["marks"] == m))
                for m in range(question.max_marks + 1)
            ]
        marked = sum(r["n"] for r in rows)
        total_marks = sum(r["n"] * r["marks"] for r in rows)
        top = max((bar.count for bar in bars), default=0) or 1
        for index, bar in enumerate(bars):
            bar.y = index * (CHART_BAR_HEIGHT + CHART_GAP)
            bar.width = round(bar.count / top * CHART_BAR_SPACE)
            bar.text_x = CHART_LABEL_WIDTH + bar.width + 6
        insights.append(
            QuestionInsight(
                question=question,
                bars=bars,
                handed_in=handed_in.get(question.pk, 0),
                marked=marked,
                average=round(total_marks / marked, 1) if marked else None,
                chart_height=len(bars) * (CHART_BAR_HEIGHT + CHART_GAP),
            )
        )
    return insights


def evidence_heat(assignment: Assignment, question=None) -> dict[int, int]:
    """Passage id → how many students cited it (in any answer, or in one question's)."""
    evidence = Evidence.objects.filter(response__submission__assignment=assignment)
    if question is not None:
        evidence = evidence.filter(response__question=question)
    return dict(
        evidence.values("passage_id")
        .annotate(n=Count("response__submission", distinct=True))
        .order_by()
        .values_list("passage_id", "n")
    )


def heat_level(count: int, students: int) -> int:
    """0 for no citations, then 1..5 by the share of students who cited the passage."""
    if count <= 0 or students <= 0:
        return 0
    return max(1, min(5, -(-count * 5 // students)))
