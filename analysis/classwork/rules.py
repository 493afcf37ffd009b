"""The rules of pupils' work, each defined once: when an answer counts as answered, and
whether a piece of work can still change. Where SQL repeats a rule for speed, a test pins the
copy to the Python definition."""

import re
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils.translation import gettext as _

from analysis.classwork.errors import WorkClosed
from analysis.models import Evidence, Extension, Response, Submission, SupportLevel, TimeLimitAction

Status = Submission.Status

# --- Support levels and time limits ------------------------------------------------------------


def effective_support_level(assignment, own_level: str | None) -> str:
    """A pupil's support level: their own (``StudentSupport.support_level``) if the teacher set
    one, else the assignment's."""
    return own_level or assignment.support_level


def time_up_for(*, assignment, level: str, extra_time_percent: int, started_at: datetime) -> datetime | None:
    """When a pupil's time runs out: only under exam conditions with a time limit, counted from
    when they first opened the work, with their extra time (a percentage of the limit)."""
    if level != SupportLevel.EXAM or not assignment.time_limit_minutes:
        return None
    minutes = assignment.time_limit_minutes * (100 + (extra_time_percent or 0)) / 100
    return started_at + timedelta(minutes=minutes)


def is_time_up(submission: Submission, *, now: datetime) -> bool:
    return submission.time_up_at is not None and now > submission.time_up_at


# --- "Answered" -------------------------------------------------------------------------------

# An answer counts as answered when it holds a character other than ASCII white space. The rule
# is written so that Python, SQL (PostgreSQL's and SQLite's regular expressions) and the
# workspace's JavaScript (``isAnswered`` in static/js/workspace.js) can state it identically;
# tests/analysis/test_rules.py pins the SQL and JavaScript copies to ``is_answered``.
ANSWERED_PATTERN = r"[^ \t\n\r\f\v]"
_ANSWERED = re.compile(ANSWERED_PATTERN)


def is_answered(text: str) -> bool:
    """Whether an answer's text counts as answered (see ``ANSWERED_PATTERN``)."""
    return _ANSWERED.search(text) is not None


def answered_q(prefix: str = "") -> Q:
    """``is_answered`` as a query condition on a response's text (``prefix`` reaches it across
    a relation, e.g. ``"responses__"``)."""
    return Q(**{f"{prefix}text__regex": ANSWERED_PATTERN})


def unanswered_q(prefix: str = "") -> Q:
    return ~answered_q(prefix)


def started_exists(submission_ref: str = "pk"):
    """Whether the pupil has started the submission at ``submission_ref``: written an answer
    (``is_answered``) or cited a quotation. Opening the workspace creates the submission and its
    empty answers (autosave needs them), but a glance at the questions is not a start."""
    return Exists(
        Response.objects.filter(answered_q(), submission=OuterRef(submission_ref)).order_by()
    ) | Exists(Evidence.objects.filter(response__submission=OuterRef(submission_ref)).order_by())


# --- "Can this work still change?" ------------------------------------------------------------

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
    if is_time_up(submission, now=now) and assignment.on_time_limit == TimeLimitAction.HAND_IN:
        # Before the due date's rule: work out of time is handed in as it stood at the limit.
        raise WorkClosed(
            _("Time is up: your answers were handed in when the time limit ran out."), reason="time_up"
        )
    due = submission.student_due_at
    if due is not None and now > due and not assignment.late_allowed:
        raise WorkClosed(
            _("The due date has passed and this assignment does not accept late work."), reason="late"
        )


# The autosave is the busiest request there is (every few seconds for every pupil typing), so
# its two statements are written out in SQL: building the same conditions with the ORM cost
# several times the rest of the request. ``ACCEPTS_WORK_SQL`` holds, for a submission row ``s``, the
# rules ``_locked_submission`` applies: the student's own, in an assignment they can still see
# (``Assignment.objects.for_student``: their class's, set to the whole class or to them among its
# chosen pupils), in progress (``check_accepting``), open, and not past
# a strict due date, their extension counting (COALESCE(..., now) >= now: no due date at all
# passes), and not past an exam time limit that hands the work in (``is_time_up``).
# tests/analysis/test_work_services.py checks each rule on this path, and
# tests/analysis/test_support_levels.py runs both copies over the same cases.
ACCEPTS_WORK_SQL = """
    s.student_id = %(student)s AND s.status = 'in_progress' {assignment} AND s.assignment_id IN (
        SELECT a.id FROM analysis_assignment a
        JOIN accounts_classroom c ON c.id = a.classroom_id
        JOIN accounts_enrollment e ON e.classroom_id = c.id AND e.ended_at IS NULL
        WHERE e.student_id = %(student)s AND a.archived_at IS NULL AND c.archived_at IS NULL
        AND (NOT a.chosen_pupils_only OR EXISTS (SELECT 1 FROM analysis_assignedpupil p
             WHERE p.assignment_id = a.id AND p.student_id = %(student)s))
        AND a.opens_at <= %(now)s
        AND (a.late_allowed OR COALESCE(
            (SELECT x.due_at FROM analysis_extension x
             WHERE x.assignment_id = a.id AND x.student_id = %(student)s),
            a.due_at, %(now)s) >= %(now)s)
        AND (a.on_time_limit <> 'hand_in' OR s.time_up_at IS NULL OR s.time_up_at >= %(now)s))"""


def student_due_subquery(*, assignment_ref: str, student_ref):
    """The student's extended due date, if the teacher gave one (else NULL)."""
    return Subquery(
        Extension.objects.filter(assignment=OuterRef(assignment_ref), student=student_ref).values("due_at")[
            :1
        ]
    )
