"""The LTI 1.3 tool's own records: the platforms registered with it, its signing keys, the LMS
identities and courses it has met, the resource links it created and the grades it owes."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# An origin and nothing else: it goes into the CSP's frame-ancestors as it stands.
ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


class PlatformQuerySet(models.QuerySet):
    def usable(self):
        """Platforms a launch may come from: active ones, and the demo platform only while
        ``DEBUG`` is on (its private key is checked in, so it proves nothing in production)."""
        queryset = self.filter(active=True)
        if not settings.DEBUG:
            queryset = queryset.filter(is_demo=False)
        return queryset


class Platform(models.Model):
    """One registration of the tool with a learning platform (Moodle, Canvas, …)."""

    name = models.CharField(_("name"), max_length=200)
    issuer = models.CharField(
        _("issuer"), max_length=255, help_text=_("The platform's `iss`, e.g. https://moodle.example.org")
    )
    client_id = models.CharField(_("client id"), max_length=255)
    auth_login_url = models.URLField(_("OIDC auth URL"), max_length=500)
    auth_token_url = models.URLField(_("access token URL"), max_length=500)
    auth_audience = models.CharField(
        _("token audience"), max_length=500, blank=True, help_text=_("Only if the platform asks for one.")
    )
    key_set_url = models.URLField(_("JWKS URL"), max_length=500)
    school = models.ForeignKey(
        "accounts.School", on_delete=models.PROTECT, related_name="lti_platforms", verbose_name=_("school")
    )
    frame_origins = models.TextField(
        _("frame origins"),
        blank=True,
        help_text=_(
            "Origins allowed to show the tool in a frame, one a line (https://lms.example.org). "
            "They need not match the issuer."
        ),
    )
    instructors_see_teacher_only = models.BooleanField(
        _("instructors see teacher-only material"),
        default=False,
        help_text=_(
            "Whether this platform's instructors see the site library's model answers and indicative content."
        ),
    )
    is_demo = models.BooleanField(
        _("local demo platform"), default=False, help_text=_("Refused whenever DJANGO_DEBUG is off.")
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = PlatformQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("platform")
        verbose_name_plural = _("platforms")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "client_id"], name="lti_platform_unique_client")
        ]

    def __str__(self):
        return self.name

    @property
    def frame_origin_list(self) -> list[str]:
        lines = (line.strip().rstrip("/") for line in self.frame_origins.splitlines())
        return [line for line in lines if ORIGIN_RE.match(line)]

    def clean(self):
        super().clean()
        bad = [
            line.strip()
            for line in self.frame_origins.splitlines()
            if line.strip() and not ORIGIN_RE.match(line.strip().rstrip("/"))
        ]
        if bad:
            raise ValidationError(
                {
                    "frame_origins": _("Give origins only, like https://lms.example.org: not %(bad)s.")
                    % {"bad": ", ".join(bad)}
                }
            )


class Deployment(models.Model):
    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="deployments")
    deployment_id = models.CharField(_("deployment id"), max_length=255)

    class Meta:
        verbose_name = _("deployment")
        verbose_name_plural = _("deployments")
        constraints = [
            models.UniqueConstraint(fields=["platform", "deployment_id"], name="lti_deployment_unique")
        ]

    def __str__(self):
        return self.deployment_id


class ToolKey(models.Model):
    """One of the tool's RSA signing keys. The active one signs; retired ones stay published in
    the JWKS until deleted, so tokens signed just before a rotation still verify. The private
    key never leaves the server (the admin shows the public half only)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        RETIRED = "retired", _("Retired")

    kid = models.CharField(_("key id"), max_length=100, unique=True)
    private_pem = models.TextField(_("private key (PEM)"))
    public_jwk = models.JSONField(_("public key (JWK)"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("tool key")
        verbose_name_plural = _("tool keys")
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="active"), name="lti_one_active_key"
            )
        ]

    def __str__(self):
        return self.kid


class LtiIdentity(models.Model):
    """A Provenance user as a platform knows them: (issuer, ``sub``). Never matched by name or
    e-mail: created on a first launch, or linked by the user logging in once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lti_identities"
    )
    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="identities")
    issuer = models.CharField(max_length=255)
    sub = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("LMS identity")
        verbose_name_plural = _("LMS identities")
        constraints = [models.UniqueConstraint(fields=["issuer", "sub"], name="lti_identity_unique")]

    def __str__(self):
        return f"{self.issuer} {self.sub}"


class Course(models.Model):
    """An LMS course (the launch's context) and the Provenance class it maps to."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="courses")
    context_id = models.CharField(max_length=255)
    title = models.CharField(max_length=255, blank=True)
    classroom = models.OneToOneField(
        "accounts.Classroom", on_delete=models.PROTECT, related_name="lti_course"
    )
    memberships_url = models.URLField(max_length=500, blank=True)
    lineitems_url = models.URLField(max_length=500, blank=True)
    ags_scopes = models.JSONField(default=list, blank=True)
    roster_synced_at = models.DateTimeField(null=True, blank=True)
    roster_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        constraints = [models.UniqueConstraint(fields=["platform", "context_id"], name="lti_course_unique")]

    def __str__(self):
        return self.title or self.context_id


class ResourceLink(models.Model):
    """An activity in the LMS that opens one assignment. Created by deep linking (the resource
    link id arrives with the first launch) and holds the gradebook line item's URL."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="links")
    assignment = models.ForeignKey("analysis.Assignment", on_delete=models.CASCADE, related_name="lti_links")
    resource_link_id = models.CharField(max_length=255, blank=True)
    lineitem_url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("resource link")
        verbose_name_plural = _("resource links")
        constraints = [
            models.UniqueConstraint(
                fields=["course", "resource_link_id"],
                condition=~models.Q(resource_link_id=""),
                name="lti_resource_link_unique",
            )
        ]

    def __str__(self):
        return self.resource_link_id or f"link {self.pk}"


class GradePost(models.Model):
    """The outbox of scores owed to a platform: one row per pupil and step (handed in,
    returned). The worker posts it, records each failure and tries again later; the teacher
    sees what failed on the assignment's grid. Nothing is dropped silently."""

    class Step(models.TextChoices):
        SUBMITTED = "submitted", _("Handed in")
        RETURNED = "returned", _("Marks returned")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    link = models.ForeignKey(ResourceLink, on_delete=models.CASCADE, related_name="grade_posts")
    submission = models.ForeignKey(
        "analysis.Submission", on_delete=models.CASCADE, related_name="lti_grade_posts"
    )
    lti_user_id = models.CharField(max_length=255)
    step = models.CharField(max_length=10, choices=Step.choices)
    score_given = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    score_maximum = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    comment = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("grade post")
        verbose_name_plural = _("grade posts")

    def __str__(self):
        return f"{self.get_step_display()} → {self.get_status_display()}"


class LaunchStateQuerySet(models.QuerySet):
    def live(self, key: str):
        """The unexpired row stored under ``key``. A key that could never have been stored (too
        long, or with a NUL, which PostgreSQL refuses in text) finds nothing, without a query."""
        if len(key) > 255 or "\x00" in key:
            return self.none()
        return self.filter(key=key, expires_at__gt=timezone.now())


class LaunchState(models.Model):
    """Short-lived launch data (OIDC nonces and state, validated launches, hand-over tickets),
    kept in the database so every server process sees the same values and a nonce can be
    used exactly once (deleting its row is the use)."""

    key = models.CharField(max_length=255, unique=True)
    value = models.JSONField()
    expires_at = models.DateTimeField(db_index=True)

    objects = LaunchStateQuerySet.as_manager()

    class Meta:
        verbose_name = _("launch state")
        verbose_name_plural = _("launch states")

    def __str__(self):
        return self.key

    @property
    def expired(self) -> bool:
        return self.expires_at <= timezone.now()
