"""Writes on assignments that are not marking: unassigning, restoring, extensions."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.classes.services import _check_teaches
from accounts.models import Enrollment
from analysis.classwork.services import submission_time_limits_refresh
from analysis.models import AssignedPupil, Assignment, Extension, StudentSupport

# --- Assignments -----------------------------------------------------------------


@transaction.atomic
def assignments_create(*, template: Assignment, classrooms, by, pupils=()) -> list[Assignment]:
    """Set one exercise to several classes at once: one assignment per class, with the
    template's dates, options, support and note. All or nothing: a class the teacher does not
    teach, or an assignment that fails validation, creates none.

    With ``pupils``, the work is set to those pupils of one class only (``chosen_pupils_only``);
    each must be in that class now."""
    classrooms = list(classrooms)
    pupils = list(pupils)
    if pupils:
        if len(classrooms) != 1:
            raise ValidationError({"pupils": _("Chosen pupils can be set work in one class at a time.")})
        enrolled = set(
            Enrollment.objects.current()
            .filter(classroom=classrooms[0], student__in=pupils)
            .values_list("student_id", flat=True)
        )
        if any(pupil.pk not in enrolled for pupil in pupils):
            raise ValidationError({"pupils": _("Every chosen pupil must be in the class now.")})
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
            support_level=template.support_level,
            time_limit_minutes=template.time_limit_minutes,
            on_time_limit=template.on_time_limit,
            chosen_pupils_only=bool(pupils),
            created_by=by,
        )
        assignment.full_clean()
        assignment.save()
        AssignedPupil.objects.bulk_create(AssignedPupil(assignment=assignment, student=p) for p in pupils)
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
    if not assignment.set_to().filter(pk=student.pk).exists():
        raise ValidationError({"student": _("This pupil is not set this assignment.")})
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


@transaction.atomic
def student_support_set(*, assignment: Assignment, student, support_level: str, extra_time_percent: int, by):
    """Give one pupil their own support level (blank: the assignment's) and extra time, and move
    when their time runs out if their work is in progress."""
    _check_teaches(assignment.classroom, by)
    if not assignment.set_to().filter(pk=student.pk).exists():
        raise ValidationError({"student": _("This pupil is not set this assignment.")})
    support = StudentSupport.objects.filter(assignment=assignment, student=student).first() or StudentSupport(
        assignment=assignment, student=student
    )
    support.support_level = support_level
    support.extra_time_percent = extra_time_percent
    support.full_clean()
    support.save()
    submission_time_limits_refresh(assignment=assignment, student=student)
    return support


@transaction.atomic
def student_support_remove(*, support: StudentSupport, by) -> None:
    _check_teaches(support.assignment.classroom, by)
    student = support.student
    support.delete()
    submission_time_limits_refresh(assignment=support.assignment, student=student)
