import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from analysis.models import Mark, MarkChange, Response, Submission
from tests import factories

pytestmark = pytest.mark.django_db


def test_student_downloads_their_own_work_and_only_released_marks(client, student, assignment, classmate):
    mine = factories.make_submission(
        assignment=assignment, student=student, answers={0: "Written by the CEC."}
    )
    factories.make_evidence(response=mine.responses.get(question__position=0))
    factories.make_mark(response=mine.responses.get(question__position=0), comment="Draft comment")
    factories.make_submission(
        assignment=assignment, student=classmate, answers={0: "Classmate's secret answer"}
    )
    client.force_login(student)
    response = client.get(reverse("learn:my-data"))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["account"]["username"] == student.username
    answers = data["work"][0]["answers"]
    assert answers[0]["text"] == "Written by the CEC."
    assert answers[0]["evidence"][0]["quote"]
    assert answers[0]["mark"] is None  # a draft mark is not released yet
    assert "Classmate's secret answer" not in response.text
    assert "Teacher-only indicative content" not in response.text

    Submission.objects.filter(pk=mine.pk).update(
        status=Submission.Status.RETURNED, submitted_at=timezone.now()
    )
    data = json.loads(client.get(reverse("learn:my-data")).content)
    assert data["work"][0]["answers"][0]["mark"]["comment"] == "Draft comment"


def test_teachers_have_no_student_data_download(teacher_client):
    assert teacher_client.get(reverse("learn:my-data")).status_code == 404


def test_site_admin_deletes_a_student_and_all_their_work_after_confirming(admin_client, assignment, student):
    submission = factories.make_submission(assignment=assignment, student=student, answers={0: "text"})
    response = submission.responses.get(question__position=0)
    factories.make_evidence(response=response)
    mark = factories.make_mark(response=response)
    MarkChange.objects.create(mark=mark, to_marks=3)
    url = reverse("admin:accounts_user_delete", args=[student.pk])
    confirm = admin_client.get(url)
    assert confirm.status_code == 200 and "Are you sure" in confirm.text
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not User.objects.filter(pk=student.pk).exists()
    assert not Submission.objects.filter(pk=submission.pk).exists()
    assert not Response.objects.filter(pk=response.pk).exists()
    assert not Mark.objects.filter(pk=mark.pk).exists()
    assert not MarkChange.objects.filter(mark_id=mark.pk).exists()


def test_retention_removes_only_drafts_of_long_archived_classes(assignment, student, classmate, outsider):
    draft = factories.make_submission(assignment=assignment, student=student, answers={0: "draft"})
    handed_in = factories.make_submission(assignment=assignment, student=classmate, status="submitted")
    live_class_draft = factories.make_submission(student=outsider)
    classroom = assignment.classroom
    classroom.archived_at = timezone.now() - timedelta(days=200)
    classroom.save()
    call_command("purge_drafts", "--days", "180")
    assert not Submission.objects.filter(pk=draft.pk).exists()
    assert Submission.objects.filter(pk=handed_in.pk).exists()
    assert Submission.objects.filter(pk=live_class_draft.pk).exists()


def test_retention_keeps_drafts_of_recently_archived_classes(assignment, student):
    draft = factories.make_submission(assignment=assignment, student=student)
    assignment.classroom.archived_at = timezone.now() - timedelta(days=10)
    assignment.classroom.save()
    call_command("purge_drafts", "--days", "180")
    assert Submission.objects.filter(pk=draft.pk).exists()


def test_data_download_file_name_survives_a_non_latin_user_name(client):
    student = factories.make_student(username="名前")
    client.force_login(student)
    response = client.get(reverse("learn:my-data"))
    assert response.status_code == 200
    assert "filename*=utf-8''provenance-%E5%90%8D%E5%89%8D" in response["Content-Disposition"]
