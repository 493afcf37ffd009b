"""Marking: saving marks against a levels-based scheme, releasing them to students,
reopening work, and the anonymous labels used while marking blind.

Marks are drafts while their submission is ``submitted``; releasing moves the
submission to ``returned`` and the student sees them. Every change to a mark is
recorded as a ``MarkChange`` row (who, when, from → to).
"""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from analysis.classwork.models import answer_fingerprint, citation_key
from analysis.classwork.rules import answered_q
from analysis.models import Assignment, CommentBankEntry, Mark, MarkChange, Response, Submission
from analysis.signals import marks_released

MARKABLE_STATUSES = (Submission.Status.SUBMITTED, Submission.Status.RETURNED)


def _check_teaches(assignment: Assignment, user) -> None:
    if not assignment.classroom.teachers.filter(pk=user.pk).exists():
        raise PermissionDenied


def check_mark(*, question, levels, level: int | None, marks: int) -> None:
    """Raise ``ValidationError`` unless ``marks`` (and ``level``) fit the question.

    With a mark scheme, a level must be chosen and the mark must lie inside its
    band; ``level=None`` means "nothing creditable" and allows only 0. Without a
    scheme there are no levels and any mark from 0 to the maximum is allowed.
    ``levels`` is the scheme's levels (already fetched, so forms and the service
    share this check without extra queries).
    """
    if marks is None or marks < 0 or marks > question.max_marks:
        raise ValidationError(
            {"marks": _("Give a mark from 0 to %(max)s.") % {"max": question.max_marks}}, code="range"
        )
    levels = list(levels)
    if not levels:
        if level is not None:
            raise ValidationError({"level": _("This question has no mark scheme levels.")}, code="level")
        return
    if level is None:
        if marks != 0:
            raise ValidationError(
                {"level": _("Choose a level: only 0 marks can be given without one.")}, code="level"
            )
        return
    chosen = next((item for item in levels if item.number == level), None)
    if chosen is None:
        raise ValidationError({"level": _("Choose one of the scheme's levels.")}, code="level")
    if not chosen.contains(marks):
        raise ValidationError(
            {
                "marks": _("Level %(level)s allows %(min)s to %(max)s marks.")
                % {"level": chosen.number, "min": chosen.min_marks, "max": chosen.max_marks}
            },
            code="band",
        )


@transaction.atomic
def mark_save(*, response: Response, marker, level: int | None, marks: int, comment: str) -> Mark:
    """Create or change the mark on one answer, keeping an audit row for the change.

    Only handed-in work (submitted or returned) can be marked, only by a teacher of
    the class, and only within the chosen level's band. Saving the same values again
    changes nothing and adds no audit row, except that a mark whose answer changed since it
    was given (after a reopen) is thereby confirmed for the answer as it now stands.
    """
    response = (
        # Lock only the answer: the mark scheme is an outer join, which PostgreSQL cannot lock.
        Response.objects.select_for_update(of=("self",))
        .select_related("submission__assignment__classroom", "question__mark_scheme")
        .get(pk=response.pk)
    )
    submission = response.submission
    _check_teaches(submission.assignment, marker)
    if submission.status not in MARKABLE_STATUSES:
        raise ValidationError(_("Only handed-in work can be marked."), code="not_submitted")
    question = response.question
    levels = question.mark_scheme.levels.all() if question.mark_scheme_id else ()
    check_mark(question=question, levels=levels, level=level, marks=marks)
    comment = (comment or "").strip()

    if not response.content_hash:
        # Handed in before answers were fingerprinted: take the answer as it stands (it cannot
        # change while handed in).
        response.content_hash = answer_fingerprint(
            response.text,
            [
                citation_key(*row)
                for row in response.evidence.values_list("passage_id", "region_id", "start", "end")
            ],
        )
        response.save(update_fields=["content_hash"])
    mark = Mark.objects.filter(response=response).first()
    before = (mark.level, mark.marks, mark.comment) if mark else (None, None, "")
    if mark is not None and before == (level, marks, comment) and mark.max_marks == question.max_marks:
        if mark.answer_hash != response.content_hash:
            # Saved unchanged after the answer changed: the teacher has looked again.
            mark.answer_hash = response.content_hash
            mark.marker = marker
            mark.save(update_fields=["answer_hash", "marker", "updated_at"])
        return mark
    if mark is None:
        mark = Mark(response=response)
    mark.answer_hash = response.content_hash
    mark.level = level
    mark.marks = marks
    mark.max_marks = question.max_marks
    mark.comment = comment
    mark.marker = marker
    mark.full_clean()
    mark.save()
    MarkChange.objects.create(
        mark=mark,
        changed_by=marker,
        from_level=before[0],
        to_level=level,
        from_marks=before[1],
        to_marks=marks,
        from_comment=before[2],
        to_comment=comment,
    )
    return mark


@dataclass
class ReleaseResult:
    released: list[Submission] = field(default_factory=list)
    not_ready: list[Submission] = field(default_factory=list)  # unmarked or changed answers
    changed: list[Submission] = field(default_factory=list)  # of not_ready: changed since marked


@transaction.atomic
def marks_release(*, assignment: Assignment, submissions=None, by) -> ReleaseResult:
    """Return marked work to students: each handed-in submission whose answers are all
    marked moves to ``returned`` (with ``returned_at``) and its marks become visible.

    ``submissions`` limits the release to chosen ones (default: the whole assignment).
    Submissions with an answer still unmarked, or changed since it was marked, are left as they
    are and reported in ``not_ready`` (the changed ones also in ``changed``); already returned
    or unsubmitted ones are skipped silently.
    """
    _check_teaches(assignment, by)
    queryset = (
        Submission.objects.select_for_update()
        .filter(assignment=assignment, status=Submission.Status.SUBMITTED)
        .select_related("student")
        .annotate(
            has_unmarked=Exists(
                Response.objects.filter(answered_q(), submission=OuterRef("pk"), mark__isnull=True)
            ),
            # A mark given to the answer before the pupil changed it (reopened, rewritten, handed
            # in again) is not a mark of this answer: it needs a fresh look first.
            has_changed=Exists(
                Response.objects.filter(submission=OuterRef("pk"), mark__isnull=False).exclude(
                    mark__answer_hash=F("content_hash")
                )
            ),
        )
    )
    if submissions is not None:
        queryset = queryset.filter(pk__in=[getattr(s, "pk", s) for s in submissions])
    result = ReleaseResult()
    for submission in queryset:
        if submission.has_unmarked or submission.has_changed:
            result.not_ready.append(submission)
            if submission.has_changed:
                result.changed.append(submission)
        else:
            result.released.append(submission)
    now = timezone.now()
    Submission.objects.filter(pk__in=[s.pk for s in result.released]).update(
        status=Submission.Status.RETURNED, returned_at=now
    )
    for submission in result.released:
        submission.status = Submission.Status.RETURNED
        submission.returned_at = now
    if result.released:
        released = list(result.released)
        transaction.on_commit(
            lambda: marks_released.send(sender=Assignment, assignment=assignment, submissions=released)
        )
    return result


@transaction.atomic
def submission_reopen(*, submission: Submission, by) -> Submission:
    """Give handed-in work back to the student to revise. Its marks stay, as drafts:
    the student no longer sees them until the teacher releases again."""
    submission = (
        Submission.objects.select_for_update().select_related("assignment__classroom").get(pk=submission.pk)
    )
    _check_teaches(submission.assignment, by)
    if submission.status == Submission.Status.IN_PROGRESS:
        raise ValidationError(_("This work is already open for the student."), code="not_submitted")
    submission.status = Submission.Status.IN_PROGRESS
    submission.returned_at = None
    submission.full_clean()
    submission.save(update_fields=["status", "returned_at"])
    return submission


def comment_bank_add(*, teacher, text: str):
    """Keep a comment for reuse; adding the same text twice keeps one entry."""
    text = text.strip()
    if not text:
        return None
    entry, _created = CommentBankEntry.objects.get_or_create(teacher=teacher, text=text)
    return entry
