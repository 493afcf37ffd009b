"""EXPLAIN ANALYZE every query of the busy pages on the benchmark dataset (``make explain``).

Runs each page once in-process (Django's test client, production settings) as the user who
would see it, captures its SQL, and runs ``EXPLAIN (ANALYZE, BUFFERS)`` on every SELECT inside
a transaction that is rolled back. Prints, per page, each query's execution time and any
sequential scan of a table that grows with the school (answers, evidence, marks, submissions,
enrolments, sessions) - the sign of a missing index. ``--plans`` prints the full plans.

Needs the bench database (``make bench`` creates and seeds it) and its environment:
DATABASE_URL and DJANGO_SECRET_KEY as bench/run.py sets them; run via ``make explain``.
"""

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import prepare  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from accounts.models import User  # noqa: E402
from analysis.models import Question, Submission  # noqa: E402

GROWING = (
    "analysis_response",
    "analysis_evidence",
    "analysis_mark",
    "analysis_submission",
    "accounts_enrollment",
    "django_session",
    "accounts_user",
    "analysis_assignment",
)


def pages():
    class30 = prepare.bench_classes().get(name=prepare.CLASS_30)
    big = prepare.bench_classes().filter(name__endswith="(year group)").first()
    student, assignment, response = prepare.drafts_in(prepare.bench_classes().get(name=prepare.CLASS_E1E2))[0]
    a30, abig = prepare.current_assignment(class30), prepare.current_assignment(big)
    teacher, teacher_big = class30.teachers.get(), big.teachers.get()
    handed_in = Submission.objects.filter(assignment=abig, status__in=["submitted", "returned"]).first()
    question = Question.objects.filter(exercise=abig.exercise).order_by("position").first()
    return [
        ("workspace (E1)", student, "get", reverse("learn:workspace", args=[assignment.pk]), {}),
        ("assignment list", student, "get", reverse("learn:assignment-list"), {}),
        (
            "autosave (E2)",
            student,
            "post",
            reverse("learn:response-save", args=[assignment.pk, response.pk]),
            {"data": {"text": response.text, "version": response.version}, "headers": {"HX-Request": "true"}},
        ),
        ("dashboard", teacher_big, "get", reverse("teach:dashboard"), {}),
        ("grid, class of 30 (E4)", teacher, "get", reverse("teach:assignment-progress", args=[a30.pk]), {}),
        (
            "grid, class of 300 (E4')",
            teacher_big,
            "get",
            reverse("teach:assignment-progress", args=[abig.pk]),
            {},
        ),
        (
            "mark one submission (300 class)",
            teacher_big,
            "get",
            reverse("teach:submission-mark", args=[abig.pk, handed_in.pk]),
            {},
        ),
        (
            "mark one question (300 class)",
            teacher_big,
            "get",
            reverse("teach:question-mark", args=[abig.pk, question.pk]),
            {},
        ),
        (
            "admin changelist (E5)",
            User.objects.get(username="bench-admin"),
            "get",
            reverse("admin:analysis_submission_changelist") + f"?assignment__id__exact={a30.pk}",
            {},
        ),
    ]


def explain(sql: str) -> tuple[float, list[str], str]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    took = float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1))
    scans = sorted({m for m in re.findall(r"Seq Scan on (\w+)", plan) if m in GROWING})
    return took, scans, plan


def main():
    show_plans = "--plans" in sys.argv
    for title, user, method, path, extra in pages():
        client = Client(SERVER_NAME="127.0.0.1")
        client.force_login(user, backend=prepare.BACKEND)
        getattr(client, method)(path, **extra)  # warm up (and let an autosave move its version on)
        if method == "post":
            extra["data"]["version"] += 1
        with CaptureQueriesContext(connection) as captured:
            reply = getattr(client, method)(path, **extra)
        print(f"\n== {title}: {path} -> {reply.status_code}, {len(captured.captured_queries)} queries")
        total = 0.0
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                print(f"   {'':>8}  {sql[:90]}")
                continue
            took, scans, plan = explain(sql)
            total += took
            flag = f"  SEQ SCAN: {', '.join(scans)}" if scans else ""
            print(f"   {took:7.2f} ms  {sql[:90]}{flag}")
            if show_plans or scans:
                print("\n".join("              " + line for line in plan.splitlines()))
        print(f"   {total:7.2f} ms in the database for this page's SELECTs")


if __name__ == "__main__":
    main()
