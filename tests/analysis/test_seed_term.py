"""The demo's term of work (analysis/management/demo_term.py): several past assignments per class
with handed-in, marked and returned work, some late, some never started, levels that rise for
some pupils and stay flat for others; the same every time, and never doubled."""

import io
from collections import defaultdict
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from accounts.models import Classroom, User
from analysis.management.demo_term import ANSWERS, TERM, TERM_SLUGS
from analysis.models import Assignment, AssignmentVisit, Evidence, Mark, Response, Submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(settings):
    settings.DEBUG = True
    call_command("import_sources", str(Path(django_settings.BASE_DIR) / "fixtures"), stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())


def term_signature():
    """Every pupil's term work as (class, exercise, pupil, status, late, question, level, marks)."""
    rows = Response.objects.filter(submission__assignment__exercise__slug__in=TERM_SLUGS).values_list(
        "submission__assignment__classroom__name",
        "submission__assignment__exercise__slug",
        "submission__student__username",
        "submission__status",
        "submission__is_late",
        "question__position",
        "mark__level",
        "mark__marks",
        "text",
    )
    return sorted(rows, key=lambda row: tuple(str(value) for value in row))


def test_each_class_has_a_term_of_past_assignments(seeded):
    now = timezone.now()
    for classroom in Classroom.objects.all():
        past = Assignment.objects.filter(classroom=classroom, due_at__lt=now)
        assert past.count() == len(TERM)
        assert Assignment.objects.filter(classroom=classroom, due_at__gt=now).exists()  # this week's too
        for assignment in past:
            handed_in = assignment.submissions.exclude(status=Submission.Status.IN_PROGRESS)
            assert 9 <= handed_in.count() < 12  # nearly everyone; someone never started
            assert handed_in.filter(submitted_at__lte=now).count() == handed_in.count()


def test_work_is_marked_and_released_with_comments_late_ones_waiting(seeded):
    returned = Submission.objects.filter(
        assignment__exercise__slug__in=TERM_SLUGS, status=Submission.Status.RETURNED
    )
    assert returned.count() >= 50
    assert all(s.overall_comment and s.returned_at > s.submitted_at for s in returned)
    assert Submission.objects.filter(assignment__exercise__slug__in=TERM_SLUGS, is_late=True).count() >= 4
    # The most recent assignment: late hand-ins still to mark, unmarked.
    waiting = Submission.objects.filter(
        assignment__exercise__slug=TERM[-1][0], status=Submission.Status.SUBMITTED
    )
    assert waiting.exists()
    assert all(s.is_late for s in waiting)
    assert not Mark.objects.filter(response__submission__in=waiting).exists()


def test_marks_lie_in_their_levels_bands(seeded):
    marks = Mark.objects.filter(
        response__submission__assignment__exercise__slug__in=TERM_SLUGS
    ).select_related("response__question__mark_scheme")
    assert marks.count() >= 250
    levels_seen = set()
    for mark in marks:
        level = mark.response.question.mark_scheme.levels.get(number=mark.level)
        assert level.min_marks <= mark.marks <= level.max_marks <= mark.max_marks
        assert mark.comment
        levels_seen.add((mark.response.question.max_marks, mark.level))
    assert {level for _, level in levels_seen} >= {1, 2, 3}  # every level of the ladders is used


def test_answers_cite_the_real_words_of_the_pack(seeded):
    evidence = Evidence.objects.filter(response__submission__assignment__exercise__slug__in=TERM_SLUGS)
    assert evidence.filter(passage__isnull=False).count() >= 200
    assert evidence.filter(region__isnull=False).count() >= 20
    for e in evidence.select_related("passage", "region"):
        if e.passage_id:
            assert e.passage.text[e.start : e.end] == e.quote
        else:
            assert e.quote == e.region.label
    # Every quoted phrase written in the term's answers is found in its passage.
    cited = {
        quote
        for questions in ANSWERS.values()
        for tiers in questions.values()
        for _, cs in tiers
        for _, quote in cs
    }
    stored = set(evidence.filter(passage__isnull=False).values_list("quote", flat=True))
    assert {q for q in cited if q} <= stored


def test_some_pupils_improve_across_the_term_and_some_do_not(seeded):
    order = [slug for slug, *_ in TERM]
    totals = defaultdict(dict)
    for username, slug, total in (
        Mark.objects.filter(response__submission__assignment__exercise__slug__in=TERM_SLUGS)
        .values_list(
            "response__submission__student__username", "response__submission__assignment__exercise__slug"
        )
        .annotate(total=Sum("marks"))
        .values_list(
            "response__submission__student__username",
            "response__submission__assignment__exercise__slug",
            "total",
        )
    ):
        max_total = sum(
            q.max_marks
            for q in Assignment.objects.filter(exercise__slug=slug).first().exercise.questions.all()
        )
        totals[username][slug] = total / max_total
    complete = {u: [t[s] for s in order] for u, t in totals.items() if len(t) == len(order)}
    improving = [u for u, share in complete.items() if share[-1] - share[0] >= 0.3]
    flat = [u for u, share in complete.items() if abs(share[-1] - share[0]) < 0.15]
    assert len(improving) >= 3
    assert len(flat) >= 3


def test_pupils_see_new_feedback_and_the_teacher_new_late_hand_ins(seeded):
    from analysis.news.selectors import pupil_news, with_new_handins

    assert any(pupil_news(student=u).new_feedback for u in User.objects.filter(role="student"))
    teacher = User.objects.get(username="teacher")
    latest = with_new_handins(Assignment.objects.filter(exercise__slug=TERM[-1][0]), teacher=teacher).get(
        classroom__teachers=teacher
    )
    assert latest.new_late >= 1 and latest.new_late == latest.new_handins
    older = with_new_handins(Assignment.objects.filter(exercise__slug=TERM[0][0]), teacher=teacher).get(
        classroom__teachers=teacher
    )
    assert older.new_handins == 0
    assert AssignmentVisit.objects.filter(teacher=teacher).count() == len(TERM)


def test_the_term_is_the_same_every_time_and_never_doubled(seeded, settings):
    first = term_signature()
    call_command("seed_demo", stdout=io.StringIO())
    assert term_signature() == first  # idempotent: nothing added or changed

    Submission.objects.filter(assignment__exercise__slug__in=TERM_SLUGS).delete()
    Assignment.objects.filter(exercise__slug__in=TERM_SLUGS).delete()
    call_command("seed_demo", stdout=io.StringIO())
    assert term_signature() == first  # deterministic: the same work again
