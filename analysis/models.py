"""Sources, exercises and mark schemes (loaded from source packs) and the
classroom work built on them: assignments, submissions, responses, evidence, marks."""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

SLUG_REGEX = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class SlugManager(models.Manager):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


# --- Library: sources, passages, glossary ----------------------------------


class Source(models.Model):
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    title = models.CharField(_("title"), max_length=200)
    author = models.CharField(_("author"), max_length=200)
    date_text = models.CharField(
        _("date"), max_length=100, help_text=_("As written, e.g. “26 October (8 November) 1917”.")
    )
    sort_date = models.DateField(_("sortable date"), null=True, blank=True)
    publication = models.CharField(_("publication or occasion"), max_length=200)
    kind = models.CharField(_("kind"), max_length=100, help_text=_("Speech, newspaper report…"))
    audience = models.CharField(_("audience"), max_length=300, blank=True)
    provenance = models.TextField(_("provenance note"), blank=True)
    context = models.TextField(_("context note"), blank=True)
    citation = models.TextField(_("citation"), blank=True)
    translation = models.TextField(_("translation note"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = SlugManager()

    class Meta:
        ordering = ["sort_date", "title"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        constraints = [models.CheckConstraint(condition=Q(slug__regex=SLUG_REGEX), name="source_slug_format")]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("sources:source-detail", args=[self.slug])

    def natural_key(self):
        return (self.slug,)


class Passage(models.Model):
    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="passages", verbose_name=_("source")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    label = models.CharField(_("label"), max_length=100)
    text = models.TextField(_("text"))

    class Meta:
        ordering = ["source", "position", "pk"]
        verbose_name = _("passage")
        verbose_name_plural = _("passages")
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="passage_text_not_empty"),
        ]

    def __str__(self):
        return f"{self.source.title}: {self.label}"

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")


class GlossaryTerm(models.Model):
    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="glossary", verbose_name=_("source")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    term = models.CharField(_("term"), max_length=100)
    definition = models.TextField(_("definition"))

    class Meta:
        ordering = ["source", "position"]
        verbose_name = _("glossary term")
        verbose_name_plural = _("glossary terms")
        constraints = [
            models.UniqueConstraint(fields=["source", "term"], name="glossary_term_unique_per_source")
        ]

    def __str__(self):
        return self.term


# --- Mark schemes ------------------------------------------------------------


class MarkScheme(models.Model):
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=200)

    objects = SlugManager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("mark scheme")
        verbose_name_plural = _("mark schemes")

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)

    @property
    def max_marks(self) -> int:
        return max((level.max_marks for level in self.levels.all()), default=0)


class Level(models.Model):
    scheme = models.ForeignKey(
        MarkScheme, on_delete=models.CASCADE, related_name="levels", verbose_name=_("mark scheme")
    )
    number = models.PositiveSmallIntegerField(_("level"))
    min_marks = models.PositiveSmallIntegerField(_("lowest mark"))
    max_marks = models.PositiveSmallIntegerField(_("highest mark"))
    descriptor = models.TextField(_("descriptor"))

    class Meta:
        ordering = ["scheme", "number"]
        verbose_name = _("level")
        verbose_name_plural = _("levels")
        constraints = [
            models.UniqueConstraint(fields=["scheme", "number"], name="level_number_unique_per_scheme"),
            models.CheckConstraint(
                condition=Q(min_marks__lte=models.F("max_marks")), name="level_band_ordered"
            ),
        ]

    def __str__(self):
        return _("Level %(number)s (%(min)s–%(max)s)") % {
            "number": self.number,
            "min": self.min_marks,
            "max": self.max_marks,
        }

    def contains(self, marks: int) -> bool:
        return self.min_marks <= marks <= self.max_marks


# --- Exercises and questions ------------------------------------------------


class Exercise(models.Model):
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary"))
    instructions = models.TextField(_("instructions"), blank=True)
    sources = models.ManyToManyField(
        Source, through="ExerciseSource", related_name="exercises", verbose_name=_("sources")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = SlugManager()

    class Meta:
        ordering = ["title"]
        verbose_name = _("exercise")
        verbose_name_plural = _("exercises")

    def __str__(self):
        return self.title

    def natural_key(self):
        return (self.slug,)

    @property
    def total_marks(self) -> int:
        return sum(q.max_marks for q in self.questions.all())


class ExerciseSource(models.Model):
    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="exercise_sources")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="exercise_links")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["exercise", "position"]
        verbose_name = _("exercise source")
        verbose_name_plural = _("exercise sources")
        constraints = [
            models.UniqueConstraint(fields=["exercise", "source"], name="exercise_source_once"),
        ]

    def __str__(self):
        return f"{self.exercise} / {self.source}"


class Stage(models.TextChoices):
    ORIGIN = "origin", _("Origin")
    PURPOSE = "purpose", _("Purpose")
    RELIABILITY = "reliability", _("Reliability")
    CORROBORATION = "corroboration", _("Corroboration")


STAGE_ORDER = {stage: index for index, stage in enumerate(Stage.values)}


class Question(models.Model):
    exercise = models.ForeignKey(
        Exercise, on_delete=models.CASCADE, related_name="questions", verbose_name=_("exercise")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices)
    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="questions",
        verbose_name=_("source"),
        help_text=_("Leave empty for a corroboration question across the exercise's sources."),
    )
    prompt = models.TextField(_("prompt"))
    max_marks = models.PositiveSmallIntegerField(_("maximum marks"))
    mark_scheme = models.ForeignKey(
        MarkScheme,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="questions",
        verbose_name=_("mark scheme"),
    )
    hints = models.JSONField(_("hints"), default=list, blank=True)
    sentence_starters = models.JSONField(_("sentence starters"), default=list, blank=True)
    indicative_content = models.TextField(_("indicative content"), blank=True, help_text=_("Teachers only."))
    model_answer = models.TextField(
        _("model answer"),
        blank=True,
        help_text=_("Shown to students only when the assignment releases it with marks."),
    )

    class Meta:
        ordering = ["exercise", "position", "pk"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [
            models.CheckConstraint(condition=Q(max_marks__gte=1), name="question_max_marks_positive"),
            models.CheckConstraint(condition=Q(stage__in=Stage.values), name="question_stage_valid"),
        ]

    def __str__(self):
        return f"{self.exercise.title} Q{self.number}: {self.get_stage_display()}"

    @property
    def number(self) -> int:
        return self.position + 1

    @property
    def expects_evidence(self) -> bool:
        """Origin answers rest on the origin card; every other stage should quote the text."""
        return self.stage != Stage.ORIGIN


# --- Classroom work ----------------------------------------------------------


class AssignmentQuerySet(models.QuerySet):
    def current(self):
        return self.filter(archived_at__isnull=True)

    def for_student(self, user):
        """Open-or-upcoming assignments of the classes this student is enrolled in."""
        if not user.is_authenticated or not user.is_student:
            return self.none()
        return self.current().filter(
            classroom__enrollments__student=user, classroom__archived_at__isnull=True
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
        """Annotate ``student_total`` (enrolled), ``submitted_count`` (handed in or returned),
        ``to_mark_count`` (handed in with an answer still unmarked) and ``to_release_count``
        (handed in, every answer marked). Subqueries, so no row multiplication and no
        per-row queries however large the class."""
        from accounts.models import Enrollment

        def counted(queryset, key):
            return Coalesce(
                Subquery(queryset.order_by().values(key).annotate(n=Count("pk")).values("n")[:1]),
                0,
            )

        unmarked = Response.objects.filter(submission=OuterRef("pk"), mark__isnull=True).exclude(text="")
        handed_in = Submission.objects.filter(assignment=OuterRef("pk"), status=Submission.Status.SUBMITTED)
        return self.annotate(
            student_total=counted(Enrollment.objects.filter(classroom=OuterRef("classroom")), "classroom"),
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
        ]
        indexes = [models.Index(fields=["classroom", "archived_at"], name="assignment_class_idx")]

    def __str__(self):
        return f"{self.exercise.title} — {self.classroom.name}"

    def is_open(self, now=None) -> bool:
        return (now or timezone.now()) >= self.opens_at

    def due_for(self, student) -> "timezone.datetime | None":
        """The due date for one student, counting an extension if there is one."""
        for extension in self.extensions.all():
            if extension.student_id == student.pk:
                return extension.due_at
        return self.due_at

    def accepts_work_from(self, student, now=None) -> bool:
        now = now or timezone.now()
        if not self.is_open(now):
            return False
        due = self.due_for(student)
        return self.late_allowed or due is None or now <= due


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


class SubmissionQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Own work for a student; the classes they teach for a teacher; nothing else."""
        if not user.is_authenticated:
            return self.none()
        if user.is_teacher:
            return self.filter(assignment__classroom__teachers=user)
        return self.filter(student=user)

    def with_answer_counts(self):
        return self.annotate(answered_count=Count("responses", filter=~Q(responses__text=""), distinct=True))


class Submission(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        SUBMITTED = "submitted", _("Submitted")
        RETURNED = "returned", _("Returned")

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
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    returned_at = models.DateTimeField(_("returned"), null=True, blank=True)
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


class ResponseQuerySet(models.QuerySet):
    def with_evidence(self):
        return self.prefetch_related(
            Prefetch("evidence", queryset=Evidence.objects.select_related("passage"))
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
        return bool(self.text.strip())


class Evidence(models.Model):
    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, related_name="evidence", verbose_name=_("response")
    )
    passage = models.ForeignKey(
        Passage, on_delete=models.PROTECT, related_name="evidence", verbose_name=_("passage")
    )
    start = models.PositiveIntegerField(_("start offset"))
    end = models.PositiveIntegerField(_("end offset"))
    quote = models.TextField(_("quoted text"))
    created_at = models.DateTimeField(_("cited"), auto_now_add=True)

    class Meta:
        ordering = ["response", "created_at", "pk"]
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="evidence_span_not_empty"),
            models.UniqueConstraint(
                fields=["response", "passage", "start", "end"], name="evidence_cited_once"
            ),
        ]

    def __str__(self):
        return f"“{self.quote[:40]}”"

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.passage_id and self.end > len(self.passage.text):
            raise ValidationError({"end": _("The quotation runs past the end of the passage.")})


class Mark(models.Model):
    response = models.OneToOneField(
        Response, on_delete=models.CASCADE, related_name="mark", verbose_name=_("response")
    )
    level = models.PositiveSmallIntegerField(_("level"), null=True, blank=True)
    marks = models.PositiveSmallIntegerField(_("marks"))
    # Copied from the question when marked, so the database itself can hold the bound.
    max_marks = models.PositiveSmallIntegerField(_("out of"))
    comment = models.TextField(_("comment"), blank=True)
    marker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="marks_given",
        verbose_name=_("marker"),
    )
    updated_at = models.DateTimeField(_("marked"), auto_now=True)

    class Meta:
        verbose_name = _("mark")
        verbose_name_plural = _("marks")
        constraints = [
            models.CheckConstraint(
                condition=Q(marks__lte=models.F("max_marks")), name="mark_within_question_maximum"
            ),
        ]

    def __str__(self):
        return f"{self.marks}/{self.max_marks}"


class MarkChange(models.Model):
    """Audit trail: one row per change to a mark, never edited."""

    mark = models.ForeignKey(Mark, on_delete=models.CASCADE, related_name="changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    from_level = models.PositiveSmallIntegerField(null=True, blank=True)
    to_level = models.PositiveSmallIntegerField(null=True, blank=True)
    from_marks = models.PositiveSmallIntegerField(null=True, blank=True)
    to_marks = models.PositiveSmallIntegerField(null=True, blank=True)
    from_comment = models.TextField(blank=True)
    to_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["mark", "changed_at", "pk"]
        verbose_name = _("mark change")
        verbose_name_plural = _("mark changes")

    def __str__(self):
        return f"{self.from_marks} → {self.to_marks} by {self.changed_by}"


class CommentBankEntry(models.Model):
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comment_bank"
    )
    text = models.TextField(_("comment"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["teacher", "text"]
        verbose_name = _("comment bank entry")
        verbose_name_plural = _("comment bank entries")

    def __str__(self):
        return self.text[:60]
