"""T2: every URL that carries an object id, replayed with the ids of the other class and the
other pupil (and an id that does not exist) by every principal who gets past its role gate.

The oracle below says who may reach which objects from plain facts of the world (who is in
which class, whose work it is, which exercise a question belongs to), independently of the
views' querysets. Everything else must be 404: never 200 with someone else's data, never 403
(which would confirm the id exists), never 500. Lists and the CSV export are compared by set
equality with the principal's own objects; ids smuggled in POST bodies are refused too.
"""

import csv
import io
import itertools
import re
from dataclasses import dataclass

import pytest
from django.urls import reverse

from accounts.models import Classroom, Enrollment
from analysis.models import (
    Assignment,
    CommentBankEntry,
    Evidence,
    Exercise,
    Extension,
    GlossaryTerm,
    Level,
    Mark,
    Passage,
    Question,
    Response,
    Source,
    StudentSupport,
    Submission,
)
from tests.security import matrix
from tests.security.conftest import PRINCIPALS, World, client_for, rolled_back
from tests.security.urls_table import ROWS, ROWS_BY_NAME, SCHEME_BODY, Expectation, _local, _mark_body

pytestmark = pytest.mark.django_db

MISSING = object()  # an id that exists nowhere
MISSING_ID = 987654
MARKABLE = (Submission.Status.SUBMITTED, Submission.Status.RETURNED)


def _pk(obj):
    return MISSING_ID if obj is MISSING else obj.pk


# --- The oracle ------------------------------------------------------------------------------


def enrolled(user, classroom) -> bool:
    return Enrollment.objects.filter(student=user, classroom=classroom).exists()


def teaches(user, classroom) -> bool:
    return classroom.teachers.filter(pk=user.pk).exists()


def can_see(user, item) -> bool:
    """Library items: the site's, one's own, and what a colleague of one's school shares."""
    return (
        item.owner_id is None
        or item.owner_id == user.pk
        or (item.shared and item.school_id is not None and item.school_id == user.school_id)
    )


def owns(user, item) -> bool:
    return item.owner_id == user.pk


def _work_of(user, assignment, response) -> bool:
    submission = response.submission
    return (
        enrolled(user, assignment.classroom)
        and submission.student_id == user.pk
        and (submission.assignment_id == assignment.pk)
    )


def pools(world: World) -> dict[str, list]:
    """Candidate objects for each kind of id: class A's, the other pupil's, class B's."""
    return {
        "assignment": [world.assignment_a, world.assignment_b],
        "response": [world.response(s, 1) for s in (world.sub_a1, world.sub_a2, world.sub_b)],
        "evidence": [world.evidence(s) for s in (world.sub_a1, world.sub_a2, world.sub_b)],
        "submission": [world.sub_a1, world.sub_a2, world.sub_b],
        "question": [world.question(world.exercise_a, 1), world.question(world.exercise_b, 1)],
        "classroom": [world.class_a, world.class_b],
        "student": [world.users[p] for p in ("a1", "a2", "b", "inactive", "teacher_a")],
        "extension": [world.ext_a, world.ext_b],
        "support": [world.support_a, world.support_b],
        "entry": [world.bank_a, world.bank_b],
        "exercise": [
            world.exercise_a,
            world.exercise_b,
            world.studio["exercise"],
            world.studio["shared_exercise"],
        ],
        "studio_question": [
            world.studio["question"],
            world.studio["shared_question"],
            world.question(world.exercise_a, 1),
        ],
        "library_source": [
            world.exercise_a.exercise_sources.order_by("position").first().source,
            world.studio["source"],
            world.studio["shared_source"],
        ],
        "source": [world.image_a, world.image_b],
        "region": [world.image_a.regions.first(), world.image_b.regions.first()],
        "lti_course": _lti_courses(world),
    }


def _lti_courses(world):
    """An LMS course on each side: class A's (the matrix's) and class B's."""
    from lti.models import Course
    from tests.security.urls_table import _lti_course

    course_a = _lti_course(world)
    course_b, _ = Course.objects.get_or_create(
        platform=course_a.platform, context_id="idor-course-b", defaults={"classroom": world.class_b}
    )
    return [course_a, course_b]


def sees_image(user, source) -> bool:
    """Who may see a private image: its owner, colleagues of its school once shared, and the
    teachers and pupils of a class with an assignment using it (none in this world)."""
    if source.owner_id == user.pk:
        return True
    if source.shared and user.is_teacher and user.school_id == source.school_id:
        return True
    used = Assignment.objects.filter(exercise__exercise_sources__source=source)
    return any(enrolled(user, a.classroom) or teaches(user, a.classroom) for a in used)


@dataclass(frozen=True)
class Sweep:
    name: str
    params: dict  # URL kwarg -> pool name
    allowed: object  # (user, objects) -> bool
    data: object = None  # (world, objects) -> POST body


def _response_body(world, o):
    return {"text": "Replayed text.", "version": o["response_id"].version}


def _evidence_body(world, o):
    return {"passage": world.passage(o["assignment_id"].exercise, 1, 0).pk, "start": 0, "end": 7}


def _studio_question_body(world, o):
    """A well-formed question form for the question in the URL (the scheme rows ride along)."""
    question = o["question_id"]
    prefix = f"q{question.pk}-"
    body = {
        f"{prefix}stage": question.stage,
        f"{prefix}prompt": "A replayed prompt.",
        f"{prefix}max_marks": question.max_marks,
        f"{prefix}source": question.source_id or "",
        f"{prefix}mark_scheme": "",
        "direction": "down",
    }
    return body | SCHEME_BODY


def _source_body(world, o):
    """What each source form posts, with a passage of the source in the URL."""
    passage = o["pk"].passages.order_by("position").first()
    return {
        "passage": passage.pk,
        "action": "down",
        "label": "Replayed",
        "term": "paragraph",
        "definition": "A part.",
        "title": "Replayed title",
        "author": "A",
        "date_text": "1917",
        "publication": "P",
        "kind": "K",
        "rights_kind": "public-domain",
    }


def _submission_mark_body(world, o):
    response = o["submission_id"].responses.order_by("question__position").last()
    return _mark_body(response)


def _question_mark_body(world, o):
    response = (
        Response.objects.filter(question=o["question_id"], submission__status__in=MARKABLE)
        .order_by("pk")
        .first()
    )
    return _mark_body(response)


SWEEPS = [
    Sweep(
        "learn:workspace",
        {"assignment_id": "assignment"},
        lambda u, o: enrolled(u, o["assignment_id"].classroom),
    ),
    Sweep(
        "learn:submit",
        {"assignment_id": "assignment"},
        lambda u, o: enrolled(u, o["assignment_id"].classroom),
    ),
    Sweep(
        "learn:feedback",
        {"assignment_id": "assignment"},
        lambda u, o: enrolled(u, o["assignment_id"].classroom),
    ),
    Sweep(
        "learn:response-save",
        {"assignment_id": "assignment", "response_id": "response"},
        lambda u, o: _work_of(u, o["assignment_id"], o["response_id"]),
        _response_body,
    ),
    Sweep(
        "learn:response-hint",
        {"assignment_id": "assignment", "response_id": "response"},
        lambda u, o: _work_of(u, o["assignment_id"], o["response_id"]),
    ),
    Sweep(
        "learn:evidence-add",
        {"assignment_id": "assignment", "response_id": "response"},
        lambda u, o: _work_of(u, o["assignment_id"], o["response_id"]),
        _evidence_body,
    ),
    Sweep(
        "learn:evidence-delete",
        {"assignment_id": "assignment", "response_id": "response", "evidence_id": "evidence"},
        lambda u, o: (
            _work_of(u, o["assignment_id"], o["response_id"])
            and o["evidence_id"].response_id == o["response_id"].pk
        ),
    ),
    Sweep("teach:class-detail", {"pk": "classroom"}, lambda u, o: teaches(u, o["pk"])),
    Sweep("teach:class-markbook", {"pk": "classroom"}, lambda u, o: teaches(u, o["pk"])),
    Sweep("teach:class-markbook-csv", {"pk": "classroom"}, lambda u, o: teaches(u, o["pk"])),
    Sweep(
        "teach:class-rename",
        {"pk": "classroom"},
        lambda u, o: teaches(u, o["pk"]),
        lambda w, o: {"rename-name": "X"},
    ),
    Sweep("teach:class-archive", {"pk": "classroom"}, lambda u, o: teaches(u, o["pk"])),
    Sweep(
        "teach:class-join-code",
        {"pk": "classroom"},
        lambda u, o: teaches(u, o["pk"]),
        lambda w, o: {"action": "regenerate"},
    ),
    Sweep("teach:class-roster-upload", {"pk": "classroom"}, lambda u, o: teaches(u, o["pk"])),
    # Skills across the year: a pupil who left keeps their profile (any enrolment, ended ones too).
    Sweep(
        "teach:student-profile",
        {"pk": "classroom", "student_id": "student"},
        lambda u, o: teaches(u, o["pk"]) and enrolled(o["student_id"], o["pk"]),
    ),
    Sweep("teach:class-skills", {"pk": "classroom"}, lambda u, o: teaches(u, o["pk"])),
    *(
        Sweep(
            name,
            {"pk": "classroom", "student_id": "student"},
            lambda u, o: teaches(u, o["pk"]) and enrolled(o["student_id"], o["pk"]),
        )
        for name in ("teach:class-student-remove", "teach:class-student-password")
    ),
    Sweep(
        "teach:class-student-unlock",
        {"pk": "classroom", "student_id": "student"},
        lambda u, o: teaches(u, o["pk"]) and enrolled(o["student_id"], o["pk"]),
    ),
    *(
        Sweep(name, {"pk": "exercise"}, lambda u, o: can_see(u, o["pk"]))
        for name in (
            "teach:exercise-preview",
            "teach:exercise-worksheet",
            "teach:exercise-pupil-preview",
            "teach:exercise-copy",
        )
    ),
    *(
        Sweep(name, {"pk": "exercise"}, lambda u, o: owns(u, o["pk"]))
        for name in (
            "teach:exercise-edit",
            "teach:exercise-manage",
            "teach:exercise-export",
            "teach:question-add",
        )
    ),
    *(
        Sweep(
            name,
            {"pk": "exercise", "question_id": "studio_question"},
            lambda u, o: owns(u, o["pk"]) and o["question_id"].exercise_id == o["pk"].pk,
            _studio_question_body,
        )
        for name in (
            "teach:question-edit",
            "teach:question-move",
            "teach:question-delete",
            "teach:question-scheme",
        )
    ),
    *(
        Sweep(name, {"pk": "library_source"}, lambda u, o: can_see(u, o["pk"]))
        for name in ("teach:source-preview", "teach:source-copy")
    ),
    *(
        Sweep(name, {"pk": "library_source"}, lambda u, o: owns(u, o["pk"]), _source_body)
        for name in (
            "teach:source-edit",
            "teach:source-passages",
            "teach:source-glossary",
            "teach:source-manage",
        )
    ),
    *(
        Sweep(name, {"pk": "assignment"}, lambda u, o: teaches(u, o["pk"].classroom))
        for name in (
            "teach:assignment-progress",
            "teach:assignment-edit",
            "teach:assignment-unassign",
            "teach:assignment-restore",
            "teach:assignment-extensions",
            "teach:assignment-support",
            "teach:assignment-export",
            "teach:assignment-insight",
        )
    ),
    Sweep(
        "teach:assignment-release",
        {"pk": "assignment"},
        lambda u, o: teaches(u, o["pk"].classroom),
        lambda w, o: {"scope": "all"},
    ),
    Sweep(
        "teach:student-support-delete",
        {"pk": "assignment", "support_id": "support"},
        lambda u, o: teaches(u, o["pk"].classroom) and o["support_id"].assignment_id == o["pk"].pk,
    ),
    Sweep(
        "teach:extension-delete",
        {"pk": "assignment", "extension_id": "extension"},
        lambda u, o: teaches(u, o["pk"].classroom) and o["extension_id"].assignment_id == o["pk"].pk,
    ),
    *(
        Sweep(
            name,
            {"pk": "assignment", "submission_id": "submission"},
            lambda u, o: teaches(u, o["pk"].classroom) and o["submission_id"].assignment_id == o["pk"].pk,
            _submission_mark_body,
        )
        for name in ("teach:submission-mark", "teach:submission-reopen", "teach:submission-print")
    ),
    Sweep(
        "teach:response-mark",
        {"pk": "assignment", "response_id": "response"},
        lambda u, o: (
            teaches(u, o["pk"].classroom) and o["response_id"].submission.assignment_id == o["pk"].pk
        ),
        lambda w, o: _mark_body(o["response_id"]),
    ),
    Sweep(
        "teach:submission-comment",
        {"pk": "assignment", "submission_id": "submission"},
        lambda u, o: (
            teaches(u, o["pk"].classroom)
            and o["submission_id"].assignment_id == o["pk"].pk
            and o["submission_id"].status in MARKABLE
        ),
        lambda w, o: {"overall-overall_comment": "Replayed comment."},
    ),
    Sweep(
        "teach:question-mark",
        {"pk": "assignment", "question_id": "question"},
        lambda u, o: teaches(u, o["pk"].classroom) and o["question_id"].exercise_id == o["pk"].exercise_id,
        _question_mark_body,
    ),
    Sweep("teach:source-regions", {"pk": "source"}, lambda u, o: o["pk"].owner_id == u.pk),
    *(
        Sweep(
            name,
            {"pk": "source", "region_id": "region"},
            lambda u, o: o["pk"].owner_id == u.pk and o["region_id"].source_id == o["pk"].pk,
            lambda w, o: {"direction": "down"},
        )
        for name in ("teach:region-edit", "teach:region-delete", "teach:region-move")
    ),
    Sweep("teach:source-image", {"pk": "source"}, lambda u, o: sees_image(u, o["pk"])),
    Sweep("learn:source-image", {"pk": "source"}, lambda u, o: sees_image(u, o["pk"])),
    Sweep("teach:comment-bank-delete", {"entry_id": "entry"}, lambda u, o: o["entry_id"].teacher_id == u.pk),
    # LTI: an LMS course's page and roster sync, and resending an assignment's failed scores.
    *(
        Sweep(name, {"pk": "lti_course"}, lambda u, o: teaches(u, o["pk"].classroom))
        for name in ("lti:course", "lti:course-roster-sync")
    ),
    Sweep(
        "lti:grades-resend",
        {"assignment_id": "assignment"},
        lambda u, o: teaches(u, o["assignment_id"].classroom),
    ),
]


def test_every_url_with_an_id_is_swept(world):
    with_ids = {row.name for row in ROWS if row.kwargs and set(row.kwargs(world)) - {"slug"}}
    swept = {sweep.name for sweep in SWEEPS}
    assert with_ids <= swept, f"URLs with ids that the IDOR sweep skips: {sorted(with_ids - swept)}"


def _combos(world, sweep):
    """Every combination of candidate objects, plus each id in turn replaced by a missing one."""
    candidate = pools(world)
    names = list(sweep.params)
    combos = [
        dict(zip(names, objs, strict=True))
        for objs in itertools.product(*(candidate[sweep.params[n]] for n in names))
    ]
    base = combos[0]
    for name in names:
        combos.append({**base, name: MISSING})
    return combos


def _variants(row):
    pairs = [(method, False) for method in row.methods]
    if row.htmx:
        pairs += [(method, True) for method in row.methods]
    return pairs


def fingerprint():
    """What a refused request must not change: counts and versions of everyone's work."""
    return (
        list(Submission.objects.order_by("pk").values_list("pk", "status", "overall_comment")),
        list(Response.objects.order_by("pk").values_list("pk", "version", "hints_used")),
        list(Mark.objects.order_by("pk").values_list("pk", "marks", "comment")),
        Evidence.objects.count(),
        list(Extension.objects.order_by("pk").values_list("pk", "due_at")),
        CommentBankEntry.objects.count(),
        list(Assignment.objects.order_by("pk").values_list("pk", "archived_at", "due_at")),
        list(Classroom.objects.order_by("pk").values_list("pk", "name", "join_code", "archived_at")),
        Enrollment.objects.count(),
        # The library: nobody's items change, appear or go because of someone else's request.
        list(Exercise.objects.order_by("pk").values_list("pk", "title", "shared", "archived_at", "owner")),
        list(Source.objects.order_by("pk").values_list("pk", "title", "shared", "archived_at", "owner")),
        list(Question.objects.order_by("pk").values_list("pk", "position", "prompt", "mark_scheme")),
        list(Passage.objects.order_by("pk").values_list("pk", "position", "label", "text")),
        GlossaryTerm.objects.count(),
        list(Level.objects.order_by("pk").values_list("pk", "min_marks", "max_marks", "descriptor")),
    )


@pytest.mark.parametrize("sweep", SWEEPS, ids=lambda sweep: sweep.name)
def test_ids_of_other_classes_and_pupils_answer_404(world, sweep):
    row = ROWS_BY_NAME[sweep.name]
    problems, count = [], 0
    before = fingerprint()  # every request below is rolled back, so this is the state before each
    for principal in PRINCIPALS:
        if not row.passes_gate(principal):
            continue  # the matrix proves these get 404 (wrong role) or the log-in page
        user = world.users[principal]
        with rolled_back():
            client = client_for(world, principal)
            for objects in _combos(world, sweep):
                allowed = MISSING not in objects.values() and sweep.allowed(user, objects)
                url = reverse(sweep.name, kwargs={k: _pk(v) for k, v in objects.items()})
                # A well-formed body, so that any refusal is about the ids, not the form.
                if sweep.data is None:
                    data = row.post_data(world)
                elif MISSING in objects.values():
                    data = sweep.data(world, {**_combos(world, sweep)[0]})
                else:
                    data = sweep.data(world, objects)
                for method, htmx in _variants(row):
                    with rolled_back():
                        response = matrix.perform(client, world, row, method, htmx, url=url, data=data)
                        if method == "POST" and not allowed and fingerprint() != before:
                            problems.append(f"{method} {url} as {principal} changed someone's data")
                    count += 1
                    cell = matrix.Cell(
                        row, principal, method, htmx, Expectation("ok" if allowed else "not-found"), response
                    )
                    if (why := matrix.problem(cell)) is not None:
                        ids = {k: ("missing" if v is MISSING else v.pk) for k, v in objects.items()}
                        problems.append(f"{why} with {ids}")
    assert count > 0
    assert not problems, "\n".join(problems)


# --- Lists and exports: exactly one's own -----------------------------------------------------


def _ids(html, pattern):
    return {int(n) for n in re.findall(pattern, html)}


@pytest.mark.parametrize("principal", ["a1", "a2", "b"])
def test_assignment_list_shows_exactly_own_assignments(world, principal):
    user = world.users[principal]
    own = set(Assignment.objects.filter(classroom__enrollments__student=user).values_list("pk", flat=True))
    html = client_for(world, principal).get(reverse("learn:assignment-list")).content.decode()
    assert _ids(html, r"/learn/assignments/(\d+)/") == own


@pytest.mark.parametrize("principal", ["a1", "a2", "b"])
def test_my_data_download_holds_exactly_own_work(world, principal):
    user = world.users[principal]
    response = client_for(world, principal).get(reverse("learn:my-data"))
    assert response.status_code == 200
    data = response.json()
    assert data["account"]["username"] == user.username
    answers = {a["text"] for work in data["work"] for a in work["answers"]}
    assert answers == set(Response.objects.filter(submission__student=user).values_list("text", flat=True))
    others = Response.objects.exclude(submission__student=user).values_list("text", flat=True)
    assert not answers & set(others) - {""}
    assert {c["name"] for c in data["classes"]} == set(
        Classroom.objects.filter(enrollments__student=user).values_list("name", flat=True)
    )


@pytest.mark.parametrize("principal", ["teacher_a", "teacher_b", "admin"])
def test_dashboard_shows_exactly_own_classes_and_assignments(world, principal):
    user = world.users[principal]
    html = client_for(world, principal).get(reverse("teach:dashboard")).content.decode()
    classes = set(user.classrooms_taught.values_list("pk", flat=True))
    assignments = set(Assignment.objects.filter(classroom__teachers=user).values_list("pk", flat=True))
    assert _ids(html, r"/teach/classes/(\d+)/") == classes
    assert _ids(html, r"/teach/assignments/(\d+)/") == assignments


@pytest.mark.parametrize("side", ["a", "b"])
def test_export_lists_exactly_the_class_roster(world, side):
    assignment = getattr(world, f"assignment_{side}")
    response = client_for(world, f"teacher_{side}").get(
        reverse("teach:assignment-export", args=[assignment.pk])
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    usernames = {row[1] for row in rows[1:]}
    roster = set(
        Enrollment.objects.filter(classroom=assignment.classroom).values_list("student__username", flat=True)
    )
    assert usernames == roster
    others = {u.username for u in world.users.values()} - roster
    assert not any(name in response.content.decode() for name in others)


@pytest.mark.parametrize("side", ["a", "b"])
def test_progress_grid_lists_exactly_the_class_roster(world, side):
    assignment = getattr(world, f"assignment_{side}")
    html = (
        client_for(world, f"teacher_{side}")
        .get(reverse("teach:assignment-progress", args=[assignment.pk]))
        .content.decode()
    )
    for user in world.users.values():
        if not user.is_student:
            continue  # the teacher's own name is in the page header
        shown = user.display_name in html
        assert shown == enrolled(user, assignment.classroom), user.username


# --- Ids smuggled in POST bodies -----------------------------------------------------------------


def test_marking_a_response_of_another_class_through_own_assignment_is_404(world):
    client = client_for(world, "teacher_a")
    foreign = world.response(world.sub_b, 1)
    url = reverse("teach:response-mark", args=[world.assignment_a.pk, foreign.pk])
    for by in ("submission", "question"):
        for headers in ({}, {"HX-Request": "true"}):
            response = client.post(url, {**_mark_body(foreign), "by": by}, headers=headers)
            assert response.status_code == 404, (by, headers)
    assert Mark.objects.get(response=foreign).comment == "B mark."


def test_work_in_progress_cannot_be_marked(world):
    client = client_for(world, "teacher_a")
    in_progress = world.response(world.sub_a2, 1)
    url = reverse("teach:response-mark", args=[world.assignment_a.pk, in_progress.pk])
    for headers in ({}, {"HX-Request": "true"}):
        client.post(url, _mark_body(in_progress), headers=headers)
    assert not Mark.objects.filter(response=in_progress).exists()


def test_assignment_form_refuses_another_teachers_class(world):
    client = client_for(world, "teacher_a")
    body = {
        "exercise": world.exercise_a.pk,
        "classroom": world.class_b.pk,
        "opens_at": _local(world.assignment_a.opens_at),
    }
    before = Assignment.objects.filter(classroom=world.class_b).count()
    assert client.post(reverse("teach:assignment-create"), body).status_code == 200
    url = reverse("teach:assignment-edit", args=[world.assignment_b.pk])
    assert client.post(url, body).status_code == 404
    assert Assignment.objects.filter(classroom=world.class_b).count() == before


def test_extension_for_a_pupil_of_another_class_is_refused(world):
    client = client_for(world, "teacher_a")
    url = reverse("teach:assignment-extensions", args=[world.assignment_a.pk])
    body = {"student": world.users["b"].pk, "due_at": _local(world.ext_a.due_at)}
    assert client.post(url, body).status_code == 200
    assert not Extension.objects.filter(assignment=world.assignment_a, student=world.users["b"]).exists()


def test_support_for_a_pupil_of_another_class_is_refused(world):
    client = client_for(world, "teacher_a")
    url = reverse("teach:assignment-support", args=[world.assignment_a.pk])
    body = {"student": world.users["b"].pk, "support_level": "exam", "extra_time_percent": "50"}
    assert client.post(url, body).status_code == 200
    assert not StudentSupport.objects.filter(assignment=world.assignment_a, student=world.users["b"]).exists()
    world.support_b.refresh_from_db()
    assert world.support_b.extra_time_percent == 50


def test_release_ignores_submissions_of_another_class(world):
    client = client_for(world, "teacher_a")
    url = reverse("teach:assignment-release", args=[world.assignment_a.pk])
    client.post(url, {"scope": "selected", "submissions": [world.sub_b.pk]})
    world.sub_b.refresh_from_db()
    assert world.sub_b.status == Submission.Status.SUBMITTED


def test_comment_from_another_teachers_bank_is_not_used(world):
    client = client_for(world, "teacher_a")
    response = world.response(world.sub_a1, 1)
    body = {
        **_mark_body(response),
        f"r{response.pk}-comment": "",
        f"r{response.pk}-bank_entry": world.bank_b.pk,
    }
    client.post(reverse("teach:response-mark", args=[world.assignment_a.pk, response.pk]), body)
    assert world.bank_b.text not in Mark.objects.get(response=response).comment
    assert (
        CommentBankEntry.objects.filter(teacher=world.users["teacher_a"], text=world.bank_b.text).count() == 0
    )


def test_evidence_from_a_passage_of_another_exercise_is_refused(world):
    client = client_for(world, "a2")
    answer = world.response(world.sub_a2, 1)
    foreign = world.passage(world.exercise_b, 0, 0)
    url = reverse("learn:evidence-add", args=[world.assignment_a.pk, answer.pk])
    before = answer.evidence.count()
    response = client.post(url, {"passage": foreign.pk, "start": 0, "end": 5}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert answer.evidence.count() == before


def test_malformed_body_for_another_pupils_answer_is_404(world):
    client = client_for(world, "b")
    foreign = world.response(world.sub_a2, 1)
    for name in ("learn:response-save", "learn:evidence-add"):
        url = reverse(name, args=[world.assignment_a.pk, foreign.pk])
        assert client.post(url, {}, headers={"HX-Request": "true"}).status_code == 404, name
