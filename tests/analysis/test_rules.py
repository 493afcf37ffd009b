"""The one definition of "answered" (analysis.classwork.rules) and the places that repeat it in
SQL: they must agree with it, and what teachers see says "not started" until the pupil writes or
cites, though opening the workspace creates the submission."""

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from analysis.classwork import services as work
from analysis.classwork.rules import answered_q, is_answered, started_exists
from analysis.models import Response, Submission
from tests import factories

TEXTS = ["", " ", "\n", "\t \r\n  ", "a", "  x  ", "\n\nWhy?\n", "é", "—", "1917", ".", " \u00e0 "]


@pytest.mark.django_db
def test_the_sql_copy_of_answered_agrees_with_the_python_rule(submission, responses):
    question = responses[0].question
    rows = []
    for text in TEXTS:
        other = factories.make_submission(assignment=submission.assignment, student=factories.make_student())
        Response.objects.filter(submission=other, question=question).update(text=text)
        rows.append((other.pk, text))
    answered_in_sql = set(
        Response.objects.filter(answered_q(), question=question).values_list("submission_id", flat=True)
    )
    for submission_id, text in rows:
        assert (submission_id in answered_in_sql) == is_answered(text), repr(text)


@pytest.mark.django_db
def test_started_in_sql_means_an_answer_written_or_a_quotation_cited(assignment, student, passage):
    def started(submission):
        return (
            Submission.objects.filter(pk=submission.pk)
            .annotate(started=started_exists())
            .values_list("started", flat=True)
            .get()
        )

    submission = work.submission_start(assignment=assignment, student=student)
    first, second, _third = submission.responses.order_by("question__position")
    assert started(submission) is False
    Response.objects.filter(pk=first.pk).update(text="  \n ")
    assert started(submission) is False  # white space is not an answer
    factories.make_evidence(response=second, passage=passage, start=0, end=5)
    assert started(submission) is True


def _teacher_sees(assignment, teacher, student):
    """(the grid's status cell text, the CSV's status, the pupil's own list) for ``student``."""
    teacher_client = Client()
    teacher_client.force_login(teacher)
    grid = teacher_client.get(reverse("teach:assignment-progress", args=[assignment.pk])).content.decode()
    export = teacher_client.get(reverse("teach:assignment-export", args=[assignment.pk])).content.decode(
        "utf-8-sig"
    )
    rows = list(csv.reader(io.StringIO(export)))
    header, mine = (
        rows[0],
        next(row for row in rows if student.username in row or student.last_name in " ".join(row)),
    )
    pupil = Client()
    pupil.force_login(student)
    own = pupil.get(reverse("learn:assignment-list")).content.decode()
    return grid, mine[header.index("Status")], own


@pytest.mark.django_db
def test_opening_the_workspace_is_not_a_start_writing_is(assignment, teacher, student):
    pupil = Client()
    pupil.force_login(student)
    assert pupil.get(reverse("learn:workspace", args=[assignment.pk])).status_code == 200
    assert Submission.objects.filter(student=student).exists()  # autosave needs the rows

    grid, csv_status, own = _teacher_sees(assignment, teacher, student)
    assert "Not started: 2" in grid and "In progress: 0" in grid
    assert csv_status == "Not started"
    assert "Not started" in own and "In progress" not in own

    answer = Response.objects.filter(submission__student=student).order_by("question__position").first()
    work.response_save(response_id=answer.pk, student=student, text="Trotsky, 1917.", base_version=0)
    grid, csv_status, own = _teacher_sees(assignment, teacher, student)
    assert "Not started: 1" in grid and "In progress: 1" in grid
    assert csv_status == "In progress"
    assert "In progress" in own


@pytest.mark.django_db
def test_citing_a_quotation_before_writing_is_a_start(assignment, teacher, student, passage):
    submission = work.submission_start(assignment=assignment, student=student)
    answer = submission.responses.order_by("question__position").last()
    work.evidence_add(response_id=answer.pk, student=student, passage_id=passage.pk, start=0, end=5)
    _grid, csv_status, own = _teacher_sees(assignment, teacher, student)
    assert csv_status == "In progress"
    assert "In progress" in own
