"""The authoring studio's own record: wording changes made to a teacher's exercise or source
after pupils have worked on it (who, when, which field, from what to what)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LibraryEdit(models.Model):
    """One change of wording to an item with pupils' work, kept so its history can be read on
    the edit page. Changes that would alter what the work means are refused, not recorded."""

    exercise = models.ForeignKey(
        "analysis.Exercise",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="edits",
        verbose_name=_("exercise"),
    )
    source = models.ForeignKey(
        "analysis.Source",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="edits",
        verbose_name=_("source"),
    )
    field = models.CharField(_("field"), max_length=100)
    before = models.TextField(_("from"), blank=True)
    after = models.TextField(_("to"), blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("library edit")
        verbose_name_plural = _("library edits")

    def __str__(self):
        return f"{self.field}: {self.before[:30]} → {self.after[:30]}"
