"""T13: each refused request and each failed log-in leaves exactly one structured record on the
``provenance.security`` logger (who, what path, which request, what outcome), and no password
or payload text ever reaches a log line.

The "never in a log" half runs in every test of this folder (``no_secrets_in_logs`` in the
conftest); the last test here shows that check can fail.
"""

import json
import logging

import pytest
from django.urls import reverse

from config.logging import JsonFormatter
from tests.security.conftest import PASSWORD, client_for, log_secrets, rolled_back

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _only(records, **fields):
    assert len(records) == 1, f"expected one record, got {len(records)}: {[r.__dict__ for r in records]}"
    (record,) = records
    line = json.loads(JsonFormatter().format(record))
    for key, value in fields.items():
        assert line.get(key) == value, (key, line)
    assert line["request_id"]
    return line


def test_failed_login_is_one_record_without_the_password_or_user_name(world, no_secrets_in_logs):
    typed = "Wr0ng-Pass-Marker-9f3a"
    log_secrets(typed)
    with rolled_back():
        response = client_for(world, "anonymous").post(
            reverse("accounts:login"), {"username": "pupil_a1", "password": typed}
        )
    assert response.status_code == 200
    line = _only(
        no_secrets_in_logs.security(event="login_failed"), event="login_failed", path="/accounts/login/"
    )
    assert "pupil_a1" not in json.dumps(line) and line["username_hash"]


def test_lockout_is_one_record_per_attempt(world, no_secrets_in_logs, settings):
    settings.AXES_FAILURE_LIMIT = 3
    with rolled_back():
        client = client_for(world, "anonymous")
        responses = [
            client.post(reverse("accounts:login"), {"username": "pupil_b", "password": f"guess-{n}"})
            for n in range(4)
        ]
    assert [r.status_code for r in responses] == [200, 200, 429, 429]
    records = no_secrets_in_logs.security()
    assert len(records) == 4, "one record per attempt, the locked-out ones included"
    assert [r.outcome for r in records] == ["failed", "failed", "locked_out", "locked_out"]
    assert [r.request_id for r in records] == [r["X-Request-ID"] for r in responses]


@pytest.mark.parametrize(
    ("principal", "url"),
    [
        ("a1", lambda w: reverse("teach:dashboard")),  # another role's page
        ("b", lambda w: reverse("learn:workspace", args=[w.assignment_a.pk])),  # another class's work
        ("teacher_b", lambda w: reverse("teach:submission-mark", args=[w.assignment_a.pk, w.sub_a1.pk])),
        ("a2", lambda w: "/no/such/page/"),
    ],
    ids=["wrong role", "other class", "other teacher", "no such page"],
)
def test_404_is_one_record_with_user_path_and_request_id(world, no_secrets_in_logs, principal, url):
    response = client_for(world, principal).get(url(world))
    assert response.status_code == 404
    line = _only(no_secrets_in_logs.security(), event="refused", status=404, outcome="Not Found")
    assert line["user_id"] == world.users[principal].pk
    assert line["path"] == url(world)
    assert line["request_id"] == response["X-Request-ID"]


def test_csrf_failure_is_one_record(world, no_secrets_in_logs):
    client = client_for(world, "a2", enforce_csrf_checks=True)
    response = client.post(reverse("accounts:join"), {"join_code": "ABCDEFGH"})
    assert response.status_code == 403
    line = _only(no_secrets_in_logs.security(), event="refused", status=403, outcome="Forbidden")
    assert line["method"] == "POST" and line["path"] == "/accounts/join/"


def test_admin_refusal_is_one_record(world, no_secrets_in_logs):
    client = client_for(world, "admin")
    with rolled_back():
        response = client.get(reverse("admin:analysis_mark_add"))  # marks belong to teachers
    assert response.status_code == 403
    _only(no_secrets_in_logs.security(), event="refused", status=403)


def test_conflict_is_one_record_without_the_answer_text(world, no_secrets_in_logs):
    answer = world.response(world.sub_a2, 1)
    typed = "Autosave text marker 7c1e that must stay out of logs"
    log_secrets(typed)
    url = reverse("learn:response-save", args=[world.assignment_a.pk, answer.pk])
    with rolled_back():
        response = client_for(world, "a2").post(
            url, {"text": typed, "version": answer.version + 5}, headers=HTMX
        )
    assert response.status_code == 409
    line = _only(no_secrets_in_logs.security(), event="refused", status=409, outcome="Conflict")
    assert line["user_id"] == world.users["a2"].pk


def test_a_request_that_succeeds_leaves_no_security_record(world, no_secrets_in_logs):
    assert client_for(world, "a1").get(reverse("learn:assignment-list")).status_code == 200
    assert no_secrets_in_logs.security() == []


def test_the_log_scan_catches_a_leak(no_secrets_in_logs):
    """The scan that guards every test here really looks: a registered secret in a log line is
    found (and then removed so that this test itself passes)."""
    log_secrets(PASSWORD)
    logging.getLogger("provenance.security").warning("oops %s", PASSWORD)
    assert any(PASSWORD in line for line in no_secrets_in_logs.lines)
    no_secrets_in_logs.lines.clear()
