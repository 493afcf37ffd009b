"""Writes on assignments that are not marking: unassigning, restoring, extensions."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.classes.services import _check_teaches
from accounts.models import Enrollment
from analysis.models import Assignment, Extension

# --- Assignments -----------------------------------------------------------------


@transaction.atomic
def assignments_create(*, template: Assignment, classrooms, by) -> list[Assignment]:
    """Set one exercise to several classes at once: one assignment per class, with the
    template's dates, options and note. All or nothing: a class the teacher does not teach,
    or an assignment that fails validation, creates none."""
    created = []
    for classroom in classrooms:
        _check_teaches(classroom, by)
        assignment = Assignment(
            exercise=template.exercise,
            classroom=classroom,
            opens_at=template.opens_at,
            due_at=template.due_at,
            hints_enabled=template.hints_enabled,
            late_allowed=template.late_allowed,
            anonymous_marking=template.anonymous_marking,
            release_model_answers=template.release_model_answers,
            note=template.note,
            created_by=by,
        )
        assignment.full_clean()
        assignment.save()
        created.append(assignment)
    return created


@transaction.atomic
def assignment_unassign(*, assignment: Assignment, by) -> str:
    """Withdraw an assignment from its class without losing work.

    With no submissions at all the assignment is deleted (``"deleted"``); once any
    student has started, it is archived instead (``"archived"``): students no longer
    see it, and the teacher keeps every answer and mark.
    """
    _check_teaches(assignment.classroom, by)
    if assignment.submissions.exists():
        assignment.archived_at = timezone.now()
        assignment.save(update_fields=["archived_at"])
        return "archived"
    assignment.delete()
    return "deleted"


@transaction.atomic
def assignment_restore(*, assignment: Assignment, by) -> Assignment:
    _check_teaches(assignment.classroom, by)
    assignment.archived_at = None
    assignment.save(update_fields=["archived_at"])
    return assignment


@transaction.atomic
def extension_set(*, assignment: Assignment, student, due_at, by) -> Extension:
    """Give one student a later due date (replacing any earlier extension)."""
    _check_teaches(assignment.classroom, by)
    if not Enrollment.objects.current().filter(classroom=assignment.classroom, student=student).exists():
        raise ValidationError({"student": _("This student is not in the class.")})
    if due_at <= assignment.opens_at:
        raise ValidationError({"due_at": _("The extended date must be after the assignment opens.")})
    extension = Extension.objects.filter(assignment=assignment, student=student).first() or Extension(
        assignment=assignment, student=student
    )
    extension.due_at = due_at
    extension.full_clean()
    extension.save()
    return extension


@transaction.atomic
def extension_remove(*, extension: Extension, by) -> None:
    _check_teaches(extension.assignment.classroom, by)
    extension.delete()
