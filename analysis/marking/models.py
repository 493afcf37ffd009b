"""Marks on responses, their audit trail, and each teacher's comment bank."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analysis.classwork.models import Response


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
    # The answer's ``content_hash`` when this mark was last saved: a different value now means the
    # pupil changed the answer (after a reopen) and the mark needs a fresh look before release.
    answer_hash = models.CharField(_("answer hash when marked"), max_length=64, blank=True, editable=False)

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

    @property
    def answer_changed(self) -> bool:
        """The answer is no longer the one this mark was given to."""
        return self.answer_hash != self.response.content_hash


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
