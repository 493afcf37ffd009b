"""Tiny factories: plain functions with keyword overrides, sensible defaults and
unique names, so each test states only what it cares about."""

import itertools
from datetime import timedelta

from django.utils import timezone

from accounts.models import Classroom, Enrollment, School, User
from analysis.models import (
    Assignment,
    Evidence,
    Exercise,
    ExerciseSource,
    Level,
    Mark,
    MarkScheme,
    Passage,
    Question,
    Response,
    Source,
    Stage,
    Submission,
)

_seq = itertools.count(1)


def _n() -> int:
    return next(_seq)


def make_user(*, role=User.Role.STUDENT, password="pw", **overrides) -> User:
    n = _n()
    fields = {"username": f"user{n}", "first_name": f"First{n}", "last_name": f"Last{n}"}
    fields.update(overrides)
    user = User(role=role, **fields)
    user.set_password(password)
    user.save()
    return user


def make_student(**overrides) -> User:
    return make_user(role=User.Role.STUDENT, **overrides)


def make_school(**overrides) -> School:
    return School.objects.create(**{"name": f"School {_n()}", **overrides})


def default_school() -> School:
    """The one school most tests share; isolation tests make a second with ``make_school``."""
    return School.objects.get_or_create(name="Test School")[0]


def make_teacher(**overrides) -> User:
    overrides.setdefault("school", default_school())
    return make_user(role=User.Role.TEACHER, **overrides)


def make_classroom(*, teacher=None, students=(), **overrides) -> Classroom:
    school = teacher.school if teacher is not None and teacher.school_id else default_school()
    classroom = Classroom.objects.create(**{"name": f"Class {_n()}", "school": school, **overrides})
    if teacher is not None:
        classroom.teachers.add(teacher)
    for student in students:
        Enrollment.objects.create(classroom=classroom, student=student)
    return classroom


def make_source(*, passages=("First passage text.", "Second passage text."), **overrides) -> Source:
    n = _n()
    fields = {
        "slug": f"source-{n}",
        "title": f"Source {n}",
        "author": "An Author",
        "date_text": "November 1917",
        "publication": "Izvestiia",
        "kind": "newspaper report",
    }
    fields.update(overrides)
    source = Source.objects.create(**fields)
    for position, text in enumerate(passages):
        Passage.objects.create(source=source, position=position, label=f"Passage {position + 1}", text=text)
    return source


def make_mark_scheme(*, bands=((1, 2), (3, 4)), **overrides) -> MarkScheme:
    n = _n()
    scheme = MarkScheme.objects.create(**{"slug": f"scheme-{n}", "name": f"Scheme {n}", **overrides})
    for number, (low, high) in enumerate(bands, start=1):
        Level.objects.create(
            scheme=scheme,
            number=number,
            min_marks=low,
            max_marks=high,
            descriptor=f"Level {number} descriptor",
        )
    return scheme


def make_exercise(
    *, sources=None, stages=(Stage.ORIGIN, Stage.PURPOSE, Stage.RELIABILITY), mark_scheme=None, **overrides
) -> Exercise:
    """An exercise with one question per stage, each on the first source and
    marked out of the scheme's top mark (4 by default)."""
    n = _n()
    exercise = Exercise.objects.create(
        **{"slug": f"exercise-{n}", "title": f"Exercise {n}", "summary": "A summary.", **overrides}
    )
    sources = list(sources) if sources is not None else [make_source()]
    for position, source in enumerate(sources):
        ExerciseSource.objects.create(exercise=exercise, source=source, position=position)
    scheme = mark_scheme or make_mark_scheme()
    for position, stage in enumerate(stages):
        Question.objects.create(
            exercise=exercise,
            position=position,
            stage=stage,
            source=None if stage == Stage.CORROBORATION else sources[0],
            prompt=f"Question {position + 1} about {stage}?",
            max_marks=scheme.max_marks,
            mark_scheme=scheme,
            hints=["A first hint.", "A second hint."],
            sentence_starters=["This source was written by…"],
            indicative_content="Teacher-only indicative content.",
            model_answer="A model answer.",
        )
    return exercise


def make_assignment(*, classroom=None, exercise=None, **overrides) -> Assignment:
    fields = {
        "classroom": classroom or make_classroom(),
        "exercise": exercise or make_exercise(),
        "opens_at": timezone.now() - timedelta(days=1),
        "due_at": timezone.now() + timedelta(days=7),
    }
    fields.update(overrides)
    return Assignment.objects.create(**fields)


def make_submission(*, assignment=None, student=None, answers=None, **overrides) -> Submission:
    """A submission with a response per question; ``answers`` maps question position to text."""
    assignment = assignment or make_assignment()
    if student is None:
        student = make_student()
        Enrollment.objects.current().get_or_create(classroom=assignment.classroom, student=student)
    fields = {"assignment": assignment, "student": student}
    if overrides.get("status") in (Submission.Status.SUBMITTED, Submission.Status.RETURNED):
        fields["submitted_at"] = timezone.now()
    fields.update(overrides)
    submission = Submission.objects.create(**fields)
    answers = answers or {}
    for question in assignment.exercise.questions.all():
        text = answers.get(question.position, "")
        Response.objects.create(submission=submission, question=question, text=text, version=1 if text else 0)
    return submission


def make_evidence(*, response, passage=None, start=0, end=None) -> Evidence:
    passage = (
        passage
        or (
            response.question.source or response.submission.assignment.exercise.sources.first()
        ).passages.first()
    )
    end = len(passage.text) if end is None else end
    return Evidence.objects.create(
        response=response, passage=passage, start=start, end=end, quote=passage.text[start:end]
    )


def make_mark(*, response, marks=3, level=2, comment="Good.", marker=None) -> Mark:
    return Mark.objects.create(
        response=response,
        marks=marks,
        level=level,
        comment=comment,
        max_marks=response.question.max_marks,
        marker=marker,
    )


def make_extension(*, assignment, student, days=14, **overrides):
    from analysis.models import Extension

    fields = {"assignment": assignment, "student": student, "due_at": timezone.now() + timedelta(days=days)}
    fields.update(overrides)
    return Extension.objects.create(**fields)


def make_comment_bank_entry(*, teacher, text=None):
    from analysis.models import CommentBankEntry

    return CommentBankEntry.objects.create(teacher=teacher, text=text or f"Saved comment {_n()}.")


# --- Visual sources (analysis/studio) -----------------------------------------------------------


def png_bytes(size=(40, 30), color=(200, 30, 30)) -> bytes:
    """A small real PNG."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def make_image_source(*, owner=None, regions=(("The face", 0.25, 0.1, 0.5, 0.4),), **overrides) -> Source:
    """An image source (checked and stored as an upload would be) with ``regions`` given as
    (label, x, y, w, h) fractions. ``owner`` None: the site library."""
    from analysis.models import Region
    from analysis.studio.images import image_check, image_store

    checked = image_check(png_bytes())
    n = _n()
    fields = {
        "slug": f"image-source-{n}",
        "title": f"Image source {n}",
        "author": "A Photographer",
        "date_text": "1984",
        "publication": "Official photograph",
        "kind": "photograph",
        "alt_text": "A red rectangle standing in for a photograph.",
        "owner": owner,
        "school": owner.school if owner is not None else None,
    }
    fields.update(overrides)
    source = Source(**fields)
    source.image.name = image_store(checked)
    source.image_width, source.image_height, source.image_sha256 = (
        checked.width,
        checked.height,
        checked.sha256,
    )
    source.save()
    for position, (label, x, y, w, h) in enumerate(regions):
        Region.objects.create(source=source, position=position, label=label, x=x, y=y, w=w, h=h)
    return source
