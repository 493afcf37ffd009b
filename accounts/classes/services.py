"""Classes: create, rename, archive, join codes, removing a pupil, roster upload.
Every function checks that ``by`` teaches the class."""

import csv
import io
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Classroom, Enrollment, User

# Each new account's password is hashed with Django's PBKDF2 (1.5 M rounds, ~0.5 s of one core on
# the 2-core reference machine), so a roster costs about rows × 0.5 s ÷ cores: 60 rows take ~16 s
# there, inside a request's 30-second timeout. A year group is uploaded class by class.
ROSTER_MAX_ROWS = 60
ROSTER_FIELDS = ("username", "first name", "last name")
ROSTER_HEADER_NAMES = {"username", "user name", "user", "login"}

# Consonant-vowel syllables read aloud without confusion (no c/k, q, x, l/1, o/0 pairs).
_CONSONANTS = "bdfghjkmnprstvwz"
_VOWELS = "aeiu"


def _check_teaches(classroom: Classroom, user) -> None:
    if not classroom.teachers.filter(pk=user.pk).exists():
        raise PermissionDenied


# --- Classes -------------------------------------------------------------------


@transaction.atomic
def classroom_create(*, name: str, teacher) -> Classroom:
    """A new class of the teacher's school, taught by them."""
    if teacher.school_id is None:
        raise ValidationError(_("Your account is not linked to a school yet. Ask a site admin to add it."))
    classroom = Classroom(name=name.strip(), school_id=teacher.school_id)
    classroom.full_clean()
    classroom.save()
    classroom.teachers.add(teacher)
    return classroom


@transaction.atomic
def classroom_rename(*, classroom: Classroom, name: str, by) -> Classroom:
    _check_teaches(classroom, by)
    classroom.name = name.strip()
    classroom.full_clean()
    classroom.save(update_fields=["name"])
    return classroom


@transaction.atomic
def classroom_archive(*, classroom: Classroom, by, archived: bool = True) -> Classroom:
    """Archive (or restore) a class. Archiving turns the join code off and hides the
    class from students' lists; nothing is deleted."""
    _check_teaches(classroom, by)
    classroom.archived_at = timezone.now() if archived else None
    fields = ["archived_at"]
    if archived:
        classroom.join_code_enabled = False
        fields.append("join_code_enabled")
    classroom.save(update_fields=fields)
    return classroom


@transaction.atomic
def classroom_join_code_set(*, classroom: Classroom, by, enabled: bool | None = None, regenerate=False):
    """Turn the join code on or off, and/or replace it with a new one (the old one stops working)."""
    _check_teaches(classroom, by)
    if regenerate:
        classroom.regenerate_join_code()
    if enabled is not None and enabled != classroom.join_code_enabled:
        classroom.join_code_enabled = enabled
        classroom.save(update_fields=["join_code_enabled"])
    return classroom


@transaction.atomic
def enrollment_remove(*, classroom: Classroom, student, by, regenerate_code: bool = False) -> None:
    """Take a student off the roster: their enrolment ends (it is not deleted). Their
    submissions, answers and marks are kept, and rejoining starts a new period. With
    ``regenerate_code`` the class gets a new join code in the same step, so the removed student
    cannot rejoin with the old one."""
    _check_teaches(classroom, by)
    Enrollment.objects.current().filter(classroom=classroom, student=student).update(ended_at=timezone.now())
    if regenerate_code:
        classroom.regenerate_join_code()


def locked_out_usernames(usernames) -> set[str]:
    """Which of these user names django-axes is locking out now (wrong passwords from some
    address, within the cool-off). One query; for the class page's "Unlock" buttons."""
    from axes.models import AccessAttempt

    cooloff = timedelta(hours=settings.AXES_COOLOFF_TIME)
    return set(
        AccessAttempt.objects.filter(
            username__in=list(usernames),
            failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
            attempt_time__gte=timezone.now() - cooloff,
        ).values_list("username", flat=True)
    )


def enrollment_unlock(*, classroom: Classroom, student, by) -> int:
    """Lift a log-in lock-out from a pupil of this class, from every address (a pupil locked out
    by a classmate's guesses behind the school's one address, say). Returns how many lock-out
    records were cleared."""
    from axes.utils import reset

    _check_teaches(classroom, by)
    if not Enrollment.objects.current().filter(classroom=classroom, student=student).exists():
        raise PermissionDenied
    return reset(username=student.username)


@transaction.atomic
def student_password_reset(*, classroom: Classroom, student, by) -> str:
    """Give a pupil of this class a one-time password and return it (it is stored hashed
    only, so the caller shows it once). Their other sessions end with the old password, and
    at their next log-in they must choose their own before going anywhere else."""
    _check_teaches(classroom, by)
    if not classroom.enrollments.current().filter(student=student).exists() or not student.is_student:
        raise PermissionDenied
    password = generate_initial_password()
    student.set_password(password)
    student.must_change_password = True
    student.save(update_fields=["password", "must_change_password"])
    return password


# --- Roster upload -------------------------------------------------------------


@dataclass(frozen=True)
class RosterRow:
    line: int
    username: str
    first_name: str
    last_name: str


@dataclass(frozen=True)
class RosterProblem:
    line: int | None
    message: str

    def __str__(self):
        if self.line is None:
            return self.message
        return _("Line %(line)s: %(message)s") % {"line": self.line, "message": self.message}


class RosterInvalid(Exception):
    """The roster cannot be imported; ``problems`` lists every one found."""

    def __init__(self, problems: list[RosterProblem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class NewStudent:
    user: User
    password: str


def generate_initial_password() -> str:
    """Three pronounceable four-letter words, e.g. ``tavu-rime-kedu`` (about 36 bits):
    easy to read off a slip of paper, and log-in throttling guards against guessing."""
    words = [
        "".join(secrets.choice(_CONSONANTS) + secrets.choice(_VOWELS) for _ in range(2)) for _ in range(3)
    ]
    return "-".join(words)


def _decode(data: bytes) -> str:
    try:
        # utf-8-sig drops the byte-order mark spreadsheet programs put at the start.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RosterInvalid(
            [
                RosterProblem(
                    None,
                    _(
                        "The file is not UTF-8 text (problem at byte %(position)s). "
                        "In your spreadsheet choose “Save as… CSV UTF-8” and upload it again."
                    )
                    % {"position": error.start + 1},
                )
            ]
        ) from error


def roster_parse(data: bytes) -> list[RosterRow]:
    """Read a CSV roster: username, first name, last name; a header row is optional.

    Raises ``RosterInvalid`` listing every bad row (with its line number) — including
    usernames repeated in the file or already taken — so the teacher fixes them in one go.
    """
    text = _decode(data)
    if "\x00" in text:
        # Not text a name can hold (the database refuses it); usually a file saved as UTF-16.
        raise RosterInvalid(
            [
                RosterProblem(
                    text.count("\n", 0, text.index("\x00")) + 1,
                    _(
                        "the file contains a null character, which no name can hold (a file saved as "
                        "UTF-16 looks like this). In your spreadsheet choose “Save as… CSV UTF-8” and "
                        "upload it again."
                    ),
                )
            ]
        )
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[RosterRow] = []
    problems: list[RosterProblem] = []
    first_seen: dict[str, int] = {}
    max_length = User._meta.get_field("username").max_length
    name_length = User._meta.get_field("first_name").max_length
    records: list[tuple[int, list[str]]] = []
    try:
        previous_end = 0
        for record in reader:
            # line_num counts physical lines read so far; a quoted field may span several.
            records.append((previous_end + 1, record))
            previous_end = reader.line_num
    except csv.Error as error:
        raise RosterInvalid(
            [RosterProblem(reader.line_num, _("The file is not valid CSV (%(error)s).") % {"error": error})]
        ) from error
    seen_content = False
    for line, record in records:
        cells = [cell.strip() for cell in record]
        while cells and not cells[-1]:
            cells.pop()  # trailing empty cells from spreadsheets
        if not cells:
            continue
        if not seen_content and cells[0].lower() in ROSTER_HEADER_NAMES:
            seen_content = True
            continue
        seen_content = True
        if len(cells) > len(ROSTER_FIELDS):
            problems.append(
                RosterProblem(
                    line,
                    _("too many fields: expected username, first name and last name, found %(count)s.")
                    % {"count": len(cells)},
                )
            )
            continue
        cells += [""] * (len(ROSTER_FIELDS) - len(cells))
        username, first_name, last_name = cells
        missing = [label for label, value in zip(_field_labels(), cells, strict=True) if not value]
        if missing:
            problems.append(RosterProblem(line, _("missing %(fields)s.") % {"fields": ", ".join(missing)}))
            continue
        row_problems = []
        if len(username) > max_length:
            row_problems.append(_("username is too long (at most %(max)s characters).") % {"max": max_length})
        else:
            try:
                User.username_validator(username)
            except ValidationError:
                row_problems.append(
                    _(
                        "username “%(username)s” has invalid characters: use letters, digits "
                        "and @ . + - _ only, with no spaces."
                    )
                    % {"username": username}
                )
        for label, value in ((_("first name"), first_name), (_("last name"), last_name)):
            if len(value) > name_length:
                row_problems.append(
                    _("%(field)s is too long (at most %(max)s characters).")
                    % {"field": label, "max": name_length}
                )
        key = username.lower()
        if key in first_seen:
            row_problems.append(
                _("username “%(username)s” is repeated (first on line %(first)s).")
                % {"username": username, "first": first_seen[key]}
            )
        else:
            first_seen[key] = line
        if row_problems:
            problems.extend(RosterProblem(line, message) for message in row_problems)
            continue
        rows.append(RosterRow(line, username, first_name, last_name))
    if len(rows) > ROSTER_MAX_ROWS:
        problems.append(
            RosterProblem(
                None, _("A roster can add at most %(max)s students at once.") % {"max": ROSTER_MAX_ROWS}
            )
        )
    taken = _taken_usernames([row.username for row in rows])
    for row in rows:
        if row.username.lower() in taken:
            problems.append(
                RosterProblem(
                    row.line, _("username “%(username)s” is already taken.") % {"username": row.username}
                )
            )
    if not rows and not problems:
        problems.append(RosterProblem(None, _("The file has no students in it.")))
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise RosterInvalid(problems)
    return rows


def _field_labels():
    return [_("username"), _("first name"), _("last name")]


def _taken_usernames(usernames: list[str]) -> set[str]:
    lowered = [name.lower() for name in usernames]
    if not lowered:
        return set()
    return set(
        User.objects.annotate(lowered=Lower("username"))
        .filter(lowered__in=lowered)
        .values_list("lowered", flat=True)
    )


def roster_import(*, classroom: Classroom, data: bytes, by) -> list[NewStudent]:
    """Create a student account per roster row, enrol each in the class and return them
    with their initial passwords (which are never stored in clear). All or nothing."""
    _check_teaches(classroom, by)
    rows = roster_parse(data)
    passwords = [generate_initial_password() for _row in rows]
    # Hashing is nearly all the work: spread it over the cores (hashlib releases the GIL), before
    # the transaction, so no database lock or connection waits on it.
    with ThreadPoolExecutor(max_workers=min(len(rows), os.cpu_count() or 1) or 1) as pool:
        hashed = list(pool.map(make_password, passwords))
    created = []
    try:
        with transaction.atomic():
            for row, password, encoded in zip(rows, passwords, hashed, strict=True):
                user = User(
                    username=row.username,
                    first_name=row.first_name,
                    last_name=row.last_name,
                    role=User.Role.STUDENT,
                    password=encoded,
                )
                user.save()
                Enrollment.objects.create(classroom=classroom, student=user)
                created.append(NewStudent(user, password))
    except IntegrityError as error:
        # Someone took one of the usernames between the check and the insert.
        raise RosterInvalid(
            [RosterProblem(None, _("A username was taken while importing; nothing was added. Try again."))]
        ) from error
    return created
