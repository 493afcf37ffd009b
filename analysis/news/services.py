"""What's new, written: a pupil has read their feedback; a teacher has looked at an assignment."""

from django.utils import timezone

from analysis.models import AssignmentVisit, Submission
from analysis.news.selectors import is_feedback_unread


def feedback_read(*, submission: Submission, now=None) -> bool:
    """Record that the pupil has read this returned work's feedback. No query when it was read
    already since its return; otherwise one UPDATE. Returns whether anything changed."""
    if not is_feedback_unread(
        status=submission.status,
        returned_at=submission.returned_at,
        feedback_seen_at=submission.feedback_seen_at,
    ):
        return False
    now = now or timezone.now()
    Submission.objects.filter(pk=submission.pk).update(feedback_seen_at=now)
    submission.feedback_seen_at = now
    return True


def assignment_visited(*, assignment, teacher, now=None) -> None:
    """Record a teacher's visit to an assignment's progress: one upsert statement."""
    AssignmentVisit.objects.bulk_create(
        [AssignmentVisit(assignment_id=assignment.pk, teacher_id=teacher.pk, seen_at=now or timezone.now())],
        update_conflicts=True,
        unique_fields=["assignment", "teacher"],
        update_fields=["seen_at"],
    )
