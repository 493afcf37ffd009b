"""Demo users, classes, assignments and sample work. Never for production."""

import re
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Classroom, Enrollment, School, User
from analysis.management.demo_term import TERM_SLUGS, seed_term
from analysis.models import (
    Assignment,
    Evidence,
    Exercise,
    Mark,
    Response,
    StudentSupport,
    Submission,
    SupportLevel,
)

DEMO_SCHOOL = "Northfield Academy"
CLASSES = [
    # (class name, teacher, first student number, join code)
    ("Year 11 A", "teacher", 1, "KXAMPRT7"),
    ("Year 11 B", "teacher2", 13, "HQNWDC4E"),
]
FIRST_NAMES = [
    "Amara",
    "Ben",
    "Chloe",
    "Dev",
    "Ella",
    "Farah",
    "George",
    "Hana",
    "Isaac",
    "Jade",
    "Kofi",
    "Lena",
    "Milo",
    "Nadia",
    "Oscar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wyn",
    "Zoe",
]
LAST_NAMES = [
    "Adeyemi",
    "Brooks",
    "Chen",
    "Dutta",
    "Evans",
    "Farouk",
    "Green",
    "Hughes",
    "Ibrahim",
    "Jones",
    "Kowalski",
    "Lopez",
    "Mensah",
    "Novak",
    "O'Brien",
    "Patel",
    "Quigley",
    "Rossi",
    "Singh",
    "Taylor",
    "Usman",
    "Vasquez",
    "Walsh",
    "Young",
]
# Each class's assignments, in exercise order, cycle through the support levels; the exam one
# has a time limit. (support level, time limit in minutes)
SUPPORT = [(SupportLevel.STANDARD, None), (SupportLevel.GUIDED, None), (SupportLevel.EXAM, 45)]
# Pupils with their own support on every assignment: (student offset in the class, level, extra %)
OWN_SUPPORT = [(2, SupportLevel.GUIDED, 0), (4, "", 25)]
# Students 7–12 (and 19–24) get work in every state; 1–6 and 13–18 start with none.
SAMPLE_STATES = {
    0: "draft-partial",
    1: "draft-complete",
    2: "submitted",
    3: "marked-draft",
    4: "returned",
    5: "returned",
}


class Command(BaseCommand):
    help = "Create the demo log-ins, classes, assignments and sample work (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (never on a real school's data)."
        )

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Demo data is for development only (DEBUG is off). Use --force to insist.")
        # Exercises on image sources (docs/visual-sources.md) last: the sample work is on the first.
        exercises = sorted(
            Exercise.objects.order_by("slug"), key=lambda e: e.sources.exclude(image="").exists()
        )
        if not exercises:
            raise CommandError("No exercises found: run `manage.py import_sources fixtures/` first.")
        with transaction.atomic():
            self._seed(exercises)
        self._print_logins()

    def _print_logins(self):
        self.stdout.write(
            "\nDemo log-ins (demo data only):\n"
            "  admin / admin          site admin (/admin/)\n"
            "  teacher / teacher      teaches Year 11 A (student01–student12), join code KXAM-PRT7\n"
            "  teacher2 / teacher2    teaches Year 11 B (student13–student24), join code HQNW-DC4E\n"
            "  student01 … student24  password: student (a term of marked work in each class; student07–12\n"
            "                         and 19–24 also have this week's work in every state)\n"
        )

    def _user(self, username, password, role, **extra):
        user, created = User.objects.get_or_create(username=username, defaults={"role": role, **extra})
        if created:
            # One hash per demo password, shared by the 24 pupils: hashing is deliberately slow, and
            # it was most of the seed's time.
            if password not in self._hashes:
                self._hashes[password] = make_password(password)
            user.password = self._hashes[password]
            user.save(update_fields=["password"])
        return user

    def _seed(self, exercises):
        self._hashes = {}
        now = timezone.now()
        school, _ = School.objects.get_or_create(name=DEMO_SCHOOL)
        self._user(
            "admin",
            "admin",
            User.Role.TEACHER,
            is_staff=True,
            is_superuser=True,
            first_name="Site",
            last_name="Admin",
        )
        for class_name, teacher_name, first, code in CLASSES:
            teacher = self._user(
                teacher_name,
                teacher_name,
                User.Role.TEACHER,
                first_name="Ms" if teacher_name == "teacher" else "Mr",
                last_name="Okafor" if teacher_name == "teacher" else "Lindqvist",
                school=school,
            )
            classroom, _ = Classroom.objects.get_or_create(
                name=class_name, defaults={"join_code": code, "school": school}
            )
            classroom.teachers.add(teacher)
            students = []
            for number in range(first, first + 12):
                student = self._user(
                    f"student{number:02d}",
                    "student",
                    User.Role.STUDENT,
                    first_name=FIRST_NAMES[number - 1],
                    last_name=LAST_NAMES[number - 1],
                )
                Enrollment.objects.current().get_or_create(classroom=classroom, student=student)
                students.append(student)
            # A term of past work (analysis/management/demo_term.py), then this week's assignments.
            seed_term(
                classroom=classroom,
                students=students,
                teacher=teacher,
                exercises={e.slug: e for e in exercises},
                now=now,
                seed=f"{DEMO_SCHOOL}/{class_name}",
            )
            for past in Assignment.objects.filter(classroom=classroom, exercise__slug__in=TERM_SLUGS):
                for offset, level, extra in OWN_SUPPORT:
                    StudentSupport.objects.get_or_create(
                        assignment=past,
                        student=students[offset],
                        defaults={"support_level": level, "extra_time_percent": extra},
                    )
            current = [e for e in exercises if e.slug not in TERM_SLUGS]
            for index, exercise in enumerate(current):
                assignment, _ = Assignment.objects.get_or_create(
                    classroom=classroom,
                    exercise=exercise,
                    archived_at=None,
                    defaults={
                        "opens_at": now - timedelta(days=3),
                        "due_at": now + timedelta(days=7 * (index + 1)),
                        "created_by": teacher,
                        "release_model_answers": index == 0,
                        "support_level": SUPPORT[index % len(SUPPORT)][0],
                        "time_limit_minutes": SUPPORT[index % len(SUPPORT)][1],
                    },
                )
                for offset, level, extra in OWN_SUPPORT:
                    StudentSupport.objects.get_or_create(
                        assignment=assignment,
                        student=students[offset],
                        defaults={"support_level": level, "extra_time_percent": extra},
                    )
                if index == 0:
                    for offset, student in enumerate(students[6:]):
                        self._sample_work(assignment, student, SAMPLE_STATES[offset], teacher, now)

    def _sample_work(self, assignment, student, state, teacher, now):
        if Submission.objects.filter(assignment=assignment, student=student).exists():
            return  # keep whatever the demo user has done since
        submitted = state not in ("draft-partial", "draft-complete")
        submitted_at = now - timedelta(hours=5) if submitted else None
        submission = Submission.objects.create(
            assignment=assignment,
            student=student,
            status=Submission.Status.RETURNED
            if state.startswith("returned")
            else (Submission.Status.SUBMITTED if submitted else Submission.Status.IN_PROGRESS),
            submitted_at=submitted_at,
            returned_at=now - timedelta(hours=1) if state.startswith("returned") else None,
            # Late only if handed in after the due date, as submitting decides it.
            is_late=bool(submitted_at and assignment.due_at and submitted_at > assignment.due_at),
        )
        questions = list(
            assignment.exercise.questions.select_related("source", "mark_scheme").prefetch_related(
                "mark_scheme__levels", "source__passages"
            )
        )
        # A question about every source cites the first one (its passages, as written).
        first_source = assignment.exercise.sources.order_by("exercise_links__position").first()
        responses = []
        for position, question in enumerate(questions):
            answered = state != "draft-partial" or position < 2
            text = _sample_answer(question, student) if answered else ""
            response = Response.objects.create(
                submission=submission,
                question=question,
                text=text,
                version=1 if text else 0,
                hints_used=position % 2,
            )
            responses.append(response)
            cited_source = question.source or first_source
            if text and cited_source and cited_source.image:
                region = cited_source.regions.order_by("position").first()
                if region is not None:
                    Evidence.objects.create(response=response, region=region, quote=region.label)
            elif text and cited_source:
                passages = list(cited_source.passages.all())
                passage = passages[position % len(passages)]
                end = _sentence_end(passage.text)
                Evidence.objects.create(
                    response=response, passage=passage, start=0, end=end, quote=passage.text[:end]
                )
            if state in ("marked-draft", "returned") and question.mark_scheme:
                levels = list(question.mark_scheme.levels.all())
                level = levels[min(len(levels) - 1, (student.pk + position) % len(levels))]
                Mark.objects.create(
                    response=response,
                    level=level.number,
                    marks=level.max_marks if position % 2 else level.min_marks,
                    max_marks=question.max_marks,
                    marker=teacher,
                    comment="Clear use of the source's origin; now link it to its purpose and say how far "
                    "that affects what it can tell us.",
                )
        if submitted:
            submission.receipt_hash = submission.compute_receipt_hash(responses)
            if state.startswith("returned"):
                submission.overall_comment = "A thoughtful set of answers. Quote the text more precisely."
            submission.save()


def _sentence_end(text: str) -> int:
    # The end of the first real sentence: "1." at the start of a numbered term is not one.
    match = re.search(r"(?<=\w{3})[.!?…:](?=\s|$)", text)
    return match.end() if match else len(text)


def _sample_answer(question, student) -> str:
    """A plausible pupil's answer: the first sentences of the model answer in a pupil's hand."""
    base = question.model_answer or question.prompt
    sentences = re.split(r"(?<=[.!?])\s+", base)
    keep = 2 + student.pk % 3
    return " ".join(sentences[:keep])
