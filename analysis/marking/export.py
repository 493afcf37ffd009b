"""The marks export: one row per pupil (written by config.spreadsheet, which makes every cell
spreadsheet-safe)."""

from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from analysis.marking.selectors import progress_grid
from analysis.models import Assignment, Submission
from config.spreadsheet import csv_safe  # noqa: F401 - the one rule, kept importable from here

# --- Reading: export and class insight --------------------------------------------


def export_table(assignment: Assignment, questions) -> tuple[list[str], list[list]]:
    """Header and one row per enrolled student: each question's mark, total (blank when
    nothing is marked), whether the marks are a draft or released, status and times. With
    anonymous marking, a student whose marks are not yet released appears under their
    "Student N" label, without username, exactly as on the marking pages."""

    def when(moment):
        return date_format(localtime(moment), "Y-m-d H:i") if moment else ""

    header = [_("Student"), _("Username")]
    header += [
        _("Q%(number)s %(stage)s (/%(max)s)")
        % {"number": q.number, "stage": q.get_stage_display(), "max": q.max_marks}
        for q in questions
    ]
    header += [
        _("Total"),
        _("Out of"),
        _("Marks"),
        _("Status"),
        _("Handed in at"),
        _("Late"),
        _("Returned at"),
    ]
    out_of = sum(q.max_marks for q in questions)
    rows = []
    for row in progress_grid(assignment, questions):
        marks = ["" if cell.marks is None else cell.marks for cell in row.cells]
        submission = row.submission
        given = [m for m in marks if m != ""]
        # Marks a pupil cannot see yet are flagged, so a spreadsheet is never taken for results.
        if not given:
            released = ""
        elif submission is not None and submission.status == Submission.Status.RETURNED:
            released = _("released")
        else:
            released = _("draft")
        rows.append(
            [
                row.name,
                "" if row.hidden else row.student.username,
                *marks,
                sum(given) if given else "",  # nothing marked (not started, say) is blank, not 0
                out_of,
                str(released),
                Submission.status_label(row.status),
                when(submission.submitted_at) if submission else "",
                (_("yes") if submission.is_late else _("no")) if submission else "",
                when(submission.returned_at) if submission else "",
            ]
        )
    return [str(h) for h in header], rows
