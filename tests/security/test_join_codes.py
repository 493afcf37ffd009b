"""Sign-up and join codes: nothing said about other accounts before a valid code, wrong codes
limited per address and per pupil and each one logged, sign-ups limited per address and per
class, and two sign-ups racing for one user name answered with a message, not a server error."""

import pytest
from django.urls import reverse

from accounts.forms import StudentSignupForm
from accounts.models import Enrollment, User
from tests import factories

pytestmark = pytest.mark.django_db

SIGNUP = "accounts:signup"
JOIN = "accounts:join"


def _signup(code, username="newpupil", **overrides):
    return {
        "join_code": code,
        "first_name": "Nadia",
        "last_name": "Petrova",
        "username": username,
        "password1": "red-kite-fortress-42",
        "password2": "red-kite-fortress-42",
        **overrides,
    }


def _from(address):
    return {"REMOTE_ADDR": address}


@pytest.fixture
def classroom(db):
    return factories.make_classroom(name="Year 9 C", teacher=factories.make_teacher())


class TestNoEnumerationBeforeAValidCode:
    def test_a_taken_user_name_looks_like_a_free_one_without_a_valid_code(self, client):
        factories.make_student(username="known_pupil")
        taken = client.post(reverse(SIGNUP), _signup("WRONGCODE", username="known_pupil"))
        free = client.post(reverse(SIGNUP), _signup("WRONGCODE", username="nobody_here"))
        assert taken.status_code == free.status_code == 200
        assert taken.context["form"].errors == free.context["form"].errors
        assert "already exists" not in taken.text

    def test_case_variants_say_nothing_either(self, client):
        factories.make_student(username="Known_Pupil")
        response = client.post(reverse(SIGNUP), _signup("WRONGCODE", username="known_pupil"))
        assert list(response.context["form"].errors) == ["join_code"]

    def test_with_a_valid_code_a_taken_name_is_named(self, client, classroom):
        factories.make_student(username="known_pupil")
        response = client.post(reverse(SIGNUP), _signup(classroom.join_code, username="known_pupil"))
        assert "username" in response.context["form"].errors
        assert not Enrollment.objects.current().filter(classroom=classroom).exists()


class TestWrongCodes:
    def test_sign_up_wrong_codes_are_limited_per_address(self, client, classroom, settings):
        settings.JOIN_CODE_FAILURE_RATE = "5/h"
        statuses = [
            client.post(reverse(SIGNUP), _signup(f"WRONG{n:03}", username=f"p{n}"), **_from("192.0.2.10"))
            for n in range(6)
        ]
        assert [r.status_code for r in statuses] == [200] * 5 + [429]
        assert statuses[-1]["Retry-After"]
        # Even the right code is refused from that address until the window passes...
        refused = client.post(reverse(SIGNUP), _signup(classroom.join_code), **_from("192.0.2.10"))
        assert refused.status_code == 429
        assert not User.objects.filter(username="newpupil").exists()
        # ...while another address signs up as usual.
        other = client.post(reverse(SIGNUP), _signup(classroom.join_code), **_from("192.0.2.11"))
        assert other.status_code == 302

    def test_join_wrong_codes_are_limited_per_pupil(self, client, classroom, settings):
        settings.JOIN_CODE_FAILURE_RATE_PER_PUPIL = "3/h"
        guesser, classmate = factories.make_student(), factories.make_student()
        client.force_login(guesser)
        statuses = [client.post(reverse(JOIN), {"join_code": f"WRONG{n:03}"}).status_code for n in range(3)]
        assert statuses == [200, 200, 200]
        assert client.post(reverse(JOIN), {"join_code": classroom.join_code}).status_code == 429
        assert not Enrollment.objects.current().filter(student=guesser).exists()
        # The same address, another pupil: not limited by the first pupil's guesses.
        client.force_login(classmate)
        assert client.post(reverse(JOIN), {"join_code": classroom.join_code}).status_code == 302

    def test_join_wrong_codes_are_limited_per_address_across_pupils(self, client, classroom, settings):
        settings.JOIN_CODE_FAILURE_RATE = "4/h"
        for n in range(4):
            client.force_login(factories.make_student())
            assert client.post(reverse(JOIN), {"join_code": f"WRONG{n:03}"}).status_code == 200
        client.force_login(factories.make_student())
        assert client.post(reverse(JOIN), {"join_code": classroom.join_code}).status_code == 429

    def test_each_wrong_code_leaves_one_security_record(
        self, client, classroom, no_secrets_in_logs, settings
    ):
        settings.PROXY_COUNT = 1
        for n in range(3):
            client.post(
                reverse(SIGNUP),
                _signup(f"WRONG{n:03}", username=f"p{n}"),
                headers={"X-Forwarded-For": "198.51.100.23"},
            )
        client.force_login(factories.make_student())
        client.post(reverse(JOIN), {"join_code": "WRONG999"})
        records = no_secrets_in_logs.security(event="join_code_refused")
        assert len(records) == 4
        assert {r.outcome for r in records} == {"wrong_join_code"}
        assert [r.client_ip for r in records[:3]] == ["198.51.100.23"] * 3
        assert {r.path for r in records} == {"/accounts/signup/", "/accounts/join/"}

    def test_the_refusal_after_the_limit_is_logged(self, client, classroom, no_secrets_in_logs, settings):
        settings.JOIN_CODE_FAILURE_RATE = "1/h"
        client.post(reverse(SIGNUP), _signup("WRONG001"))
        assert client.post(reverse(SIGNUP), _signup("WRONG002")).status_code == 429
        (record,) = no_secrets_in_logs.security(outcome="join_code_rate_limited")
        assert record.status == 429


class TestSignupLimits:
    def test_sign_up_posts_are_limited_per_address(self, client, classroom, settings):
        settings.SIGNUP_RATE = "3/h"
        codes = [
            client.post(
                reverse(SIGNUP), _signup(classroom.join_code, password2="different"), **_from("192.0.2.5")
            )
            for _ in range(4)
        ]
        assert [r.status_code for r in codes] == [200, 200, 200, 429]
        assert codes[-1]["Retry-After"]
        assert (
            client.post(reverse(SIGNUP), _signup(classroom.join_code), **_from("192.0.2.6")).status_code
            == 302
        )

    def test_new_accounts_per_class_are_capped(self, client, classroom, settings, no_secrets_in_logs):
        settings.SIGNUPS_PER_CLASS_RATE = "2/h"
        for n in range(2):
            client.logout()
            response = client.post(reverse(SIGNUP), _signup(classroom.join_code, username=f"pupil{n}"))
            assert response.status_code == 302
        client.logout()
        capped = client.post(reverse(SIGNUP), _signup(classroom.join_code, username="pupil_extra"))
        assert capped.status_code == 429
        assert "Ask your teacher" in capped.text
        assert not User.objects.filter(username="pupil_extra").exists()
        assert Enrollment.objects.current().filter(classroom=classroom).count() == 2
        assert no_secrets_in_logs.security(outcome="class_signup_cap")
        # Another class's code is not affected.
        other = factories.make_classroom()
        assert (
            client.post(reverse(SIGNUP), _signup(other.join_code, username="pupil_other")).status_code == 302
        )


def test_two_sign_ups_racing_for_one_user_name_get_a_message_not_a_server_error(
    client, classroom, monkeypatch
):
    """The other sign-up commits the same user name after this one's form checked it."""
    original = StudentSignupForm.is_valid

    def is_valid_then_lose_the_race(self):
        valid = original(self)
        if valid:
            factories.make_student(username=self.cleaned_data["username"])
        return valid

    monkeypatch.setattr(StudentSignupForm, "is_valid", is_valid_then_lose_the_race)
    response = client.post(reverse(SIGNUP), _signup(classroom.join_code, username="racer"))
    assert response.status_code == 200
    assert "just been taken" in response.text
    assert User.objects.filter(username="racer").count() == 1
    assert not Enrollment.objects.current().filter(classroom=classroom).exists()


def test_signup_page_is_never_stored(client):
    response = client.get(reverse(SIGNUP))
    assert "no-store" in response["Cache-Control"]
