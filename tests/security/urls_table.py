"""The permission matrix as data (docs/quality.md T1): one row per named URL pattern.

A row says how to fill the URL's arguments from the world (objects on class A's side), who
passes the role gate, who may use it with those objects, which methods it accepts, what a
sensible POST body is, and whether htmx calls it. ``expected()`` turns a row into the status
each principal must get; ``url_names()`` walks the resolver, so a new URL without a row fails
``test_every_url_has_a_matrix_row``.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from tests import factories
from tests.security.conftest import LOGGED_OUT, PRINCIPALS, STUDENTS, TEACHERS, World

EVERYONE = frozenset(PRINCIPALS)
LOGGED_IN = EVERYONE - LOGGED_OUT


def url_names(resolver=None, namespace="") -> list[str]:
    """Every URL pattern's name, with namespaces (``teach:dashboard``). An unnamed pattern is
    listed as ``<unnamed:...>`` so that it cannot slip past the matrix either."""
    names = []
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names += url_names(pattern, inner)
        elif isinstance(pattern, URLPattern):
            names.append(
                f"{namespace}{pattern.name}" if pattern.name else f"{namespace}<unnamed:{pattern.pattern}>"
            )
    return names


@dataclass(frozen=True)
class Row:
    name: str
    gate: str  # "public" | "login" | "student" | "teacher": who gets past the role check
    allowed: frozenset  # who may use it with the A-side objects below
    methods: tuple = ("GET",)
    kwargs: object = None  # world -> URL kwargs
    data: object = None  # world -> POST body
    htmx: bool = False  # also called by htmx: test the htmx variant too
    query: str = ""

    def url(self, world: World) -> str:
        return reverse(self.name, kwargs=self.kwargs(world) if self.kwargs else None) + self.query

    def post_data(self, world: World) -> dict:
        return self.data(world) if self.data else {}

    def passes_gate(self, principal: str) -> bool:
        if self.gate == "public":
            return True
        if principal in LOGGED_OUT:
            return False
        if self.gate == "student":
            return principal in STUDENTS
        if self.gate == "teacher":
            return principal in TEACHERS
        return True


@dataclass(frozen=True)
class Expectation:
    kind: str  # "ok" | "login" | "session-expired" | "not-found" | "method"
    detail: str = ""
    extra: dict = field(default_factory=dict)


def expected(row: Row, principal: str, method: str, htmx: bool) -> Expectation:
    if row.gate != "public" and principal in LOGGED_OUT:
        return Expectation("session-expired" if htmx else "login")
    if not row.passes_gate(principal):
        return Expectation("not-found", "role")
    if method not in row.methods:
        return Expectation("method")
    if principal in row.allowed:
        return Expectation("ok")
    return Expectation("not-found", "object")


# --- POST bodies: what a real form would send, so that a refusal is about permission -------


def _a2_answer(world):
    return world.response(world.sub_a2, 1)


def _answer_body(world):
    answer = _a2_answer(world)
    return {"text": "A fresh draft.", "version": answer.version}


def _evidence_body(world):
    passage = world.passage(world.exercise_a, 1, 0)
    return {"passage": passage.pk, "start": 0, "end": 7}


def _image_source_body(world):
    upload = SimpleUploadedFile("portrait.png", factories.png_bytes(), "image/png")
    return {
        "title": "A portrait",
        "author": "A photographer",
        "date_text": "1984",
        "publication": "Official photograph",
        "kind": "photograph",
        "alt_text": "A red rectangle.",
        "upload": upload,
    }


def _region_body(prefix):
    return lambda w: {
        f"{prefix}-label": "Flag",
        f"{prefix}-x": "0",
        f"{prefix}-y": "0",
        f"{prefix}-w": "20",
        f"{prefix}-h": "20",
    }


def _region_a(world):
    return world.image_a.regions.first()


def _mark_body(response):
    return {
        f"r{response.pk}-level": "2",
        f"r{response.pk}-marks": "3",
        f"r{response.pk}-comment": "Clear and well supported.",
    }


def _local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _assignment_body(world):
    return {
        "exercise": world.exercise_a.pk,
        "classroom": world.class_a.pk,
        "opens_at": _local(timezone.now()),
        "due_at": _local(timezone.now() + timedelta(days=3)),
        "hints_enabled": "on",
        "late_allowed": "on",
    }


def _signup_body(world):
    return {
        "join_code": world.class_a.join_code,
        "first_name": "Newcomer",
        "last_name": "Pupil",
        "username": "newcomer",
        "password1": "An0ther-long-passphrase",
        "password2": "An0ther-long-passphrase",
    }


def _roster_body(world):
    return {"file": SimpleUploadedFile("roster.csv", b"roster_pupil,Ada,Lovelace\n", "text/csv")}


def _studio_source_body(world):
    return {
        "title": "A pasted source",
        "author": "An author",
        "date_text": "1917",
        "publication": "A newspaper",
        "kind": "Newspaper report",
        "rights_kind": "public-domain",
        "text": "First paragraph.\n\nSecond paragraph.",
    }


def _studio_exercise_body(world):
    return {"title": "A new exercise", "summary": "What it is about.", "source_0": world.source_pk}


def _studio_question_body(world):
    question = world.studio["question"]
    prefix = f"q{question.pk}-"
    return {
        f"{prefix}stage": question.stage,
        f"{prefix}prompt": "Who wrote Source A, and when?",
        f"{prefix}max_marks": question.max_marks,
        f"{prefix}source": question.source_id,
        f"{prefix}mark_scheme": question.mark_scheme_id,
    }


SCHEME_BODY = {
    "level-1-min": "1",
    "level-1-max": "2",
    "level-1-descriptor": "Describes.",
    "level-2-min": "3",
    "level-2-max": "4",
    "level-2-descriptor": "Explains.",
}


def _pack_body(world):
    pack = (
        b"sources:\n  - slug: teachers-source\n    title: T\n    author: A\n    date: '1917'\n"
        b"    publication: P\n    kind: K\n    passages:\n      - label: One\n        text: Words.\n"
    )
    return {"file": SimpleUploadedFile("pack.yaml", pack, "application/yaml")}


def _mine(world):
    return {"pk": world.studio["exercise"].pk}


def _mine_q(world):
    return {"pk": world.studio["exercise"].pk, "question_id": world.studio["question"].pk}


def _my_source(world):
    return {"pk": world.studio["source"].pk}


A = lambda *principals: frozenset(principals)  # noqa: E731 - reads as a set literal in the table

ROWS = [
    # --- Public --------------------------------------------------------------------------
    Row("home", "public", EVERYONE),
    Row("healthz", "public", EVERYONE),
    Row("healthz-db", "public", EVERYONE),
    Row(
        "accounts:login",
        "public",
        EVERYONE,
        ("GET", "POST"),
        data=lambda w: {"username": "pupil_a1", "password": "not-the-password"},
    ),
    Row("accounts:signup", "public", EVERYONE, ("GET", "POST"), data=_signup_body),
    # --- Any signed-in user ----------------------------------------------------------------
    Row("accounts:logout", "login", LOGGED_IN, ("POST",)),
    Row("accounts:password-choose", "login", LOGGED_IN, ("GET", "POST")),
    # One's own notification settings: no object in the URL, only the user's own row.
    Row(
        "accounts:notifications",
        "login",
        LOGGED_IN,
        ("GET", "POST"),
        data=lambda w: {"email_digest": "on", "email": "someone@example.org"},
    ),
    Row(
        "accounts:join",
        "student",
        A("a1", "a2", "b"),
        ("GET", "POST"),
        data=lambda w: {"join_code": w.class_b.join_code},
    ),
    # --- Students (/learn/) -----------------------------------------------------------------
    Row("learn:assignment-list", "student", A("a1", "a2", "b"), htmx=True),
    Row("learn:csrf", "student", A("a1", "a2", "b"), htmx=True),
    Row("learn:my-data", "student", A("a1", "a2", "b")),
    Row("learn:progress", "student", A("a1", "a2", "b")),
    Row(
        "learn:workspace",
        "student",
        A("a1", "a2"),
        kwargs=lambda w: {"assignment_id": w.assignment_a.pk},
        htmx=True,
    ),
    Row(
        "learn:submit",
        "student",
        A("a1", "a2"),
        ("POST",),
        kwargs=lambda w: {"assignment_id": w.assignment_a.pk},
        htmx=True,
    ),
    Row(
        "learn:feedback",
        "student",
        A("a1", "a2"),
        kwargs=lambda w: {"assignment_id": w.assignment_a.pk},
        htmx=True,
    ),
    Row(
        "learn:response-save",
        "student",
        A("a2"),
        ("POST",),
        kwargs=lambda w: {"assignment_id": w.assignment_a.pk, "response_id": _a2_answer(w).pk},
        data=_answer_body,
        htmx=True,
    ),
    Row(
        "learn:response-hint",
        "student",
        A("a2"),
        ("POST",),
        kwargs=lambda w: {"assignment_id": w.assignment_a.pk, "response_id": _a2_answer(w).pk},
        htmx=True,
    ),
    Row(
        "learn:evidence-add",
        "student",
        A("a2"),
        ("POST",),
        kwargs=lambda w: {"assignment_id": w.assignment_a.pk, "response_id": _a2_answer(w).pk},
        data=_evidence_body,
        htmx=True,
    ),
    Row(
        "learn:evidence-delete",
        "student",
        A("a2"),
        ("POST",),
        kwargs=lambda w: {
            "assignment_id": w.assignment_a.pk,
            "response_id": w.evidence(w.sub_a2).response_id,
            "evidence_id": w.evidence(w.sub_a2).pk,
        },
        htmx=True,
    ),
    # --- Source library ----------------------------------------------------------------------
    Row("sources:source-list", "teacher", TEACHERS),
    Row("sources:source-detail", "teacher", TEACHERS, kwargs=lambda w: {"slug": w.source_slug}),
    # --- Teachers (/teach/) -------------------------------------------------------------------
    Row("teach:dashboard", "teacher", TEACHERS),
    Row("teach:class-create", "teacher", TEACHERS, ("GET", "POST"), data=lambda w: {"name": "New class"}),
    Row("teach:class-detail", "teacher", A("teacher_a"), kwargs=lambda w: {"pk": w.class_a.pk}),
    Row("teach:class-markbook", "teacher", A("teacher_a"), kwargs=lambda w: {"pk": w.class_a.pk}),
    Row("teach:class-markbook-csv", "teacher", A("teacher_a"), kwargs=lambda w: {"pk": w.class_a.pk}),
    Row(
        "teach:student-profile",
        "teacher",
        A("teacher_a"),
        kwargs=lambda w: {"pk": w.class_a.pk, "student_id": w.users["a1"].pk},
    ),
    Row("teach:class-skills", "teacher", A("teacher_a"), kwargs=lambda w: {"pk": w.class_a.pk}),
    Row(
        "teach:class-rename",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=lambda w: {"pk": w.class_a.pk},
        data=lambda w: {"rename-name": "Renamed class"},
    ),
    Row(
        "teach:class-archive",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=lambda w: {"pk": w.class_a.pk},
        data=lambda w: {"action": "archive"},
    ),
    Row(
        "teach:class-join-code",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=lambda w: {"pk": w.class_a.pk},
        data=lambda w: {"action": "regenerate"},
    ),
    Row(
        "teach:class-roster-upload",
        "teacher",
        A("teacher_a"),
        ("GET", "POST"),
        kwargs=lambda w: {"pk": w.class_a.pk},
        data=_roster_body,
    ),
    Row(
        "teach:class-student-remove",
        "teacher",
        A("teacher_a"),
        ("GET", "POST"),
        kwargs=lambda w: {"pk": w.class_a.pk, "student_id": w.users["a2"].pk},
    ),
    Row(
        "teach:class-student-unlock",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=lambda w: {"pk": w.class_a.pk, "student_id": w.users["a2"].pk},
    ),
    Row(
        "teach:class-student-password",
        "teacher",
        A("teacher_a"),
        ("GET", "POST"),
        kwargs=lambda w: {"pk": w.class_a.pk, "student_id": w.users["a2"].pk},
    ),
    # --- The authoring studio: teacher A's private items; the IDOR sweep covers shared ones ---
    Row("teach:library", "teacher", TEACHERS),
    Row("teach:pack-import", "teacher", TEACHERS, ("GET", "POST"), data=_pack_body),
    Row("teach:source-create", "teacher", TEACHERS, ("GET", "POST"), data=_studio_source_body),
    Row(
        "teach:source-edit",
        "teacher",
        A("teacher_a"),
        ("GET", "POST"),
        kwargs=_my_source,
        data=lambda w: {**_studio_source_body(w), "title": "Renamed"},
        htmx=True,
    ),
    Row("teach:source-preview", "teacher", A("teacher_a"), kwargs=_my_source),
    Row(
        "teach:source-passages",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=_my_source,
        data=lambda w: {"passage": w.studio["source"].passages.first().pk, "action": "down"},
        htmx=True,
    ),
    Row(
        "teach:source-glossary",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=_my_source,
        data=lambda w: {"action": "add", "term": "paragraph", "definition": "A part."},
        htmx=True,
    ),
    Row("teach:source-copy", "teacher", A("teacher_a"), ("POST",), kwargs=_my_source),
    Row(
        "teach:source-manage",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=_my_source,
        data=lambda w: {"action": "share"},
    ),
    Row("teach:exercise-create", "teacher", TEACHERS, ("GET", "POST"), data=_studio_exercise_body),
    Row(
        "teach:exercise-edit",
        "teacher",
        A("teacher_a"),
        ("GET", "POST"),
        kwargs=_mine,
        data=lambda w: {
            "title": "Renamed",
            "summary": "S.",
            "source_0": w.studio["source"].pk,
            "source_1": w.source_pk,
        },
        htmx=True,
    ),
    Row("teach:exercise-pupil-preview", "teacher", A("teacher_a"), kwargs=_mine),
    Row("teach:exercise-copy", "teacher", A("teacher_a"), ("POST",), kwargs=_mine),
    Row(
        "teach:exercise-manage",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=_mine,
        data=lambda w: {"action": "share"},
    ),
    Row("teach:exercise-export", "teacher", A("teacher_a"), kwargs=_mine),
    Row(
        "teach:question-add",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=_mine,
        data=lambda w: {"stage": "purpose"},
        htmx=True,
    ),
    Row(
        "teach:question-edit",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=_mine_q,
        data=_studio_question_body,
        htmx=True,
    ),
    Row(
        "teach:question-move",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=_mine_q,
        data=lambda w: {"direction": "down"},
        htmx=True,
    ),
    Row("teach:question-delete", "teacher", A("teacher_a"), ("POST",), kwargs=_mine_q, htmx=True),
    Row(
        "teach:question-scheme",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=_mine_q,
        data=lambda w: SCHEME_BODY,
        htmx=True,
    ),
    Row("teach:exercise-preview", "teacher", TEACHERS, kwargs=lambda w: {"pk": w.exercise_a.pk}),
    # Visual sources (analysis/studio/regions.py): teacher_a's private image source
    Row("teach:image-source-create", "teacher", TEACHERS, ("GET", "POST"), data=_image_source_body),
    Row(
        "teach:source-regions",
        "teacher",
        A("teacher_a"),
        ("GET", "POST"),
        kwargs=lambda w: {"pk": w.image_a.pk},
        data=_region_body("new"),
    ),
    *(
        Row(
            name,
            "teacher",
            A("teacher_a"),
            ("POST",),
            kwargs=lambda w: {"pk": w.image_a.pk, "region_id": _region_a(w).pk},
            data=lambda w: {**_region_body(f"r{_region_a(w).pk}")(w), "direction": "down"},
        )
        for name in ("teach:region-edit", "teach:region-delete", "teach:region-move")
    ),
    Row("teach:source-image", "teacher", A("teacher_a"), kwargs=lambda w: {"pk": w.image_a.pk}),
    # Not set to any class: no pupil may see it (tests/analysis/test_images.py has the pupils who may).
    Row("learn:source-image", "student", frozenset(), kwargs=lambda w: {"pk": w.image_a.pk}),
    Row("teach:exercise-worksheet", "teacher", TEACHERS, kwargs=lambda w: {"pk": w.exercise_a.pk}),
    Row("teach:assignment-create", "teacher", TEACHERS, ("GET", "POST"), data=_assignment_body),
    Row(
        "teach:assignment-progress",
        "teacher",
        A("teacher_a"),
        kwargs=lambda w: {"pk": w.assignment_a.pk},
        htmx=True,
    ),
    Row(
        "teach:assignment-edit",
        "teacher",
        A("teacher_a"),
        ("GET", "POST"),
        kwargs=lambda w: {"pk": w.assignment_a.pk},
        data=_assignment_body,
    ),
    Row(
        "teach:assignment-unassign",
        "teacher",
        A("teacher_a"),
        ("GET", "POST"),
        kwargs=lambda w: {"pk": w.assignment_a.pk},
    ),
    Row(
        "teach:assignment-restore",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=lambda w: {"pk": w.assignment_a.pk},
    ),
    Row(
        "teach:assignment-extensions",
        "teacher",
        A("teacher_a"),
        ("GET", "POST"),
        kwargs=lambda w: {"pk": w.assignment_a.pk},
        data=lambda w: {"student": w.users["a1"].pk, "due_at": _local(timezone.now() + timedelta(days=20))},
    ),
    Row(
        "teach:extension-delete",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=lambda w: {"pk": w.assignment_a.pk, "extension_id": w.ext_a.pk},
    ),
    Row(
        "teach:assignment-support",
        "teacher",
        A("teacher_a"),
        ("GET", "POST"),
        kwargs=lambda w: {"pk": w.assignment_a.pk},
        data=lambda w: {"student": w.users["a1"].pk, "support_level": "exam", "extra_time_percent": "25"},
    ),
    Row(
        "teach:student-support-delete",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=lambda w: {"pk": w.assignment_a.pk, "support_id": w.support_a.pk},
    ),
    Row(
        "teach:assignment-release",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=lambda w: {"pk": w.assignment_a.pk},
        data=lambda w: {"scope": "all"},
    ),
    Row("teach:assignment-export", "teacher", A("teacher_a"), kwargs=lambda w: {"pk": w.assignment_a.pk}),
    Row("teach:assignment-insight", "teacher", A("teacher_a"), kwargs=lambda w: {"pk": w.assignment_a.pk}),
    Row(
        "teach:submission-mark",
        "teacher",
        A("teacher_a"),
        kwargs=lambda w: {"pk": w.assignment_a.pk, "submission_id": w.sub_a1.pk},
    ),
    Row(
        "teach:response-mark",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=lambda w: {"pk": w.assignment_a.pk, "response_id": w.response(w.sub_a1, 1).pk},
        data=lambda w: _mark_body(w.response(w.sub_a1, 1)),
        htmx=True,
    ),
    Row(
        "teach:submission-comment",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=lambda w: {"pk": w.assignment_a.pk, "submission_id": w.sub_a1.pk},
        data=lambda w: {"overall-overall_comment": "Well done overall."},
        htmx=True,
    ),
    Row(
        "teach:submission-reopen",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=lambda w: {"pk": w.assignment_a.pk, "submission_id": w.sub_a1.pk},
    ),
    Row(
        "teach:submission-print",
        "teacher",
        A("teacher_a"),
        kwargs=lambda w: {"pk": w.assignment_a.pk, "submission_id": w.sub_a1.pk},
    ),
    Row(
        "teach:question-mark",
        "teacher",
        A("teacher_a"),
        kwargs=lambda w: {"pk": w.assignment_a.pk, "question_id": w.question(w.exercise_a, 1).pk},
    ),
    Row("teach:comment-bank", "teacher", TEACHERS, ("GET", "POST"), data=lambda w: {"text": "Cite a line."}),
    Row(
        "teach:comment-bank-delete",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=lambda w: {"entry_id": w.bank_a.pk},
    ),
]


# --- LTI (lti/urls.py): the platform's endpoints are public; a launch's token is its proof -----


def _lti_course(world):
    """An LMS course mapped to class A, on a platform of class A's school (made once)."""
    from lti.models import Course, Platform

    platform, _ = Platform.objects.get_or_create(
        issuer="https://lms.matrix.test",
        client_id="matrix",
        defaults={
            "name": "Matrix LMS",
            "auth_login_url": "https://lms.matrix.test/auth",
            "auth_token_url": "https://lms.matrix.test/token",
            "key_set_url": "https://lms.matrix.test/jwks",
            "school": world.class_a.school,
        },
    )
    course, _ = Course.objects.get_or_create(
        platform=platform,
        context_id="matrix-course",
        defaults={"classroom": world.class_a, "title": "Matrix"},
    )
    return course


ROWS += [
    Row("lti:jwks", "public", EVERYONE),
    Row(
        "lti:login",
        "public",
        EVERYONE,
        ("GET", "POST"),
        kwargs=lambda w: _lti_course(w) and {},
        query="?iss=https%3A%2F%2Flms.matrix.test&login_hint=x&client_id=matrix",
    ),
    # A token that does not verify: refused (422) for everyone, nothing changed.
    Row("lti:launch", "public", EVERYONE, ("POST",), data=lambda w: {"id_token": "a.b.c", "state": "s"}),
    Row("lti:deep-link", "public", EVERYONE, ("POST",), data=lambda w: {"launch_id": "lti1p3-launch-none"}),
    Row("lti:continue", "public", frozenset(), query="?t=no-such-ticket"),
    # A first launch's choice (link or not): a used or made-up ticket is refused (422).
    Row("lti:link", "login", LOGGED_IN, ("POST",), data=lambda w: {"ticket": "no-such-ticket"}),
    Row("lti:course", "teacher", A("teacher_a"), kwargs=lambda w: {"pk": _lti_course(w).pk}),
    Row(
        "lti:course-roster-sync",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=lambda w: {"pk": _lti_course(w).pk},
    ),
    Row(
        "lti:grades-resend",
        "teacher",
        A("teacher_a"),
        ("POST",),
        kwargs=lambda w: {"assignment_id": w.assignment_a.pk},
    ),
    Row("lti:connect", "login", A("admin")),
    Row(
        "lti:register-invite", "login", A("admin"), ("POST",), data=lambda w: {"school": w.class_a.school_id}
    ),
    # Dynamic registration: an unknown or used invitation is not there.
    Row("lti:register", "public", frozenset(), query="?invite=no-such-invite"),
]

ROWS_BY_NAME = {row.name: row for row in ROWS}
POST_ROWS = [row for row in ROWS if "POST" in row.methods]


def requests_for(row: Row):
    """(method, htmx) pairs to try for a row: GET always (405 is an answer too), POST always
    (likewise), and the htmx variant of every accepted method when htmx calls the URL."""
    pairs = [("GET", False), ("POST", False)]
    if row.htmx:
        pairs += [(method, True) for method in row.methods]
    return pairs
