"""Seed a large, realistic dataset for the benchmark (``make bench``). Never for production.

Shape (defaults): 90 classes of 30 pupils plus one class of 300 (3,000 pupils, one teacher per
class), each class set the source-pack exercises as current assignments plus two archived ones
from last term; every pupil has a submission for every assignment with a response per question
(about 63,000 responses). Current work: half drafts (in progress), the rest handed in or
returned; evidence quoted from the sources on answered questions; marks on returned work and on
half of the handed-in work. Archived work is all returned and marked.

Rows go in with ``bulk_create`` in large batches (a few round trips per 5,000 rows) and every
bench account shares one password hash computed once, so the whole seed takes well under a
minute on PostgreSQL. All bench rows hang off users named ``bench-…``: ``--reset`` removes them
with plain DELETE statements before seeding again; without it an existing bench seed is kept.
"""

import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

if __name__ == "__main__":
    # Run as a script (``python bench/seed_bench.py --force``): benchmark-only code stays out of
    # the product app, so it is not a management command. Django is set up before the models
    # below are imported.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Classroom, Enrollment, School, User
from analysis.models import (
    Assignment,
    Evidence,
    Exercise,
    ExerciseSource,
    Level,
    Mark,
    MarkChange,
    MarkScheme,
    Passage,
    Question,
    Response,
    Source,
    Stage,
    Submission,
)

PREFIX = "bench-"
PASSWORD = "bench-pass-1917"
ADMIN_USERNAME = "bench-admin"
BATCH = 5000

ANSWER_SENTENCES = [
    "The source was written by the Bolshevik leadership soon after the October seizure of power.",
    "Its purpose was to set terms that the other socialist parties were unlikely to accept.",
    "Because it was printed in Izvestiia it was meant to be read by workers and soldiers in Petrograd.",
    "This makes it useful for showing what the Bolsheviks wanted people to think they were offering.",
    "However it is less reliable as evidence of what the negotiators privately intended.",
    "Trotsky's speech supports this, since he calls the moderate socialists bankrupt.",
    "The tone is confident and uncompromising, which suggests it was written to rally supporters.",
    "We should remember that the text is a translation and may have been shortened.",
    "Term 5 would have shut out the City Duma and the old executive committee of the peasants.",
    "Overall the source tells us more about Bolshevik propaganda than about the talks themselves.",
]
OVERALL = "Well argued; quote the sources more precisely."
COMMENTS = [
    "Good use of the origin; now link it to the purpose.",
    "Quote the text more precisely to support your point.",
    "A thoughtful judgement about reliability.",
    "Explain how the audience shapes what the author says.",
]


def bench_users():
    return User.objects.filter(username__startswith=PREFIX)


class Command(BaseCommand):
    help = "Seed the large benchmark dataset (bench-… users, classes and work). Never for production."

    def add_arguments(self, parser):
        parser.add_argument("--classes", type=int, default=90, help="Classes of --class-size pupils.")
        parser.add_argument("--class-size", type=int, default=30)
        parser.add_argument("--big-class", type=int, default=300, help="Pupils in the one large class.")
        parser.add_argument("--archived", type=int, default=2, help="Archived assignments per class.")
        parser.add_argument("--reset", action="store_true", help="Delete existing bench data first.")
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")
        parser.add_argument("--seed", type=int, default=1917, help="Random seed (same data every run).")

    def handle(self, *args, **opts):
        if not settings.DEBUG and not opts["force"]:
            raise CommandError("Benchmark data is for a throwaway database. Use --force to insist.")
        started = time.monotonic()
        if bench_users().exists():
            if not opts["reset"]:
                self.stdout.write("Bench data already present; kept it (use --reset to seed again).")
                self._report(time.monotonic() - started)
                return
            self._reset()
            self.stdout.write(f"Removed the old bench data in {time.monotonic() - started:.1f} s.")
        self.rng = random.Random(opts["seed"])
        exercises = self._exercises()
        with transaction.atomic():
            self._seed(exercises, opts)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self._report(time.monotonic() - started)

    # --- Exercises --------------------------------------------------------------------------

    def _exercises(self) -> list[Exercise]:
        exercises = list(Exercise.objects.prefetch_related("questions").order_by("slug"))
        if not exercises and "import_sources" in get_commands():
            call_command("import_sources", str(settings.BASE_DIR / "fixtures"), verbosity=0)
            exercises = list(Exercise.objects.prefetch_related("questions").order_by("slug"))
        if not exercises:
            self.stdout.write("No exercises and no import_sources command: creating bench exercises.")
            exercises = self._make_exercises()
        exercises = [exercise for exercise in exercises if len(exercise.questions.all()) >= 3] or exercises
        return exercises[:3]

    def _make_exercises(self) -> list[Exercise]:
        scheme = MarkScheme.objects.create(slug="bench-scheme", name="Bench scheme")
        Level.objects.bulk_create(
            Level(scheme=scheme, number=n, min_marks=lo, max_marks=hi, descriptor=f"Level {n}")
            for n, (lo, hi) in enumerate([(1, 2), (3, 4)], start=1)
        )
        exercises = []
        for n in range(1, 4):
            source = Source.objects.create(
                slug=f"bench-source-{n}",
                title=f"Bench source {n}",
                author="An author",
                date_text="November 1917",
                publication="Izvestiia",
                kind="newspaper report",
            )
            Passage.objects.bulk_create(
                Passage(source=source, position=p, label=f"Passage {p + 1}", text=" ".join(ANSWER_SENTENCES))
                for p in range(4)
            )
            exercise = Exercise.objects.create(slug=f"bench-exercise-{n}", title=f"Bench {n}", summary="-")
            ExerciseSource.objects.create(exercise=exercise, source=source, position=0)
            Question.objects.bulk_create(
                Question(
                    exercise=exercise,
                    position=p,
                    stage=stage,
                    source=source,
                    prompt=f"Question {p + 1}",
                    max_marks=4,
                    mark_scheme=scheme,
                )
                for p, stage in enumerate([Stage.ORIGIN, Stage.PURPOSE, Stage.RELIABILITY, Stage.RELIABILITY])
            )
            exercises.append(exercise)
        return list(Exercise.objects.filter(pk__in=[e.pk for e in exercises]).prefetch_related("questions"))

    # --- Seeding ----------------------------------------------------------------------------

    def _seed(self, exercises, opts):
        now = timezone.now()
        password = make_password(PASSWORD)  # one hash for every bench account: PBKDF2 is slow
        questions = {
            exercise.pk: list(
                exercise.questions.select_related("source", "mark_scheme").prefetch_related(
                    "source__passages", "mark_scheme__levels"
                )
            )
            for exercise in exercises
        }
        corroboration_passages = {
            exercise.pk: list(Passage.objects.filter(source__exercise_links__exercise=exercise))
            for exercise in exercises
        }

        school, _created = School.objects.get_or_create(name="Bench school")
        sizes = [opts["class_size"]] * opts["classes"] + ([opts["big_class"]] if opts["big_class"] else [])
        admin = User(
            username=ADMIN_USERNAME,
            password=password,
            role=User.Role.TEACHER,
            first_name="Bench",
            last_name="Admin",
            is_staff=True,
            is_superuser=True,
        )
        teachers = [
            User(
                username=f"{PREFIX}t{index:03d}",
                password=password,
                role=User.Role.TEACHER,
                school=school,
                first_name="Teacher",
                last_name=f"{index:03d}",
            )
            for index in range(1, len(sizes) + 1)
        ]
        students = [
            User(
                username=f"{PREFIX}s{index:05d}",
                password=password,
                role=User.Role.STUDENT,
                first_name=self.rng.choice(["Amara", "Ben", "Chloe", "Dev", "Ella", "Farah", "Isaac"]),
                last_name=f"Pupil{index:05d}",
            )
            for index in range(1, sum(sizes) + 1)
        ]
        User.objects.bulk_create([admin, *teachers, *students], batch_size=BATCH)

        classrooms = Classroom.objects.bulk_create(
            [
                Classroom(
                    name=f"Bench {index:03d}" + (" (year group)" if size == opts["big_class"] else ""),
                    join_code=f"BENCH{index:03d}",
                    join_code_enabled=False,
                    school=school,
                )
                for index, size in enumerate(sizes, start=1)
            ]
        )
        Classroom.teachers.through.objects.bulk_create(
            Classroom.teachers.through(classroom_id=c.pk, user_id=t.pk)
            for c, t in zip(classrooms, teachers, strict=True)
        )
        rosters, cursor = [], 0
        for size in sizes:
            rosters.append(students[cursor : cursor + size])
            cursor += size
        Enrollment.objects.bulk_create(
            (
                Enrollment(classroom=classroom, student=student)
                for classroom, roster in zip(classrooms, rosters, strict=True)
                for student in roster
            ),
            batch_size=BATCH,
        )

        # Current assignments (open now, due later) and archived ones from last term.
        assignments = []
        for classroom, teacher in zip(classrooms, teachers, strict=True):
            for index, exercise in enumerate(exercises):
                assignments.append(
                    Assignment(
                        classroom=classroom,
                        exercise=exercise,
                        opens_at=now - timedelta(days=3),
                        due_at=now + timedelta(days=7 * (index + 1)),
                        created_by=teacher,
                    )
                )
            for index in range(opts["archived"]):
                assignments.append(
                    Assignment(
                        classroom=classroom,
                        exercise=exercises[index % len(exercises)],
                        opens_at=now - timedelta(days=120 + 14 * index),
                        due_at=now - timedelta(days=110 + 14 * index),
                        created_by=teacher,
                        archived_at=now - timedelta(days=60),
                    )
                )
        Assignment.objects.bulk_create(assignments, batch_size=BATCH)
        by_class = {}
        for assignment in assignments:
            by_class.setdefault(assignment.classroom_id, []).append(assignment)

        # Submissions: one per pupil per assignment. The state of current work alternates so
        # that every pupil has drafts to autosave and every class has work to mark.
        plan = []  # (submission, state)
        for classroom, roster in zip(classrooms, rosters, strict=True):
            for number, student in enumerate(roster):
                for index, assignment in enumerate(by_class[classroom.pk]):
                    if assignment.archived_at:
                        state = "returned"
                    elif (number + index) % 2 == 0:
                        state = "draft"
                    else:
                        state = "returned" if (number // 2 + index) % 2 else "submitted"
                    submitted_at = None
                    if state != "draft":
                        submitted_at = min(now, assignment.due_at) - timedelta(hours=self.rng.randint(1, 48))
                    plan.append(
                        (
                            Submission(
                                assignment=assignment,
                                student=student,
                                status={
                                    "draft": Submission.Status.IN_PROGRESS,
                                    "submitted": Submission.Status.SUBMITTED,
                                    "returned": Submission.Status.RETURNED,
                                }[state],
                                submitted_at=submitted_at,
                                returned_at=submitted_at + timedelta(days=2) if state == "returned" else None,
                                overall_comment=OVERALL if state == "returned" else "",
                            ),
                            state,
                        )
                    )
        Submission.objects.bulk_create([submission for submission, _ in plan], batch_size=BATCH)

        # Responses, then evidence and marks that point at them.
        teacher_of = {c.pk: t.pk for c, t in zip(classrooms, teachers, strict=True)}
        responses, meta = [], []
        for submission, state in plan:
            assignment = submission.assignment
            qs = questions[assignment.exercise_id]
            for position, question in enumerate(qs):
                answered = state != "draft" or position < len(qs) - 1 or self.rng.random() < 0.3
                text = self._answer() if answered else ""
                responses.append(
                    Response(
                        submission=submission,
                        question=question,
                        text=text,
                        version=self.rng.randint(1, 12) if text else 0,
                        hints_used=self.rng.randint(0, 2),
                    )
                )
                meta.append((question, state, teacher_of[assignment.classroom_id]))
        Response.objects.bulk_create(responses, batch_size=BATCH)

        evidence, marks = [], []
        for response, (question, state, teacher_id) in zip(responses, meta, strict=True):
            if response.text and question.expects_evidence:
                passages = (
                    list(question.source.passages.all())
                    if question.source
                    else corroboration_passages[question.exercise_id]
                )
                for passage in self.rng.sample(passages, k=min(len(passages), self.rng.choice([1, 1, 2]))):
                    length = len(passage.text)
                    start = self.rng.randrange(0, max(1, length // 2))
                    end = min(length, start + self.rng.randint(15, 80))
                    if end > start:
                        evidence.append(
                            Evidence(
                                response=response,
                                passage=passage,
                                start=start,
                                end=end,
                                quote=passage.text[start:end],
                            )
                        )
            if response.text and (state == "returned" or (state == "submitted" and self.rng.random() < 0.5)):
                levels = list(question.mark_scheme.levels.all()) if question.mark_scheme else []
                level = self.rng.choice(levels) if levels else None
                marks.append(
                    Mark(
                        response=response,
                        level=level.number if level else None,
                        marks=min(question.max_marks, level.max_marks if level else question.max_marks),
                        max_marks=question.max_marks,
                        comment=self.rng.choice(COMMENTS),
                        marker_id=teacher_id,
                    )
                )
        Evidence.objects.bulk_create(evidence, batch_size=BATCH)
        Mark.objects.bulk_create(marks, batch_size=BATCH)

        # Receipts for handed-in work (hash of the answers, as the submit service does).
        by_submission = {}
        for response in responses:
            by_submission.setdefault(response.submission_id, []).append(response)
        handed_in = [submission for submission, state in plan if state != "draft"]
        for submission in handed_in:
            submission.receipt_hash = submission.compute_receipt_hash(by_submission[submission.pk])
        Submission.objects.bulk_update(handed_in, ["receipt_hash"], batch_size=BATCH)

    def _answer(self) -> str:
        count = self.rng.randint(2, 5)
        return " ".join(self.rng.sample(ANSWER_SENTENCES, k=count))

    # --- Reset and report -------------------------------------------------------------------

    def _reset(self):
        """Plain DELETEs, children first: the ORM's cascade collector would fetch every row."""
        users = bench_users()
        classrooms = Classroom.objects.filter(teachers__in=users.filter(role=User.Role.TEACHER))
        submissions = Submission.objects.filter(student__in=users)
        steps = [
            MarkChange.objects.filter(mark__response__submission__in=submissions),
            Evidence.objects.filter(response__submission__in=submissions),
            Mark.objects.filter(response__submission__in=submissions),
            Response.objects.filter(submission__in=submissions),
            submissions,
            Assignment.objects.filter(classroom__in=classrooms),
            Enrollment.objects.filter(student__in=users),
        ]
        with transaction.atomic():
            for queryset in steps:
                queryset._raw_delete(queryset.db)
            class_ids = list(classrooms.values_list("pk", flat=True).distinct())
            Classroom.teachers.through.objects.filter(classroom_id__in=class_ids).delete()
            Classroom.objects.filter(pk__in=class_ids).delete()
            from axes.models import AccessAttempt, AccessLog

            AccessAttempt.objects.filter(username__startswith=PREFIX).delete()
            AccessLog.objects.filter(username__startswith=PREFIX).delete()
            users.delete()

    def _report(self, seconds: float):
        users = bench_users()
        submissions = Submission.objects.filter(student__in=users)
        counts = {
            "students": users.filter(role=User.Role.STUDENT).count(),
            "teachers": users.filter(role=User.Role.TEACHER, is_superuser=False).count(),
            "classes": Classroom.objects.filter(enrollments__student__in=users).distinct().count(),
            "assignments": Assignment.objects.filter(classroom__teachers__in=users).distinct().count(),
            "submissions": submissions.count(),
            "drafts": submissions.filter(status=Submission.Status.IN_PROGRESS).count(),
            "responses": Response.objects.filter(submission__in=submissions).count(),
            "evidence": Evidence.objects.filter(response__submission__in=submissions).count(),
            "marks": Mark.objects.filter(response__submission__in=submissions).count(),
        }
        self.stdout.write(", ".join(f"{value:,} {name}" for name, value in counts.items()))
        self.stdout.write(
            f"Log-ins: {ADMIN_USERNAME} (superuser), {PREFIX}t001… (teachers), {PREFIX}s00001… "
            f"(pupils); password {PASSWORD!r}."
        )
        self.stdout.write(f"seed_bench took {seconds:.1f} s")


if __name__ == "__main__":
    call_command(Command(), *sys.argv[1:])
