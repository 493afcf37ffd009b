"""What's new, read (definitions in docs/whats-new.md).

For a pupil:
- **new work**: an open assignment of theirs that they have never opened (no submission row:
  opening the workspace creates it) and whose due date (their own, counting an extension) has not
  passed: overdue work is flagged "Overdue" instead;
- **new feedback**: their work was returned and they have not read the feedback page since
  (``Submission.feedback_seen_at`` empty or older than ``returned_at``).

For a teacher: work handed in after their last visit to that assignment's progress page
(``AssignmentVisit``), late hand-ins counted apart.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from analysis.classwork.rules import student_due_subquery
from analysis.models import Assignment, AssignmentVisit, Submission

Status = Submission.Status
HANDED_IN = (Status.SUBMITTED, Status.RETURNED)
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def feedback_unread_q(prefix: str = "") -> Q:
    """A submission (at ``prefix``) whose returned feedback the pupil has not read since."""
    return Q(**{f"{prefix}status": Status.RETURNED}) & (
        Q(**{f"{prefix}feedback_seen_at__isnull": True})
        | Q(**{f"{prefix}feedback_seen_at__lt": F(f"{prefix}returned_at")})
    )


def is_new_work(*, opened: bool, is_open: bool, due_at, now) -> bool:
    """The Python copy of the "new work" rule, for rows already read (the pupil's list)."""
    return is_open and not opened and (due_at is None or due_at >= now)


def is_feedback_unread(*, status, returned_at, feedback_seen_at) -> bool:
    return status == Status.RETURNED and (feedback_seen_at is None or feedback_seen_at < returned_at)


@dataclass(frozen=True)
class PupilNews:
    new_work: int
    new_feedback: int

    @property
    def total(self) -> int:
        return self.new_work + self.new_feedback


def pupil_news(*, student, now=None) -> PupilNews:
    """How much is new for a pupil, in ONE query (the navigation's count on every page)."""
    now = now or timezone.now()
    mine = Submission.objects.filter(assignment=OuterRef("pk"), student=student.pk)
    counts = (
        Assignment.objects.for_student(student)
        .filter(opens_at__lte=now)
        .annotate(
            opened=Exists(mine),
            unread=Exists(mine.filter(feedback_unread_q())),
            own_due=Coalesce(student_due_subquery(assignment_ref="pk", student_ref=student.pk), F("due_at")),
        )
        .aggregate(
            work=Count("pk", filter=Q(opened=False) & (Q(own_due__isnull=True) | Q(own_due__gte=now))),
            feedback=Count("pk", filter=Q(unread=True)),
        )
    )
    return PupilNews(new_work=counts["work"], new_feedback=counts["feedback"])


def with_new_handins(queryset: QuerySet, *, teacher) -> QuerySet:
    """Annotate assignments with ``new_handins`` and ``new_late`` for this teacher: work handed
    in (or returned since) after their last visit to the progress page, all of it if they never
    looked. Subqueries: no extra query, no row multiplication."""
    handed_in = Submission.objects.filter(
        assignment=OuterRef("pk"),
        status__in=HANDED_IN,
        submitted_at__gt=Coalesce(OuterRef("last_visit"), Value(NEVER)),
    )

    def counted(submissions):
        return Coalesce(
            Subquery(submissions.order_by().values("assignment").annotate(n=Count("pk")).values("n")[:1]), 0
        )

    return queryset.annotate(last_visit=last_visit_subquery(teacher)).annotate(
        new_handins=counted(handed_in), new_late=counted(handed_in.filter(is_late=True))
    )


def last_visit_subquery(teacher) -> Subquery:
    """When this teacher last opened the outer assignment's progress page (NULL if never)."""
    visits = AssignmentVisit.objects.filter(assignment=OuterRef("pk"), teacher=teacher.pk)
    return Subquery(visits.values("seen_at")[:1])
