"""A teacher resets a pupil's forgotten password: a one-time password, shown once; the pupil
logs in with it and must choose their own before anything else."""

import json
import logging

import pytest
from django.test import Client
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def _reset_url(classroom, pupil):
    return reverse("teach:class-student-password", args=[classroom.pk, pupil.pk])


def _one_time_password(page: str) -> str:
    return page.split('id="one-time-password"><code>')[1].split("</code>")[0]


def test_the_pupil_logs_in_with_the_one_time_password_and_must_choose_their_own(
    teacher_client, school_class, student, caplog
):
    class_page = teacher_client.get(reverse("teach:class-detail", args=[school_class.pk])).text
    assert _reset_url(school_class, student) in class_page
    assert "one-time password" in teacher_client.get(_reset_url(school_class, student)).text
    with caplog.at_level(logging.WARNING, logger="provenance.security"):
        page = teacher_client.post(_reset_url(school_class, student)).text
    password = _one_time_password(page)
    assert "shown only once" in page
    record = next(r for r in caplog.records if getattr(r, "event", "") == "password_reset")
    assert record.target_user_id == student.pk and password not in record.getMessage()

    pupil = Client()
    response = pupil.post(reverse("accounts:login"), {"username": student.username, "password": password})
    assert response.status_code == 302
    # Every page but "choose your password" (and logging out) sends them there.
    choose = reverse("accounts:password-choose")
    for path in (reverse("learn:assignment-list"), reverse("home"), reverse("accounts:join")):
        assert pupil.get(path)["Location"] == choose, path
    htmx = pupil.get(reverse("learn:assignment-list"), headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"] == choose
    assert "Choose your password" in pupil.get(choose).text

    same = pupil.post(choose, {"new_password1": password, "new_password2": password})
    assert "not the one your teacher gave you" in same.text
    done = pupil.post(choose, {"new_password1": "my-own-secret-42", "new_password2": "my-own-secret-42"})
    assert done["Location"] == reverse("home")
    assert pupil.get(reverse("learn:assignment-list")).status_code == 200  # still logged in, free to go
    student.refresh_from_db()
    assert not student.must_change_password and student.check_password("my-own-secret-42")
    assert not student.check_password(password)


def test_the_old_password_and_open_sessions_stop_working(teacher_client, school_class, student):
    elsewhere = Client()
    elsewhere.force_login(student)
    assert elsewhere.get(reverse("learn:assignment-list")).status_code == 200
    teacher_client.post(_reset_url(school_class, student))
    assert elsewhere.get(reverse("learn:assignment-list"))["Location"].startswith(reverse("accounts:login"))


def test_only_pupils_of_ones_own_classes(teacher_client, school_class, student):
    other_class = factories.make_classroom(name="Someone else's")
    stranger = factories.make_student(username="stranger")
    other_class.enrollments.create(student=stranger)
    for classroom, pupil in ((other_class, stranger), (school_class, stranger)):
        assert teacher_client.get(_reset_url(classroom, pupil)).status_code == 404
        assert teacher_client.post(_reset_url(classroom, pupil)).status_code == 404
    stranger.refresh_from_db()
    assert not stranger.must_change_password


def test_the_log_in_page_says_how_to_get_back_in(client):
    page = client.get(reverse("accounts:login")).text
    assert "Ask your teacher for a one-time password" in page


def test_the_security_log_line_is_json_without_the_password(teacher_client, school_class, student, caplog):
    from config.logging import JsonFormatter

    with caplog.at_level(logging.WARNING, logger="provenance.security"):
        page = teacher_client.post(_reset_url(school_class, student)).text
    record = next(r for r in caplog.records if getattr(r, "event", "") == "password_reset")
    line = json.loads(JsonFormatter().format(record))
    assert line["target_user_id"] == student.pk and line["outcome"] == "ok"
    assert _one_time_password(page) not in json.dumps(line)
