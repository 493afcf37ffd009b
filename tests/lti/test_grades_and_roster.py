"""Grades to the platform's gradebook (AGS) through the outbox and the worker, with retries the
teacher can see; the roster from the platform's membership service (NRPS)."""

import json

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from accounts.models import Enrollment
from analysis.classwork.services import submission_submit
from analysis.marking.services import mark_save, marks_release
from analysis.models import Submission
from lti import tasks
from lti.models import Course, GradePost, LtiIdentity, ResourceLink
from lti.services import roster_sync
from tests import factories
from tests.lti.conftest import ISS, MEMBERSHIP, FakeResponse
from tests.worker import run_worker

pytestmark = pytest.mark.django_db

LINEITEM = ISS + "/ags/lineitems/7"


class FakePlatform:
    """The platform's token, AGS and NRPS endpoints, answering as told."""

    def __init__(self):
        self.headers = {}
        self.scores = []
        self.fail_scores = 0
        self.members = []

    def post(self, url, data=None, headers=None, **kwargs):
        if url.endswith("/token"):
            return FakeResponse({"access_token": "token", "token_type": "bearer", "expires_in": 3600})
        assert url == LINEITEM + "/scores", url
        if self.fail_scores:
            self.fail_scores -= 1
            return FakeResponse({"error": "unavailable"}, status=503)
        self.scores.append(json.loads(data))
        return FakeResponse({})

    def get(self, url, headers=None, **kwargs):
        return FakeResponse({"members": self.members})


@pytest.fixture
def lms(monkeypatch, platform):
    fake = FakePlatform()
    monkeypatch.setattr("lti.tool._http_session", lambda: fake)
    return fake


@pytest.fixture
def linked(platform):
    """An LMS course's class with one linked learner who has handed in work with one mark."""
    teacher = factories.make_teacher()
    classroom = factories.make_classroom(teacher=teacher)
    course = Course.objects.create(
        platform=platform,
        context_id="c1",
        classroom=classroom,
        lineitems_url=ISS + "/ags/lineitems",
        memberships_url=ISS + "/nrps",
        ags_scopes=["https://purl.imsglobal.org/spec/lti-ags/scope/score"],
    )
    assignment = factories.make_assignment(classroom=classroom)
    ResourceLink.objects.create(
        course=course, assignment=assignment, resource_link_id="rl", lineitem_url=LINEITEM
    )
    pupil = factories.make_student(first_name="Sam")
    Enrollment.objects.create(classroom=classroom, student=pupil)
    LtiIdentity.objects.create(user=pupil, platform=platform, issuer=ISS, sub="sam-sub")
    submission = factories.make_submission(assignment=assignment, student=pupil, answers={0: "An answer."})
    return {
        "teacher": teacher,
        "course": course,
        "assignment": assignment,
        "pupil": pupil,
        "submission": submission,
    }


def _hand_in_and_release(linked, django_capture_on_commit_callbacks):
    submission = linked["submission"]
    with django_capture_on_commit_callbacks(execute=True):
        submission_submit(submission=submission)
    answer = submission.responses.get(question__position=0)
    mark_save(response=answer, marker=linked["teacher"], level=2, marks=3, comment="Clear.")
    with django_capture_on_commit_callbacks(execute=True):
        marks_release(assignment=linked["assignment"], by=linked["teacher"])


def test_hand_in_then_release_post_the_right_progress_at_each_step(
    lms, linked, django_capture_on_commit_callbacks
):
    _hand_in_and_release(linked, django_capture_on_commit_callbacks)
    run_worker()
    submitted, returned = lms.scores
    assert submitted["userId"] == "sam-sub"
    assert (submitted["activityProgress"], submitted["gradingProgress"]) == ("Submitted", "Pending")
    assert "scoreGiven" not in submitted
    assert (returned["activityProgress"], returned["gradingProgress"]) == ("Completed", "FullyGraded")
    total = linked["assignment"].exercise.total_marks
    assert (returned["scoreGiven"], returned["scoreMaximum"]) == (3, total)
    assert returned["comment"] == "Q1: Clear."


def test_a_failed_post_is_recorded_retried_later_and_shown_to_the_teacher(
    lms, linked, django_capture_on_commit_callbacks, client
):
    lms.fail_scores = 10
    _hand_in_and_release(linked, django_capture_on_commit_callbacks)
    run_worker()
    posts = GradePost.objects.order_by("pk")
    assert [(p.status, p.attempts) for p in posts] == [("pending", 1), ("pending", 1)]
    assert "503" in posts[0].last_error
    later = DBTaskResult.objects.filter(status="READY")
    assert later.count() == 2 and all(r.run_after > posts[0].updated_at for r in later)
    # The last attempt leaves it failed, on the grid, with a way to send again.
    for post in posts:
        post.attempts = tasks.MAX_ATTEMPTS - 1
        post.save()
        tasks.grade_post_send.call(post.pk)
    assert set(GradePost.objects.values_list("status", flat=True)) == {"failed"}
    client.force_login(linked["teacher"])
    page = client.get(reverse("teach:assignment-progress", args=[linked["assignment"].pk]))
    assert "2 scores could not be sent to the LMS after several tries." in page.content.decode()
    lms.fail_scores = 0
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("lti:grades-resend", args=[linked["assignment"].pk]))
    run_worker()
    assert set(GradePost.objects.values_list("status", flat=True)) == {"sent"}
    # Newest first: the released mark arrives; the stale hand-in notice is not sent over it.
    assert [s["activityProgress"] for s in lms.scores] == ["Completed"]
    assert GradePost.objects.get(step="submitted").last_error == "Superseded by a newer score."


def test_work_without_an_lti_link_queues_nothing(lms, linked, django_capture_on_commit_callbacks):
    ResourceLink.objects.all().delete()
    _hand_in_and_release(linked, django_capture_on_commit_callbacks)
    assert not GradePost.objects.exists() and not DBTaskResult.objects.exists()
    assert Submission.objects.get().status == Submission.Status.RETURNED


def _member(sub, first, role="Learner", status="Active"):
    return {
        "user_id": sub,
        "given_name": first,
        "family_name": "X",
        "roles": [MEMBERSHIP + role],
        "status": status,
    }


def test_roster_sync_adds_and_ends_enrolments_without_touching_work(lms, linked):
    course, pupil = linked["course"], linked["pupil"]
    code_joiner = factories.make_student()
    Enrollment.objects.create(classroom=course.classroom, student=code_joiner)
    lms.members = [_member("new-sub", "Lina"), _member("teacher-sub", "Ada", role="Instructor")]
    result = roster_sync(course=course)
    assert result.added == ["Lina X"] and result.removed == [pupil.display_name]
    current = set(
        Enrollment.objects.current()
        .filter(classroom=course.classroom)
        .values_list("student__first_name", flat=True)
    )
    assert current == {"Lina", code_joiner.first_name}  # Sam's enrolment ended; the code joiner stays
    assert Submission.objects.filter(student=pupil).exists()  # Sam's work stays
    assert not LtiIdentity.objects.filter(sub="teacher-sub").exists()  # instructors are not pupils
