"""The rules of pupils' work, each defined once: when an answer counts as answered, and
whether a piece of work can still change. Where SQL repeats a rule for speed, a test pins the
copy to the Python definition."""

from datetime import datetime

from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils.translation import gettext as _

from analysis.classwork.errors import WorkClosed
from analysis.models import Evidence, Extension, Response, Submission

Status = Submission.Status

# --- Answered and started ---------------------------------------------------------------------


def is_answered(text: str) -> bool:
    """An answer counts as answered once it holds anything other than white space."""
    return bool(text.strip())


# The same rule in SQL, for counting in the database (``\S``: one character that is not white
# space). tests/analysis/test_rules.py pins it to ``is_answered``.
ANSWERED_PATTERN = r"\S"


def answered_q(prefix: str = "") -> Q:
    """``is_answered`` as a filter on a response's text; ``prefix`` reaches it through a
    relation (``"responses__"`` from a submission)."""
    return Q(**{f"{prefix}text__regex": ANSWERED_PATTERN})


def started_exists(submission_ref: str = "pk"):
    """Whether the pupil has started the submission at ``submission_ref``: written an answer
    (``is_answered``) or cited a quotation. Opening the workspace creates the submission and its
    empty answers (autosave needs them), but a glance at the questions is not a start."""
    return Exists(
        Response.objects.filter(answered_q(), submission=OuterRef(submission_ref)).order_by()
    ) | Exists(Evidence.objects.filter(response__submission=OuterRef(submission_ref)).order_by())


# --- Writing under the submission lock --------------------------------------------------------


def check_accepting(submission: Submission, *, now: datetime) -> None:
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


# The autosave is the busiest request there is (every few seconds for every pupil typing), so
# its two statements are written out in SQL: building the same conditions with the ORM cost
# several times the rest of the request. ``ACCEPTS_WORK_SQL`` holds, for a submission row ``s``, the
# rules ``_locked_submission`` applies: the student's own, in an assignment they can still see
# (``Assignment.objects.for_student``), in progress (``check_accepting``), open, and not past
# a strict due date, their extension counting (COALESCE(..., now) >= now: no due date at all
# passes). tests/analysis/test_work_services.py checks each rule on this path.
ACCEPTS_WORK_SQL = """
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


def student_due_subquery(*, assignment_ref: str, student_ref):
    """The student's extended due date, if the teacher gave one (else NULL)."""
    return Subquery(
        Extension.objects.filter(assignment=OuterRef(assignment_ref), student=student_ref).values("due_at")[
            :1
        ]
    )
