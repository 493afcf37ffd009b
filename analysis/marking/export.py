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
    return [str(h) for h in header], rows
