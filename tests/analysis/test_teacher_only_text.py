"""Pupils never see what is written for teachers: a source's teacher notes, a question's
indicative content, or a model answer before it is released, on any page they can open, at any
support level, nor in their data download. Checked against the real 1917 pack, whose teacher
notes hold exactly the analysis that would answer the questions."""

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from analysis.classwork import services as work
from analysis.library.packs import pack_import_path
from analysis.models import Exercise, Mark, Question, Response, Source, Submission, SupportLevel
from tests import factories

pytestmark = pytest.mark.django_db

PACK = Path(settings.BASE_DIR) / "fixtures" / "izvestiia-trotsky-1917.yaml"
HTMX = {"HX-Request": "true"}


def _lines(text: str) -> list[str]:
    """The lines of a teachers' text long enough to be unmistakable if they leaked."""
    return [line.strip() for line in text.split("\n") if len(line.strip()) >= 30]


def secrets(exercise: Exercise, *, model_answers: bool = True) -> dict[str, str]:
    """line -> where it comes from."""
    found = {}
    for source in Source.objects.filter(exercise_links__exercise=exercise):
        for line in _lines(source.teacher_notes):
            found[line] = f"teacher notes of {source.slug}"
    for question in exercise.questions.all():
        for line in _lines(question.indicative_content):
            found[line] = f"indicative content of question {question.number}"
        if model_answers:
            for line in _lines(question.model_answer):
                found[line] = f"model answer of question {question.number}"
    return found


def leaks(text: str, lines: dict[str, str]) -> list[str]:
    return [
        where
        for line, where in lines.items()
        if line in text or escape(line) in text or json.dumps(line, ensure_ascii=False)[1:-1] in text
    ]


@pytest.fixture
def pack(db):
    pack_import_path(path=PACK)


def _pupil_pages(client: Client, assignment) -> dict[str, str]:
    a = assignment.pk
    pages = {
        "assignment list": client.get(reverse("learn:assignment-list")),
        "workspace": client.get(reverse("learn:workspace", args=[a])),
        "self-check": client.get(reverse("learn:workspace", args=[a]), headers=HTMX),
        "feedback": client.get(reverse("learn:feedback", args=[a])),
        "my data": client.get(reverse("learn:my-data")),
    }
    for name, reply in pages.items():
        assert reply.status_code == 200, name
    return {name: reply.content.decode() for name, reply in pages.items()}


@pytest.mark.parametrize("level", SupportLevel.values)
@pytest.mark.parametrize("slug", ["izvestiia-terms", "trotsky-speech", "comparing-offer-and-refusal"])
def test_no_pupil_page_shows_teacher_only_text_at_any_level(
    pack, school_class, student, teacher, level, slug
):
    exercise = Exercise.objects.get(slug=slug)
    assignment = factories.make_assignment(
        classroom=school_class, exercise=exercise, support_level=level, release_model_answers=False
    )
    client = Client()
    client.force_login(student)
    hidden = secrets(exercise)
    assert len(hidden) > 20  # the pack has plenty to hide

    # Opening the work, every hint revealed, evidence cited, answers written.
    seen = _pupil_pages(client, assignment)
    submission = Submission.objects.get(assignment=assignment, student=student)
    passage = exercise.sources.first().passages.first()
    for response in Response.objects.filter(submission=submission).select_related("question"):
        for _tier in response.question.hints:
            hint = client.post(
                reverse("learn:response-hint", args=[assignment.pk, response.pk]), headers=HTMX
            )
            seen[f"hint reply, question {response.question.number}"] = hint.content.decode()
        work.response_save(response_id=response.pk, student=student, text="My answer.", base_version=0)
        cite = client.post(
            reverse("learn:evidence-add", args=[assignment.pk, response.pk]),
            {"passage": passage.pk, "start": 0, "end": 10},
            headers=HTMX,
        )
        seen[f"evidence reply, question {response.question.number}"] = cite.content.decode()
    seen.update({f"{name} (in progress)": html for name, html in _pupil_pages(client, assignment).items()})

    # Handed in, not yet returned: the feedback page says so, nothing more.
    client.post(reverse("learn:submit", args=[assignment.pk]))
    seen.update({f"{name} (handed in)": html for name, html in _pupil_pages(client, assignment).items()})

    # Marked and returned, model answers not released.
    for response in Response.objects.filter(submission=submission).select_related("question"):
        Mark.objects.create(
            response=response, level=1, marks=1, max_marks=response.question.max_marks, marker=teacher
        )
    Submission.objects.filter(pk=submission.pk).update(
        status=Submission.Status.RETURNED, returned_at=timezone.now()
    )
    seen.update({f"{name} (returned)": html for name, html in _pupil_pages(client, assignment).items()})

    for page, html in seen.items():
        assert not leaks(html, hidden), (level, page, leaks(html, hidden))

    # Once the teacher releases the model answers, they (and only they) appear on the feedback.
    assignment.release_model_answers = True
    assignment.save()
    released = _pupil_pages(client, assignment)
    model = {line: where for line, where in hidden.items() if where.startswith("model answer")}
    assert leaks(released["feedback"], model)
    for page, html in released.items():
        assert not leaks(html, secrets(exercise, model_answers=False)), (level, page)


def test_the_check_would_catch_a_leak(pack):
    """The detector finds teacher notes as any page would show them: raw, HTML-escaped or in JSON."""
    exercise = Exercise.objects.get(slug="comparing-offer-and-refusal")
    hidden = secrets(exercise)
    line = next(line for line, where in hidden.items() if where.startswith("teacher notes") and "'" in line)
    assert leaks(f"<p>{escape(line)}</p>", hidden)
    assert leaks(json.dumps({"x": line}, ensure_ascii=False), hidden)
    assert Question.objects.filter(exercise=exercise).exclude(indicative_content="").exists()
