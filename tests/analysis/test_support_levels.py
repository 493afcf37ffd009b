"""Support levels (guided, standard, exam conditions), exam time limits with per-pupil extra
time, and what the teacher sees of them: the grid, the marking page and the CSV export."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from analysis.classwork import errors, heuristics, panels
from analysis.classwork import selectors as work_reads
from analysis.classwork import services as work
from analysis.classwork.rules import ACCEPTS_WORK_SQL, check_accepting
from analysis.classwork.support import Support
from analysis.models import (
    Background,
    Extension,
    GlossaryTerm,
    Level,
    Mark,
    Response,
    StudentSupport,
    Submission,
    SupportLevel,
    TimeLimitAction,
)
from tests import factories

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def workspace(client, assignment):
    return client.get(reverse("learn:workspace", args=[assignment.pk])).content.decode()


@pytest.fixture
def rich_assignment(school_class):
    """An assignment whose source and questions carry every kind of help."""
    source = factories.make_source(
        caption="Printed with the source: a caption.",
        audience="Readers of the caption test",
        context="A context note only Guided shows.",
        translation="A translation note.",
        citation="A citation.",
        rights="Out of copyright.",
        teacher_notes="Teacher notes nobody but teachers read.",
    )
    source.passages.filter(position=0).update(modified="A simpler version of the first passage.")
    background = Background.objects.create(
        slug="a-background",
        title="What happened around it",
        timeline=[{"date": "25 October 1917", "event": "A timeline event."}],
        people=[{"name": "A Person", "role": "A role in events."}],
    )
    exercise = factories.make_exercise(sources=[source], background=background)
    source.save()  # a new updated_at: the panel cache never serves a stale version
    return factories.make_assignment(classroom=school_class, exercise=exercise)


# --- What each level shows ---------------------------------------------------------------------

SHOWN_BY = {
    # text on the page: the levels that show it
    "Printed with the source: a caption.": {"guided", "standard", "exam"},
    "Out of copyright.": {"guided", "standard", "exam"},
    "First passage text.": {"guided", "standard", "exam"},
    'popovertarget="gloss-': {"guided", "standard", "exam"},
    "Readers of the caption test": {"guided", "standard"},  # the origin card
    "A translation note.": {"guided", "standard"},
    "A timeline event.": {"guided", "standard"},
    "A role in events.": {"guided", "standard"},
    "Show a hint": {"guided", "standard"},
    "A context note only Guided shows.": {"guided"},
    "A simpler version of the first passage.": {"guided"},
    "Modified text: Passage 1": {"guided"},
    "Sentence starters": {"guided"},
}


@pytest.mark.parametrize("level", SupportLevel.values)
def test_each_level_shows_exactly_what_it_promises(student_client, rich_assignment, level):
    GlossaryTerm.objects.create(
        source=rich_assignment.exercise.sources.first(), term="passage", definition="A piece of text."
    )
    rich_assignment.support_level = level
    rich_assignment.save()

    html = workspace(student_client, rich_assignment)

    for text, levels in SHOWN_BY.items():
        assert (text in html) == (level in levels), (level, text)
    assert "Teacher notes nobody but teachers read." not in html
    assert f'data-support-level="{level}"' in html


def test_a_pupils_own_level_overrides_the_assignments(student_client, student, rich_assignment):
    StudentSupport.objects.create(assignment=rich_assignment, student=student, support_level="guided")

    html = workspace(student_client, rich_assignment)

    assert "A context note only Guided shows." in html
    assert "Sentence starters" in html


def test_the_panel_cache_keeps_levels_apart(student_client, classmate, client, rich_assignment):
    """Two pupils, two levels, one cache: neither sees the other's panel."""
    cache.clear()
    StudentSupport.objects.create(assignment=rich_assignment, student=classmate, support_level="exam")
    guided = Support(level="guided")
    exam = Support(level="exam")
    source = rich_assignment.exercise.sources.first()
    assert panels._key(source, guided) != panels._key(source, exam)

    standard_html = workspace(student_client, rich_assignment)
    client.force_login(classmate)
    exam_html = workspace(client, rich_assignment)

    assert "Readers of the caption test" in standard_html
    assert "Readers of the caption test" not in exam_html


def test_modified_text_is_not_part_of_the_citable_passage(student_client, rich_assignment):
    rich_assignment.support_level = "guided"
    rich_assignment.save()
    html = workspace(student_client, rich_assignment)
    passage = rich_assignment.exercise.sources.first().passages.get(position=0)
    section_end = html.index("</section>", html.index(f'id="passage-{passage.pk}"'))
    assert html.index("A simpler version of the first passage.") > section_end


def test_under_exam_conditions_hints_are_refused_even_when_the_assignment_has_them_on(
    student_client, student, rich_assignment
):
    rich_assignment.support_level = "exam"
    rich_assignment.save()
    submission = work.submission_start(assignment=rich_assignment, student=student)
    answer = submission.responses.first()

    reply = student_client.post(
        reverse("learn:response-hint", args=[rich_assignment.pk, answer.pk]), headers=HTMX
    )

    assert reply.status_code == 404
    answer.refresh_from_db()
    assert answer.hints_used == 0


def test_hints_are_revealed_one_tier_at_a_time_with_their_labels(student_client, student, assignment):
    submission = work.submission_start(assignment=assignment, student=student)
    answer = submission.responses.first()
    url = reverse("learn:response-hint", args=[assignment.pk, answer.pk])

    first = student_client.post(url, headers=HTMX).content.decode()
    assert "A nudge:" in first and "A first hint." in first and "A second hint." not in first
    second = student_client.post(url, headers=HTMX).content.decode()
    assert "A stronger pointer:" in second and "A second hint." in second


# --- Exam time limits ----------------------------------------------------------------------------


@pytest.fixture
def exam(school_class):
    return factories.make_assignment(
        classroom=school_class, support_level="exam", time_limit_minutes=40, due_at=None
    )


def test_the_clock_starts_when_the_pupil_first_opens_the_work_with_their_extra_time(student, classmate, exam):
    StudentSupport.objects.create(assignment=exam, student=classmate, extra_time_percent=25)

    mine = work.submission_start(assignment=exam, student=student)
    theirs = work.submission_start(assignment=exam, student=classmate)

    assert mine.time_up_at == mine.started_at + timedelta(minutes=40)
    assert theirs.time_up_at == theirs.started_at + timedelta(minutes=50)


def test_no_time_limit_below_exam_conditions(student, exam):
    StudentSupport.objects.create(assignment=exam, student=student, support_level="standard")
    assert work.submission_start(assignment=exam, student=student).time_up_at is None


def test_changing_the_limit_or_a_pupils_extra_time_moves_their_time(teacher_client, student, exam):
    submission = work.submission_start(assignment=exam, student=student)

    teacher_client.post(
        reverse("teach:assignment-support", args=[exam.pk]),
        {"student": student.pk, "support_level": "", "extra_time_percent": "50"},
    )

    submission.refresh_from_db()
    assert submission.time_up_at == submission.started_at + timedelta(minutes=60)
    assert StudentSupport.objects.get(student=student).extra_time_percent == 50


def _out_of_time(assignment, student, minutes_over=5, **answers):
    submission = work.submission_start(assignment=assignment, student=student)
    Submission.objects.filter(pk=submission.pk).update(
        time_up_at=timezone.now() - timedelta(minutes=minutes_over)
    )
    for position, text in answers.items():
        Response.objects.filter(submission=submission, question__position=int(position[1:])).update(
            text=text, version=1
        )
    return Submission.objects.get(pk=submission.pk)


def test_after_the_limit_saves_evidence_and_hints_are_refused_and_nothing_is_lost(
    student_client, student, exam
):
    submission = _out_of_time(exam, student, q0="What I wrote in time.")
    answer = submission.responses.get(question__position=0)
    passage = exam.exercise.sources.first().passages.first()

    save = student_client.post(
        reverse("learn:response-save", args=[exam.pk, answer.pk]),
        {"text": "Written after the limit.", "version": 1},
        headers=HTMX,
    )
    cite = student_client.post(
        reverse("learn:evidence-add", args=[exam.pk, answer.pk]),
        {"passage": passage.pk, "start": 0, "end": 5},
        headers=HTMX,
    )

    assert save.status_code == 409 and save.json()["error"] == "time_up"
    assert cite.status_code == 409
    answer.refresh_from_db()
    assert answer.text == "What I wrote in time."
    assert not answer.evidence.exists()


def test_work_out_of_time_counts_as_handed_in_at_the_limit_when_the_pupil_next_looks(
    student_client, student, exam
):
    submission = _out_of_time(exam, student, q0="What I wrote in time.")

    html = workspace(student_client, exam)

    handed_in = Submission.objects.get(pk=submission.pk)
    assert handed_in.status == Submission.Status.SUBMITTED
    assert handed_in.submitted_at == submission.time_up_at
    assert handed_in.receipt_hash and not handed_in.is_late
    assert "Handed in: your receipt" in html
    assert handed_in.responses.get(question__position=0).text == "What I wrote in time."


def test_work_out_of_time_is_handed_in_when_the_teacher_looks_at_the_grid(teacher_client, student, exam):
    submission = _out_of_time(exam, student)

    teacher_client.get(reverse("teach:assignment-progress", args=[exam.pk]))

    submission.refresh_from_db()
    assert submission.status == Submission.Status.SUBMITTED
    assert submission.submitted_at == submission.time_up_at


def test_handing_in_after_the_limit_hands_in_at_the_limit(student_client, student, exam):
    submission = _out_of_time(exam, student)

    student_client.post(reverse("learn:submit", args=[exam.pk]))

    submission.refresh_from_db()
    assert submission.status == Submission.Status.SUBMITTED
    assert submission.submitted_at == submission.time_up_at


def test_when_the_teacher_chose_mark_late_the_pupil_carries_on_and_is_marked_late(
    student_client, student, exam
):
    exam.on_time_limit = TimeLimitAction.MARK_LATE
    exam.save()
    submission = _out_of_time(exam, student)
    answer = submission.responses.first()

    html = workspace(student_client, exam)
    saved = student_client.post(
        reverse("learn:response-save", args=[exam.pk, answer.pk]),
        {"text": "Still writing.", "version": 0},
        headers=HTMX,
    )
    student_client.post(reverse("learn:submit", args=[exam.pk]))

    assert "work handed in now will be marked late" in html
    assert saved.status_code == 200
    submission.refresh_from_db()
    assert submission.status == Submission.Status.SUBMITTED and submission.is_late


def test_the_countdown_is_shown_with_the_servers_times(student_client, student, exam):
    html = workspace(student_client, exam)
    submission = Submission.objects.get(student=student, assignment=exam)
    assert 'id="countdown"' in html
    assert f'data-time-up="{timezone.localtime(submission.time_up_at).isoformat()}"' in html
    assert "js/countdown.js" in html


# The Python rule and its SQL copy, over the same cases.
CASES = [
    # (status, minutes past the limit (None: no limit), on time limit, late allowed, due in days)
    ("in_progress", None, "hand_in", True, 3),
    ("in_progress", -10, "hand_in", True, 3),
    ("in_progress", 10, "hand_in", True, 3),
    ("in_progress", 10, "mark_late", True, 3),
    ("in_progress", 10, "mark_late", False, -1),
    ("in_progress", None, "hand_in", False, -1),
    ("in_progress", -10, "hand_in", False, 3),
    ("in_progress", None, "hand_in", True, None),
    ("submitted", None, "hand_in", True, 3),
    ("submitted", -10, "hand_in", True, 3),
]


@pytest.mark.parametrize(("status", "over", "action", "late_allowed", "due_days"), CASES)
def test_the_sql_copy_of_the_rule_agrees_with_the_python_rule(
    student, school_class, status, over, action, late_allowed, due_days
):
    now = timezone.now()
    assignment = factories.make_assignment(
        classroom=school_class,
        on_time_limit=action,
        late_allowed=late_allowed,
        opens_at=now - timedelta(days=5),
        due_at=None if due_days is None else now + timedelta(days=due_days),
    )
    submission = factories.make_submission(
        assignment=assignment,
        student=student,
        status=status,
        time_up_at=None if over is None else now - timedelta(minutes=over),
    )
    if due_days == -1:
        Extension.objects.create(assignment=assignment, student=student, due_at=now - timedelta(hours=1))

    submission = work_reads.assignments_visible_to(student).get(pk=assignment.pk)
    locked = Submission.objects.get(assignment=assignment, student=student)
    locked.student_due_at = submission.student_due_at
    try:
        check_accepting(locked, now=now)
        python_accepts = True
    except errors.WorkClosed:
        python_accepts = False
    sql = f"SELECT COUNT(*) FROM analysis_submission s WHERE {ACCEPTS_WORK_SQL.format(assignment='')}"
    with connection.cursor() as cursor:
        cursor.execute(sql, {"student": student.pk, "now": connection.ops.adapt_datetimefield_value(now)})
        sql_accepts = cursor.fetchone()[0] == 1

    assert sql_accepts == python_accepts


# --- The teacher sees each pupil's level ---------------------------------------------------------


@pytest.fixture
def exam_pupil(assignment, classmate):
    StudentSupport.objects.create(
        assignment=assignment, student=classmate, support_level="exam", extra_time_percent=25
    )
    return classmate


def test_the_grid_shows_each_pupils_support(teacher_client, assignment, exam_pupil):
    factories.make_submission(assignment=assignment, student=exam_pupil, answers={0: "An answer."})
    html = teacher_client.get(reverse("teach:assignment-progress", args=[assignment.pk])).content.decode()
    row = html[html.index(exam_pupil.display_name) :]
    row = row[: row.index("</tr>")]
    assert "Exam conditions +25% time" in row
    assert "Support: Standard" in html  # the assignment's own level, in its heading


def test_the_marking_page_shows_the_pupils_support(teacher_client, assignment, exam_pupil):
    submission = factories.make_submission(
        assignment=assignment, student=exam_pupil, answers={0: "An answer."}, status="submitted"
    )
    html = teacher_client.get(
        reverse("teach:submission-mark", args=[assignment.pk, submission.pk])
    ).content.decode()
    assert "Support: Exam conditions +25% time" in html


def test_the_csv_export_has_a_support_column(teacher_client, assignment, exam_pupil, student):
    response = teacher_client.get(reverse("teach:assignment-export", args=[assignment.pk]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    column = rows[0].index("Support")
    by_user = {row[1]: row[column] for row in rows[1:]}
    assert by_user == {student.username: "Standard", exam_pupil.username: "Exam conditions +25% time"}


# --- Level 0: a mark, not the absence of one -----------------------------------------------------


@pytest.fixture
def level_zero_assignment(school_class):
    scheme = factories.make_mark_scheme()
    Level.objects.create(
        scheme=scheme, number=0, min_marks=0, max_marks=0, descriptor="No creditable response."
    )
    exercise = factories.make_exercise(mark_scheme=scheme)
    return factories.make_assignment(classroom=school_class, exercise=exercise)


def test_a_level_0_mark_is_saved_as_level_0_and_shown_apart_from_unmarked(
    teacher_client, level_zero_assignment, student
):
    assignment = level_zero_assignment
    submission = factories.make_submission(
        assignment=assignment, student=student, answers={0: "Off the point.", 1: "Later."}, status="submitted"
    )
    first = submission.responses.get(question__position=0)
    url = reverse("teach:submission-mark", args=[assignment.pk, submission.pk])
    page = teacher_client.get(url).content.decode()
    assert "Level 0 · 0–0 marks" in page
    assert "No creditable response · 0 marks" not in page  # the scheme's own Level 0 stands in for it

    prefix = f"r{first.pk}"
    teacher_client.post(
        reverse("teach:response-mark", args=[assignment.pk, first.pk]),
        {f"{prefix}-level": "0", f"{prefix}-marks": "0"},
    )

    mark = Mark.objects.get(response=first)
    assert (mark.level, mark.marks) == (0, 0)
    rows = list(
        csv.reader(
            io.StringIO(
                teacher_client.get(reverse("teach:assignment-export", args=[assignment.pk])).content.decode(
                    "utf-8-sig"
                )
            )
        )
    )
    mine = next(row for row in rows if row[1] == student.username)
    q1 = rows[0].index("Q1 Origin (/4)")
    assert mine[q1] == "0" and mine[q1 + 1] == ""  # Level 0 is a 0; unmarked is blank


def test_the_pupil_sees_level_0_as_a_mark_and_unmarked_as_not_marked(
    student_client, level_zero_assignment, student
):
    submission = factories.make_submission(
        assignment=level_zero_assignment,
        student=student,
        answers={0: "Off the point.", 1: "Later."},
        status=Submission.Status.RETURNED,
        returned_at=timezone.now(),
    )
    factories.make_mark(response=submission.responses.get(question__position=0), level=0, marks=0)

    html = student_client.get(reverse("learn:feedback", args=[level_zero_assignment.pk])).content.decode()

    assert "<dt>Level</dt><dd>0</dd>" in html
    assert "Not marked (out of 4)" in html


# --- Self-check from the question's declared checks ------------------------------------------------


def _item(question, text, chips=()):
    return work_reads.QuestionItem(question=question, response=Response(text=text), chips=list(chips))


def test_a_dating_question_is_not_told_to_name_the_author(assignment):
    question = assignment.exercise.questions.get(position=0)  # an origin question
    question.checks = ["date", "evidence"]
    source = assignment.exercise.sources.first()

    checks = heuristics.submission_self_check(
        items=[_item(question, "It was written in 1917.")], sources=[source]
    )

    messages = [check.message for check in checks]
    assert not any("who produced" in message for message in messages)
    assert "Question 1 gives a date (a year or a month)." in messages


def test_without_checks_an_origin_question_still_asks_who_and_when(assignment):
    question = assignment.exercise.questions.get(position=0)
    source = assignment.exercise.sources.first()
    checks = heuristics.submission_self_check(items=[_item(question, "Some thoughts.")], sources=[source])
    assert checks[-1].message == "Question 1 does not yet say who produced the source or when."


def test_declared_checks_give_their_own_advice(assignment):
    question = assignment.exercise.questions.get(position=2)
    question.checks = ["both_sources", "judgement", "own_knowledge", "purpose", "audience"]
    source = assignment.exercise.sources.first()

    weak = heuristics.submission_self_check(items=[_item(question, "It says things.")], sources=[source])
    strong = heuristics.submission_self_check(
        items=[
            _item(
                question,
                "Source A and Source B were written for the delegates because Trotsky wanted to persuade "
                "them; overall Source B is more valuable, since on 29 October the talks began.",
            )
        ],
        sources=[source],
    )

    assert [check.ok for check in weak[2:]] == [False] * 5
    assert [check.ok for check in strong[2:]] == [True] * 5
