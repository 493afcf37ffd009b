"""Django-side steps of the benchmark, run as a subprocess with the production environment:

``prepare.py targets OUT.json``
    Pick the objects each endpoint is measured on (a class of 30 and its teacher, the 300 class,
    pupils with drafts for the workspace and autosave) and count each page's queries in-process
    on the big dataset (Django's test client + CaptureQueriesContext; the second of two calls).
``prepare.py pupils N OUT.json``
    Sessions for N pupils (G7/G8), in class order, each owning one draft answer at its current
    version. Logging 3,000 pupils in through the form would cost ~0.5 s of PBKDF2 each, so the
    sessions are written straight into the session store, exactly as ``login()`` would write them.
"""

import json
import os
import re
import string
import sys
from datetime import timedelta
from importlib import import_module
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.crypto import get_random_string  # noqa: E402

from accounts.models import Classroom, User  # noqa: E402
from analysis.models import Assignment, Response, StudentSupport, Submission, SupportLevel  # noqa: E402

BACKEND = "django.contrib.auth.backends.ModelBackend"
TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT)\b", re.IGNORECASE)
CLASS_30 = "Bench 001"
CLASS_E1E2 = "Bench 002"
CLASS_QUERY_PROBE = "Bench 090"


def bench_classes():
    return Classroom.objects.filter(name__startswith="Bench ").order_by("name")


def current_assignment(classroom) -> Assignment:
    return (
        Assignment.objects.filter(classroom=classroom, archived_at__isnull=True)
        .select_related("exercise")
        .order_by("due_at", "pk")
        .first()
    )


def drafts_in(classroom):
    """(student, assignment, response) for each pupil of the class: their first draft answer
    with text, in a current assignment, in roster order."""
    responses = (
        Response.objects.filter(
            submission__assignment__classroom=classroom,
            submission__assignment__archived_at__isnull=True,
            submission__status=Submission.Status.IN_PROGRESS,
        )
        .exclude(text="")
        .select_related("submission__student", "submission__assignment")
        .order_by("submission__student__username", "submission__assignment__due_at", "question__position")
    )
    seen, picked = set(), []
    for response in responses:
        student = response.submission.student
        if student.pk in seen:
            continue
        seen.add(student.pk)
        picked.append((student, response.submission.assignment, response))
    return picked


def e1_draft():
    """(student, assignment, response) measured as E1: the first pupil of the E1 class with a
    draft in the two-source comparison exercise, working at Guided support (the heaviest
    workspace pupils get: simplified texts beside the originals, the background, hints and
    sentence starters). The pupil's own support setting is written here, idempotently."""
    picked = [
        draft
        for draft in drafts_in(bench_classes().get(name=CLASS_E1E2))
        if draft[1].exercise.sources.count() >= 2
    ]
    student, assignment, response = picked[0]
    StudentSupport.objects.update_or_create(
        assignment=assignment, student=student, defaults={"support_level": SupportLevel.GUIDED}
    )
    return student, assignment, response


def count_queries(client: Client, method: str, path: str, *, warm=None, **extra) -> dict:
    """Warm up (the same request, or ``warm``), then count one request. The counted request runs
    inside a transaction that is rolled back, so measuring changes no data (its own atomic
    blocks then show as SAVEPOINT/RELEASE instead of BEGIN/COMMIT: the same count)."""
    call = client.post if method == "POST" else client.get
    if warm is None:
        call(path, **extra)
        if method == "POST" and "version" in extra.get("data", {}):
            extra["data"]["version"] += 1
    else:
        warm()
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        reply = call(path, **extra)
        transaction.set_rollback(True)
    statements = [query["sql"] for query in captured.captured_queries]
    control = [sql for sql in statements if TRANSACTION_CONTROL.match(sql)]
    return {
        "path": path,
        "status": reply.status_code,
        "queries": len(statements) - len(control),  # what G5/G6 budget
        "statements": len(statements),  # as django_assert_num_queries counts: + BEGIN/COMMIT
    }


def targets(out: Path) -> None:
    class30 = bench_classes().get(name=CLASS_30)
    big = bench_classes().filter(name__endswith="(year group)").first()
    e4 = current_assignment(class30)
    e4_big = current_assignment(big)
    e1_class = bench_classes().get(name=CLASS_E1E2)
    drafts = drafts_in(e1_class)
    e1 = e1_draft()
    e2 = [draft for draft in drafts if draft[0] != e1[0]][:8]
    teacher = class30.teachers.get()
    teacher_big = big.teachers.get()
    data = {
        "class30": {"id": class30.pk, "name": class30.name, "size": class30.enrollments.count()},
        "class_big": {"id": big.pk, "name": big.name, "size": big.enrollments.count()},
        "e1": {
            "username": e1[0].username,
            "path": reverse("learn:workspace", args=[e1[1].pk]),
        },
        "e2": [
            {
                "username": student.username,
                "path": reverse("learn:response-save", args=[assignment.pk, response.pk]),
                "version": response.version,
                "text": response.text,
            }
            for student, assignment, response in e2
        ],
        "e4": {"username": teacher.username, "path": reverse("teach:assignment-progress", args=[e4.pk])},
        "e4_big": {
            "username": teacher_big.username,
            "path": reverse("teach:assignment-progress", args=[e4_big.pk]),
        },
        "e5": {
            "username": "bench-admin",
            "path": reverse("admin:analysis_submission_changelist") + f"?assignment__id__exact={e4.pk}",
        },
        "e4_submissions": Submission.objects.filter(assignment=e4).count(),
        "e4_big_submissions": Submission.objects.filter(assignment=e4_big).count(),
    }
    data["queries"] = page_queries(data, teacher, teacher_big, e1[0])
    out.write_text(json.dumps(data, indent=2))


def page_queries(data, teacher, teacher_big, student) -> dict:
    """Queries per page on the big dataset (G5/G6 measured here too, not only in the tests)."""
    counts = {}
    anonymous = Client(raise_request_exception=False, SERVER_NAME="127.0.0.1")
    counts["E0 anonymous"] = count_queries(anonymous, "GET", reverse("healthz-db"))

    pupil = Client(raise_request_exception=False, SERVER_NAME="127.0.0.1")
    pupil.force_login(student, backend=BACKEND)
    counts["E0"] = count_queries(pupil, "GET", reverse("healthz-db"))
    counts["E1"] = count_queries(pupil, "GET", data["e1"]["path"])
    counts["learn"] = count_queries(pupil, "GET", reverse("learn:assignment-list"))

    # Autosave on a pupil who takes no other part in the run.
    probe_student, probe_assignment, probe_response = drafts_in(bench_classes().get(name=CLASS_QUERY_PROBE))[
        0
    ]
    saver = Client(raise_request_exception=False, SERVER_NAME="127.0.0.1")
    saver.force_login(probe_student, backend=BACKEND)
    counts["E2"] = count_queries(
        saver,
        "POST",
        reverse("learn:response-save", args=[probe_assignment.pk, probe_response.pk]),
        data={"text": probe_response.text, "version": probe_response.version},
        headers={"HX-Request": "true"},
    )

    submitter = Client(raise_request_exception=False, SERVER_NAME="127.0.0.1")
    submitter.force_login(probe_student, backend=BACKEND)
    workspace_url = reverse("learn:workspace", args=[probe_assignment.pk])
    counts["E3"] = count_queries(
        submitter,
        "POST",
        reverse("learn:submit", args=[probe_assignment.pk]),
        warm=lambda: submitter.get(workspace_url),
    )

    for key, user in (("E4", teacher), ("E4'", teacher_big)):
        staff = Client(raise_request_exception=False, SERVER_NAME="127.0.0.1")
        staff.force_login(user, backend=BACKEND)
        counts[key] = count_queries(staff, "GET", data["e4" if key == "E4" else "e4_big"]["path"])
    admin = Client(raise_request_exception=False, SERVER_NAME="127.0.0.1")
    admin.force_login(User.objects.get(username="bench-admin"), backend=BACKEND)
    counts["E5"] = count_queries(admin, "GET", data["e5"]["path"])
    return counts


def pupils(count: int, out: Path) -> None:
    """Mint ``count`` sessions (pupils in class order: the first 300 are the first 10 classes)."""
    engine = import_module(settings.SESSION_ENGINE)
    store = engine.SessionStore()
    session_model = store.model if hasattr(store, "model") else engine.SessionStore.get_model_class()
    expire = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    picked = []
    for classroom in bench_classes():
        picked.extend(drafts_in(classroom))
        if len(picked) >= count:
            break
    picked = picked[:count]
    rows, result = [], []
    for student, assignment, response in picked:
        key = get_random_string(32, string.ascii_lowercase + string.digits)
        data = {
            SESSION_KEY: str(student.pk),
            BACKEND_SESSION_KEY: BACKEND,
            HASH_SESSION_KEY: student.get_session_auth_hash(),
        }
        rows.append(session_model(session_key=key, session_data=store.encode(data), expire_date=expire))
        csrf = get_random_string(32, string.ascii_letters + string.digits)
        result.append(
            {
                "cookie": f"{settings.SESSION_COOKIE_NAME}={key}; {settings.CSRF_COOKIE_NAME}={csrf}",
                "csrf": csrf,
                "page": reverse("learn:workspace", args=[assignment.pk]),
                "save": reverse("learn:response-save", args=[assignment.pk, response.pk]),
                "version": response.version,
                "text": response.text,
            }
        )
    session_model.objects.bulk_create(rows, batch_size=1000)
    out.write_text(json.dumps(result))
    print(f"minted {len(result)} pupil sessions")


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "targets":
        targets(Path(sys.argv[2]))
    elif command == "pupils":
        pupils(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        raise SystemExit(f"unknown command {command}")
