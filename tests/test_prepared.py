"""Prepared queries (config/prepared.py) return what their querysets return, case by case.

The workspace reads its assignment, answers, evidence and sources through queries compiled once
per process. These tests hold each prepared read to the plain queryset it is built from, on
cases where the answer differs (another pupil, a class left, an archived assignment, an
extension, a support override), and check the guards that keep a prepared query honest.
"""

import threading
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Enrollment, User
from analysis.classwork import selectors
from analysis.models import Assignment, Source, StudentSupport, SupportLevel
from config.prepared import PreparedQuery
from tests import factories

pytestmark = pytest.mark.django_db


def _as_orm(student, pk):
    return selectors.workspace_assignments(student).filter(pk=pk).first()


def _same_assignment(prepared: Assignment | None, orm: Assignment | None):
    assert (prepared is None) == (orm is None)
    if orm is None:
        return
    for name in ("pk", "student_due_at", "own_support_level", "own_extra_time", "question_total"):
        assert getattr(prepared, name) == getattr(orm, name), name
    # select_related came along: no query to reach the exercise, its background or the class.
    with CaptureQueriesContext(connection) as captured:
        assert prepared.exercise.title == orm.exercise.title
        assert prepared.exercise.background == orm.exercise.background
        assert prepared.classroom.name == orm.classroom.name
    assert len(captured) == 0


@pytest.fixture
def world():
    student, other = factories.make_student(), factories.make_student()
    classroom = factories.make_classroom(teacher=factories.make_teacher(), students=[student, other])
    assignment = factories.make_assignment(classroom=classroom)
    return student, other, classroom, assignment


def test_assignment_matches_the_queryset_for_each_case(world):
    student, other, classroom, assignment = world
    cases = [(student, assignment.pk), (other, assignment.pk), (student, assignment.pk + 999)]
    outsider = factories.make_student()
    cases.append((outsider, assignment.pk))
    for who, pk in cases:
        _same_assignment(selectors.workspace_assignment(student=who, pk=pk), _as_orm(who, pk))
    assert selectors.workspace_assignment(student=student, pk=assignment.pk) is not None
    assert selectors.workspace_assignment(student=outsider, pk=assignment.pk) is None


def test_assignment_follows_extensions_support_and_leaving(world):
    student, other, classroom, assignment = world
    factories.make_extension(assignment=assignment, student=student, days=30)
    StudentSupport.objects.create(
        assignment=assignment, student=student, support_level=SupportLevel.GUIDED, extra_time_percent=25
    )
    found = selectors.workspace_assignment(student=student, pk=assignment.pk)
    _same_assignment(found, _as_orm(student, assignment.pk))
    assert found.student_due_at > assignment.due_at + timedelta(days=20)
    assert found.own_support_level == SupportLevel.GUIDED and found.own_extra_time == 25
    # The other pupil has neither.
    theirs = selectors.workspace_assignment(student=other, pk=assignment.pk)
    assert theirs.student_due_at == assignment.due_at and theirs.own_support_level is None

    Enrollment.objects.filter(classroom=classroom, student=other).update(ended_at=timezone.now())
    assert selectors.workspace_assignment(student=other, pk=assignment.pk) is None
    Assignment.objects.filter(pk=assignment.pk).update(archived_at=timezone.now())
    assert selectors.workspace_assignment(student=student, pk=assignment.pk) is None
    assert _as_orm(student, assignment.pk) is None


def test_a_teacher_never_gets_a_workspace_assignment(world):
    _, _, classroom, assignment = world
    teacher = classroom.teachers.get()
    assert selectors.workspace_assignment(student=teacher, pk=assignment.pk) is None


def test_answers_and_evidence_are_the_pupils_own_in_order(world):
    student, other, _, assignment = world
    mine = factories.make_submission(assignment=assignment, student=student, answers={0: "Mine."})
    theirs = factories.make_submission(assignment=assignment, student=other, answers={0: "Theirs."})
    first, second = mine.responses.order_by("question__position")[:2]
    cited = [factories.make_evidence(response=second, start=0, end=5)]
    cited.append(factories.make_evidence(response=first, start=6, end=13))
    factories.make_evidence(response=theirs.responses.order_by("question__position").first(), start=0, end=5)

    responses = selectors._workspace_responses(assignment=assignment, student=student)
    expected = list(mine.responses.select_related("question").order_by("question__position", "question_id"))
    assert [r.pk for r in responses] == [r.pk for r in expected]
    assert [r.text for r in responses] == [r.text for r in expected]
    assert [e.pk for e in responses[0].cited] == [cited[1].pk]
    assert [e.pk for e in responses[1].cited] == [cited[0].pk]
    assert all(not r.cited for r in responses[2:])
    with CaptureQueriesContext(connection) as captured:
        assert responses[0].question.prompt == expected[0].question.prompt
        assert responses[0].submission.pk == mine.pk
        assert responses[0].cited[0].passage.text  # the passage came with it
    assert len(captured) == 0


def test_sources_come_in_the_exercises_order():
    first, second = factories.make_source(), factories.make_source()
    exercise = factories.make_exercise(sources=[second, first])
    assert [s.pk for s in selectors.exercise_sources(exercise.pk)] == [second.pk, first.pk]
    assert selectors.exercise_sources(exercise.pk + 999) == []


def test_each_thread_reads_through_its_own_connection():
    """Compiled in one thread, run in another (threaded servers do this): the query goes
    through the running thread's connection, not the one it was compiled on."""
    # Content types: rows the migrations committed, which another thread's connection can read
    # while this test's transaction is open.
    prepared = PreparedQuery(lambda pk: ContentType.objects.filter(pk__gte=pk), "pk")
    assert prepared(pk=0)  # compiled (and run) here
    seen = {}

    def run():
        from django.db import connections

        own = connections["default"]
        try:
            with CaptureQueriesContext(own) as captured:
                seen["rows"] = len(prepared(pk=0))
            seen["queries"] = len(captured)
        finally:
            own.close()

    with CaptureQueriesContext(connection) as here:
        worker = threading.Thread(target=run)
        worker.start()
        worker.join()
    assert seen["queries"] == 1 and seen["rows"] > 0
    assert len(here) == 0


def test_a_parameter_missing_from_the_sql_is_refused():
    # "unused" never reaches the SQL: running this query would silently ignore it.
    prepared = PreparedQuery(lambda pk, unused: Source.objects.filter(pk=pk), "pk", "unused")
    with pytest.raises(ImproperlyConfigured, match="unused"):
        prepared(pk=1, unused=2)


def test_prefetch_is_refused():
    prepared = PreparedQuery(lambda pk: Source.objects.filter(pk=pk).prefetch_related("passages"), "pk")
    with pytest.raises(ImproperlyConfigured):
        prepared(pk=1)


def test_the_keywords_must_match():
    prepared = PreparedQuery(lambda pk: User.objects.filter(pk=pk), "pk")
    with pytest.raises(TypeError):
        prepared(id=1)
