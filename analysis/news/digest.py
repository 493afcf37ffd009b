"""The daily e-mail digest of what's new (docs/whats-new.md): built and sent for one user by the
background worker (``analysis.news.tasks``), only to users who switched it on.

A pupil's digest lists work set since their last digest that they have not opened, and feedback
returned since then that they have not read; a teacher's lists, per assignment, how much was
handed in since then and how much of it late. Titles, class names and counts only: never the text
of an answer, and a pupil's digest holds nothing of anyone else's.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Count, Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from analysis.classwork.selectors import assignments_visible_to
from analysis.models import Assignment, Submission
from analysis.news.selectors import HANDED_IN, feedback_unread_q

# At most one digest a day: a second run within this gap (a double enqueue, cron and the
# self-scheduling task both configured) sends nothing and leaves the news for the next one.
MIN_GAP = timedelta(hours=20)
# A first digest covers the last day.
FIRST_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class DigestLine:
    text: str
    url: str


def _absolute(path: str) -> str:
    return settings.SITE_URL + path


def _date(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%a %-d %b, %H:%M}"


def digest_lines(user: User, *, since: datetime, now: datetime) -> list[DigestLine]:
    """What is new for ``user`` in (``since``, ``now``]."""
    if user.is_student:
        return _pupil_lines(user, since=since, now=now)
    if user.is_teacher:
        return _teacher_lines(user, since=since, now=now)
    return []


def _pupil_lines(student: User, *, since: datetime, now: datetime) -> list[DigestLine]:
    lines = []
    opened = Submission.objects.filter(assignment=OuterRef("pk"), student=student.pk)
    new_work = (
        assignments_visible_to(student)
        .filter(opens_at__lte=now)
        .filter(Q(opens_at__gt=since) | Q(created_at__gt=since))
        .filter(~Exists(opened))
        .filter(Q(student_due_at__isnull=True) | Q(student_due_at__gte=now))
        .order_by("opens_at", "pk")
    )
    for assignment in new_work:
        values = {"title": assignment.exercise.title, "class": assignment.classroom.name}
        if assignment.student_due_at:
            values["due"] = _date(assignment.student_due_at)
            text = _("New work: %(title)s (%(class)s), due %(due)s") % values
        else:
            text = _("New work: %(title)s (%(class)s)") % values
        lines.append(DigestLine(text, _absolute(reverse("learn:workspace", args=[assignment.pk]))))
    returned = (
        Submission.objects.filter(
            feedback_unread_q(),
            student=student,
            assignment__in=Assignment.objects.for_student(student),
            returned_at__gt=since,
            returned_at__lte=now,
        )
        .select_related("assignment__exercise", "assignment__classroom")
        .order_by("returned_at", "pk")
    )
    for submission in returned:
        values = {
            "title": submission.assignment.exercise.title,
            "class": submission.assignment.classroom.name,
        }
        lines.append(
            DigestLine(
                _("Feedback returned: %(title)s (%(class)s)") % values,
                _absolute(reverse("learn:feedback", args=[submission.assignment_id])),
            )
        )
    return lines


def _teacher_lines(teacher: User, *, since: datetime, now: datetime) -> list[DigestLine]:
    counts = {
        row["assignment"]: row
        for row in Submission.objects.filter(
            assignment__in=Assignment.objects.for_teacher(teacher).filter(
                classroom__archived_at__isnull=True
            ),
            status__in=HANDED_IN,
            submitted_at__gt=since,
            submitted_at__lte=now,
        )
        .order_by()
        .values("assignment")
        .annotate(n=Count("pk"), late=Count("pk", filter=Q(is_late=True)))
    }
    lines = []
    for assignment in (
        Assignment.objects.filter(pk__in=counts)
        .select_related("exercise", "classroom")
        .order_by("due_at", "pk")
    ):
        row = counts[assignment.pk]
        values = {"title": assignment.exercise.title, "class": assignment.classroom.name, "n": row["n"]}
        text = _("%(title)s (%(class)s): %(n)s handed in") % values
        if row["late"]:
            text += ", " + _("%(late)s late") % {"late": row["late"]}
        lines.append(DigestLine(text, _absolute(reverse("teach:assignment-progress", args=[assignment.pk]))))
    return lines


def digest_send(*, user_id: int, now: datetime | None = None) -> int:
    """Send one user's digest if they want one and something is new since their last one.
    Returns the number of items sent (0: no e-mail).

    Idempotent: the window (``last_digest_at``, now] is claimed with a compare-and-set before
    anything is sent, so two workers running the same user's task send at most one e-mail, and
    a second run within ``MIN_GAP`` sends nothing."""
    now = now or timezone.now()
    user = (
        User.objects.filter(pk=user_id, is_active=True, email_digest=True)
        .exclude(email="")
        .only("pk", "role", "email", "first_name", "last_name", "username", "last_digest_at")
        .first()
    )
    if user is None:
        return 0
    last = user.last_digest_at
    if last is not None and now - last < MIN_GAP:
        return 0
    if not User.objects.filter(pk=user.pk, last_digest_at=last).update(last_digest_at=now):
        return 0  # another run claimed this window
    lines = digest_lines(user, since=last or now - FIRST_WINDOW, now=now)
    if not lines:
        return 0
    context = {
        "user": user,
        "lines": lines,
        "settings_url": _absolute(reverse("accounts:notifications")),
        "home_url": _absolute(reverse("home")),
    }
    send_mail(
        subject=_("Provenance: what's new"),
        message=render_to_string("analysis/email/digest.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )
    return len(lines)


def digest_recipients() -> list[int]:
    """Everyone whose digest is on and who has an address."""
    return list(
        User.objects.filter(is_active=True, email_digest=True)
        .exclude(email="")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
