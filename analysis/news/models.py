"""When a teacher last looked at an assignment's progress: hand-ins after it are new."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AssignmentVisit(models.Model):
    """One teacher's last visit to one assignment's progress page. Handed-in work whose
    ``submitted_at`` is later is "new" on that teacher's dashboard (each co-teacher has their own)."""

    assignment = models.ForeignKey(
        "analysis.Assignment", on_delete=models.CASCADE, related_name="visits", verbose_name=_("assignment")
    )
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="assignment_visits",
        verbose_name=_("teacher"),
    )
    seen_at = models.DateTimeField(_("last looked"))

    class Meta:
        verbose_name = _("assignment visit")
        verbose_name_plural = _("assignment visits")
        constraints = [
            models.UniqueConstraint(fields=["assignment", "teacher"], name="assignment_visit_one_per_teacher")
        ]

    def __str__(self):
        return f"{self.teacher} — {self.assignment_id} at {self.seen_at:%Y-%m-%d %H:%M}"
