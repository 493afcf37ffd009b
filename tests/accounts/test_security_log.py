import json
import logging

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def _records(caplog):
    return [r for r in caplog.records if r.name == "provenance.security"]


def test_failed_login_is_logged_once_without_the_password(client, caplog):
    factories.make_student(username="pupil", password="right")
    with caplog.at_level(logging.INFO, logger="provenance.security"):
        client.post(reverse("accounts:login"), {"username": "pupil", "password": "Secret-Marker-123"})
    failed = [r for r in _records(caplog) if r.event == "login_failed"]
    assert len(failed) == 1
    from config.logging import JsonFormatter

    line = JsonFormatter().format(failed[0])
    assert "Secret-Marker-123" not in line and "pupil" not in line
    assert json.loads(line)["event"] == "login_failed"


def test_refused_request_is_logged_with_user_path_and_request_id(client, caplog):
    student = factories.make_student()
    client.force_login(student)
    with caplog.at_level(logging.INFO, logger="provenance.security"):
        response = client.get(reverse("teach:dashboard"))
    assert response.status_code == 404
    (record,) = [r for r in _records(caplog) if r.event == "refused"]
    assert record.user_id == student.pk
    assert record.path == "/teach/"
    assert record.request_id == response["X-Request-ID"]
