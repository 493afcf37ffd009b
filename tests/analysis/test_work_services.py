"""The rules of the student's work (analysis.classwork), without HTTP."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Classroom
from analysis.classwork import errors, heuristics
from analysis.classwork import selectors as work_reads
from analysis.classwork import services as work
from analysis.models import Assignment, Evidence, Extension, Question, Response, Stage, Submission
from tests import factories


def answers(submission):
    return list(Response.objects.filter(submission=submission).order_by("question__position"))


# --- starting --------------------------------------------------------------------------------


def test_start_creates_one_submission_with_a_response_per_question(assignment, student):
    first = work.submission_start(assignment=assignment, student=student)
    again = work.submission_start(assignment=assignment, student=student)
    assert first.pk == again.pk
    assert Submission.objects.filter(assignment=assignment, student=student).count() == 1
    assert [r.question.stage for r in answers(first)] == [Stage.ORIGIN, Stage.PURPOSE, Stage.RELIABILITY]
    assert all(r.text == "" and r.version == 0 for r in answers(first))


def test_start_adds_a_response_for_a_question_added_later(assignment, student, submission):
    Question.objects.create(
        exercise=assignment.exercise, position=5, stage=Stage.RELIABILITY, prompt="New?", max_marks=4
    )
    work.submission_start(assignment=assignment, student=student)
    assert len(answers(submission)) == 4


def test_start_before_the_assignment_opens_is_refused(school_class, student):
    later = factories.make_assignment(
        classroom=school_class,
        opens_at=timezone.now() + timedelta(days=1),
        due_at=timezone.now() + timedelta(days=8),
    )
    with pytest.raises(errors.WorkClosed) as closed:
        work.submission_start(assignment=later, student=student)
    assert closed.value.reason == "not_open"
    assert not Submission.objects.exists()


# --- saving ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["  leading and trailing spaces  \n\n", "line one\r\nline two", "Ünïcödé — “quotes” 𝔘 😀", "", "\t"],
)
def test_save_stores_the_text_exactly_and_bumps_the_version(submission, student, text):
    response = answers(submission)[0]
    saved = work.response_save(response_id=response.pk, student=student, text=text, base_version=0)
    response.refresh_from_db()
    assert response.text == text
    assert saved.version == response.version == 1
    assert saved.answered == bool(text.strip())


def test_a_stale_save_is_refused_with_the_stored_text(submission, student):
    response = answers(submission)[0]
    work.response_save(response_id=response.pk, student=student, text="from tab A", base_version=0)
    with pytest.raises(errors.VersionConflict) as conflict:
        work.response_save(response_id=response.pk, student=student, text="from tab B", base_version=0)
    assert (conflict.value.text, conflict.value.version) == ("from tab A", 1)
    response.refresh_from_db()
    assert (response.text, response.version) == ("from tab A", 1)


def test_an_answer_at_the_limit_saves_and_one_over_is_refused(submission, student, settings):
    settings.ANSWER_MAX_CHARS = 50
    response = answers(submission)[0]
    work.response_save(response_id=response.pk, student=student, text="x" * 50, base_version=0)
    with pytest.raises(errors.AnswerRejected) as rejected:
        work.response_save(response_id=response.pk, student=student, text="y" * 51, base_version=1)
    assert "51" in rejected.value.message and "50" in rejected.value.message
    response.refresh_from_db()
    assert (response.text, response.version) == ("x" * 50, 1)


def test_a_null_character_is_refused_rather_than_altered(submission, student):
    response = answers(submission)[0]
    with pytest.raises(errors.AnswerRejected):
        work.response_save(response_id=response.pk, student=student, text="a\x00b", base_version=0)


def test_saving_another_students_answer_is_not_found(submission, classmate, school_class):
    response = answers(submission)[0]
    with pytest.raises(Response.DoesNotExist):
        work.response_save(response_id=response.pk, student=classmate, text="mine now", base_version=0)
    response.refresh_from_db()
    assert response.text == ""


def test_saving_after_leaving_the_class_is_not_found(submission, student, school_class):
    school_class.enrollments.filter(student=student).delete()
    with pytest.raises(Response.DoesNotExist):
        work.response_save(response_id=answers(submission)[0].pk, student=student, text="x", base_version=0)


def test_saving_after_submitting_is_refused(submission, student):
    work.submission_submit(submission=submission)
    with pytest.raises(errors.WorkClosed) as closed:
        work.response_save(response_id=answers(submission)[0].pk, student=student, text="x", base_version=0)
    assert closed.value.reason == "submitted"


def test_strict_due_date_refuses_saving_and_submitting_once_passed(school_class, student):
    assignment = factories.make_assignment(
        classroom=school_class,
        opens_at=timezone.now() - timedelta(days=3),
        due_at=timezone.now() - timedelta(hours=1),
        late_allowed=False,
    )
    submission = work.submission_start(assignment=assignment, student=student)
    with pytest.raises(errors.WorkClosed) as closed:
        work.response_save(response_id=answers(submission)[0].pk, student=student, text="x", base_version=0)
    assert closed.value.reason == "late"
    with pytest.raises(errors.WorkClosed):
        work.submission_submit(submission=submission)
    submission.refresh_from_db()
    assert submission.status == Submission.Status.IN_PROGRESS


def test_an_extension_keeps_a_strict_assignment_open_for_that_student(school_class, student):
    assignment = factories.make_assignment(
        classroom=school_class,
        opens_at=timezone.now() - timedelta(days=3),
        due_at=timezone.now() - timedelta(hours=1),
        late_allowed=False,
    )
    Extension.objects.create(
        assignment=assignment, student=student, due_at=timezone.now() + timedelta(days=1)
    )
    submission = work.submission_start(assignment=assignment, student=student)
    work.response_save(response_id=answers(submission)[0].pk, student=student, text="x", base_version=0)
    submitted = work.submission_submit(submission=submission)
    assert submitted.status == Submission.Status.SUBMITTED
    assert not submitted.is_late


def test_late_work_when_allowed_is_accepted_and_marked_late(school_class, student):
    assignment = factories.make_assignment(
        classroom=school_class,
        opens_at=timezone.now() - timedelta(days=3),
        due_at=timezone.now() - timedelta(hours=1),
        late_allowed=True,
    )
    submission = work.submission_start(assignment=assignment, student=student)
    work.response_save(response_id=answers(submission)[0].pk, student=student, text="late", base_version=0)
    assert work.submission_submit(submission=submission).is_late


# The autosave writes with its own SQL (the busiest request): each rule of _locked_submission
# must hold on that path too, and refuse with the same answer, storing nothing.


def test_an_extension_that_has_run_out_closes_a_strict_assignment(school_class, student):
    assignment = factories.make_assignment(
        classroom=school_class,
        opens_at=timezone.now() - timedelta(days=3),
        due_at=timezone.now() + timedelta(days=1),
        late_allowed=False,
    )
    Extension.objects.create(
        assignment=assignment, student=student, due_at=timezone.now() - timedelta(minutes=1)
    )
    submission = work.submission_start(assignment=assignment, student=student)
    with pytest.raises(errors.WorkClosed) as closed:
        work.response_save(response_id=answers(submission)[0].pk, student=student, text="x", base_version=0)
    assert closed.value.reason == "late"
    assert answers(submission)[0].text == ""


def test_saving_after_the_opening_was_postponed_is_refused(submission, student, assignment):
    Assignment.objects.filter(pk=assignment.pk).update(opens_at=timezone.now() + timedelta(days=1))
    with pytest.raises(errors.WorkClosed) as closed:
        work.response_save(response_id=answers(submission)[0].pk, student=student, text="x", base_version=0)
    assert closed.value.reason == "not_open"
    assert answers(submission)[0].text == ""


@pytest.mark.parametrize("archived", ["assignment", "class"])
def test_saving_in_an_archived_assignment_or_class_is_not_found(submission, student, archived):
    if archived == "assignment":
        Assignment.objects.filter(pk=submission.assignment_id).update(archived_at=timezone.now())
    else:
        Classroom.objects.filter(pk=submission.assignment.classroom_id).update(archived_at=timezone.now())
    with pytest.raises(Response.DoesNotExist):
        work.response_save(response_id=answers(submission)[0].pk, student=student, text="x", base_version=0)
    assert answers(submission)[0].text == ""


def test_saving_an_answer_under_another_assignment_is_not_found(submission, student, school_class):
    other = factories.make_assignment(classroom=school_class)
    work.submission_start(assignment=other, student=student)
    response = answers(submission)[0]
    with pytest.raises(Response.DoesNotExist):
        work.response_save(
            response_id=response.pk, student=student, text="x", base_version=0, assignment_id=other.pk
        )
    saved = work.response_save(
        response_id=response.pk,
        student=student,
        text="x",
        base_version=0,
        assignment_id=submission.assignment_id,
    )
    assert saved.version == 1


def test_ids_and_versions_no_column_can_hold_are_refused_not_crashed(submission, student):
    response = answers(submission)[0]
    with pytest.raises(Response.DoesNotExist):
        work.response_save(response_id=2**70, student=student, text="x", base_version=0)
    with pytest.raises(Response.DoesNotExist):
        work.response_save(
            response_id=response.pk, student=student, text="x", base_version=0, assignment_id=2**70
        )
    with pytest.raises(errors.VersionConflict) as conflict:
        work.response_save(response_id=response.pk, student=student, text="x", base_version=2**70)
    assert conflict.value.version == 0
    response.refresh_from_db()
    assert (response.text, response.version) == ("", 0)


def test_a_stale_save_after_submitting_is_refused_as_submitted(submission, student):
    """Closed wins over stale: the pupil is told the work is handed in, not shown a conflict."""
    response = answers(submission)[0]
    work.response_save(response_id=response.pk, student=student, text="kept", base_version=0)
    work.submission_submit(submission=submission)
    with pytest.raises(errors.WorkClosed) as closed:
        work.response_save(response_id=response.pk, student=student, text="lost?", base_version=0)
    assert closed.value.reason == "submitted"
    response.refresh_from_db()
    assert (response.text, response.version) == ("kept", 1)


def _backend_waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_a_save_waiting_for_a_submit_is_refused_once_the_submit_commits(school_class, student):
    """The save's compare-and-set locks the submission as a submit does: it waits for a submit
    in progress, then finds the work handed in and stores nothing, so the receipt covers every
    acknowledged save."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite serialises whole write transactions)")
    assignment = factories.make_assignment(classroom=school_class)
    submission = work.submission_start(assignment=assignment, student=student)
    response = answers(submission)[0]
    locked, commit = threading.Event(), threading.Event()
    outcome = []

    def submit_holding_the_lock():
        try:
            with transaction.atomic():
                Submission.objects.select_for_update(no_key=True).get(pk=submission.pk)
                locked.set()
                commit.wait(timeout=20)
                Submission.objects.filter(pk=submission.pk).update(
                    status=Submission.Status.SUBMITTED, submitted_at=timezone.now()
                )
        finally:
            connection.close()

    def save():
        try:
            locked.wait(timeout=20)
            work.response_save(response_id=response.pk, student=student, text="too late", base_version=0)
            outcome.append("saved")
        except errors.WorkClosed as closed:
            outcome.append(closed.reason)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit_holding_the_lock), threading.Thread(target=save)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while not _backend_waiting_for_a_lock() and time.monotonic() < deadline:
        time.sleep(0.02)
    waited = _backend_waiting_for_a_lock()
    commit.set()
    for thread in threads:
        thread.join(timeout=30)

    assert waited, "the save did not wait for the submission's lock"
    assert outcome == ["submitted"]
    response.refresh_from_db()
    assert (response.text, response.version) == ("", 0)


# --- hints -----------------------------------------------------------------------------------


def test_each_hint_is_recorded_and_the_count_stops_at_the_number_of_hints(submission, student):
    response = answers(submission)[0]
    counts = [
        work.response_hint_reveal(response_id=response.pk, student=student).hints_used for _ in range(3)
    ]
    assert counts == [1, 2, 2]
    response.refresh_from_db()
    assert response.hints_used == 2


def test_hints_turned_off_are_unavailable(school_class, student):
    assignment = factories.make_assignment(classroom=school_class, hints_enabled=False)
    submission = work.submission_start(assignment=assignment, student=student)
    with pytest.raises(errors.HintsUnavailable):
        work.response_hint_reveal(response_id=answers(submission)[0].pk, student=student)
    assert answers(submission)[0].hints_used == 0


# --- evidence --------------------------------------------------------------------------------


def test_evidence_quote_comes_from_the_stored_passage(submission, student, passage):
    response = answers(submission)[1]
    evidence, created = work.evidence_add(
        response_id=response.pk, student=student, passage_id=passage.pk, start=6, end=13
    )
    assert created
    assert (evidence.start, evidence.end, evidence.quote) == (6, 13, "passage")


def test_evidence_span_is_trimmed_of_surrounding_whitespace(submission, student, passage):
    evidence, _ = work.evidence_add(
        response_id=answers(submission)[1].pk, student=student, passage_id=passage.pk, start=5, end=14
    )
    assert evidence.quote == "passage"


@pytest.mark.parametrize(("start", "end"), [(5, 6), (3, 3), (8, 2), (0, 999)])
def test_blank_empty_reversed_or_overlong_spans_are_refused(submission, student, passage, start, end):
    with pytest.raises(errors.EvidenceRejected):
        work.evidence_add(
            response_id=answers(submission)[1].pk,
            student=student,
            passage_id=passage.pk,
            start=start,
            end=end,
        )
    assert not Evidence.objects.exists()


def test_a_passage_from_another_exercise_is_refused(submission, student):
    stranger = factories.make_source().passages.first()
    with pytest.raises(errors.EvidenceRejected):
        work.evidence_add(
            response_id=answers(submission)[1].pk, student=student, passage_id=stranger.pk, start=0, end=5
        )


def test_citing_the_same_span_twice_keeps_one(submission, student, passage):
    response = answers(submission)[1]
    first, created_first = work.evidence_add(
        response_id=response.pk, student=student, passage_id=passage.pk, start=0, end=5
    )
    second, created_second = work.evidence_add(
        response_id=response.pk, student=student, passage_id=passage.pk, start=0, end=5
    )
    assert (created_first, created_second) == (True, False)
    assert first.pk == second.pk
    assert Evidence.objects.filter(response=response).count() == 1


def test_evidence_cannot_be_added_to_someone_elses_answer(submission, classmate, passage):
    with pytest.raises(Response.DoesNotExist):
        work.evidence_add(
            response_id=answers(submission)[1].pk, student=classmate, passage_id=passage.pk, start=0, end=5
        )


def test_evidence_is_removed_only_from_its_own_answer(submission, student, passage):
    first, second = answers(submission)[1:3]
    evidence, _ = work.evidence_add(
        response_id=first.pk, student=student, passage_id=passage.pk, start=0, end=5
    )
    with pytest.raises(Evidence.DoesNotExist):
        work.evidence_remove(evidence_id=evidence.pk, response_id=second.pk, student=student)
    removed = work.evidence_remove(evidence_id=evidence.pk, response_id=first.pk, student=student)
    assert removed.quote == "First"
    assert not Evidence.objects.exists()


def test_evidence_is_frozen_after_submitting(submission, student, passage):
    response = answers(submission)[1]
    evidence, _ = work.evidence_add(
        response_id=response.pk, student=student, passage_id=passage.pk, start=0, end=5
    )
    work.submission_submit(submission=submission)
    with pytest.raises(errors.WorkClosed):
        work.evidence_add(response_id=response.pk, student=student, passage_id=passage.pk, start=6, end=13)
    with pytest.raises(errors.WorkClosed):
        work.evidence_remove(evidence_id=evidence.pk, response_id=response.pk, student=student)
    assert Evidence.objects.count() == 1


# --- submitting ------------------------------------------------------------------------------


def test_submit_records_time_and_a_receipt_of_the_answers(submission, student):
    response = answers(submission)[0]
    work.response_save(response_id=response.pk, student=student, text="Trotsky, 1917.", base_version=0)
    submitted = work.submission_submit(submission=submission)
    assert submitted.status == Submission.Status.SUBMITTED
    assert submitted.submitted_at is not None
    assert submitted.receipt_hash == submitted.compute_receipt_hash(answers(submission))
    assert len(submitted.receipt_hash) == 64


def test_submitting_twice_submits_once(submission):
    first = work.submission_submit(submission=submission)
    second = work.submission_submit(submission=submission, now=timezone.now() + timedelta(minutes=5))
    assert (second.submitted_at, second.receipt_hash) == (first.submitted_at, first.receipt_hash)


def test_submitting_unanswered_work_is_allowed(submission):
    assert work.submission_submit(submission=submission).status == Submission.Status.SUBMITTED


def test_a_returned_submission_stays_returned_when_submitted_again(submission):
    work.submission_submit(submission=submission)
    Submission.objects.filter(pk=submission.pk).update(status=Submission.Status.RETURNED)
    assert work.submission_submit(submission=submission).status == Submission.Status.RETURNED


# --- reading ---------------------------------------------------------------------------------


def test_sentences_split_at_full_stops_but_not_after_a_list_number():
    text = "1. Acceptance of the program. Second one! Third?\nA new line… and more"
    sentences = heuristics.passage_sentences(text)
    assert [s.text for s in sentences] == [
        "1. Acceptance of the program.",
        "Second one!",
        "Third?",
        "A new line…",
        "and more",
    ]
    assert all(text[s.start : s.end] == s.text for s in sentences)


def test_self_check_gives_advice_from_the_answers(assignment, student):
    source = assignment.exercise.sources.first()
    source.author = "Leon Trotsky"
    source.save()
    ws = work_reads.workspace_load(
        assignment=work_reads.assignments_visible_to(student).get(), student=student
    )
    messages = [check.message for check in ws.self_check if not check.ok]
    assert "Not answered yet: question 1, 2, 3." in messages
    assert "No quotation attached to question 2, 3." in messages
    assert any("does not yet say who produced the source or when" in m for m in messages)

    origin = ws.items[0].response
    work.response_save(
        response_id=origin.pk, student=student, text="Trotsky spoke in November", base_version=0
    )
    ws = work_reads.workspace_load(
        assignment=work_reads.assignments_visible_to(student).get(), student=student
    )
    assert ws.self_check[-1].ok
    assert ws.self_check[-1].message == "Question 1 says who produced the source and when."


def test_origin_check_asks_for_when_if_only_who_is_given(assignment, student):
    source = assignment.exercise.sources.first()
    items = [
        work_reads.QuestionItem(
            question=assignment.exercise.questions.first(), response=Response(text="By Author"), chips=[]
        )
    ]
    source.author = "An Author"
    checks = heuristics.submission_self_check(items=items, sources=[source])
    assert checks[-1].message == "Question 1 names who produced the source but not when (a year or a month)."


def test_assignment_rows_show_status_due_date_and_progress_in_one_query(
    school_class, student, other_class, django_assert_num_queries
):
    now = timezone.now()
    later = factories.make_assignment(classroom=school_class, due_at=now + timedelta(days=9))
    sooner = factories.make_assignment(classroom=school_class, due_at=now + timedelta(days=2))
    extended = factories.make_assignment(classroom=school_class, due_at=now + timedelta(days=1))
    Extension.objects.create(assignment=extended, student=student, due_at=now + timedelta(days=5))
    overdue = factories.make_assignment(
        classroom=school_class, opens_at=now - timedelta(days=5), due_at=now - timedelta(days=1)
    )
    undated = factories.make_assignment(classroom=school_class, due_at=None)
    factories.make_assignment(classroom=other_class)
    factories.make_submission(assignment=sooner, student=student, answers={0: "An answer", 1: "  "})
    factories.make_submission(assignment=later, student=student, status=Submission.Status.SUBMITTED)

    with django_assert_num_queries(1):
        rows = work_reads.assignment_rows_for_student(student=student, now=now)

    assert [row.assignment for row in rows] == [overdue, sooner, extended, later, undated]
    by_assignment = {row.assignment: row for row in rows}
    assert by_assignment[sooner].status == "in_progress"
    assert (by_assignment[sooner].answered, by_assignment[sooner].total) == (1, 3)
    assert by_assignment[later].status == "submitted"
    assert by_assignment[extended].due_at == now + timedelta(days=5)
    assert by_assignment[overdue].is_overdue and by_assignment[overdue].status == "not_started"
    assert not by_assignment[later].is_overdue


@pytest.mark.parametrize(
    ("selected", "expected"),
    [
        (". Unrelenting struggle", "Unrelenting struggle"),  # stray punctuation and space dropped
        ("Second All-", "Second All-Russian"),  # a word cut in two is taken whole
        ("cond All-Russian Cong", "Second All-Russian Congress"),
        ("the Soviet's", "the Soviet's"),
        ("struggle. ", "struggle."),  # a closing full stop belongs to the quotation
        ("struggle. (", "struggle."),  # nor does an opening bracket at the end
    ],
)
def test_a_quotation_snaps_to_whole_words(selected, expected):
    text = "Workers of the Second All-Russian Congress of the Soviet's party. Unrelenting struggle. (the end)"
    start = text.index(selected)
    start, end = heuristics.trim_span(text, start, start + len(selected))
    assert text[start:end] == expected


def test_evidence_added_from_a_ragged_selection_is_stored_as_whole_words(assignment, responses, student):
    passage = assignment.exercise.sources.first().passages.first()  # "First passage text."
    evidence, _created = work.evidence_add(
        response_id=responses[1].pk, student=student, passage_id=passage.pk, start=3, end=10
    )
    assert evidence.quote == "First passage"


def test_feedback_shows_a_quotation_with_the_words_around_it():
    from types import SimpleNamespace

    from analysis.classwork.selectors import Chip

    text = (
        "One two three four five six seven eight. Quoted words here, then nine ten eleven twelve "
        "thirteen fourteen."
    )
    start = text.index("Quoted")
    passage = SimpleNamespace(text=text)
    evidence = SimpleNamespace(passage=passage, start=start, end=start + len("Quoted words here"))
    chip = Chip(evidence=evidence, source_letter="A", first_line=14, last_line=14)
    assert chip.before == "…three four five six seven eight. "
    assert chip.after == ", then nine ten eleven twelve thirteen…"
    assert chip.where == "Source A, line 14"
