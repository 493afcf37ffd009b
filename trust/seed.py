"""Seed the harness database (run by trust/run.py in a subprocess, with production settings
and DATABASE_URL pointing at the throw-away database). Never for a real database.

Usage: ``python trust/seed.py GROUPS_JSON`` with ``TRUST_PASSWORD`` in the environment, where
GROUPS_JSON is a list of ``{"name": "t8", "students": 50, "questions": 1, "start": true}``:
one class, exercise and open assignment per group; ``start`` opens each pupil's submission
(one empty answer per question) as opening the workspace would. Every account shares one
password hash, computed once. Also installs two audit triggers (harness-only tables) that
record every committed change of an answer's version/text and of a submission's status, so
the checks can compare what clients were told with what the database committed.

Prints one JSON document: ``{group: {"assignment": id, "students": [{"username", "answers":
[{"id", "question"}]}]}}``.
"""

import json
import os
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Classroom, Enrollment, School, User  # noqa: E402
from analysis.classwork.services import submission_start  # noqa: E402
from analysis.models import Assignment, Response, Stage  # noqa: E402
from tests.factories import make_exercise  # noqa: E402

AUDIT_SQL = """
CREATE TABLE IF NOT EXISTS trust_response_history (
    id bigserial PRIMARY KEY,
    response_id bigint NOT NULL,
    old_version integer NOT NULL,
    new_version integer NOT NULL,
    text_hash text NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS trust_submission_history (
    id bigserial PRIMARY KEY,
    submission_id bigint NOT NULL,
    old_status text NOT NULL,
    new_status text NOT NULL,
    submitted_at timestamptz,
    receipt_hash text NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE OR REPLACE FUNCTION trust_response_audit() RETURNS trigger AS $$
BEGIN
    INSERT INTO trust_response_history (response_id, old_version, new_version, text_hash)
    VALUES (NEW.id, OLD.version, NEW.version, encode(sha256(convert_to(NEW.text, 'UTF8')), 'hex'));
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION trust_submission_audit() RETURNS trigger AS $$
BEGIN
    INSERT INTO trust_submission_history (submission_id, old_status, new_status, submitted_at, receipt_hash)
    VALUES (NEW.id, OLD.status, NEW.status, NEW.submitted_at, NEW.receipt_hash);
    RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS trust_response_audit ON analysis_response;
CREATE TRIGGER trust_response_audit AFTER UPDATE ON analysis_response FOR EACH ROW
    WHEN (OLD.version IS DISTINCT FROM NEW.version OR OLD.text IS DISTINCT FROM NEW.text)
    EXECUTE FUNCTION trust_response_audit();
DROP TRIGGER IF EXISTS trust_submission_audit ON analysis_submission;
CREATE TRIGGER trust_submission_audit AFTER UPDATE ON analysis_submission FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.submitted_at IS DISTINCT FROM NEW.submitted_at
          OR OLD.receipt_hash IS DISTINCT FROM NEW.receipt_hash)
    EXECUTE FUNCTION trust_submission_audit();
"""

STAGES = [Stage.ORIGIN, Stage.PURPOSE, Stage.RELIABILITY]


def seed_group(*, name: str, students: int, questions: int, start: bool, password_hash: str) -> dict:
    school, _created = School.objects.get_or_create(name="Trust school")
    teacher = User.objects.create(
        username=f"trust-{name}-teacher", role=User.Role.TEACHER, password=password_hash, school=school
    )
    classroom = Classroom.objects.create(name=f"Trust {name}", school=school)
    classroom.teachers.add(teacher)
    exercise = make_exercise(stages=tuple(STAGES[i % len(STAGES)] for i in range(questions)))
    now = timezone.now()
    assignment = Assignment.objects.create(
        classroom=classroom,
        exercise=exercise,
        opens_at=now - timedelta(days=1),
        due_at=now + timedelta(days=7),
    )
    users = User.objects.bulk_create(
        [
            User(
                username=f"trust-{name}-{n:03d}",
                first_name="Pupil",
                last_name=f"{name.upper()} {n}",
                role=User.Role.STUDENT,
                password=password_hash,
            )
            for n in range(1, students + 1)
        ]
    )
    Enrollment.objects.bulk_create([Enrollment(classroom=classroom, student=user) for user in users])
    rows = []
    for user in users:
        answers = []
        if start:
            submission = submission_start(assignment=assignment, student=user)
            answers = [
                {"id": pk, "question": question}
                for pk, question in Response.objects.filter(submission=submission)
                .order_by("question__position")
                .values_list("pk", "question_id")
            ]
        rows.append({"username": user.username, "answers": answers})
    return {"assignment": assignment.pk, "students": rows}


def main() -> None:
    groups = json.loads(sys.argv[1])
    password_hash = make_password(os.environ["TRUST_PASSWORD"])
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(AUDIT_SQL)
        seeded = {
            group["name"]: seed_group(
                name=group["name"],
                students=group["students"],
                questions=group["questions"],
                start=group.get("start", True),
                password_hash=password_hash,
            )
            for group in groups
        }
    print(json.dumps(seeded))


if __name__ == "__main__":
    main()
