"""Skills across the year: reads that turn marks into each pupil's historical-thinking profile,
the class skills view and the pupil's own progress page (docs/skills.md).

Every question has a stage (close reading, origin, purpose, reliability, corroboration) and every
mark a level of the question's mark scheme. A level is read on the **common scale**
(``analysis.library.models.common_level``: 0 to ``COMMON_TOP``) so that answers marked against
different schemes make one line. What counts:

- only **released** marks (the submission is ``returned``): drafts never count, for pupils or
  teachers; the teacher's profile notes that an unreleased draft exists, and for an
  anonymous-marking assignment not even that;
- only questions with a mark scheme (a mark without levels has no place on the scale); a level-less
  mark on a question with a scheme ("nothing creditable") is Level 0;
- within one assignment, a pupil's level on a stage is the highest they reached on that stage's
  questions.

Each function reads in a fixed number of queries, whatever the class size and however many
assignments (pinned in tests/analysis/test_query_budgets.py).
"""

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from django.db.models import Exists, OuterRef, Q, Sum
from django.urls import reverse
from django.utils import timezone

from accounts.models import Enrollment, User, display_name_of
from analysis.classwork.rules import effective_support_level
from analysis.classwork.selectors import assignments_visible_to
from analysis.library.models import COMMON_TOP, common_level
from analysis.models import (
    Assignment,
    Level,
    Mark,
    Stage,
    StudentSupport,
    Submission,
    SupportLevel,
)

RETURNED = Submission.Status.RETURNED
COMMON_LEVELS = tuple(range(COMMON_TOP + 1))

# The profile's small charts (server-drawn SVG, like the insight page's).
CHART_WIDTH = 300
CHART_HEIGHT = 96
CHART_LEFT = 28  # room for the level labels
CHART_TOP = 8
CHART_STEP = (CHART_HEIGHT - 2 * CHART_TOP) // COMMON_TOP  # pixels per level


# --- Marks on the common scale ------------------------------------------------------------------


@dataclass
class StagePoint:
    """One pupil's level on one stage in one assignment (the highest over its questions)."""

    student_id: int
    assignment_id: int
    classroom_id: int
    title: str
    opens_at: datetime
    when: datetime  # when the work was handed in
    stage: str
    level: int  # on the common scale
    scheme_id: int
    scheme_level: int | None  # the scheme's own level number
    descriptor: str = ""
    scheme_name: str = ""
    x: int = 0
    y: int = 0

    @property
    def stage_label(self) -> str:
        return str(Stage(self.stage).label)


def _released_points(marks) -> list[StagePoint]:
    """The stage points of some released marks: two queries (the marks, their schemes' levels)."""
    rows = list(
        marks.filter(
            response__submission__status=RETURNED,
            response__question__mark_scheme__isnull=False,
        )
        .order_by()
        .values_list(
            "response__submission__student_id",
            "response__submission__assignment_id",
            "response__submission__assignment__classroom_id",
            "response__submission__assignment__exercise__title",
            "response__submission__assignment__opens_at",
            "response__submission__submitted_at",
            "response__question__stage",
            "response__question__mark_scheme_id",
            "response__question__mark_scheme__name",
            "level",
        )
    )
    scheme_levels = scheme_level_table({row[7] for row in rows})
    points: dict[tuple, StagePoint] = {}
    for student, assignment, classroom, title, opens, handed_in, stage, scheme, name, number in rows:
        levels = scheme_levels.get(scheme, {})
        if number is not None and number not in levels:
            continue  # a level the scheme no longer has (re-imported since): no place on the scale
        on_scale, level = levels[number] if number is not None else (0, None)
        key = (student, assignment, stage)
        point = points.get(key)
        if point is None or on_scale > point.level:
            points[key] = StagePoint(
                student_id=student,
                assignment_id=assignment,
                classroom_id=classroom,
                title=title,
                opens_at=opens,
                when=handed_in or opens,
                stage=stage,
                level=on_scale,
                scheme_id=scheme,
                scheme_level=number,
                descriptor=level.descriptor if level is not None else "",
                scheme_name=name,
            )
    return sorted(points.values(), key=lambda p: (p.when, p.opens_at, p.assignment_id))


def scheme_level_table(scheme_ids) -> dict[int, dict[int, tuple[int, Level]]]:
    """Scheme id → {level number → (its common level, the Level)}. One query."""
    by_scheme: dict[int, list[Level]] = {}
    for level in Level.objects.filter(scheme_id__in=scheme_ids).order_by("scheme_id", "number"):
        by_scheme.setdefault(level.scheme_id, []).append(level)
    table = {}
    for scheme, levels in by_scheme.items():
        top = max(level.number for level in levels)
        table[scheme] = {
            level.number: (common_level(level.number, top, level.common_level), level) for level in levels
        }
    return table


def _by_stage(points: list[StagePoint]) -> dict[str, list[StagePoint]]:
    stages: dict[str, list[StagePoint]] = {stage: [] for stage in Stage.values}
    for point in points:
        stages[point.stage].append(point)
    return stages


# --- A pupil's profile, for their teacher -----------------------------------------------------------


@dataclass
class StageSeries:
    stage: str
    points: list[StagePoint]

    @property
    def label(self) -> str:
        return str(Stage(self.stage).label)

    @property
    def latest(self) -> StagePoint | None:
        return self.points[-1] if self.points else None

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.points)

    @property
    def description(self) -> str:
        return "; ".join(f"{p.title}: {p.level}" for p in self.points)


@dataclass
class QuestionComment:
    """One comment, and the questions it was given on (a comment from the bank is often given
    to several answers of one piece of work: it is written once)."""

    numbers: list[int]
    text: str

    @property
    def label(self) -> str:
        return ", ".join(f"Q{number}" for number in self.numbers)


def _grouped_comments(given) -> list[QuestionComment]:
    comments: dict[str, QuestionComment] = {}
    for number, text in given:
        if text.strip():
            comments.setdefault(text.strip(), QuestionComment([], text.strip())).numbers.append(number)
    return list(comments.values())


@dataclass
class ProfileAssignment:
    assignment: Assignment
    status: str  # a Submission.Status value, or "not_started"
    support: str  # the support level's label
    marks: int | None = None  # released marks only
    maximum: int = 0
    overall_comment: str = ""
    comments: list[QuestionComment] = field(default_factory=list)
    unreleased_draft: bool = False  # marked in draft, not released (never for anonymous marking)


@dataclass
class Profile:
    student: User
    enrolled: bool  # still in the class now
    series: list[StageSeries]
    assignments: list[ProfileAssignment]
    levels: tuple = COMMON_LEVELS

    @property
    def latest(self) -> list[StagePoint]:
        return [s.latest for s in self.series if s.latest is not None]

    @property
    def drafts(self) -> int:
        return sum(1 for row in self.assignments if row.unreleased_draft)


def profile_student(classroom, student_id: int) -> tuple[User, bool] | None:
    """The pupil, if they are or ever were in this class (pupils who left keep their history),
    and whether they are in it now. One query."""
    periods = list(
        Enrollment.objects.filter(classroom=classroom, student_id=student_id)
        .select_related("student")
        .order_by("-joined_at")
    )
    if not periods:
        return None
    return periods[0].student, any(period.ended_at is None for period in periods)


def student_profile(*, classroom, student, enrolled: bool = True) -> Profile:
    """Everything the pupil's profile page shows, for one class: the levels reached on each stage
    over time (released marks), the descriptors of the latest ones, and every assignment of the
    class with the pupil's released marks, their support level and the teacher's comments. Five
    queries."""
    points = _released_points(
        Mark.objects.filter(response__submission__student=student).filter(
            response__submission__assignment__classroom=classroom
        )
    )
    series = [StageSeries(stage, stage_points) for stage, stage_points in _by_stage(points).items()]
    for item in series:
        _chart_geometry(item.points)

    submissions = {
        sub.assignment_id: sub
        for sub in Submission.objects.filter(student=student, assignment__classroom=classroom).annotate(
            has_marks=Exists(Mark.objects.filter(response__submission=OuterRef("pk")))
        )
    }
    supports = dict(
        StudentSupport.objects.filter(student=student, assignment__classroom=classroom).values_list(
            "assignment_id", "support_level"
        )
    )
    # Every assignment of the class that is set and open, and any other the pupil worked on.
    worked = Exists(Submission.objects.filter(assignment=OuterRef("pk"), student=student))
    assignments = (
        Assignment.objects.filter(classroom=classroom)
        .filter((Q(archived_at__isnull=True) & Q(opens_at__lte=timezone.now())) | worked)
        .select_related("exercise")
        .annotate(maximum=Sum("exercise__questions__max_marks"))
        .order_by("opens_at", "pk")
    )
    released_marks = {}
    for submission_id, number, stage, marks, comment in (
        Mark.objects.filter(response__submission__student=student, response__submission__status=RETURNED)
        .filter(response__submission__assignment__classroom=classroom)
        .order_by("response__question__position", "response__question_id")
        .values_list(
            "response__submission_id",
            "response__question__position",
            "response__question__stage",
            "marks",
            "comment",
        )
    ):
        released_marks.setdefault(submission_id, []).append((number + 1, stage, marks, comment))
    rows = []
    for assignment in assignments:
        sub = submissions.get(assignment.pk)
        row = ProfileAssignment(
            assignment=assignment,
            status=sub.status if sub else Submission.NOT_STARTED,
            support=str(SupportLevel(effective_support_level(assignment, supports.get(assignment.pk))).label),
            maximum=assignment.maximum or 0,
        )
        if sub is not None and sub.status == RETURNED:
            given = released_marks.get(sub.pk, [])
            row.marks = sum(marks for _n, _s, marks, _c in given)
            row.overall_comment = sub.overall_comment
            row.comments = _grouped_comments((n, text) for n, _s, _m, text in given)
        elif sub is not None and sub.has_marks and not assignment.anonymous_marking:
            row.unreleased_draft = True
        rows.append(row)
    return Profile(student=student, enrolled=enrolled, series=series, assignments=rows)


def _chart_geometry(points: list[StagePoint]) -> None:
    """Place each point: time runs left to right, the common level bottom to top."""
    span = CHART_WIDTH - CHART_LEFT - 16
    for index, point in enumerate(points):
        point.x = CHART_LEFT + 8 + (round(index * span / (len(points) - 1)) if len(points) > 1 else span // 2)
        point.y = CHART_TOP + (COMMON_TOP - point.level) * CHART_STEP


def chart_axis() -> list[tuple[int, int]]:
    """(level, y) for the chart's horizontal rules and labels."""
    return [(level, CHART_TOP + (COMMON_TOP - level) * CHART_STEP) for level in COMMON_LEVELS]


# --- The class skills view --------------------------------------------------------------------------


@dataclass
class Pupil:
    id: int
    name: str


@dataclass
class SkillCell:
    stage: str
    level: int | None  # None: no released mark on this stage in the window
    pupils: list[Pupil]
    classroom_id: int

    @property
    def count(self) -> int:
        return len(self.pupils)

    @property
    def assign_url(self) -> str:
        """The assign form with the class and this cell's pupils chosen."""
        return assign_url(self.classroom_id, [pupil.id for pupil in self.pupils])


@dataclass
class SkillRow:
    stage: str
    assignments: list[str]  # the titles of the assignments counted, newest first
    cells: list[SkillCell]  # Level 0..COMMON_TOP, then "not marked yet"

    @property
    def label(self) -> str:
        return str(Stage(self.stage).label)

    @property
    def levels(self) -> list[SkillCell]:
        return self.cells[:-1]

    @property
    def unmarked(self) -> SkillCell:
        return self.cells[-1]


def class_skills(*, classroom, last: int | None) -> tuple[list[SkillRow], int]:
    """Per stage: where each pupil now in the class is, as the highest common level they reached
    on that stage in the class's ``last`` most recent assignments with released marks on that stage
    (``None``: all of them). Returns the rows and the number of pupils. Three queries."""
    pupils = [
        Pupil(pk, display_name_of(first, last_name, username))
        for pk, first, last_name, username in Enrollment.objects.current()
        .filter(classroom=classroom)
        .order_by("student__last_name", "student__first_name", "student__username")
        .values_list("student_id", "student__first_name", "student__last_name", "student__username")
    ]
    current = Enrollment.objects.current().filter(classroom=classroom).values("student_id")
    points = _released_points(
        Mark.objects.filter(
            response__submission__assignment__classroom=classroom, response__submission__student__in=current
        )
    )
    rows = []
    for stage, stage_points in _by_stage(points).items():
        order = sorted(
            {(p.opens_at, p.assignment_id, p.title) for p in stage_points},
            key=lambda a: (a[0], a[1]),
            reverse=True,
        )
        window = order if last is None else order[:last]
        counted = {assignment_id for _o, assignment_id, _t in window}
        reached: dict[int, int] = {}
        for point in stage_points:
            if point.assignment_id in counted:
                reached[point.student_id] = max(point.level, reached.get(point.student_id, 0))
        cells = [
            SkillCell(stage, level, [p for p in pupils if reached.get(p.id) == level], classroom.pk)
            for level in COMMON_LEVELS
        ]
        cells.append(SkillCell(stage, None, [p for p in pupils if p.id not in reached], classroom.pk))
        rows.append(SkillRow(stage=stage, assignments=[title for _o, _a, title in window], cells=cells))
    return rows, len(pupils)


def assign_url(classroom_id: int, pupil_ids) -> str:
    """The assign form, with the class and these pupils chosen."""
    query = [("classroom", classroom_id), *(("pupils", pk) for pk in pupil_ids)]
    return f"{reverse('teach:assignment-create')}?{urlencode(query)}"


# --- The pupil's own progress ------------------------------------------------------------------------


@dataclass
class StageProgress:
    stage: str
    points: list[StagePoint]
    next_level: int | None = None  # the next common level up, None at the top
    next_descriptor: str = ""  # what it asks for, from the latest scheme marked on

    @property
    def label(self) -> str:
        return str(Stage(self.stage).label)

    @property
    def first(self) -> StagePoint:
        return self.points[0]

    @property
    def latest(self) -> StagePoint:
        return self.points[-1]

    @property
    def at_top(self) -> bool:
        return self.latest.level >= COMMON_TOP


@dataclass
class ReturnedWork:
    title: str
    classroom: str
    returned_at: datetime | None
    marks: int
    maximum: int
    feedback_url: str  # empty when the assignment is no longer open to the pupil


def pupil_progress(*, student) -> tuple[list[StageProgress], list[ReturnedWork]]:
    """The pupil's own levels per stage over time (released marks, every class they have been in),
    what the next level asks for, and their returned work. Five queries."""
    points = _released_points(Mark.objects.filter(response__submission__student=student))
    stages = [StageProgress(stage, items) for stage, items in _by_stage(points).items() if items]
    schemes = scheme_level_table({s.latest.scheme_id for s in stages})
    for item in stages:
        above = sorted(
            (on_scale, number, level)
            for number, (on_scale, level) in schemes.get(item.latest.scheme_id, {}).items()
            if on_scale > item.latest.level
        )
        if above:
            item.next_level, _number, level = above[0]
            item.next_descriptor = level.descriptor

    visible = set(assignments_visible_to(student).values_list("pk", flat=True))
    returned = (
        Submission.objects.filter(student=student, status=RETURNED)
        .select_related("assignment__exercise", "assignment__classroom")
        .annotate(
            total=Sum("responses__mark__marks"),
        )
        .order_by("-returned_at", "-submitted_at", "-pk")
    )
    maxima = dict(
        Assignment.objects.filter(
            Exists(Submission.objects.filter(assignment=OuterRef("pk"), student=student, status=RETURNED))
        )
        .annotate(maximum=Sum("exercise__questions__max_marks"))
        .values_list("pk", "maximum")
    )
    work = [
        ReturnedWork(
            title=sub.assignment.exercise.title,
            classroom=sub.assignment.classroom.name,
            returned_at=sub.returned_at,
            marks=sub.total or 0,
            maximum=maxima.get(sub.assignment_id) or 0,
            feedback_url=reverse("learn:feedback", args=[sub.assignment_id])
            if sub.assignment_id in visible
            else "",
        )
        for sub in returned
    ]
    return stages, work
