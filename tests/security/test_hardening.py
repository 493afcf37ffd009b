"""Limits that keep anonymous requests cheap, the session cookie, and what the security log keeps.

- failed log-ins are limited per address (successes never count), before any hashing;
- at most ``PASSWORD_HASH_CONCURRENCY`` password hashes run at once in a process, and a log-in
  that finds none free is answered 503 at once;
- a body larger than its path needs is refused 413 before it is read;
- the session cookie ends with the browser;
- the security log keeps a keyed hash of typed user names and the proxy-correct address.
"""

import hashlib
import time

import pytest
from django.urls import reverse
from django.utils.crypto import salted_hmac

from accounts import throttle
from config.limits import body_limit
from tests import factories

pytestmark = pytest.mark.django_db

LOGIN = "accounts:login"
KIB, MIB = 1024, 1024 * 1024


def _login(client, username, password, address="192.0.2.1"):
    return client.post(reverse(LOGIN), {"username": username, "password": password}, REMOTE_ADDR=address)


class TestFailedLoginsPerAddress:
    def test_the_limit_refuses_the_address_whatever_the_user_names(self, client, settings):
        settings.LOGIN_FAILURE_RATE = "5/15m"
        factories.make_student(username="pupil_ok", password="right-password-1917")
        statuses = [_login(client, f"someone{n}", "wrong").status_code for n in range(5)]
        assert statuses == [200] * 5
        refused = _login(client, "pupil_ok", "right-password-1917")
        assert refused.status_code == 429
        assert int(refused["Retry-After"]) > 0
        assert "Too many wrong passwords" in refused.text
        # Another address is not affected.
        assert _login(client, "pupil_ok", "right-password-1917", address="192.0.2.2").status_code == 302

    def test_successes_never_count(self, client, settings):
        settings.LOGIN_FAILURE_RATE = "2/15m"
        factories.make_student(username="pupil_ok", password="right-password-1917")
        for _ in range(6):
            assert _login(client, "pupil_ok", "right-password-1917").status_code == 302
            client.logout()
        assert _login(client, "pupil_ok", "wrong").status_code == 200

    def test_a_refused_address_costs_no_password_hash(self, client, settings, monkeypatch):
        settings.LOGIN_FAILURE_RATE = "1/15m"
        _login(client, "someone", "wrong")
        hashed = []
        monkeypatch.setattr(
            "django.contrib.auth.hashers.MD5PasswordHasher.encode",
            lambda self, *args: hashed.append(1) or "md5$x$y",
        )
        assert _login(client, "someone", "wrong").status_code == 429
        assert hashed == []


class TestPasswordHashSlots:
    def test_a_log_in_with_no_free_slot_is_refused_quickly_without_hashing(self, client, settings):
        settings.PASSWORD_HASH_CONCURRENCY = 1
        settings.PASSWORD_HASH_WAIT = 0.05
        factories.make_student(username="pupil_ok", password="right-password-1917")
        semaphore = throttle._semaphore()
        assert semaphore.acquire(timeout=1)  # another request is hashing
        try:
            started = time.monotonic()
            response = _login(client, "pupil_ok", "right-password-1917")
            elapsed = time.monotonic() - started
        finally:
            semaphore.release()
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
        assert "busy" in response.text
        assert elapsed < 1.0
        # With the slot free again the same log-in works.
        assert _login(client, "pupil_ok", "right-password-1917").status_code == 302

    def test_a_sign_up_with_no_free_slot_creates_nothing(self, client, settings):
        settings.PASSWORD_HASH_CONCURRENCY = 0  # none free
        classroom = factories.make_classroom()
        response = client.post(
            reverse("accounts:signup"),
            {
                "join_code": classroom.join_code,
                "first_name": "Ada",
                "username": "ada_new",
                "password1": "red-kite-fortress-42",
                "password2": "red-kite-fortress-42",
            },
        )
        assert response.status_code == 503
        assert not classroom.enrollments.exists()


class _Unreadable:
    """A request body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


class TestRequestBodyLimit:
    def test_an_oversized_login_post_is_refused_before_the_body_is_read(self, client):
        response = client.generic(
            "POST",
            reverse(LOGIN),
            CONTENT_TYPE="multipart/form-data; boundary=xyz",
            CONTENT_LENGTH=str(50 * MIB),
            **{"wsgi.input": _Unreadable()},
        )
        assert response.status_code == 413
        assert "too large" in response.text and "64 KiB" in response.text

    def test_an_oversized_autosave_is_refused(self, client):
        student = factories.make_student()
        client.force_login(student)
        response = client.post("/learn/", {"text": "x" * (300 * KIB)})
        assert response.status_code == 413

    def test_the_refusal_is_logged(self, client, no_secrets_in_logs):
        client.post(reverse(LOGIN), {"username": "u", "password": "p" * (70 * KIB)})
        (record,) = no_secrets_in_logs.security(status=413)
        assert record.outcome == "body_too_large"

    def test_ordinary_forms_pass(self, client):
        factories.make_student(username="pupil_ok", password="right-password-1917")
        assert _login(client, "pupil_ok", "right-password-1917").status_code == 302

    @pytest.mark.parametrize(
        ("path", "limit"),
        [
            ("/accounts/login/", 64 * KIB),
            ("/accounts/signup/", 64 * KIB),
            ("/admin/analysis/source/upload/", 12 * MIB),
            ("/teach/classes/12/roster/", 12 * MIB),
            ("/teach/sources/3/images/", 12 * MIB),
            ("/learn/assignments/1/responses/2/save/", 256 * KIB),
        ],
    )
    def test_the_table_gives_upload_paths_room(self, path, limit):
        assert body_limit(path) == limit

    def test_the_table_is_a_setting(self, settings):
        settings.REQUEST_BODY_LIMITS = [(r"^/accounts/", 10)]
        assert body_limit("/accounts/login/") == 10


def test_the_session_cookie_ends_with_the_browser(client):
    factories.make_student(username="pupil_ok", password="right-password-1917")
    response = _login(client, "pupil_ok", "right-password-1917")
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["expires"] == "" and cookie["max-age"] == ""


class TestSecurityLog:
    def test_user_names_are_hashed_with_a_key(self, settings):
        from config.logging import username_hash

        digest = username_hash("pupil_a1")
        assert digest != hashlib.sha256(b"pupil_a1").hexdigest()
        assert not hashlib.sha256(b"pupil_a1").hexdigest().startswith(digest[:16])
        assert (
            digest
            == salted_hmac("provenance.security-log.username", "pupil_a1", algorithm="sha256").hexdigest()
        )
        settings.SECRET_KEY = "another-secret-key-" * 3
        assert username_hash("pupil_a1") != digest

    def test_failed_login_records_the_proxy_correct_address(self, client, settings, no_secrets_in_logs):
        from config.logging import username_hash

        settings.PROXY_COUNT = 1
        client.post(
            reverse(LOGIN),
            {"username": "pupil_a1", "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",
            headers={"X-Forwarded-For": "198.51.100.4, 203.0.113.50"},
        )
        (record,) = no_secrets_in_logs.security(event="login_failed")
        assert record.client_ip == "203.0.113.50"
        assert record.username_hash == username_hash("pupil_a1")

    def test_refused_requests_record_the_address(self, client, no_secrets_in_logs):
        client.force_login(factories.make_student())
        client.get("/teach/", REMOTE_ADDR="192.0.2.77")
        (record,) = no_secrets_in_logs.security(event="refused")
        assert record.client_ip == "192.0.2.77"
