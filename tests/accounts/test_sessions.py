from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests import factories

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _log_in(client, username="pupil"):
    factories.make_student(username=username, password="correct-horse")
    client.post(reverse("accounts:login"), {"username": username, "password": "correct-horse"})


def test_idle_session_ends_after_thirty_minutes(client):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _log_in(client)
        assert client.get(reverse("accounts:join")).status_code == 200
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        response = client.get(reverse("accounts:join"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_activity_every_few_minutes_keeps_the_session_alive(client):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _log_in(client)
    for minutes in range(20, 200, 20):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get(reverse("accounts:join")).status_code == 200


def test_absolute_limit_ends_even_an_active_session(client):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _log_in(client)
    for minutes in range(20, 12 * 60 + 40, 20):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            status = client.get(reverse("accounts:join")).status_code
    assert status == 302


def test_idle_expiry_on_an_htmx_request_answers_401_not_the_login_page(client):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _log_in(client)
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        response = client.get(reverse("accounts:join"), headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert "session-expired" in response["HX-Trigger"]


def test_deactivated_user_loses_their_session(client):
    _log_in(client)
    from accounts.models import User

    User.objects.filter(username="pupil").update(is_active=False)
    assert client.get(reverse("accounts:join")).status_code == 302


def test_replaying_a_logged_out_session_cookie_gets_the_login_page(client):
    _log_in(client)
    cookie = client.cookies["sessionid"].value
    client.post(reverse("accounts:logout"))
    client.cookies["sessionid"] = cookie
    response = client.get(reverse("accounts:join"))
    assert response.status_code == 302


def test_autosaves_alone_keep_a_pupil_typing_signed_in(client):
    """A pupil who only types (an autosave every 25 minutes, no page loads) stays signed in:
    every autosave counts as activity, although activity is written at most once a minute."""
    from accounts.models import User
    from analysis.classwork import services as work

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _log_in(client)
        pupil = User.objects.get(username="pupil")
        assignment = factories.make_assignment(classroom=factories.make_classroom(students=[pupil]))
        answer = work.submission_start(assignment=assignment, student=pupil).responses.first()
    url = reverse("learn:response-save", args=[assignment.pk, answer.pk])
    version = 0
    for minutes in (25, 50, 75, 100, 125, 154):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            reply = client.post(url, {"text": f"draft {minutes}", "version": version}, headers=HTMX)
        assert reply.status_code == 200, minutes
        version = reply.json()["version"]
    with time_machine.travel(start + timedelta(minutes=154 + 31), tick=False):
        reply = client.post(url, {"text": "after a break", "version": version}, headers=HTMX)
    assert reply.status_code == 401  # idle for 31 minutes: the session has ended
    answer.refresh_from_db()
    assert (answer.text, answer.version) == ("draft 154", version)
