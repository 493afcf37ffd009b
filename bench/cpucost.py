"""CPU cost of one request, in-process, on the bench data (``make bench`` seeds it first).

    .venv/bin/python bench/cpucost.py e0|floor|e1|e2|e4|e4big|e5 [-n 200] [--cprofile]

Runs the endpoint's request N times through Django's test client with the production
settings (DEBUG off) and prints the mean CPU milliseconds per request (process time, so other
work on the machine barely moves it), the query count, and with --cprofile the 30 functions
with the most cumulative time. The same objects as ``make bench`` (bench/prepare.py targets).
Not a benchmark of the server: no gunicorn, no sockets; a quick before/after for code changes.
"""

import argparse
import cProfile
import os
import pstats
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.update(
    DJANGO_SETTINGS_MODULE="config.settings",
    DJANGO_DEBUG="0",
    DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
    DJANGO_ALLOWED_HOSTS="testserver,127.0.0.1",
    DJANGO_SECURE_SSL_REDIRECT="0",
    DJANGO_CONN_MAX_AGE="60",
    DJANGO_LOG_LEVEL="ERROR",
    # e2 repeats one pupil's save hundreds of times: past the limit it would time a 429.
    DJANGO_AUTOSAVE_RATE="100000/m",
)
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/provenance_bench")
os.environ.pop("REDIS_URL", None)

import prepare  # noqa: E402  (sets Django up)
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from accounts.models import User  # noqa: E402
from analysis.models import Response  # noqa: E402


def endpoint(name: str):
    """(user, method, path, data factory or None)."""
    class30 = prepare.bench_classes().get(name=prepare.CLASS_30)
    drafts = prepare.drafts_in(prepare.bench_classes().get(name=prepare.CLASS_E1E2))
    if name == "e0":
        return None, "GET", reverse("healthz-db"), None
    if name == "floor":  # the cheapest logged-in request: session, user, a tiny JSON answer
        student, _, _ = drafts[0]
        return student, "GET", reverse("learn:csrf"), None
    if name == "e1":
        student, assignment, _ = prepare.e1_draft()
        return student, "GET", reverse("learn:workspace", args=[assignment.pk]), None
    if name == "e2":
        student, assignment, response = drafts[1]
        path = reverse("learn:response-save", args=[assignment.pk, response.pk])

        def data():
            version = Response.objects.values_list("version", flat=True).get(pk=response.pk)
            return {"text": response.text, "version": version}

        return student, "POST", path, data
    if name in ("e4", "e4big"):
        classroom = (
            class30 if name == "e4" else prepare.bench_classes().filter(name__endswith="(year group)").first()
        )
        assignment = prepare.current_assignment(classroom)
        return (
            classroom.teachers.get(),
            "GET",
            reverse("teach:assignment-progress", args=[assignment.pk]),
            None,
        )
    if name == "e5":
        assignment = prepare.current_assignment(class30)
        admin = User.objects.filter(is_superuser=True).first()
        path = reverse("admin:analysis_submission_changelist") + f"?assignment__id__exact={assignment.pk}"
        return admin, "GET", path, None
    raise SystemExit(f"unknown endpoint {name}")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("endpoint")
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key (tottime, cumulative)")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--dump", help="with --cprofile: also write the raw profile here (for pstats callers)"
    )
    args = parser.parse_args()

    user, method, path, data = endpoint(args.endpoint)
    client = Client()
    if user is not None:
        client.force_login(user)
    headers = {"HX-Request": "true"} if method == "POST" else {}

    def once():
        if method == "POST":
            reply = client.post(path, data(), headers=headers)
        else:
            reply = client.get(path, headers=headers)
        if reply.status_code != 200:
            raise SystemExit(f"{path} answered {reply.status_code}")
        return reply

    for _ in range(5):
        reply = once()
    with CaptureQueriesContext(connection) as captured:
        once()
    # The data factory's own lookup is not the endpoint's.
    queries = len(captured.captured_queries) - (1 if data else 0)
    profiler = cProfile.Profile() if args.cprofile else None
    started_cpu, started_wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for _ in range(args.n):
        once()
    if profiler:
        profiler.disable()
    cpu = (time.process_time() - started_cpu) / args.n * 1000
    wall = (time.perf_counter() - started_wall) / args.n * 1000
    print(
        f"{args.endpoint} {method} {path}: {cpu:.2f} ms CPU/request (client included), "
        f"{wall:.2f} ms wall, {queries} queries, {len(reply.content):,} bytes"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
        if args.dump:
            profiler.dump_stats(args.dump)


if __name__ == "__main__":
    main()
