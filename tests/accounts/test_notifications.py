"""The notification settings page: each user switches their own digest and sets its address."""

import pytest
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db

URL = reverse("accounts:notifications")


@pytest.mark.parametrize("who", ["student", "teacher"])
def test_switching_the_digest_on_and_off(client, who, student, teacher):
    user = {"student": student, "teacher": teacher}[who]
    client.force_login(user)
    assert not User.objects.get(pk=user.pk).email_digest  # off until the user turns it on

    reply = client.post(URL, {"email_digest": "on", "email": "me@example.org"}, follow=True)
    assert "A digest goes to me@example.org" in reply.text
    user.refresh_from_db()
    assert user.email_digest and user.email == "me@example.org"

    reply = client.post(URL, {"email": "me@example.org"}, follow=True)
    assert "No digest e-mails will be sent" in reply.text
    user.refresh_from_db()
    assert not user.email_digest


def test_on_without_an_address_is_refused_with_a_message_and_nothing_saved(client, student):
    client.force_login(student)
    reply = client.post(URL, {"email_digest": "on", "email": ""})
    assert reply.status_code == 200
    assert "Give an e-mail address for the digest" in reply.text
    student.refresh_from_db()
    assert not student.email_digest


def test_a_malformed_address_is_refused_and_kept_in_the_form(client, student):
    client.force_login(student)
    reply = client.post(URL, {"email_digest": "on", "email": "<b>not an address</b>"})
    assert reply.status_code == 200
    assert "Enter a valid email address" in reply.text
    assert "<b>not an address</b>" not in reply.text  # escaped
    assert "&lt;b&gt;not an address&lt;/b&gt;" in reply.text
    student.refresh_from_db()
    assert not student.email_digest


def test_only_ones_own_row_changes(client, student, classmate):
    client.force_login(student)
    client.post(
        URL, {"email_digest": "on", "email": "me@example.org", "username": "hijack", "pk": classmate.pk}
    )
    classmate.refresh_from_db()
    student.refresh_from_db()
    assert not classmate.email_digest
    assert student.username == "student_a1"


def test_logged_out_goes_to_log_in(client):
    reply = client.get(URL)
    assert reply.status_code == 302
    assert reverse("accounts:login") in reply["Location"]
