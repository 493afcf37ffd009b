"""Whom an assignment is set to, for its pages' headings: ``{% set_to_pupils assignment as pupils %}``."""

from django import template

register = template.Library()


@register.simple_tag
def set_to_pupils(assignment) -> list:
    """The chosen pupils in the class now, by name (one query), or ``[]`` when the assignment is
    set to the whole class."""
    if not assignment.chosen_pupils_only:
        return []
    return list(assignment.set_to().order_by("last_name", "first_name", "username"))
