"""Query budgets: every page's query count is pinned, and the same at 5, 30 and 300 pupils and
at 3 and 6 questions (docs/quality.md G5/G6). A page whose count grows with the class is an N+1
waiting to happen on a year group of 300; these tests fail first.

Each page is requested once to warm per-process caches (and to create the pupil's submission
where the page does that), then counted with ``django_assert_num_queries`` (exact). The counted
request also runs under Django 6.1's ``FETCH_RAISE`` as the default fetch mode, so any lazy load
of a related object or deferred field inside the request raises ``FieldFetchBlocked`` naming the
field, even when the count happens to stay flat.

Classes of 300 are written with ``bulk_create`` (one password hash for everyone) so the whole
module runs in a few seconds.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.core.exceptions import FieldFetchBlocked
from django.db.models import query as query_module
from django.db.models.fetch_modes import FETCH_RAISE
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Classroom, Enrollment, User
from analysis.models import Evidence, Mark, Response, Stage, Submission
from tests import factories

SIZES = [5, 30, 300]
STAGES = {
    3: (Stage.ORIGIN, Stage.PURPOSE, Stage.RELIABILITY),
    6: (
        Stage.ORIGIN,
        Stage.PURPOSE,
        Stage.RELIABILITY,
        Stage.ORIGIN,
        Stage.RELIABILITY,
        Stage.CORROBORATION,
    ),
}
HTMX = {"HX-Request": "true"}


@dataclass
class World:
    teacher: User
    classroom: Classroom
    assignment: object
    pupil: User  # in progress, answers with evidence: the workspace, autosave and submit
    pupil_response: Response
    marked: Submission  # handed in and marked: the marking page


def build_world(*, students: int, questions: int) -> World:
    """A class of ``students`` with one assignment of ``questions`` questions. Every pupil has
    answered every question with one quotation each: a third are still in progress, a third
    have handed in (half their answers marked) and a third have had their work returned."""
    now = timezone.now()
    teacher = factories.make_teacher()
    sources = [factories.make_source(), factories.make_source()]
    exercise = factories.make_exercise(sources=sources, stages=STAGES[questions])
    classroom = factories.make_classroom(teacher=teacher)
    assignment = factories.make_assignment(classroom=classroom, exercise=exercise)
    # Another assignment in the same class, so lists and the dashboard have more than one row.
    factories.make_assignment(classroom=classroom, exercise=exercise)

    password = make_password("pw")
    tag = f"c{classroom.pk}"
    pupils = User.objects.bulk_create(
        User(
            username=f"{tag}-pupil{n:03d}",
            first_name=f"First{n}",
            last_name=f"Last{n:03d}",
            password=password,
            role=User.Role.STUDENT,
        )
        for n in range(students)
    )
    Enrollment.objects.bulk_create(Enrollment(classroom=classroom, student=pupil) for pupil in pupils)

    def state(n):
        return ("in_progress", "submitted", "returned")[n % 3]

    submissions = Submission.objects.bulk_create(
        Submission(
            assignment=assignment,
            student=pupil,
            status=state(n),
            submitted_at=None if state(n) == "in_progress" else now - timedelta(hours=1),
            returned_at=now if state(n) == "returned" else None,
        )
        for n, pupil in enumerate(pupils)
    )
    question_list = list(exercise.questions.select_related("source"))
    responses = Response.objects.bulk_create(
        Response(submission=submission, question=question, text=f"Answer {question.position}.", version=1)
        for submission in submissions
        for question in question_list
    )
    passages = {source.pk: source.passages.first() for source in sources}
    Evidence.objects.bulk_create(
        Evidence(
            response=response,
            passage=passages[response.question.source_id or sources[0].pk],
            start=0,
            end=5,
            quote=passages[response.question.source_id or sources[0].pk].text[:5],
        )
        for response in responses
    )
    by_submission = {submission.pk: submission for submission in submissions}
    Mark.objects.bulk_create(
        Mark(response=response, level=1, marks=1, max_marks=response.question.max_marks, marker=teacher)
        for index, response in enumerate(responses)
        if by_submission[response.submission_id].status == "returned"
        or (by_submission[response.submission_id].status == "submitted" and index % 2 == 0)
    )
    pupil = pupils[0]
    return World(
        teacher=teacher,
        classroom=classroom,
        assignment=assignment,
        pupil=pupil,
        pupil_response=next(r for r in responses if r.submission_id == submissions[0].pk),
        marked=submissions[1],
    )


@pytest.fixture(params=SIZES, ids=[f"{n}-pupils" for n in SIZES])
def world(request, db):
    return build_world(students=request.param, questions=3)


@pytest.fixture(params=[3, 6], ids=["3-questions", "6-questions"])
def world_by_questions(request, db):
    return build_world(students=30, questions=request.param)


@pytest.fixture
def counted(django_assert_num_queries, monkeypatch):
    """``counted(n, (warm, call))``: warm up, then make the call under FETCH_RAISE and assert
    exactly ``n`` queries. Returns the counted reply."""

    def run(expected, calls):
        warm, call = calls
        warm()
        with monkeypatch.context() as patch:
            # QuerySet() reads this module global for every new queryset, so every instance the
            # request loads refuses lazy fetches of related objects and deferred fields.
            patch.setattr(query_module, "DEFAULT_FETCH_MODE", FETCH_RAISE)
            with django_assert_num_queries(expected):
                reply = call()
        return reply

    return run


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# Pinned counts: change one only with a reason, and never so that it grows with the class.
# They count every statement Django sends, so a write counts its transaction too: BEGIN/COMMIT
# in production, SAVEPOINT/RELEASE inside the test's transaction (two either way).
BUDGET = {
    "healthz_db": 1,  # one SELECT by primary key (E0)
    "assignment_list": 3,  # session, user, the assignments with status and progress subqueries
    # session, user, assignment (with its question count), answers with their submission and
    # questions, evidence with passages, the sources' rows; the rendered source panels come
    # from the cache (E1). With the panels not yet cached: + passages and glossary.
    "workspace": 6,
    "workspace_cold": 8,
    "autosave": 5,  # session, user, compare-and-set UPDATE that also locks the submission + 2 (E2)
    # session, user, lock the student's submission (visibility checked in the same query),
    # answers with their evidence aggregated (receipt and fingerprints), the answers'
    # fingerprints (one UPDATE: a mark remembers the answer it was given to), UPDATE + 2 (E3)
    "submit": 8,
    "dashboard": 6,
    # G5: the same for 5, 30 and 300 pupils (E4/E4'); + the LMS gradebook counts (one aggregate)
    "grid": 9,
    # + the pupil's support level (a mark under Guided support means something else)
    "mark_submission": 16,
    # + work past an exam time limit handed in (one SELECT when there is none)
    "mark_question": 14,
}


def request_page(page: str, world: World):
    """(warm-up, counted call) for one page of ``world``."""
    a = world.assignment
    pupil = client_for(world.pupil)
    teacher = client_for(world.teacher)
    workspace_url = reverse("learn:workspace", args=[a.pk])

    def get(client, url):
        return lambda: client.get(url)

    if page == "healthz_db":
        anonymous = client_for(None)
        return get(anonymous, reverse("healthz-db")), get(anonymous, reverse("healthz-db"))
    if page == "assignment_list":
        return get(pupil, reverse("learn:assignment-list")), get(pupil, reverse("learn:assignment-list"))
    if page == "workspace":
        return get(pupil, workspace_url), get(pupil, workspace_url)
    if page == "workspace_cold":
        return get(pupil, workspace_url), lambda: (cache.clear(), pupil.get(workspace_url))[1]
    if page == "autosave":
        url = reverse("learn:response-save", args=[a.pk, world.pupil_response.pk])
        state = {"version": world.pupil_response.version}

        def save():
            reply = pupil.post(url, {"text": "A longer answer.", "version": state["version"]}, headers=HTMX)
            state["version"] = reply.json().get("version", state["version"])
            return reply

        return save, save
    if page == "submit":
        # Warm up on the workspace: a second submit would only count the idempotent no-op.
        return get(pupil, workspace_url), lambda: pupil.post(reverse("learn:submit", args=[a.pk]))
    if page == "dashboard":
        return get(teacher, reverse("teach:dashboard")), get(teacher, reverse("teach:dashboard"))
    if page == "grid":
        url = reverse("teach:assignment-progress", args=[a.pk])
        return get(teacher, url), get(teacher, url)
    if page == "mark_submission":
        url = reverse("teach:submission-mark", args=[a.pk, world.marked.pk])
        return get(teacher, url), get(teacher, url)
    if page == "mark_question":
        question = a.exercise.questions.order_by("position").first()
        url = reverse("teach:question-mark", args=[a.pk, question.pk])
        return get(teacher, url), get(teacher, url)
    raise AssertionError(page)


EXPECTED_STATUS = {"submit": 302}


@pytest.mark.parametrize("page", list(BUDGET))
def test_query_count_is_pinned_and_flat_in_class_size(page, world, counted):
    reply = counted(BUDGET[page], request_page(page, world))
    assert reply.status_code == EXPECTED_STATUS.get(page, 200)


@pytest.mark.parametrize("page", list(BUDGET))
def test_query_count_is_flat_in_number_of_questions(page, world_by_questions, counted):
    reply = counted(BUDGET[page], request_page(page, world_by_questions))
    assert reply.status_code == EXPECTED_STATUS.get(page, 200)


def test_fetch_raise_tripwire_is_armed(assignment, student):
    """The tripwire the budgets rely on: under the patched default, a lazy load raises."""
    factories.make_submission(assignment=assignment, student=student)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(query_module, "DEFAULT_FETCH_MODE", FETCH_RAISE)
        response = Response.objects.first()
        with pytest.raises(FieldFetchBlocked, match="Response.question"):
            response.question  # noqa: B018 - the attribute access is the test
