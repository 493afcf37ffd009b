"""The student's side of classroom work: starting, saving, citing, hinting, submitting.

Every function takes keyword-only arguments and never a request, so the views in
``analysis/views/student.py`` and the demo-data command share the same rules.

Concurrency. Every write to a student's work first locks that student's submission row
(``SELECT … FOR NO KEY UPDATE`` on PostgreSQL; on SQLite the project's IMMEDIATE transactions
serialise writers). So an autosave, an evidence change and the submit of one submission never
interleave: what the receipt hashes is exactly the last acknowledged text, and a save that
arrives after submitting is refused. Inside the lock an answer is still written with a
compare-and-set on its version, so a save based on a stale version is refused too (and a save
from one tab can never silently replace newer text from another).

Errors are exceptions carrying a translated, user-facing ``message``; the views turn them into
status codes (``WorkClosed`` → 409, ``VersionConflict`` → 409 with the server's text,
``AnswerRejected``/``EvidenceRejected`` → 422). Objects outside the student's reach raise the
model's ``DoesNotExist`` (→ 404).
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import CharField, F, OuterRef, Q, QuerySet, StringAgg, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from analysis.classwork.errors import (
    AnswerRejected,
    EvidenceRejected,
    HintsUnavailable,
    VersionConflict,
    WorkClosed,
)
from analysis.classwork.heuristics import trim_span
from analysis.classwork.models import answer_fingerprint
from analysis.classwork.rules import (
    ACCEPTS_WORK_SQL,
    check_accepting,
    effective_support_level,
    is_answered,
    student_due_subquery,
    time_up_for,
)
from analysis.models import (
    Assignment,
    Evidence,
    Passage,
    Question,
    Region,
    Response,
    StudentSupport,
    Submission,
    SupportLevel,
    TimeLimitAction,
)
from analysis.signals import work_handed_in

# A student citing more than this for one answer is pasting the source, not choosing evidence.
EVIDENCE_MAX_PER_ANSWER = 40

Status = Submission.Status


# --- Starting ---------------------------------------------------------------------------------


def submission_start(*, assignment: Assignment, student) -> Submission:
    """Return the student's submission for ``assignment``, creating it (and one empty response
    per question) on first use.

    Safe to call concurrently: the unique constraints make the second creator fall back to
    reading the first one's rows (``get_or_create`` retries on IntegrityError, responses are
    inserted with ``ignore_conflicts``). Questions added to the exercise later get their
    response on the next call while the work is in progress. The caller is responsible for the
    student being allowed to see the assignment (``assignments_visible_to``); raises
    ``WorkClosed(reason="not_open")`` before the assignment opens. Two queries when everything
    already exists.
    """
    if not assignment.is_open():
        raise WorkClosed(_("This assignment is not open yet."), reason="not_open")
    # One transaction: nobody else sees the new submission before its answers exist (a submit
    # racing the first visit would otherwise hand in, and hash, an empty set of answers).
    with transaction.atomic():
        submission, created = Submission.objects.get_or_create(assignment=assignment, student=student)
        if created and assignment.time_limit_minutes:
            # The clock starts now, when the pupil first opens the work.
            submission.time_up_at = _time_up_of(submission, assignment=assignment)
            if submission.time_up_at is not None:
                submission.save(update_fields=["time_up_at"])
        if created:
            missing = list(
                Question.objects.filter(exercise_id=assignment.exercise_id).values_list("pk", flat=True)
            )
        elif submission.status == Status.IN_PROGRESS:
            missing = list(
                Question.objects.filter(exercise_id=assignment.exercise_id)
                .exclude(pk__in=Response.objects.filter(submission=submission).values("question_id"))
                .values_list("pk", flat=True)
            )
        else:
            missing = []
        if missing:
            Response.objects.bulk_create(
                [Response(submission=submission, question_id=pk) for pk in missing], ignore_conflicts=True
            )
    return submission


def _time_up_of(submission: Submission, *, assignment: Assignment, support=None):
    support = (
        support
        or StudentSupport.objects.filter(assignment=assignment, student_id=submission.student_id).first()
    )
    level = effective_support_level(assignment, support.support_level if support else None)
    return time_up_for(
        assignment=assignment,
        level=level,
        extra_time_percent=support.extra_time_percent if support else 0,
        started_at=submission.started_at,
    )


def submission_time_limits_refresh(*, assignment: Assignment, student=None) -> int:
    """Recompute when time runs out for the work still in progress (after the teacher changes
    the support level, the time limit or a pupil's extra time). Returns how many changed."""
    supports = {s.student_id: s for s in StudentSupport.objects.filter(assignment=assignment)}
    changed = 0
    work = Submission.objects.filter(assignment=assignment, status=Status.IN_PROGRESS)
    if student is not None:
        work = work.filter(student=student)
    for submission in work.only("pk", "student_id", "started_at", "time_up_at"):
        time_up = _time_up_of(submission, assignment=assignment, support=supports.get(submission.student_id))
        if time_up != submission.time_up_at:
            Submission.objects.filter(pk=submission.pk).update(time_up_at=time_up)
            changed += 1
    return changed


def submissions_hand_in_timed_out(*, assignment_id=None, student=None, now=None) -> int:
    """Hand in, at the moment their time ran out, the pieces of work whose exam time limit has
    passed (when the assignment hands work in at the limit). Nothing is deleted: the answers as
    they stood are the ones handed in. Called whenever the pupil, the teacher or a page next
    looks (there is no background worker). One query when there is nothing to do."""
    now = now or timezone.now()
    due = Submission.objects.filter(
        status=Status.IN_PROGRESS,
        time_up_at__lt=now,
        assignment__on_time_limit=TimeLimitAction.HAND_IN,
    )
    if assignment_id is not None:
        due = due.filter(assignment_id=assignment_id)
    if student is not None:
        due = due.filter(student=student)
    ids = list(due.values_list("pk", flat=True))
    for pk in ids:
        _submit(Submission.objects.filter(pk=pk), student=None, submission_id=pk, now=now)
    return len(ids)


def _locked_submission(*, student, now: datetime, response_id=None, submission_id=None, assignment_id=None):
    """Lock and return the submission owning ``response_id`` (or ``submission_id``); with a
    ``student``, only theirs and only within an assignment they can still see. Must run inside
    ``transaction.atomic``. Raises ``Response.DoesNotExist`` when there is no such submission,
    ``WorkClosed`` when it can no longer change."""
    queryset = (
        Submission.objects.select_for_update(of=("self",), no_key=True)
        .select_related("assignment")
        .annotate(
            student_due_at=Coalesce(
                student_due_subquery(assignment_ref="assignment_id", student_ref=OuterRef("student_id")),
                F("assignment__due_at"),
            )
        )
    )
    if student is not None:
        queryset = queryset.filter(
            student=student, assignment__in=Assignment.objects.for_student(student).values("pk")
        )
    if assignment_id is not None:
        queryset = queryset.filter(assignment_id=assignment_id)
    if submission_id is not None:
        queryset = queryset.filter(pk=submission_id)
    if response_id is not None:
        queryset = queryset.filter(pk__in=Response.objects.filter(pk=response_id).values("submission_id"))
    submission = queryset.first()
    if submission is None:
        raise Response.DoesNotExist
    try:
        check_accepting(submission, now=now)
    except WorkClosed as closed:
        closed.submission = submission
        raise
    return submission


@dataclass(frozen=True)
class SavedAnswer:
    response_id: int
    version: int
    updated_at: datetime
    answered: bool


def answer_validate(text: str) -> None:
    """Raise ``AnswerRejected`` unless ``text`` can be stored exactly as given."""
    limit = settings.ANSWER_MAX_CHARS
    if len(text) > limit:
        raise AnswerRejected(
            _(
                "This answer is %(length)s characters long; the most an answer can hold is %(limit)s. "
                "Shorten it and it will save."
            )
            % {"length": f"{len(text):,}", "limit": f"{limit:,}"}
        )
    if "\x00" in text:
        raise AnswerRejected(_("This answer contains a character that cannot be saved (a null character)."))


# The compare-and-set; its condition also locks the submission as ``_locked_submission`` does
# (FOR NO KEY UPDATE on PostgreSQL; SQLite's IMMEDIATE transactions serialise writers), so it
# never interleaves with a submit: a submit holding the lock makes it wait, and once the
# submit commits the locking subquery re-reads the row (READ COMMITTED), finds it submitted
# and matches nothing.
_SAVE_IF_CURRENT = """
    UPDATE analysis_response SET text = %(text)s, version = version + 1, updated_at = %(now)s
    WHERE id = %(answer)s AND version = %(base)s AND EXISTS (
        SELECT 1 FROM analysis_submission s
        WHERE s.id = analysis_response.submission_id AND {accepts} {lock})"""

# After a refused compare-and-set: the answer as it stands and whether its submission still
# takes changes. A plain read, no lock, so a stale save writes nothing at all: the stored
# version only grows (it still differs from the base), and the text sent back is a committed
# state of the answer. A submission that no longer takes changes goes the long way.
_CURRENT = """
    SELECT r.id, r.text, r.version, r.updated_at, ({accepts}) AS accepting
    FROM analysis_response r JOIN analysis_submission s ON s.id = r.submission_id
    WHERE r.id = %(answer)s AND s.student_id = %(student)s"""


def _fit_the_database(*numbers) -> bool:
    """Whether these integers can be sent as they are: SQLite refuses any past 64 bits (a
    version from a tampered form), where a lookup should simply find nothing."""
    low, high = connection.ops.integer_field_range("BigIntegerField")
    return all(low <= number <= high for number in numbers if number is not None)


def _autosave_sql(template: str, *, assignment_id) -> str:
    mine = "AND s.assignment_id = %(assignment)s" if assignment_id is not None else ""
    accepts = ACCEPTS_WORK_SQL.format(assignment=mine)
    lock = ""
    if connection.features.has_select_for_update:
        lock = connection.ops.for_update_sql(no_key=True)
    return template.format(accepts=accepts, lock=lock)


def response_save(
    *, response_id: int, student, text: str, base_version: int, assignment_id=None, now=None
) -> SavedAnswer:
    """Store ``text`` exactly as given (no stripping) as the answer ``response_id`` of
    ``student``, provided the answer is still at ``base_version``; return the new version.

    Raises ``AnswerRejected`` (too long, null character: nothing stored), ``WorkClosed`` (already
    submitted, or past a strict due date), ``VersionConflict`` with the stored text and version
    when the answer moved on since ``base_version`` (nothing stored), ``Response.DoesNotExist``
    when the answer is not this student's. Saving the same text again still bumps the version,
    so every acknowledged save has its own version number.

    One statement when it saves (``_SAVE_IF_CURRENT``), two when the answer moved on (the
    compare-and-set, then ``_CURRENT``); only a closed or foreign answer goes on to
    ``_locked_submission``, which says precisely why.
    """
    answer_validate(text)
    if not _fit_the_database(response_id, assignment_id):
        raise Response.DoesNotExist  # no row has an id like that
    now = now or timezone.now()
    params = {
        "text": text,
        "now": connection.ops.adapt_datetimefield_value(now),
        "answer": response_id,
        "base": base_version,
        "student": student.pk,
        "assignment": assignment_id,
    }
    saved = SavedAnswer(
        response_id=response_id, version=base_version + 1, updated_at=now, answered=is_answered(text)
    )
    with transaction.atomic():
        if student.is_student and _fit_the_database(base_version):
            with connection.cursor() as cursor:
                cursor.execute(_autosave_sql(_SAVE_IF_CURRENT, assignment_id=assignment_id), params)
                if cursor.rowcount == 1:
                    return saved
            current = next(
                iter(Response.objects.raw(_autosave_sql(_CURRENT, assignment_id=assignment_id), params)),
                None,
            )
            if current is not None and current.accepting and current.version != base_version:
                raise VersionConflict(
                    text=current.text, version=current.version, updated_at=current.updated_at
                )
        # Not theirs, or closed (this raises, saying which); or it changed between the two
        # statements above (an extension granted that very moment), or a version no column
        # can hold (the ORM's lookup finds nothing): the long way, under the lock.
        submission = _locked_submission(
            student=student, now=now, response_id=response_id, assignment_id=assignment_id
        )
        if Response.objects.filter(pk=response_id, submission=submission, version=base_version).update(
            text=text, version=F("version") + 1, updated_at=now
        ):
            return saved
        current = Response.objects.only("text", "version", "updated_at").get(pk=response_id)
        raise VersionConflict(text=current.text, version=current.version, updated_at=current.updated_at)


def response_hint_reveal(*, response_id: int, student, assignment_id=None, now=None) -> Response:
    """Reveal the next hint of the answer's question and record it (``hints_used`` + 1, capped
    at the number of hints). Returns the response with its question. Raises
    ``HintsUnavailable`` when the assignment has hints off, ``WorkClosed`` once submitted."""
    now = now or timezone.now()
    with transaction.atomic():
        submission = _locked_submission(
            student=student, now=now, response_id=response_id, assignment_id=assignment_id
        )
        if not submission.assignment.hints_enabled:
            raise HintsUnavailable(_("Hints are turned off for this assignment."))
        support = StudentSupport.objects.filter(assignment=submission.assignment, student=student).first()
        level = effective_support_level(submission.assignment, support.support_level if support else None)
        if level == SupportLevel.EXAM:
            raise HintsUnavailable(_("There are no hints under exam conditions."))
        response = Response.objects.select_related("question").get(pk=response_id, submission=submission)
        if response.hints_used < len(response.question.hints):
            Response.objects.filter(pk=response.pk).update(hints_used=F("hints_used") + 1)
            response.hints_used += 1
        return response


def _answer_to_cite_in(*, student, now, response_id: int, assignment_id) -> Response:
    """The answer evidence is added to, its submission locked (see ``_locked_submission``)."""
    submission = _locked_submission(
        student=student, now=now, response_id=response_id, assignment_id=assignment_id
    )
    response = Response.objects.select_related("question").get(pk=response_id, submission=submission)
    response.submission = submission
    return response


def _check_room_for_evidence(response: Response) -> None:
    if Evidence.objects.filter(response=response).count() >= EVIDENCE_MAX_PER_ANSWER:
        raise EvidenceRejected(
            _("An answer can cite at most %(max)s quotations. Remove one to add another.")
            % {"max": EVIDENCE_MAX_PER_ANSWER}
        )


def evidence_add(
    *, response_id: int, student, passage_id: int, start: int, end: int, assignment_id=None, now=None
) -> tuple[Evidence, bool]:
    """Cite ``passage.text[start:end]`` as evidence for the answer; return ``(evidence, created)``.

    The quotation is always re-derived from the stored passage, never taken from the client.
    The span must satisfy ``0 <= start < end <= len(passage.text)``; surrounding whitespace is
    trimmed off, and a span of only whitespace is refused. The passage must belong to one of
    the exercise's sources. Citing the same span twice returns the existing evidence with
    ``created=False``. The evidence comes back with its response (and the response's locked
    submission and assignment) and passage attached. Raises ``EvidenceRejected``, ``WorkClosed``
    or ``Response.DoesNotExist``.
    """
    now = now or timezone.now()
    with transaction.atomic():
        response = _answer_to_cite_in(
            student=student, now=now, response_id=response_id, assignment_id=assignment_id
        )
        submission = response.submission
        passage = (
            Passage.objects.filter(
                pk=passage_id, source__exercise_links__exercise_id=submission.assignment.exercise_id
            )
            .select_related("source")
            .first()
        )
        if passage is None:
            raise EvidenceRejected(_("That passage is not one of this exercise's sources."))
        if not (0 <= start < end <= len(passage.text)):
            raise EvidenceRejected(_("That selection is not inside the passage. Select the words again."))
        start, end = trim_span(passage.text, start, end)
        if start == end:
            raise EvidenceRejected(_("Select some words of the source, not just spaces."))
        existing = Evidence.objects.filter(response=response, passage=passage, start=start, end=end).first()
        if existing is not None:
            existing.response, existing.passage = response, passage
            return existing, False
        _check_room_for_evidence(response)
        evidence = Evidence(
            response=response, passage=passage, start=start, end=end, quote=passage.text[start:end]
        )
        try:
            evidence.full_clean()
        except ValidationError as error:  # pragma: no cover - the checks above cover the constraints
            raise EvidenceRejected(" ".join(error.messages)) from error
        evidence.save()
        return evidence, True


def evidence_add_region(
    *, response_id: int, student, region_id: int, assignment_id=None, now=None
) -> tuple[Evidence, bool]:
    """Cite a region of an image source as evidence for the answer; return ``(evidence,
    created)``. The region must belong to one of the exercise's sources (anything else is
    refused, whatever id the client sends). Citing it twice returns the existing evidence with
    ``created=False``. The quote is the region's label when cited, for the record. Raises
    ``EvidenceRejected``, ``WorkClosed`` or ``Response.DoesNotExist`` like ``evidence_add``."""
    now = now or timezone.now()
    with transaction.atomic():
        response = _answer_to_cite_in(
            student=student, now=now, response_id=response_id, assignment_id=assignment_id
        )
        submission = response.submission
        region = (
            Region.objects.filter(
                pk=region_id, source__exercise_links__exercise_id=submission.assignment.exercise_id
            )
            .select_related("source")
            .first()
        )
        if region is None:
            raise EvidenceRejected(_("That region is not part of this exercise's sources."))
        existing = Evidence.objects.filter(response=response, region=region).first()
        if existing is not None:
            existing.response, existing.region = response, region
            return existing, False
        _check_room_for_evidence(response)
        evidence = Evidence.objects.create(response=response, region=region, quote=region.label)
        return evidence, True


def evidence_remove(*, evidence_id: int, response_id: int, student, assignment_id=None, now=None) -> Evidence:
    """Delete one piece of evidence from the student's answer; return it (deleted, with its
    response, submission and passage attached) so the caller can say what was removed. Raises
    ``Evidence.DoesNotExist`` when it is not on this answer, ``WorkClosed`` once submitted."""
    now = now or timezone.now()
    with transaction.atomic():
        submission = _locked_submission(
            student=student, now=now, response_id=response_id, assignment_id=assignment_id
        )
        evidence = Evidence.objects.select_related(
            "passage__source", "region__source", "response__question"
        ).get(pk=evidence_id, response_id=response_id, response__submission=submission)
        evidence.response.submission = submission
        evidence.delete()
        return evidence


def submission_submit(*, submission: Submission, now=None) -> Submission:
    """Hand the work in, once. Returns the submission as stored afterwards.

    Idempotent: whoever gets the row lock first submits; every other call (a double click, a
    retry, 20 parallel requests) finds it no longer in progress and returns the same submission
    with the same ``submitted_at`` and ``receipt_hash``. The receipt hashes the answers as they
    stand under the lock, which autosaves also take, so it covers the last acknowledged save.
    Late work: refused (``WorkClosed(reason="late")``) when the assignment does not accept it,
    otherwise marked ``is_late``. Answers need not be complete: the self-check only advises.
    """
    return _submit(
        Submission.objects.filter(pk=submission.pk), student=None, submission_id=submission.pk, now=now
    )


def submission_submit_own(*, student, assignment_id: int, now=None) -> Submission:
    """``submission_submit`` for the student's own submit button: finds their submission for an
    assignment they can still see under its lock, in one query, without loading the assignment
    first. Raises ``Response.DoesNotExist`` when there is none (never opened, or not theirs to
    see); the caller then starts it (``submission_start``) and submits that."""
    mine = Submission.objects.filter(student=student, assignment_id=assignment_id)
    return _submit(mine, student=student, assignment_id=assignment_id, now=now)


def _handed_in_responses(submission: Submission) -> list[Response]:
    """The submission's answers, each with ``citations``: its evidence as one
    ``passage:start:end`` list (aggregated in the same query, so handing in reads no more rows)."""
    citation = Concat(
        Coalesce(
            Cast("evidence__passage_id", CharField()),
            Concat(Value("r"), Cast("evidence__region_id", CharField()), output_field=CharField()),
        ),
        Value(":"),
        Cast("evidence__start", CharField()),
        Value(":"),
        Cast("evidence__end", CharField()),
        output_field=CharField(),
    )
    return list(
        Response.objects.filter(submission=submission).annotate(
            citations=StringAgg(
                citation, delimiter=Value(";"), filter=Q(evidence__isnull=False), default=Value("")
            )
        )
    )


def _citation(item: str) -> tuple:
    """``"12:0:5"`` (a passage span) or ``"r3:0:0"`` (a region) as ``answer_fingerprint`` takes it."""
    key, start, end = item.split(":")
    return (key if key.startswith("r") else int(key), int(start), int(end))


def _remember_handed_in(responses: list[Response]) -> None:
    """Store each answer's fingerprint (text and evidence) as handed in. A mark remembers the
    fingerprint it was given against, so an answer changed after a reopen is flagged for a fresh
    look before its old mark can be released. Writes only the answers whose fingerprint changed
    (one statement); a first hand-in writes them all."""
    changed = []
    for response in responses:
        citations = [_citation(item) for item in response.citations.split(";") if item]
        fingerprint = answer_fingerprint(response.text, citations)
        if fingerprint != response.content_hash:
            response.content_hash = fingerprint
            changed.append(response)
    if changed:
        Response.objects.bulk_update(changed, ["content_hash"])


def _submit(stored: QuerySet, *, now, **locate) -> Submission:
    now = now or timezone.now()
    with transaction.atomic():
        try:
            locked = _locked_submission(now=now, **locate)
            handed_in_at = now
        except WorkClosed as closed:
            if closed.reason == "submitted":
                return stored.get()
            if closed.reason != "time_up":
                raise
            # Out of time under a limit that hands the work in: it is handed in as it stood
            # when the time ran out, whoever looks first.
            locked = closed.submission
            handed_in_at = locked.time_up_at
        responses = _handed_in_responses(locked)
        _remember_handed_in(responses)
        due = locked.student_due_at
        locked.status = Status.SUBMITTED
        locked.submitted_at = handed_in_at
        over_time = locked.time_up_at is not None and handed_in_at > locked.time_up_at
        locked.is_late = bool(due and handed_in_at > due) or over_time
        locked.receipt_hash = locked.compute_receipt_hash(responses)
        # Values set here, not by a user; the database constraints still hold the invariants.
        locked.save(update_fields=["status", "submitted_at", "is_late", "receipt_hash"])
        transaction.on_commit(lambda: work_handed_in.send(sender=Submission, submission=locked))
        return locked
