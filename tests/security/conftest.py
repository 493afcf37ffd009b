"""The security battery's shared world: two classes, their teachers and pupils, a site admin
and an inactive pupil, with work in every state (docs/quality.md T1-T7, T13).

``build_world(text=...)`` (or ``retext(world, text)`` on a built one) lets the XSS tests put
a payload in every user- or admin-writable text field of the same world the permission
matrix uses.

Every test in this folder also checks its own log output: nothing registered with
``log_secrets`` (passwords, XSS payloads, fuzzed text) may appear in any log record.
"""

import functools
import logging
import os
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from accounts.models import Classroom, User
from analysis.models import (
    CommentBankEntry,
    Evidence,
    Exercise,
    Extension,
    GlossaryTerm,
    Level,
    LibraryEdit,
    Mark,
    MarkScheme,
    Passage,
    Question,
    Response,
    Source,
    Stage,
    StudentSupport,
    Submission,
)
from tests import factories

PASSWORD = "Corr3ct-Horse-Battery-Staple"  # every world user's; never allowed in a log line

PRINCIPALS = ("anonymous", "a1", "a2", "b", "teacher_a", "teacher_b", "admin", "inactive")
STUDENTS = frozenset({"a1", "a2", "b"})
TEACHERS = frozenset({"teacher_a", "teacher_b", "admin"})  # the site admin has the teacher role
LOGGED_OUT = frozenset({"anonymous", "inactive"})  # an inactive user's session is no session

ALL_STAGES = (Stage.ORIGIN, Stage.PURPOSE, Stage.RELIABILITY, Stage.CORROBORATION)

# --- Hypothesis profiles (T7): `HYPOTHESIS_PROFILE=ci` runs 500 examples per property. -------
hypothesis_settings.register_profile(
    "ci",
    max_examples=500,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
hypothesis_settings.register_profile(
    "daily",
    max_examples=100,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FUZZ_PROFILE = "ci" if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else "daily"


def fuzz_settings(**overrides):
    """The active fuzzing profile, applied to one test only (never loaded globally)."""
    return hypothesis_settings(hypothesis_settings.get_profile(FUZZ_PROFILE), **overrides)


# --- The world ---------------------------------------------------------------------------


@dataclass(repr=False)
class World:
    users: dict[str, User]
    class_a: Classroom
    class_b: Classroom
    exercise_a: Exercise
    exercise_b: Exercise
    assignment_a: object
    assignment_b: object
    sub_a1: Submission
    sub_a2: Submission
    sub_b: Submission
    ext_a: Extension
    ext_b: Extension
    support_a: StudentSupport
    support_b: StudentSupport
    bank_a: CommentBankEntry
    bank_b: CommentBankEntry
    source_slug: str
    image_a: Source | None = None  # teacher_a's private image source (not set to any class)
    image_b: Source | None = None  # teacher_b's
    texts: dict[str, str] = field(default_factory=dict)  # field key -> the text stored there
    slots: dict[str, tuple] = field(default_factory=dict)  # field key -> (model, field name)
    # The authoring studio's items: teacher A's own private source, exercise (one question, a
    # scheme of theirs) and wording history, and teacher A's shared exercise and source.
    studio: dict = field(default_factory=dict)

    def __repr__(self):
        return f"World(class_a={self.class_a.pk}, class_b={self.class_b.pk})"

    @property
    def source_pk(self) -> int:
        """The site-library source exercise A starts with."""
        return Source.objects.get(slug=self.source_slug, owner__isnull=True).pk

    def user(self, principal: str) -> User | None:
        return self.users.get(principal)

    def response(self, submission, position=1) -> Response:
        return submission.responses.get(question__position=position)

    def evidence(self, submission) -> Evidence:
        return Evidence.objects.filter(response__submission=submission).order_by("pk").first()

    def question(self, exercise, position=1) -> Question:
        return exercise.questions.get(position=position)

    def passage(self, exercise, source_index=0, position=1) -> Passage:
        return _passage(exercise, source_index, position)


def _limit(model, name: str, value: str) -> str:
    """Cut a text to the column's max_length (PostgreSQL enforces varchar limits)."""
    max_length = model._meta.get_field(name).max_length
    return value[:max_length] if max_length else value


def build_world(text: Callable[[str, str], str] | None = None, *, a1_returned=False) -> World:
    """The two-class world. ``text(key, default)`` chooses the text stored in each writable
    field (the XSS tests put payloads there); the chosen values are kept in ``world.texts``."""
    texts: dict[str, str] = {}
    slots: dict[str, tuple] = {}

    def put(key, model, name, default):
        value = _limit(model, name, text(key, default) if text else default)
        texts[key] = value
        slots[key] = (model, name)
        return value

    def person(key, username, maker, **extra):
        return maker(
            username=username,
            password=PASSWORD,
            first_name=put(f"{key}.first_name", User, "first_name", f"First {username}"),
            last_name=put(f"{key}.last_name", User, "last_name", f"Last {username}"),
            **extra,
        )

    users = {
        "a1": person("a1", "pupil_a1", factories.make_student),
        "a2": person("a2", "pupil_a2", factories.make_student),
        "b": person("b", "pupil_b", factories.make_student),
        "teacher_a": person("teacher_a", "teacher_a", factories.make_teacher),
        # Teacher B works at another school: everything the matrix and the sweep prove between
        # classes they also prove between schools.
        "teacher_b": person(
            "teacher_b",
            "teacher_b",
            factories.make_teacher,
            school=factories.make_school(name="Other School"),
        ),
        "admin": factories.make_teacher(
            username="site_admin", password=PASSWORD, is_staff=True, is_superuser=True
        ),
        "inactive": factories.make_student(username="pupil_inactive", password=PASSWORD, is_active=False),
    }
    class_a = factories.make_classroom(
        name=put("class_a.name", Classroom, "name", "Year 11 A"),
        teacher=users["teacher_a"],
        students=[users["a1"], users["a2"], users["inactive"]],
    )
    class_b = factories.make_classroom(name="Year 11 B", teacher=users["teacher_b"], students=[users["b"]])

    def exercise(side):
        scheme = factories.make_mark_scheme()
        if side == "a":
            level = scheme.levels.get(number=2)
            level.descriptor = put("level.descriptor", Level, "descriptor", level.descriptor)
            level.save()
        first = factories.make_source(passages=("Plain opening words.", "The second passage of text."))
        second = factories.make_source(passages=("Another source speaks.", "Its second passage."))
        ex = factories.make_exercise(sources=[first, second], stages=ALL_STAGES, mark_scheme=scheme)
        if side != "a":
            return ex
        ex.title = put("exercise.title", Exercise, "title", ex.title)
        ex.summary = put("exercise.summary", Exercise, "summary", "A summary.")
        ex.instructions = put("exercise.instructions", Exercise, "instructions", "Read both sources.")
        ex.save()
        for name in ("title", "author", "date_text", "publication", "kind", "audience"):
            setattr(first, name, put(f"source.{name}", Source, name, getattr(first, name) or "Workers"))
        for name in ("caption", "context", "teacher_notes", "citation", "translation"):
            setattr(first, name, put(f"source.{name}", Source, name, f"A {name} note."))
        first.save()
        term = put("glossary.term", GlossaryTerm, "term", "Soviet")
        GlossaryTerm.objects.create(
            source=first,
            term=term,
            definition=put("glossary.definition", GlossaryTerm, "definition", "A council."),
        )
        opening = first.passages.get(position=0)
        opening.text = f"Plain opening words about the {term} and more."
        opening.save()
        cited = first.passages.get(position=1)
        cited.label = put("passage.label", Passage, "label", cited.label)
        cited.text = put("passage.text", Passage, "text", cited.text)
        cited.save()
        for question in ex.questions.all():
            n = question.position
            question.prompt = put(f"q{n}.prompt", Question, "prompt", question.prompt)
            if n == 1:
                question.hints = [put("q1.hint", Question, "prompt", "A first hint."), "A second hint."]
                question.sentence_starters = [put("q1.starter", Question, "prompt", "The author wants…")]
                question.indicative_content = put(
                    "q1.indicative", Question, "indicative_content", "Teacher-only indicative content."
                )
                question.model_answer = put("q1.model", Question, "model_answer", "A model answer.")
            question.save()
        return ex

    exercise_a = exercise("a")
    exercise_b = exercise("b")
    assignment_a = factories.make_assignment(
        classroom=class_a, exercise=exercise_a, created_by=users["teacher_a"], release_model_answers=True
    )
    assignment_b = factories.make_assignment(
        classroom=class_b, exercise=exercise_b, created_by=users["teacher_b"]
    )

    def answers(prefix, texts_on):
        return {
            n: (
                put(f"{prefix}.answer{n}", Response, "text", f"{prefix} answer {n}.")
                if texts_on
                else f"Answer {n}."
            )
            for n in range(len(ALL_STAGES))
        }

    def cite(submission, exercise):
        for response in submission.responses.select_related("question"):
            if response.question.position > 0:  # origin answers rest on the origin card
                factories.make_evidence(response=response, passage=_passage(exercise, 0, 1))

    sub_a1 = factories.make_submission(
        assignment=assignment_a,
        student=users["a1"],
        answers=answers("a1", True),
        status=Submission.Status.RETURNED if a1_returned else Submission.Status.SUBMITTED,
        overall_comment=put("sub_a1.overall_comment", Submission, "overall_comment", "Well argued overall."),
    )
    if a1_returned:
        Submission.objects.filter(pk=sub_a1.pk).update(returned_at=sub_a1.submitted_at)
    cite(sub_a1, exercise_a)
    for response in sub_a1.responses.select_related("question"):
        comment = (
            put("mark.comment", Mark, "comment", "Good point.") if response.question.position == 1 else ""
        )
        factories.make_mark(response=response, marks=3, level=2, comment=comment, marker=users["teacher_a"])

    sub_a2 = factories.make_submission(
        assignment=assignment_a, student=users["a2"], answers=answers("a2", True)
    )
    cite(sub_a2, exercise_a)
    Response.objects.filter(submission=sub_a2, question__position=1).update(hints_used=1)

    sub_b = factories.make_submission(
        assignment=assignment_b,
        student=users["b"],
        answers=answers("b", False),
        status=Submission.Status.SUBMITTED,
        overall_comment="B's overall comment.",
    )
    cite(sub_b, exercise_b)
    for response in sub_b.responses.all():
        factories.make_mark(response=response, marks=2, level=1, comment="B mark.", marker=users["teacher_b"])

    ext_a = factories.make_extension(assignment=assignment_a, student=users["a2"])
    ext_b = factories.make_extension(assignment=assignment_b, student=users["b"])
    support_a = StudentSupport.objects.create(
        assignment=assignment_a, student=users["a2"], support_level="guided", extra_time_percent=25
    )
    support_b = StudentSupport.objects.create(
        assignment=assignment_b, student=users["b"], extra_time_percent=50
    )
    bank_a = factories.make_comment_bank_entry(
        teacher=users["teacher_a"], text=put("bank_a.text", CommentBankEntry, "text", "Quote the source.")
    )
    bank_b = factories.make_comment_bank_entry(teacher=users["teacher_b"], text="Teacher B's saved comment.")
    first_source = exercise_a.exercise_sources.order_by("position").first().source
    studio = _studio_items(users["teacher_a"], first_source, put)
    image_a = factories.make_image_source(owner=users["teacher_a"])
    image_b = factories.make_image_source(owner=users["teacher_b"])
    return World(
        image_a=image_a,
        image_b=image_b,
        users=users,
        class_a=class_a,
        class_b=class_b,
        exercise_a=exercise_a,
        exercise_b=exercise_b,
        assignment_a=assignment_a,
        assignment_b=assignment_b,
        sub_a1=sub_a1,
        sub_a2=sub_a2,
        sub_b=sub_b,
        ext_a=ext_a,
        ext_b=ext_b,
        support_a=support_a,
        support_b=support_b,
        bank_a=bank_a,
        bank_b=bank_b,
        source_slug=first_source.slug,
        texts=texts,
        slots=slots,
        studio=studio,
    )


def _studio_items(teacher, site_source, put) -> dict:
    """Teacher A's own items: private ones (colleagues get 404) and shared ones (colleagues may
    preview, set and copy them, not edit them)."""
    mine = {"owner": teacher, "school": teacher.school}
    source = factories.make_source(
        passages=("My first paragraph about the Tsar.", "My second paragraph."),
        title=put("mine_source.title", Source, "title", "My own source"),
        topic=put("mine_source.topic", Source, "topic", "Revolution"),
        rights=put("mine_source.rights", Source, "rights", "Licence: CC BY 4.0"),
        teacher_notes=put("mine_source.teacher_notes", Source, "teacher_notes", "My note."),
        **mine,
    )
    GlossaryTerm.objects.create(source=source, term="Tsar", definition="The emperor.")
    scheme = factories.make_mark_scheme(
        name=put("mine_scheme.name", MarkScheme, "name", "My scheme"), bands=((1, 2), (3, 4)), **mine
    )
    Level.objects.filter(scheme=scheme, number=1).update(
        descriptor=put("mine_level.descriptor", Level, "descriptor", "Describes the source.")
    )
    exercise = factories.make_exercise(
        sources=[source, site_source],
        stages=(Stage.ORIGIN,),
        mark_scheme=scheme,
        title=put("mine_exercise.title", Exercise, "title", "My own exercise"),
        summary=put("mine_exercise.summary", Exercise, "summary", "My summary."),
        topic=put("mine_exercise.topic", Exercise, "topic", "Revolution"),
        **mine,
    )
    question = exercise.questions.get()
    question.prompt = put("mine_q.prompt", Question, "prompt", "Who wrote my source?")
    question.save()
    LibraryEdit.objects.create(
        exercise=exercise,
        field="Q1 prompt",
        before=put("edit.before", LibraryEdit, "before", "Who wrote it?"),
        after=put("edit.after", LibraryEdit, "after", "Who wrote my source?"),
        by=teacher,
    )
    shared_source = factories.make_source(title="A shared source", shared=True, **mine)
    shared = factories.make_exercise(
        sources=[shared_source, site_source],
        stages=(Stage.ORIGIN,),
        title="A shared exercise",
        shared=True,
        **mine,
    )
    return {
        "source": source,
        "exercise": exercise,
        "question": question,
        "scheme": scheme,
        "shared_source": shared_source,
        "shared_exercise": shared,
        "shared_question": shared.questions.get(),
    }


SOURCE_TEXTS = (
    "title",
    "author",
    "date_text",
    "publication",
    "kind",
    "audience",
    "caption",
    "teacher_notes",
    "context",
    "citation",
    "translation",
)


def retext(world: World, text: Callable[[str, str], str]) -> None:
    """Put new texts in every writable field of an existing world, as ``build_world(text)``
    would have, in a few UPDATEs (the XSS runs share one world instead of building 31)."""
    values = {
        key: _limit(model, name, text(key, world.texts[key])) for key, (model, name) in world.slots.items()
    }
    v = values.__getitem__
    for who in ("a1", "a2", "b", "teacher_a", "teacher_b"):
        User.objects.filter(pk=world.users[who].pk).update(
            first_name=v(f"{who}.first_name"), last_name=v(f"{who}.last_name")
        )
    Classroom.objects.filter(pk=world.class_a.pk).update(name=v("class_a.name"))
    questions = {q.position: q for q in world.exercise_a.questions.all()}
    Level.objects.filter(scheme_id=questions[1].mark_scheme_id, number=2).update(
        descriptor=v("level.descriptor")
    )
    Exercise.objects.filter(pk=world.exercise_a.pk).update(
        title=v("exercise.title"), summary=v("exercise.summary"), instructions=v("exercise.instructions")
    )
    source = world.exercise_a.exercise_sources.order_by("position").first().source
    Source.objects.filter(pk=source.pk).update(**{name: v(f"source.{name}") for name in SOURCE_TEXTS})
    GlossaryTerm.objects.filter(source=source).update(
        term=v("glossary.term"), definition=v("glossary.definition")
    )
    Passage.objects.filter(source=source, position=0).update(
        text=f"Plain opening words about the {v('glossary.term')} and more."
    )
    cited = source.passages.get(position=1)
    Passage.objects.filter(pk=cited.pk).update(label=v("passage.label"), text=v("passage.text"))
    Evidence.objects.filter(passage=cited).update(
        start=0, end=len(v("passage.text")), quote=v("passage.text")
    )
    for n, question in questions.items():
        fields = {"prompt": v(f"q{n}.prompt")}
        if n == 1:
            fields.update(
                hints=[v("q1.hint"), *question.hints[1:]],
                sentence_starters=[v("q1.starter")],
                indicative_content=v("q1.indicative"),
                model_answer=v("q1.model"),
            )
        Question.objects.filter(pk=question.pk).update(**fields)
        for who, submission in (("a1", world.sub_a1), ("a2", world.sub_a2)):
            Response.objects.filter(submission=submission, question=question).update(
                text=v(f"{who}.answer{n}")
            )
    Submission.objects.filter(pk=world.sub_a1.pk).update(overall_comment=v("sub_a1.overall_comment"))
    Mark.objects.filter(response__submission=world.sub_a1, response__question=questions[1]).update(
        comment=v("mark.comment")
    )
    CommentBankEntry.objects.filter(pk=world.bank_a.pk).update(text=v("bank_a.text"))
    studio = world.studio
    Source.objects.filter(pk=studio["source"].pk).update(
        title=v("mine_source.title"),
        topic=v("mine_source.topic"),
        rights=v("mine_source.rights"),
        teacher_notes=v("mine_source.teacher_notes"),
    )
    MarkScheme.objects.filter(pk=studio["scheme"].pk).update(name=v("mine_scheme.name"))
    Level.objects.filter(scheme=studio["scheme"], number=1).update(descriptor=v("mine_level.descriptor"))
    Exercise.objects.filter(pk=studio["exercise"].pk).update(
        title=v("mine_exercise.title"), summary=v("mine_exercise.summary"), topic=v("mine_exercise.topic")
    )
    Question.objects.filter(pk=studio["question"].pk).update(prompt=v("mine_q.prompt"))
    LibraryEdit.objects.filter(exercise=studio["exercise"]).update(
        before=v("edit.before"), after=v("edit.after")
    )
    world.texts = values


def _passage(exercise, source_index, position) -> Passage:
    source = exercise.exercise_sources.order_by("position")[source_index].source
    return source.passages.get(position=position)


@contextmanager
def module_world(django_db_blocker, **options):
    """One world per test module, built once inside a transaction that is rolled back when
    the module is done. Each test still runs in its own savepoint (``django_db``), so what a
    test changes is undone before the next one starts."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world(**options)
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> World:
    with module_world(django_db_blocker) as world:
        yield world


_CLIENTS: dict[tuple, Client] = {}


def client_for(world: World, principal: str, *, slot: int = 0, **kwargs) -> Client:
    """A test client logged in as ``principal`` (the inactive user's login is forced, as if
    the account had been deactivated after logging in; the session must not count).

    Clients are reused with their cookies cleared: building one loads the middleware, and
    WhiteNoise's start-up scan of the static files dwarfs the requests themselves. A test
    that needs two sessions at once asks for two ``slot``s."""
    key = (slot, *sorted(kwargs.items()))
    client = _CLIENTS.get(key)
    if client is None:
        client = _CLIENTS[key] = Client(**kwargs)
    client.cookies.clear()
    user = world.user(principal)
    if user is not None:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


class rolled_back:
    """``with rolled_back():`` — whatever the request changes is undone afterwards, so each
    principal meets the same world."""

    def __enter__(self):
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        return self

    def __exit__(self, *exc):
        transaction.set_rollback(True)
        return self._atomic.__exit__(*exc)


# --- Log scanning (T13) --------------------------------------------------------------------

_SECRETS: set[str] = {PASSWORD}


@functools.cache
def _project_text() -> str:
    """The app's own source. Hypothesis seeds its strings with literals found there (URL parts,
    log wording); such a string in a log line is the code speaking, not a leak."""
    root = Path(__file__).resolve().parents[2]
    return "\n".join(
        path.read_text(errors="replace")
        for folder in ("accounts", "analysis", "config", "templates")
        for path in (root / folder).rglob("*")
        if path.suffix in (".py", ".html") and path.is_file()
    )


def log_secrets(*values: str) -> None:
    """Register text that must never reach a log line (payloads, fuzzed text, passwords)."""
    for value in values:
        value = str(value)
        if len(value.strip()) >= 8 and value not in _project_text():
            _SECRETS.add(value)


DYNAMIC_FIELDS = ("path", "user_id", "request_id", "username_hash")


class _Collector(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []

    def security(self, **match) -> list[logging.LogRecord]:
        """The structured security records so far, optionally only those with these fields."""
        return [
            r
            for r in self.records
            if r.name == "provenance.security" and all(getattr(r, k, None) == v for k, v in match.items())
        ]

    def emit(self, record):
        """Keep what a record carries from outside the code: its arguments, the request fields
        and, except for our own fixed-wording security records, the formatted message. (Not the
        JSON keys or fixed wording: fuzzed text may happen to equal them, which is no leak.)"""
        self.records.append(record)
        try:
            self.lines += [str(arg) for arg in (record.args or ())] if isinstance(record.args, tuple) else []
            self.lines += [str(getattr(record, name)) for name in DYNAMIC_FIELDS if hasattr(record, name)]
            if record.name != "provenance.security":
                self.lines.append(record.getMessage())
            if record.exc_info:
                self.lines.append(logging.Formatter().formatException(record.exc_info))
        except Exception:  # pragma: no cover - a broken record is itself worth seeing
            self.lines.append(repr(record.__dict__))


@pytest.fixture(autouse=True)
def no_secrets_in_logs():
    """Every test here: no registered secret appears in any log record it caused."""
    collector = _Collector()
    loggers = [logging.getLogger(), logging.getLogger("provenance.security")]
    for logger in loggers:
        logger.addHandler(collector)
    # Some loggers (django.request, axes) only pass on warnings: see everything they do pass.
    yield collector
    for logger in loggers:
        logger.removeHandler(collector)
    text = "\n".join(collector.lines)
    leaked = sorted(s[:60] for s in _SECRETS if s in text)
    assert not leaked, f"secret text reached the logs: {leaked}"
