"""Pupils' classwork: assignments (an exercise set to a class), extensions, submissions,
responses (answers) and the evidence cited in them."""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Case, Count, Exists, OuterRef, Prefetch, Q, Subquery, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analysis.library.models import Exercise, Passage, Question, Region

# --- Classroom work ----------------------------------------------------------


class SupportLevel(models.TextChoices):
    """How much help pupils get beside the sources (see ``SUPPORT_SHOWS``)."""

    GUIDED = "guided", _("Guided")
    STANDARD = "standard", _("Standard")
    EXAM = "exam", _("Exam conditions")


class TimeLimitAction(models.TextChoices):
    """What happens when an exam-conditions time limit runs out."""

    HAND_IN = "hand_in", _("Hand the work in at the limit")
    MARK_LATE = "mark_late", _("Let the pupil carry on, and mark the work late")


# What pupils see at each support level. Caption, passages and glossary: always.
SUPPORT_SHOWS = {
    SupportLevel.GUIDED: frozenset({"origin", "context", "background", "hints", "starters", "modified"}),
    SupportLevel.STANDARD: frozenset({"origin", "background", "hints"}),
    SupportLevel.EXAM: frozenset(),
}


class AssignmentQuerySet(models.QuerySet):
    def current(self):
        return self.filter(archived_at__isnull=True)

    def for_student(self, user):
        """Open-or-upcoming assignments of the classes this student is enrolled in, set to the
        whole class or to them among its chosen pupils (``Assignment.chosen_pupils_only``)."""
        if not user.is_authenticated or not user.is_student:
            return self.none()
        return self.current().filter(
            Q(chosen_pupils_only=False)
            | Exists(AssignedPupil.objects.filter(assignment=OuterRef("pk"), student=user)),
            classroom__enrollments__student=user,
            classroom__enrollments__ended_at__isnull=True,
            classroom__archived_at__isnull=True,
        )

    def for_teacher(self, user):
        """Assignments of the classes this teacher teaches."""
        if not user.is_authenticated or not user.is_teacher:
            return self.none()
        return self.current().filter(classroom__teachers=user)

    def taught_by(self, user):
        """Every assignment of the classes this teacher teaches, unassigned ones included:
        their work is kept, so the teacher can still open, mark and export it."""
        if not user.is_authenticated or not user.is_teacher:
            return self.none()
        return self.filter(classroom__teachers=user)

    def with_progress_counts(self):
        """Annotate ``student_total`` (the pupils it is set to who are in the class now: all of them,
        or the chosen ones), ``submitted_count`` (handed in or returned),
        ``to_mark_count`` (handed in with an answer still unmarked) and ``to_release_count``
        (handed in, every answer marked). Subqueries, so no row multiplication and no
        per-row queries however large the class."""
        from accounts.models import Enrollment

        def counted(queryset, key):
            return Coalesce(
                Subquery(queryset.order_by().values(key).annotate(n=Count("pk")).values("n")[:1]),
                0,
            )

        from analysis.classwork.rules import answered_q

        unmarked = Response.objects.filter(answered_q(), submission=OuterRef("pk"), mark__isnull=True)
        handed_in = Submission.objects.filter(assignment=OuterRef("pk"), status=Submission.Status.SUBMITTED)
        enrolled = Enrollment.objects.current().filter(classroom=OuterRef("classroom"))
        return self.annotate(
            student_total=Case(
                When(
                    chosen_pupils_only=True,
                    then=counted(
                        enrolled.filter(
                            student__in=AssignedPupil.objects.filter(
                                assignment=OuterRef(OuterRef("pk"))
                            ).values("student_id")
                        ),
                        "classroom",
                    ),
                ),
                default=counted(enrolled, "classroom"),
            ),
            submitted_count=counted(
                Submission.objects.filter(
                    assignment=OuterRef("pk"),
                    status__in=[Submission.Status.SUBMITTED, Submission.Status.RETURNED],
                ),
                "assignment",
            ),
            to_mark_count=counted(handed_in.filter(Exists(unmarked)), "assignment"),
            to_release_count=counted(handed_in.filter(~Exists(unmarked)), "assignment"),
        )


class Assignment(models.Model):
    exercise = models.ForeignKey(
        Exercise, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("exercise")
    )
    classroom = models.ForeignKey(
        "accounts.Classroom",
        on_delete=models.PROTECT,
        related_name="assignments",
        verbose_name=_("class"),
    )
    opens_at = models.DateTimeField(_("opens"), default=timezone.now)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    hints_enabled = models.BooleanField(_("hints on"), default=True)
    late_allowed = models.BooleanField(_("late work allowed"), default=True)
    anonymous_marking = models.BooleanField(_("anonymous marking"), default=False)
    release_model_answers = models.BooleanField(_("release model answers with marks"), default=False)
    note = models.TextField(
        _("note to the class"),
        blank=True,
        max_length=1000,
        help_text=_("Optional. Pupils see it on their assignment list and above the sources."),
    )
    support_level = models.CharField(
        _("support"), max_length=16, choices=SupportLevel.choices, default=SupportLevel.STANDARD
    )
    time_limit_minutes = models.PositiveSmallIntegerField(
        _("time limit (minutes)"),
        null=True,
        blank=True,
        help_text=_("Exam conditions only. The clock starts when a pupil first opens the work."),
    )
    on_time_limit = models.CharField(
        _("when time runs out"),
        max_length=16,
        choices=TimeLimitAction.choices,
        default=TimeLimitAction.HAND_IN,
    )
    # Set to chosen pupils of the class rather than to all of it: only those in ``pupils`` see
    # it, may work on it, and appear on its grid, export and the markbook. A flag, not "no pupils
    # means the whole class", so that an assignment whose chosen pupils all left is set to nobody.
    chosen_pupils_only = models.BooleanField(_("set to chosen pupils only"), default=False)
    pupils = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="AssignedPupil",
        blank=True,
        related_name="assignments_chosen_for",
        verbose_name=_("pupils"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assignments_created",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    archived_at = models.DateTimeField(_("unassigned"), null=True, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.CheckConstraint(
                condition=Q(due_at__isnull=True) | Q(due_at__gt=models.F("opens_at")),
                name="assignment_due_after_open",
            ),
            models.CheckConstraint(
                condition=Q(support_level__in=SupportLevel.values), name="assignment_support_level_valid"
            ),
            models.CheckConstraint(
                condition=Q(time_limit_minutes__isnull=True) | Q(time_limit_minutes__gte=1),
                name="assignment_time_limit_positive",
            ),
        ]
        indexes = [models.Index(fields=["classroom", "archived_at"], name="assignment_class_idx")]

    def __str__(self):
        return f"{self.exercise.title} — {self.classroom.name}"

    def set_to(self):
        """The pupils this assignment is for, as a query of users: those in the class now, all of
        them or only the chosen ones. Every teacher's page that lists pupils for it reads this."""
        from accounts.models import User

        pupils = User.objects.filter(
            enrollments__classroom_id=self.classroom_id, enrollments__ended_at__isnull=True
        )
        if self.chosen_pupils_only:
            pupils = pupils.filter(assigned_pupils__assignment=self)
        return pupils

    def is_open(self, now=None) -> bool:
        return (now or timezone.now()) >= self.opens_at

    def due_for(self, student) -> "timezone.datetime | None":
        """The due date for one student, counting an extension if there is one."""
        for extension in self.extensions.all():
            if extension.student_id == student.pk:
                return extension.due_at
        return self.due_at


class AssignedPupil(models.Model):
    """One pupil an assignment set to chosen pupils (``Assignment.chosen_pupils_only``) is for."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="assigned_pupils")
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assigned_pupils"
    )

    class Meta:
        verbose_name = _("chosen pupil")
        verbose_name_plural = _("chosen pupils")
        constraints = [
            models.UniqueConstraint(fields=["assignment", "student"], name="assigned_pupil_once"),
        ]
        # Looked up by pupil on every page of theirs (``for_student``) and the autosave.
        indexes = [models.Index(fields=["student", "assignment"], name="assigned_pupil_student_idx")]

    def __str__(self):
        return f"{self.student} — {self.assignment_id}"


class Extension(models.Model):
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="extensions")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="extensions")
    due_at = models.DateTimeField(_("extended to"))

    class Meta:
        verbose_name = _("extension")
        verbose_name_plural = _("extensions")
        constraints = [
            models.UniqueConstraint(fields=["assignment", "student"], name="extension_one_per_student")
        ]

    def __str__(self):
        return f"{self.student} until {self.due_at:%Y-%m-%d}"


class StudentSupport(models.Model):
    """One pupil's support for one assignment: another support level than the class's
    (blank: the assignment's) and extra time on an exam-conditions time limit."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="supports")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="supports")
    support_level = models.CharField(
        _("support"),
        max_length=16,
        choices=SupportLevel.choices,
        blank=True,
        help_text=_("Leave empty for the assignment's level."),
    )
    extra_time_percent = models.PositiveSmallIntegerField(
        _("extra time (%)"), default=0, help_text=_("Added to an exam-conditions time limit, e.g. 25.")
    )

    class Meta:
        verbose_name = _("pupil support")
        verbose_name_plural = _("pupil support")
        constraints = [
            models.UniqueConstraint(fields=["assignment", "student"], name="student_support_one_per_student"),
            models.CheckConstraint(
                condition=Q(support_level__in=["", *SupportLevel.values]), name="student_support_level_valid"
            ),
            models.CheckConstraint(
                condition=Q(extra_time_percent__lte=300), name="student_support_extra_time_bounded"
            ),
        ]

    def __str__(self):
        return f"{self.student} — {self.support_level or '='} +{self.extra_time_percent}%"


class SubmissionQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Own work for a student; the classes they teach for a teacher; nothing else."""
        if not user.is_authenticated:
            return self.none()
        if user.is_teacher:
            return self.filter(assignment__classroom__teachers=user)
        return self.filter(student=user)


class Submission(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        # One word for one state, on every page, the grid and the export: pupils and
        # teachers both say "handed in".
        SUBMITTED = "submitted", _("Handed in")
        RETURNED = "returned", _("Returned")

    NOT_STARTED = "not_started"  # no submission row yet: a state of the work, not of a row

    assignment = models.ForeignKey(
        Assignment,
        on_delete=models.PROTECT,
        related_name="submissions",
        verbose_name=_("assignment"),
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="submissions",
        verbose_name=_("student"),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    # Exam conditions with a time limit: when this pupil's time runs out (their start, plus the
    # limit and any extra time); NULL without a limit. Kept by ``analysis.classwork.timing``.
    time_up_at = models.DateTimeField(_("time runs out"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    returned_at = models.DateTimeField(_("returned"), null=True, blank=True)
    # When the pupil last read the returned feedback: the feedback is new while this is empty or
    # older than ``returned_at`` (a reopened and re-released piece of work is new again).
    feedback_seen_at = models.DateTimeField(_("feedback read"), null=True, blank=True)
    is_late = models.BooleanField(_("late"), default=False)
    receipt_hash = models.CharField(_("receipt"), max_length=64, blank=True)
    overall_comment = models.TextField(_("overall comment"), blank=True)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["assignment", "student__last_name", "student__first_name", "student__username"]
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "student"], name="submission_one_per_student_per_assignment"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["in_progress", "submitted", "returned"]),
                name="submission_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="in_progress") | Q(submitted_at__isnull=False),
                name="submission_submitted_has_time",
            ),
        ]
        indexes = [models.Index(fields=["assignment", "status"], name="submission_status_idx")]

    def __str__(self):
        return f"{self.student} — {self.assignment}"

    @classmethod
    def status_label(cls, status: str) -> str:
        """The label of a state of a pupil's work, "not started" included. ``status`` is a
        Status value or its hyphenated CSS form ("in-progress", "not-started")."""
        status = status.replace("-", "_")
        if status == cls.NOT_STARTED:
            return str(_("Not started"))
        return str(cls.Status(status).label)

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.IN_PROGRESS

    def compute_receipt_hash(self, responses) -> str:
        digest = hashlib.sha256()
        for response in sorted(responses, key=lambda r: r.question_id):
            digest.update(f"{response.question_id}:{response.version}:".encode())
            digest.update(response.text.encode())
            digest.update(b"\x00")
        return digest.hexdigest()


def answer_fingerprint(text: str, citations) -> str:
    """SHA-256 of an answer's text and its evidence (``(passage id, start, end)`` triples, in
    any order; a cited region of an image is ``("r<region id>", 0, 0)``): equal exactly when the
    pupil's answer is the same."""
    digest = hashlib.sha256(text.encode("utf-8"))
    digest.update(b"\x00")
    citations = list(citations)
    for passage_id, start, end in sorted(c for c in citations if not isinstance(c[0], str)):
        digest.update(f"{passage_id}:{start}:{end};".encode())
    for region in sorted(c[0] for c in citations if isinstance(c[0], str)):
        digest.update(f"{region};".encode())
    return digest.hexdigest()


def citation_key(passage_id, region_id, start, end) -> tuple:
    """One piece of evidence as ``answer_fingerprint`` takes it."""
    return (passage_id, start, end) if passage_id is not None else (f"r{region_id}", 0, 0)


class ResponseQuerySet(models.QuerySet):
    def with_evidence(self):
        return self.prefetch_related(
            Prefetch("evidence", queryset=Evidence.objects.select_related("passage", "region"))
        )


class Response(models.Model):
    submission = models.ForeignKey(
        Submission,
        on_delete=models.CASCADE,
        related_name="responses",
        verbose_name=_("submission"),
    )
    question = models.ForeignKey(
        Question, on_delete=models.PROTECT, related_name="responses", verbose_name=_("question")
    )
    text = models.TextField(_("answer"), blank=True)
    version = models.PositiveIntegerField(
        _("version"), default=0, help_text=_("Bumped on every save; a stale save is refused.")
    )
    hints_used = models.PositiveSmallIntegerField(_("hints used"), default=0)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # The answer as last handed in (text and evidence, ``answer_fingerprint``); a mark remembers
    # the value it was given against, so an answer changed after a reopen shows as needing a
    # fresh look before its mark can be released.
    content_hash = models.CharField(_("hash when handed in"), max_length=64, blank=True, editable=False)

    objects = ResponseQuerySet.as_manager()

    class Meta:
        ordering = ["submission", "question__position"]
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "question"], name="response_one_per_question_per_submission"
            ),
        ]

    def __str__(self):
        return f"{self.submission} — Q{self.question.number}"

    @property
    def is_answered(self) -> bool:
        from analysis.classwork.rules import is_answered

        return is_answered(self.text)


class Evidence(models.Model):
    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, related_name="evidence", verbose_name=_("response")
    )
    # Either a span of a passage's text, or (visual sources) a region of an image: exactly one.
    passage = models.ForeignKey(
        Passage,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="evidence",
        verbose_name=_("passage"),
    )
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="evidence",
        verbose_name=_("region"),
    )
    start = models.PositiveIntegerField(_("start offset"), default=0)
    end = models.PositiveIntegerField(_("end offset"), default=0)
    quote = models.TextField(_("quoted text"))
    created_at = models.DateTimeField(_("cited"), auto_now_add=True)

    class Meta:
        ordering = ["response", "created_at", "pk"]
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        constraints = [
            models.CheckConstraint(
                condition=Q(passage__isnull=True) | Q(end__gt=models.F("start")),
                name="evidence_span_not_empty",
            ),
            models.CheckConstraint(
                condition=Q(passage__isnull=False, region__isnull=True)
                | Q(passage__isnull=True, region__isnull=False, start=0, end=0),
                name="evidence_passage_or_region",
            ),
            models.UniqueConstraint(
                fields=["response", "passage", "start", "end"], name="evidence_cited_once"
            ),
            models.UniqueConstraint(
                fields=["response", "region"],
                condition=Q(region__isnull=False),
                name="evidence_region_cited_once",
            ),
        ]

    def __str__(self):
        return f"“{self.quote[:40]}”"

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.passage_id and self.end > len(self.passage.text):
            raise ValidationError({"end": _("The quotation runs past the end of the passage.")})
