"""What's new (docs/whats-new.md): pupils see new work and unread feedback flagged on their list
with a count in the navigation; teachers see hand-ins since they last looked, late ones apart."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analysis.marking.services import marks_release
from analysis.models import AssignmentVisit, Submission
from analysis.news.selectors import pupil_news
from tests import factories

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def card(html: str, assignment) -> str:
    """The list's card for one assignment."""
    start = html.index(f'id="assignment-{assignment.pk}"')
    end = html.find('<li class="card assignment-card"', start)
    return html[start : end if end != -1 else len(html)]


def nav_count(html: str) -> str | None:
    marker = 'id="whats-new-count">'
    if marker not in html:
        return None
    start = html.index(marker) + len(marker)
    return html[start : html.index("<", start)]


# --- Pupils: new work --------------------------------------------------------------------------


def test_new_assignment_is_flagged_until_the_pupil_opens_it(assignment, student):
    pupil = client_for(student)

    page = pupil.get(reverse("learn:assignment-list")).content.decode()
    assert "badge--new" in card(page, assignment)
    assert nav_count(page) == "1"

    assert pupil.get(reverse("learn:workspace", args=[assignment.pk])).status_code == 200

    page = pupil.get(reverse("learn:assignment-list")).content.decode()
    assert "badge--new" not in card(page, assignment)
    assert nav_count(page) is None  # nothing new: no count at all


def test_opening_without_writing_clears_new_but_is_not_a_start(assignment, student):
    """Opening the work clears "New", but the list still says "Not started" (rules.started_exists)."""
    pupil = client_for(student)
    pupil.get(reverse("learn:workspace", args=[assignment.pk]))

    page = card(pupil.get(reverse("learn:assignment-list")).content.decode(), assignment)
    assert "badge--new" not in page
    assert "Not started" in page


def test_work_not_open_yet_or_overdue_is_not_new(school_class, student):
    later = factories.make_assignment(
        classroom=school_class,
        opens_at=timezone.now() + timedelta(days=2),
        due_at=timezone.now() + timedelta(days=9),
    )
    overdue = factories.make_assignment(
        classroom=school_class,
        opens_at=timezone.now() - timedelta(days=9),
        due_at=timezone.now() - timedelta(days=2),
    )
    page = client_for(student).get(reverse("learn:assignment-list")).content.decode()
    assert "badge--new" not in card(page, later)
    assert "badge--new" not in card(page, overdue)
    assert "Overdue" in card(page, overdue)
    assert pupil_news(student=student).total == 0


def test_an_extension_keeps_overdue_work_new(school_class, student):
    overdue = factories.make_assignment(
        classroom=school_class,
        opens_at=timezone.now() - timedelta(days=9),
        due_at=timezone.now() - timedelta(days=2),
    )
    factories.make_extension(assignment=overdue, student=student, days=3)
    assert pupil_news(student=student).new_work == 1


def test_the_count_is_the_pupils_own(assignment, student, classmate, outsider, other_class):
    """A classmate opening the work clears nothing for this pupil; another class's work never counts."""
    factories.make_assignment(classroom=other_class)
    client_for(classmate).get(reverse("learn:workspace", args=[assignment.pk]))

    assert pupil_news(student=student).new_work == 1
    assert pupil_news(student=classmate).new_work == 0
    assert pupil_news(student=outsider).new_work == 1


# --- Pupils: new feedback ----------------------------------------------------------------------


def _handed_in_and_marked(assignment, student, teacher):
    submission = factories.make_submission(
        assignment=assignment,
        student=student,
        status=Submission.Status.SUBMITTED,
        answers={q.position: "An answer." for q in assignment.exercise.questions.all()},
    )
    for response in submission.responses.all():
        factories.make_mark(response=response, marker=teacher)
    return submission


def test_released_feedback_is_new_until_read(assignment, student, teacher):
    submission = _handed_in_and_marked(assignment, student, teacher)
    pupil = client_for(student)
    page = pupil.get(reverse("learn:assignment-list")).content.decode()
    assert "New feedback" not in card(page, assignment)  # marked, not released: nothing to read

    marks_release(assignment=assignment, by=teacher)

    page = pupil.get(reverse("learn:assignment-list")).content.decode()
    assert "New feedback" in card(page, assignment)
    assert nav_count(page) == "1"

    assert pupil.get(reverse("learn:feedback", args=[assignment.pk])).status_code == 200
    submission.refresh_from_db()
    assert submission.feedback_seen_at is not None

    page = pupil.get(reverse("learn:assignment-list")).content.decode()
    assert "New feedback" not in card(page, assignment)
    assert nav_count(page) is None


def test_feedback_released_again_after_a_reopen_is_new_again(assignment, student, teacher):
    from analysis.marking.services import submission_reopen

    submission = _handed_in_and_marked(assignment, student, teacher)
    marks_release(assignment=assignment, by=teacher)
    client_for(student).get(reverse("learn:feedback", args=[assignment.pk]))

    submission_reopen(submission=submission, by=teacher)
    Submission.objects.filter(pk=submission.pk).update(
        status=Submission.Status.SUBMITTED, submitted_at=timezone.now()
    )
    marks_release(assignment=assignment, by=teacher)

    assert pupil_news(student=student).new_feedback == 1


def test_the_not_returned_page_does_not_count_as_reading(assignment, student, teacher):
    submission = _handed_in_and_marked(assignment, student, teacher)
    client_for(student).get(reverse("learn:feedback", args=[assignment.pk]))
    submission.refresh_from_db()
    assert submission.feedback_seen_at is None


def test_the_nav_count_is_on_other_pupil_pages_but_not_in_the_workspace(assignment, school_class, student):
    second = factories.make_assignment(classroom=school_class)
    pupil = client_for(student)

    assert nav_count(pupil.get(reverse("accounts:join")).content.decode()) == "2"
    workspace = pupil.get(reverse("learn:workspace", args=[assignment.pk])).content.decode()
    assert nav_count(workspace) is None
    assert nav_count(pupil.get(reverse("learn:feedback", args=[second.pk])).content.decode()) == "1"


def test_teachers_never_get_the_pupil_count(assignment, teacher):
    page = client_for(teacher).get(reverse("teach:dashboard")).content.decode()
    assert nav_count(page) is None


def test_the_nav_count_costs_one_query(assignment, student, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert pupil_news(student=student).total == 1


# --- Teachers: new hand-ins --------------------------------------------------------------------


def _hand_in(assignment, student, *, late=False, when=None):
    return factories.make_submission(
        assignment=assignment,
        student=student,
        status=Submission.Status.SUBMITTED,
        submitted_at=when or timezone.now(),
        is_late=late,
    )


def new_panel(html: str) -> str:
    start = html.index('id="new-handins"')
    return html[start : html.index('id="to-mark"', start)]


def test_dashboard_lists_new_hand_ins_with_late_ones_called_out(assignment, teacher, student, classmate):
    _hand_in(assignment, student)
    _hand_in(assignment, classmate, late=True)

    panel = new_panel(client_for(teacher).get(reverse("teach:dashboard")).content.decode())
    assert assignment.exercise.title in panel
    assert "2 new" in panel
    assert "1 late" in panel


def test_opening_the_progress_page_clears_them_and_later_hand_ins_are_new(
    assignment, teacher, student, classmate
):
    _hand_in(assignment, student, when=timezone.now() - timedelta(minutes=5))
    teacher_client = client_for(teacher)
    assert teacher_client.get(reverse("teach:assignment-progress", args=[assignment.pk])).status_code == 200

    panel = new_panel(teacher_client.get(reverse("teach:dashboard")).content.decode())
    assert assignment.exercise.title not in panel
    assert "Nothing new" in panel

    _hand_in(assignment, classmate, late=True, when=timezone.now() + timedelta(seconds=1))
    panel = new_panel(teacher_client.get(reverse("teach:dashboard")).content.decode())
    assert "1 new" in panel
    assert "1 late" in panel


def test_each_teacher_has_their_own_last_visit(assignment, teacher, student):
    colleague = factories.make_teacher(username="co_teacher", school=teacher.school)
    assignment.classroom.teachers.add(colleague)
    _hand_in(assignment, student, when=timezone.now() - timedelta(minutes=5))

    client_for(teacher).get(reverse("teach:assignment-progress", args=[assignment.pk]))

    assert AssignmentVisit.objects.filter(teacher=teacher).count() == 1
    panel = new_panel(client_for(colleague).get(reverse("teach:dashboard")).content.decode())
    assert "1 new" in panel


def test_another_teachers_assignment_never_appears(assignment, other_class, other_teacher, outsider, teacher):
    theirs = factories.make_assignment(classroom=other_class)
    _hand_in(theirs, outsider)
    panel = new_panel(client_for(teacher).get(reverse("teach:dashboard")).content.decode())
    assert theirs.exercise.title not in panel
