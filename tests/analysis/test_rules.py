"""The rules of pupils' work each have one definition (analysis/classwork/rules.py). Where SQL
or JavaScript repeats one for speed, these tests pin the copy to the Python definition."""

import csv
import io
import json
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import Enrollment
from analysis.classwork import errors, rules
from analysis.classwork import services as work
from analysis.models import AssignedPupil, Extension, Response, Submission
from tests import factories

WHITE = " \t\n\r\f\v\u00a0\u2003\u200b\u3000\x1c\x85"
CORPUS = ["", " ", "\n\n", "\t \r\n", "a", " a ", "\u00a0", "\u3000", "\x1c", "—", "\n.\n", "Trotsky"]


def test_answered_means_something_other_than_ascii_white_space():
    assert not rules.is_answered("")
    assert not rules.is_answered(" \t\n\r\f\v")
    assert rules.is_answered("  Trotsky ")
    # Not ASCII white space, so it counts (the same in Python, SQL and JavaScript).
    assert rules.is_answered("\u00a0")


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=st.lists(st.text(alphabet=WHITE + "ab", max_size=6), min_size=1, max_size=6))
def test_the_sql_copy_of_answered_agrees_with_python(texts, submission):
    answers = list(Response.objects.filter(submission=submission).order_by("pk"))
    texts = (texts * len(answers))[: len(answers)]
    for answer, text in zip(answers, texts, strict=True):
        answer.text = text
    Response.objects.bulk_update(answers, ["text"])
    in_sql = set(
        Response.objects.filter(rules.answered_q(), submission=submission).values_list("pk", flat=True)
    )
    in_python = {answer.pk for answer in answers if rules.is_answered(answer.text)}
    assert in_sql == in_python


def test_the_javascript_copy_of_answered_agrees_with_python():
    source = (Path(settings.BASE_DIR) / "static" / "js" / "workspace.js").read_text()
    match = re.search(r"var ANSWERED = /(.+)/;", source)
    assert match, "workspace.js defines ANSWERED as a regular expression literal"
    assert match.group(1) == rules.ANSWERED_PATTERN
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the pattern is pinned as text only")
    script = (
        f"var ANSWERED = /{match.group(1)}/; " + "process.stdout.write(JSON.stringify(JSON.parse("
        "require('fs').readFileSync(0, 'utf8')).map(function (t) { return ANSWERED.test(t); })));"
    )

    result = subprocess.run(
        [node, "-e", script], input=json.dumps(CORPUS), capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == [rules.is_answered(text) for text in CORPUS]


SNAP_CORPUS = [
    "Workers of the Second All-Russian Congress. Unrelenting struggle!",
    "“We shall never,” he said — (the Soviet's hand) 1917…",
    "  a-b  c’d -e f- [g] «h» 12_3 ",
]


def test_the_javascript_copy_of_word_snapping_agrees_with_python():
    """workspace.js snaps a selection to whole words before sending it; the server snaps again
    (heuristics.trim_span). Both must choose the same words, or a chip would quote other words than
    the pupil saw highlighted."""
    from analysis.classwork.heuristics import trim_span

    source = (Path(settings.BASE_DIR) / "static" / "js" / "workspace.js").read_text()
    match = re.search(r"(  var WORD_CHAR = .*?\n  function snapToWords.*?\n  }\n)", source, re.S)
    assert match, "workspace.js defines WORD_CHAR … snapToWords"
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    cases = [
        [text, start, end]
        for text in SNAP_CORPUS
        for start in range(len(text))
        for end in range(start + 1, len(text) + 1)
    ]
    script = match.group(1) + (
        "process.stdout.write(JSON.stringify(JSON.parse(require('fs').readFileSync(0, 'utf8'))"
        ".map(function (c) { return snapToWords(c[0], c[1], c[2]); })));"
    )
    result = subprocess.run(
        [node, "-e", script], input=json.dumps(cases), capture_output=True, text=True, check=True
    )
    in_js = json.loads(result.stdout)
    in_python = [list(trim_span(text, start, end)) for text, start, end in cases]
    mismatches = [(case, js, py) for case, js, py in zip(cases, in_js, in_python, strict=True) if js != py]
    assert not mismatches, mismatches[:5]


# --- "Can this work still change?": the autosave's SQL against the Python rule -------------------


def _close(case, *, assignment, student, submission, now):
    if case == "open":
        return
    if case == "submitted":
        Submission.objects.filter(pk=submission.pk).update(status="submitted", submitted_at=now)
    elif case == "not open yet":
        assignment.opens_at = now + timedelta(days=1)
        assignment.due_at = now + timedelta(days=2)
        assignment.save()
    elif case == "past a strict due date":
        assignment.opens_at, assignment.due_at, assignment.late_allowed = (
            now - timedelta(days=2),
            now - timedelta(days=1),
            False,
        )
        assignment.save()
    elif case == "late but allowed":
        assignment.opens_at, assignment.due_at, assignment.late_allowed = (
            now - timedelta(days=2),
            now - timedelta(days=1),
            True,
        )
        assignment.save()
    elif case == "extended past a strict due date":
        assignment.opens_at, assignment.due_at, assignment.late_allowed = (
            now - timedelta(days=2),
            now - timedelta(days=1),
            False,
        )
        assignment.save()
        Extension.objects.create(assignment=assignment, student=student, due_at=now + timedelta(days=1))
    elif case == "unassigned":
        assignment.archived_at = now
        assignment.save()
    elif case == "class archived":
        assignment.classroom.archived_at = now
        assignment.classroom.save()
    elif case == "left the class":
        Enrollment.objects.filter(classroom=assignment.classroom, student=student).update(ended_at=now)
    elif case in ("set to chosen pupils, them among them", "set to chosen pupils, not them"):
        assignment.chosen_pupils_only = True
        assignment.save()
        other = factories.make_student()
        Enrollment.objects.create(classroom=assignment.classroom, student=other)
        AssignedPupil.objects.create(assignment=assignment, student=other)
        if case == "set to chosen pupils, them among them":
            AssignedPupil.objects.create(assignment=assignment, student=student)
    else:
        raise AssertionError(case)


CASES = {
    "open": True,
    "submitted": False,
    "not open yet": False,
    "past a strict due date": False,
    "late but allowed": True,
    "extended past a strict due date": True,
    "unassigned": False,
    "class archived": False,
    "left the class": False,
    "set to chosen pupils, them among them": True,
    "set to chosen pupils, not them": False,
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES)
def test_the_autosave_sql_and_the_python_rule_agree_on_whether_work_can_change(
    case, assignment, student, submission
):
    now = timezone.now()
    _close(case, assignment=assignment, student=student, submission=submission, now=now)
    answer = Response.objects.filter(submission=submission).first()

    def accepted(action) -> bool:
        try:
            action()
        except (errors.WorkClosed, Response.DoesNotExist, Submission.DoesNotExist):
            return False
        return True

    by_sql = accepted(
        lambda: work.response_save(
            response_id=answer.pk, student=student, text="x", base_version=answer.version, now=now
        )
    )
    by_python = accepted(lambda: work.response_hint_reveal(response_id=answer.pk, student=student, now=now))
    assert by_sql == by_python == CASES[case]


# --- "Started": written or cited, not merely opened ---------------------------------------------


@pytest.mark.django_db
def test_started_in_sql_means_an_answer_written_or_a_quotation_cited(assignment, student, passage):
    def started(submission):
        return (
            Submission.objects.filter(pk=submission.pk)
            .annotate(started=rules.started_exists())
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
