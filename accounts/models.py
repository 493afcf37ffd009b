import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

# No 0/O, 1/I/L, 5/S, 2/Z or 8/B: codes are read aloud and copied from a board.
JOIN_CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
JOIN_CODE_LENGTH = 8


def generate_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def normalise_join_code(raw: str) -> str:
    """Accept codes typed with spaces, dashes or in lower case."""
    return "".join(ch for ch in raw.upper() if ch.isalnum())


def display_name_of(first_name: str, last_name: str, username: str) -> str:
    """How a user is named on every page: their full name, else their user name. A function
    of the three columns, so pages listing hundreds of users can name them from plain values."""
    return f"{first_name} {last_name}".strip() or username


class School(models.Model):
    """Every class, teacher and teacher-authored item belongs to one school. Colleagues are the
    teachers of one school; nothing a teacher makes or sees crosses into another school. The site
    library serves every school."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("school")
        verbose_name_plural = _("schools")

    def __str__(self):
        return self.name


class User(AbstractUser):
    class Role(models.TextChoices):
        STUDENT = "student", _("Student")
        TEACHER = "teacher", _("Teacher")

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.STUDENT)
    school = models.ForeignKey(
        School,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        verbose_name=_("school"),
        help_text=_("A teacher's school: their colleagues and classes. Pupils take it from their classes."),
    )
    # Set when a teacher resets the password: the one-time password they were given works
    # once, to log in and choose their own (accounts.middleware sends them nowhere else).
    must_change_password = models.BooleanField(_("must choose a new password"), default=False)
    # What's new by e-mail (docs/whats-new.md): off until the user turns it on; sent by the
    # background worker, at most once a day, only when something is new since the last one.
    email_digest = models.BooleanField(
        _("daily e-mail digest"),
        default=False,
        help_text=_("Once a day, an e-mail listing what is new, only on days when something is."),
    )
    last_digest_at = models.DateTimeField(_("last digest sent"), null=True, blank=True, editable=False)

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["student", "teacher"]), name="user_role_valid"
            )
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        return display_name_of(self.first_name, self.last_name, self.username)

    @property
    def is_student(self) -> bool:
        return self.role == self.Role.STUDENT

    @property
    def is_teacher(self) -> bool:
        return self.role == self.Role.TEACHER


class ClassroomQuerySet(models.QuerySet):
    def taught_by(self, user):
        """Classes this teacher teaches (none for anyone else)."""
        if not user.is_authenticated or not user.is_teacher:
            return self.none()
        return self.filter(teachers=user)

    def active(self):
        return self.filter(archived_at__isnull=True)

    def with_student_counts(self):
        return self.annotate(
            student_count=models.Count(
                "enrollments", filter=models.Q(enrollments__ended_at__isnull=True), distinct=True
            )
        )


class Classroom(models.Model):
    name = models.CharField(_("name"), max_length=100)
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, related_name="classrooms", verbose_name=_("school")
    )
    teachers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="classrooms_taught",
        verbose_name=_("teachers"),
        limit_choices_to={"role": User.Role.TEACHER},
    )
    join_code = models.CharField(
        _("join code"),
        max_length=16,
        unique=True,
        default=generate_join_code,
        help_text=_("Students type this to join the class."),
    )
    join_code_enabled = models.BooleanField(
        _("join code on"),
        default=True,
        help_text=_("Turn off to stop new students joining with the code."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)

    objects = ClassroomQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("class")
        verbose_name_plural = _("classes")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("teach:class-detail", args=[self.pk])

    def regenerate_join_code(self) -> str:
        # A clash with another class is vanishingly rare (25^8); retry rather than fail.
        for _attempt in range(10):
            code = generate_join_code()
            if not Classroom.objects.filter(join_code=code).exists():
                self.join_code = code
                self.save(update_fields=["join_code"])
                return code
        raise RuntimeError("Could not find a free join code.")


class EnrollmentQuerySet(models.QuerySet):
    def current(self):
        """Enrolments that have not ended: the pupils in the class now."""
        return self.filter(ended_at__isnull=True)


class Enrollment(models.Model):
    """A pupil's period in a class. Removing a pupil ends it (``ended_at``) instead of deleting
    it, so their work and marks stay and their history can follow them; rejoining starts a new
    period."""

    classroom = models.ForeignKey(
        Classroom,
        on_delete=models.CASCADE,
        related_name="enrollments",
        verbose_name=_("class"),
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="enrollments",
        verbose_name=_("student"),
        limit_choices_to={"role": User.Role.STUDENT},
    )
    joined_at = models.DateTimeField(_("joined"), auto_now_add=True)
    ended_at = models.DateTimeField(_("left"), null=True, blank=True)

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        ordering = ["classroom", "student__last_name", "student__first_name", "student__username"]
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [
            models.UniqueConstraint(
                fields=["classroom", "student"],
                condition=models.Q(ended_at__isnull=True),
                name="enrollment_one_current_per_student_per_class",
            )
        ]

    def __str__(self):
        return f"{self.student} in {self.classroom}"
