"""The markbook: a class's pupils against its assignments, one cell each, in a fixed number of
queries whatever the class size (pupils, assignments, chosen pupils, extensions, submissions).

What a cell shows, and the rules it keeps:

- a released mark (the work is returned) and its percentage;
- a draft mark (marked, not released yet), flagged as a draft, except under anonymous marking:
  there a pupil's name and their marks never meet before release, so the cell shows the state of
  the work only and does not link to the (blind) marking page;
- otherwise the state of the work in the one vocabulary of every teacher's page
  (``selectors.work_status``: not started, in progress, handed in, returned), with "late" and
  "extension" beside it;
- "not set" for a pupil an assignment set to chosen pupils is not for.

Averages and sorting read only what the cells show, so a hidden draft mark cannot be inferred
from the order of the rows or from the class average.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import F, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Classroom, Enrollment, display_name_of
from analysis.classwork.rules import started_exists
from analysis.marking.selectors import work_status
from analysis.models import AssignedPupil, Assignment, Extension, Mark, Question, Submission

# How the states of unmarked work sort, least done first.
STATUS_ORDER = {"not-started": 0, "in-progress": 1, "submitted": 2, "returned": 3}


@dataclass(slots=True)
class MarkbookColumn:
    """One assignment of the class."""

    pk: int
    title: str
    due_at: datetime | None
    out_of: int
    anonymous: bool
    chosen_pupils_only: bool
    average: float | None = None  # of the percentages shown in the column
    sorting: "Sorting | None" = None

    @property
    def key(self) -> str:
        return f"a{self.pk}"


@dataclass(slots=True)
class MarkbookCell:
    set_to: bool  # False: the assignment is for chosen pupils, not this one
    status: str = "not-started"  # ``work_status``; with a hyphen, as the badges' CSS has it
    submission_id: int | None = None
    marks: int | None = None  # None: no mark shown (none given, or hidden by anonymous marking)
    out_of: int = 0
    draft: bool = False  # a mark not released to the pupil yet
    late: bool = False
    extension_to: datetime | None = None
    linked: bool = False  # whether the cell links into the marking page

    @property
    def percent(self) -> int | None:
        if self.marks is None or not self.out_of:
            return None
        return round(self.marks * 100 / self.out_of)

    @property
    def status_label(self) -> str:
        return Submission.status_label(self.status)

    def sort_key(self) -> tuple:
        """Ascending: marked work by percentage, then unmarked work by how far it has got, then
        cells of pupils not set the work (always last, whichever way the column is sorted)."""
        if not self.set_to:
            return (2, 0)
        if self.percent is not None:
            return (0, self.percent)
        return (1, STATUS_ORDER[self.status])


@dataclass(slots=True)
class MarkbookRow:
    pupil_id: int
    username: str
    name: str
    sort_name: tuple
    cells: list[MarkbookCell] = field(default_factory=list)

    @property
    def average(self) -> float | None:
        """The pupil's mean percentage over the marks shown in their row."""
        shown = [cell.percent for cell in self.cells if cell.percent is not None]
        return round(sum(shown) / len(shown), 1) if shown else None


@dataclass(slots=True)
class Markbook:
    classroom: Classroom
    columns: list[MarkbookColumn]
    rows: list[MarkbookRow]
    sort: str  # the applied ``?sort=`` value
    average: float | None = None  # the class's mean of the pupils' averages

    def sorting(self, key: str) -> "Sorting":
        """How the column ``key`` is sorted now and the ``?sort=`` its header's link asks for:
        the other way if it is the sorted column, else ascending (marks: highest first)."""
        if self.sort == key:
            return Sorting(key, "ascending", f"-{key}")
        if self.sort == f"-{key}":
            return Sorting(key, "descending", key)
        return Sorting(key, None, key if key == "name" else f"-{key}")

    @property
    def name_sorting(self) -> "Sorting":
        return self.sorting("name")

    @property
    def average_sorting(self) -> "Sorting":
        return self.sorting("average")


@dataclass(frozen=True, slots=True)
class Sorting:
    key: str
    aria_sort: str | None  # "ascending", "descending", or None when unsorted by this column
    next_sort: str


def _out_of_subquery():
    per_exercise = (
        Question.objects.filter(exercise=OuterRef("exercise"))
        .order_by()
        .values("exercise")
        .annotate(total=Sum("max_marks"))
        .values("total")
    )
    return Coalesce(Subquery(per_exercise[:1]), 0, output_field=IntegerField())


def _marks_subquery():
    """The sum of the marks given to a submission's answers (None: none marked)."""
    given = (
        Mark.objects.filter(response__submission=OuterRef("pk"))
        .order_by()
        .values("response__submission")
        .annotate(total=Sum("marks"))
        .values("total")
    )
    return Subquery(given[:1], output_field=IntegerField())


def _cell(column: MarkbookColumn, submission, *, set_to: bool, due_at, extension_to, now) -> MarkbookCell:
    if not set_to:
        return MarkbookCell(set_to=False)
    cell = MarkbookCell(set_to=True, out_of=column.out_of, extension_to=extension_to)
    if submission is None:
        cell.late = due_at is not None and now > due_at
        return cell
    pk, status, is_late, started, marks = submission
    cell.submission_id = pk
    cell.status = work_status(status, started=started)
    handed_in = status in (Submission.Status.SUBMITTED, Submission.Status.RETURNED)
    cell.late = is_late or (not handed_in and due_at is not None and now > due_at)
    released = status == Submission.Status.RETURNED
    if column.anonymous and not released:
        return cell  # the state only, and no way from this name into the blind marking page
    cell.linked = True
    if marks is not None:
        cell.marks = marks
        cell.draft = not released
    return cell


def markbook(classroom: Classroom, *, sort: str = "name") -> Markbook:
    """The markbook of one class: its pupils now against its current assignments (soonest due
    first, those without a deadline last), sorted by ``sort`` ("name", "average", or
    "a<assignment id>"; "-" before it reverses); an unknown key sorts by name."""
    now = timezone.now()
    pupils = list(
        Enrollment.objects.current()
        .filter(classroom=classroom)
        .order_by("student__last_name", "student__first_name", "student__username")
        .values_list("student_id", "student__username", "student__first_name", "student__last_name")
    )
    assignments = list(
        Assignment.objects.filter(classroom=classroom, archived_at__isnull=True)
        .annotate(out_of=_out_of_subquery())
        .order_by(F("due_at").asc(nulls_last=True), "opens_at", "pk")
        .values_list("pk", "exercise__title", "due_at", "out_of", "anonymous_marking", "chosen_pupils_only")
    )
    columns = [MarkbookColumn(*values) for values in assignments]
    ids = [column.pk for column in columns]
    chosen = set(
        AssignedPupil.objects.filter(assignment_id__in=ids, assignment__chosen_pupils_only=True).values_list(
            "assignment_id", "student_id"
        )
    )
    extensions = {
        (assignment_id, student_id): due_at
        for assignment_id, student_id, due_at in Extension.objects.filter(assignment_id__in=ids).values_list(
            "assignment_id", "student_id", "due_at"
        )
    }
    submissions = {
        (assignment_id, student_id): rest
        for assignment_id, student_id, *rest in Submission.objects.filter(assignment_id__in=ids)
        .annotate(started=started_exists(), given=_marks_subquery())
        .order_by()
        .values_list("assignment_id", "student_id", "pk", "status", "is_late", "started", "given")
    }
    due = {column.pk: column.due_at for column in columns}
    rows = []
    for pupil_id, username, first_name, last_name in pupils:
        row = MarkbookRow(
            pupil_id=pupil_id,
            username=username,
            name=display_name_of(first_name, last_name, username),
            sort_name=(last_name.lower(), first_name.lower(), username.lower()),
        )
        for column in columns:
            extension_to = extensions.get((column.pk, pupil_id))
            row.cells.append(
                _cell(
                    column,
                    submissions.get((column.pk, pupil_id)),
                    set_to=not column.chosen_pupils_only or (column.pk, pupil_id) in chosen,
                    due_at=extension_to or due[column.pk],
                    extension_to=extension_to,
                    now=now,
                )
            )
        rows.append(row)
    for index, column in enumerate(columns):
        shown = [row.cells[index].percent for row in rows if row.cells[index].percent is not None]
        column.average = round(sum(shown) / len(shown), 1) if shown else None
    averages = [row.average for row in rows if row.average is not None]
    book = Markbook(
        classroom=classroom,
        columns=columns,
        rows=rows,
        sort="name",
        average=round(sum(averages) / len(averages), 1) if averages else None,
    )
    _sort(book, sort)
    for column in columns:
        column.sorting = book.sorting(column.key)
    return book


def _sort(book: Markbook, sort: str) -> None:
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    rows = book.rows
    if key == "average":
        marked = sorted((r for r in rows if r.average is not None), key=lambda r: (r.average, r.sort_name))
        if descending:
            marked.sort(key=lambda r: r.average, reverse=True)  # stable: names stay in order on ties
        book.rows = marked + [r for r in rows if r.average is None]
    elif key.startswith("a") and key[1:].isascii() and key[1:].isdigit():
        index = next((i for i, column in enumerate(book.columns) if str(column.pk) == key[1:]), None)
        if index is None:
            return _sort(book, "name")
        rows.sort(key=lambda r: r.sort_name)

        def order(row):
            group, value = row.cells[index].sort_key()
            return (group, -value if descending else value)

        rows.sort(key=order)
    elif key == "name":
        rows.sort(key=lambda r: r.sort_name, reverse=descending)
    else:
        return _sort(book, "name")
    book.sort = sort


def csv_table(book: Markbook) -> tuple[list[str], list[list]]:
    """The markbook as a spreadsheet: per assignment its marks, percentage and state, exactly as
    the page shows them (a hidden draft mark stays hidden), a last row of class averages."""
    header = [_("Pupil"), _("Username")]
    for column in book.columns:
        title = column.title
        if column.due_at:
            title = f"{title} ({timezone.localtime(column.due_at):%Y-%m-%d})"
        header += [
            _("%(title)s: marks (/%(out_of)s)") % {"title": title, "out_of": column.out_of},
            _("%(title)s: %%") % {"title": title},
            _("%(title)s: state") % {"title": title},
        ]
    header.append(_("Average %"))

    def state(cell: MarkbookCell) -> str:
        if not cell.set_to:
            return str(_("not set"))
        if cell.marks is not None:
            words = [str(_("draft") if cell.draft else _("released"))]
        else:
            words = [cell.status_label]
        if cell.late:
            words.append(str(_("late")))
        if cell.extension_to:
            words.append(
                _("extension to %(date)s") % {"date": f"{timezone.localtime(cell.extension_to):%Y-%m-%d}"}
            )
        return ", ".join(words)

    def blank(value):
        return "" if value is None else value

    rows = []
    for row in book.rows:
        line = [row.name, row.username]
        for cell in row.cells:
            line += [blank(cell.marks), blank(cell.percent), state(cell)]
        line.append(blank(row.average))
        rows.append(line)
    averages = [_("Class average"), ""]
    for column in book.columns:
        averages += ["", blank(column.average), ""]
    averages.append(blank(book.average))
    rows.append(averages)
    return [str(h) for h in header], rows
