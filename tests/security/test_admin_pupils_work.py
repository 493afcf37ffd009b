"""Pupils' work is read-only in the admin, as marks are: a site admin can look at a hand-in and
its answers but cannot rewrite an answer, its version or the submission it belongs to."""

import pytest
from django.urls import reverse

from analysis.models import Response, Submission
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def work(db):
    submission = factories.make_submission(status=Submission.Status.SUBMITTED, answers={0: "As handed in."})
    return submission, submission.responses.get(question__position=0)


@pytest.fixture
def admin_client(client):
    client.force_login(factories.make_teacher(is_staff=True, is_superuser=True))
    return client


def test_an_answer_cannot_be_rewritten(admin_client, work):
    submission, answer = work
    url = reverse("admin:analysis_response_change", args=[answer.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and "As handed in." in page.text
    assert 'name="text"' not in page.text
    other = factories.make_submission(status=Submission.Status.SUBMITTED)
    response = admin_client.post(
        url,
        {
            "submission": other.pk,
            "question": answer.question_id,
            "text": "Rewritten by an admin.",
            "version": 99,
        },
    )
    assert response.status_code == 403
    answer.refresh_from_db()
    assert (answer.text, answer.version, answer.submission_id) == ("As handed in.", 1, submission.pk)


def test_a_submission_cannot_be_changed_or_added(admin_client, work):
    submission, _answer = work
    url = reverse("admin:analysis_submission_change", args=[submission.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"status": "in_progress", "overall_comment": "x"})
    assert response.status_code == 403
    submission.refresh_from_db()
    assert submission.status == Submission.Status.SUBMITTED
    assert admin_client.get(reverse("admin:analysis_submission_add")).status_code == 403
    assert admin_client.get(reverse("admin:analysis_response_add")).status_code == 403


def test_deleting_a_pupil_still_takes_their_work(admin_client, work):
    submission, _answer = work
    pupil = submission.student
    response = admin_client.post(reverse("admin:accounts_user_delete", args=[pupil.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Response.objects.filter(submission__student_id=pupil.pk).exists()
