"""Reads that build the teachers' marking pages: the live progress grid and the
insight page's level distributions and evidence heat map."""

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db.models import BooleanField, Count, ExpressionWrapper, F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import display_name_of
from analysis.classwork.rules import answered_q
from analysis.classwork.services import submissions_hand_in_timed_out
from analysis.classwork.support import Support, default_support
from analysis.marking.anonymity import anonymous_label, hides_name, number_submissions
from analysis.marking.charts import CHART_BAR_HEIGHT, CHART_BAR_SPACE, CHART_GAP, CHART_LABEL_WIDTH, Bar
from analysis.marking.services import MARKABLE_STATUSES
from analysis.models import Assignment, Evidence, Mark, Response, StudentSupport, Submission, TimeLimitAction

# --- Reading: the progress grid ---------------------------------------------------


class CellState:
    """What one student has done on one question. Precisely:

    - not started: no answer text yet (or no submission at all);
    - draft: some text, but no evidence cited yet on a question that expects it;
    - answered: text, with evidence where the question expects it; not handed in yet;
    - submitted: handed in, not marked yet (an empty answer shows "no answer");
    - marked: handed in and marked (a draft mark until released to the student);
    - changed: marked, but the answer changed after it was marked (reopened, rewritten, handed
      in again): the mark needs a fresh look before it can be released.
    """

    NOT_STARTED = "not-started"
    DRAFT = "draft"
    ANSWERED = "answered"
    SUBMITTED = "submitted"
    MARKED = "marked"
    CHANGED = "changed"

    @staticmethod
    def labels():
        return {
            CellState.NOT_STARTED: _("Not started"),
            CellState.DRAFT: _("Draft"),
            CellState.ANSWERED: _("Answered"),
            CellState.SUBMITTED: Submission.status_label(Submission.Status.SUBMITTED),
            CellState.MARKED: _("Marked"),
            CellState.CHANGED: _("Changed since marked"),
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
    answered: bool = False  # rules.is_answered: what releasing counts as needing a mark


class GridAnswer(NamedTuple):
    """One answer as the grid reads it (``_grid_answers``): plain values, no model instance."""

    answered: bool
    hints_used: int
    marks: int | None
    max_marks: int | None
    cited: int | None  # the response's id when it cites any evidence
    changed: bool  # changed since it was marked


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
    time_up_at: datetime | None = None


def work_status(submission_status: str | None, *, started: bool) -> str:
    """The state of one pupil's work as every teacher's page names it ("not-started",
    "in-progress", "submitted", "returned"; ``Submission.status_label`` words it), as the pupil's
    own list says it: work opened but neither written nor cited in yet (``rules.started_exists``)
    is "not started", though opening the workspace created the submission."""
    if submission_status is None:
        return "not-started"
    if submission_status == Submission.Status.IN_PROGRESS and not started:
        return "not-started"
    return submission_status.replace("_", "-")


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
    support: Support | None = None  # the pupil's support level (and extra time)
    started: bool = False  # written an answer or cited a quotation (``rules.started_exists``)

    @property
    def status(self) -> str:
        return work_status(self.submission.status if self.submission else None, started=self.started)

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
    answered, hints_used, marks, max_marks, cited, changed = answer
    if handed_in and marks is not None:
        state = CellState.CHANGED if changed else CellState.MARKED
    elif handed_in:
        state = CellState.SUBMITTED
    elif not answered:
        state = CellState.NOT_STARTED
    elif expects_evidence and cited is None:
        state = CellState.DRAFT
    else:
        state = CellState.ANSWERED
    return GridCell(state, labels[state], hints_used, marks, max_marks, answered)


def _grid_answers(assignment: Assignment) -> dict:
    """(submission id, question id) → (answered, hints used, marks, out of, whether any
    evidence is cited (the response's own id if so, else None), and whether the answer changed
    since it was marked).

    Plain values, not model instances (1,500 of them for a class of 300 on a page polled
    every few seconds). "Answered" is tested in the database (``rules.answered_q``), so the
    answers themselves stay there. Evidence is probed with a
    ``LIMIT 1`` subquery rather than counted with a join and ``GROUP BY`` or tested with
    ``EXISTS`` (which PostgreSQL plans as a hash of the whole evidence table): one index
    probe per answer, about half the database time of the count."""
    # response_id, not pk: the response_id index alone answers it (an index-only scan).
    one_cited = Evidence.objects.filter(response=OuterRef("pk")).order_by().values("response_id")[:1]
    rows = (
        Response.objects.filter(submission__assignment=assignment)
        .annotate(
            answered=ExpressionWrapper(answered_q(), output_field=BooleanField()),
            one_cited=Subquery(one_cited),
            changed=ExpressionWrapper(~Q(mark__answer_hash=F("content_hash")), output_field=BooleanField()),
        )
        .order_by()
        .values_list(
            "submission_id",
            "question_id",
            "answered",
            "hints_used",
            "mark__marks",
            "mark__max_marks",
            "one_cited",
            "changed",
        )
    )
    return {(row[0], row[1]): GridAnswer(*row[2:]) for row in rows}


def progress_grid(assignment: Assignment, questions, *, _checked_time: bool = False) -> list[GridRow]:
    """One row per pupil the assignment is set to (``Assignment.set_to``), one cell per
    question, in a constant number of queries (students, submissions, answers with their marks
    and whether they cite evidence), all read as plain values: building model instances cost
    more than everything else per row. ``export_table`` reads the same rows."""
    own = StudentSupport.objects.filter(assignment=assignment, student=OuterRef("pk"))
    students = (
        assignment.set_to()
        .annotate(
            own_level=Subquery(own.values("support_level")[:1]),
            own_extra=Subquery(own.values("extra_time_percent")[:1]),
        )
        .order_by("last_name", "first_name", "username")
        .values_list("pk", "username", "first_name", "last_name", "own_level", "own_extra")
    )
    submissions = {
        student_id: GridSubmission(pk, *rest)
        for pk, student_id, *rest in Submission.objects.filter(assignment=assignment)
        .order_by()
        .values_list("pk", "student_id", "status", "is_late", "submitted_at", "returned_at", "time_up_at")
    }
    now = timezone.now()
    if (
        not _checked_time
        and assignment.on_time_limit == TimeLimitAction.HAND_IN
        and any(
            s.status == Submission.Status.IN_PROGRESS and s.time_up_at is not None and now > s.time_up_at
            for s in submissions.values()
        )
    ):
        # Work whose exam time limit has passed is handed in as it stood at the limit, then read again.
        submissions_hand_in_timed_out(assignment_id=assignment.pk, now=now)
        return progress_grid(assignment, questions, _checked_time=True)
    answers = _grid_answers(assignment)
    usual = default_support(assignment)
    supports = {}  # (own level, extra time) -> Support, shared by the rows that have it
    numbers = number_submissions(s.pk for s in submissions.values())
    labels = CellState.labels()
    columns = [(question.pk, question.expects_evidence) for question in questions]
    not_started = [_cell_for(False, False, None, labels) for _column in columns]
    rows = []
    for pk, username, first_name, last_name, own_level, own_extra in students:
        student = GridStudent(pk, username, display_name_of(first_name, last_name, username))
        submission = submissions.get(pk)
        started = False
        if submission is None:
            cells = list(not_started)  # never changed once built, so rows can share them
            number = None
            hidden = False
        else:
            handed_in = submission.status in MARKABLE_STATUSES
            mine = [answers.get((submission.pk, question_id)) for question_id, _expects in columns]
            cells = [
                _cell_for(expects_evidence, handed_in, answer, labels)
                for (_question_id, expects_evidence), answer in zip(columns, mine, strict=True)
            ]
            # rules.started_exists, from the values already read: an answered question or a quotation.
            started = any(
                answer.answered or answer.cited is not None for answer in mine if answer is not None
            )
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
                started=started,
                # As marks_release counts them: every answered question needs a mark, and a mark
                # given before the answer changed does not count until it is saved again.
                marked_count=sum(
                    1 for c in cells if c.marks is not None and c.answered and c.state != CellState.CHANGED
                ),
                answered_count=sum(1 for c in cells if c.answered),
                support=usual
                if own_level is None
                else supports.setdefault(
                    (own_level, own_extra),
                    Support(level=own_level or assignment.support_level, extra_time_percent=own_extra or 0),
                ),
            )
        )
    # Blind marking: hidden rows in number order, so the order gives no names away.
    rows.sort(key=lambda row: (0, row.number) if row.hidden else (1, 0))
    return rows


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
            # A scheme with its own Level 0 has no use for "no level" (unless older marks have it).
            unlevelled = sum(r["n"] for r in rows if r["level"] is None)
            own_zero = any(lv.number == 0 for lv in levels)
            bars = [] if own_zero and not unlevelled else [Bar(_("No level (0)"), unlevelled)]
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
    evidence = Evidence.objects.filter(response__submission__assignment=assignment, passage__isnull=False)
    if question is not None:
        evidence = evidence.filter(response__question=question)
    return dict(
        evidence.values("passage_id")
        .annotate(n=Count("response__submission", distinct=True))
        .order_by()
        .values_list("passage_id", "n")
    )


def region_heat(assignment: Assignment, question=None) -> dict[int, int]:
    """Image region id → how many students cited it (visual sources), like ``evidence_heat``."""
    evidence = Evidence.objects.filter(response__submission__assignment=assignment, region__isnull=False)
    if question is not None:
        evidence = evidence.filter(response__question=question)
    return dict(
        evidence.values("region_id")
        .annotate(n=Count("response__submission", distinct=True))
        .order_by()
        .values_list("region_id", "n")
    )
