"""The one label of each state of a pupil's work, for templates: ``{{ status|status_label }}``.
``templates/analysis/_status_badge.html`` draws the badge with it."""

from django import template

from analysis.models import Submission

register = template.Library()


@register.filter
def status_label(status) -> str:
    return Submission.status_label(str(status or Submission.NOT_STARTED))


@register.filter
def status_look(status) -> str:
    """The badge's CSS modifier: "in-progress", "not-started", "submitted", "returned"."""
    return str(status or Submission.NOT_STARTED).replace("_", "-")
