"""Anonymous marking: the stable "Student N" numbers and when a name is hidden."""

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from analysis.models import Assignment, Submission

if TYPE_CHECKING:
    from analysis.marking.selectors import GridSubmission


def anonymous_numbers(assignment: Assignment) -> dict[int, int]:
    """Submission id → a stable number for "Student N" while marking blind: the order in
    which students started (submissions are never deleted, so numbers never shift)."""
    return number_submissions(Submission.objects.filter(assignment=assignment).values_list("pk", flat=True))


def number_submissions(submission_ids) -> dict[int, int]:
    """The one numbering of "Student N": submissions in the order they were started."""
    return {pk: number for number, pk in enumerate(sorted(submission_ids), start=1)}


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
