"""T5: security headers and production settings.

Every response of the permission matrix (T1) goes through ``header_problems`` in
``test_permission_matrix.test_matrix_row``; here: the admin's pages and the error pages, the
check itself, ``check --deploy`` with production settings, ``__Host-`` Secure cookies in
production, and log-out telling the browser to clear what it kept.
"""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.security.conftest import PASSWORD, client_for
from tests.security.html_audit import Recorded, header_problems
from tests.security.test_permission_matrix import STAFF_PAGES

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]


def test_header_check_flags_a_bare_response():
    """The check every matrix response goes through (in test_permission_matrix) can fail."""
    bare = Recorded(
        label="bare", authenticated=True, status=200, headers={}, content_type="text/html", body=""
    )
    problems = " ".join(header_problems(bare))
    for missing in ("Content-Security-Policy", "nosniff", "Referrer-Policy", "COOP", "no-store"):
        assert missing in problems


def _record(response, label):
    return Recorded.of(response, label)


def test_admin_and_error_pages_carry_the_security_headers(world):
    admin = client_for(world, "admin")
    recordings = [_record(admin.get(reverse(name)), name) for name in STAFF_PAGES]
    pupil = client_for(world, "a1")
    recordings.append(_record(pupil.get("/no/such/page/"), "404 page"))
    recordings.append(_record(pupil.get(reverse("teach:dashboard")), "404 for the wrong role"))
    csrf_client = client_for(world, "a1", enforce_csrf_checks=True)
    recordings.append(_record(csrf_client.post(reverse("accounts:join"), {}), "CSRF failure page"))
    problems = [p for recorded in recordings for p in header_problems(recorded)]
    assert not problems, "\n".join(problems)
    assert recordings[-1].status == 403


def test_logout_tells_the_browser_to_clear_site_data(world):
    client = client_for(world, "a2")
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    cleared = {part.strip() for part in response["Clear-Site-Data"].split(",")}
    assert {'"cache"', '"storage"'} <= cleared
    assert client.get(reverse("learn:assignment-list")).status_code == 302  # and the session is gone


# --- Production settings, in a separate process with production environment variables -------------


def _production_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="provenance.example.org",
        DJANGO_LOG_LEVEL="ERROR",
        **extra,
    )
    return env


@pytest.mark.parametrize(
    ("extra", "silenced"),
    [
        # One process, LocMem: django-ratelimit's "not shared" error and "unsupported" warning.
        ({}, 2),
        # With Redis, Django's RedisCache is shared and atomic: only the "unsupported" warning.
        ({"REDIS_URL": "redis://127.0.0.1:6379/0"}, 1),
    ],
)
def test_check_deploy_passes_with_production_settings(extra, silenced):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=_production_env(**extra),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"({silenced} silenced)" in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = _production_env()
    del env["DJANGO_SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
names = [
    "DEBUG", "SESSION_COOKIE_NAME", "CSRF_COOKIE_NAME", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE", "SESSION_COOKIE_DOMAIN",
    "CSRF_COOKIE_DOMAIN", "SESSION_COOKIE_PATH", "CSRF_COOKIE_PATH", "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS", "SECURE_PROXY_SSL_HEADER", "SECURE_CSP_REPORT_ONLY", "CACHES", "SESSION_ENGINE",
]
print(json.dumps({n: getattr(s, n) for n in names}, default=str))
"""


def test_production_cookies_are_host_prefixed_and_secure():
    result = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=BASE_DIR,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    prod = json.loads(result.stdout)
    assert prod["DEBUG"] is False
    for kind in ("SESSION", "CSRF"):
        # A __Host- cookie is only accepted by browsers when Secure, with Path=/ and no Domain.
        assert prod[f"{kind}_COOKIE_NAME"].startswith("__Host-")
        assert prod[f"{kind}_COOKIE_SECURE"] is True
        assert prod[f"{kind}_COOKIE_DOMAIN"] is None
        assert prod[f"{kind}_COOKIE_PATH"] == "/"
        assert prod[f"{kind}_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert prod["SESSION_COOKIE_HTTPONLY"] is True
    assert prod["SECURE_SSL_REDIRECT"] is True
    assert int(prod["SECURE_HSTS_SECONDS"]) >= 31_536_000
    assert not prod["SECURE_CSP_REPORT_ONLY"], "production enforces the CSP, it does not only report"


def test_login_sets_host_prefixed_cookies_under_production_cookie_settings(world, settings):
    settings.SESSION_COOKIE_NAME = "__Host-sessionid"
    settings.CSRF_COOKIE_NAME = "__Host-csrftoken"
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    client = client_for(world, "anonymous", slot=2)
    page = client.get(reverse("accounts:login"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    response = client.post(
        reverse("accounts:login"),
        {"username": "pupil_a1", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    for name in ("__Host-sessionid", "__Host-csrftoken"):
        cookie = response.cookies[name] if name in response.cookies else page.cookies[name]
        assert cookie["secure"] and cookie["path"] == "/" and not cookie["domain"], name
        assert cookie["samesite"] in ("Lax", "Strict"), name
    assert response.cookies["__Host-sessionid"]["httponly"]
    assert settings.SESSION_COOKIE_NAME != "sessionid"
