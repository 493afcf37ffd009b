"""T3: every state-changing endpoint (every row of the matrix that accepts POST, htmx ones
included, and the admin's forms) refuses a POST without a CSRF token or with another
session's token (403), and answers GET with 405 when it is POST-only (ASVS 3.5.3).

Each case is checked against a control: the same request with the session's own token gets
past the CSRF check, so a 403 really is the token's doing.
"""

from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret
from django.urls import reverse

from tests.security.conftest import PASSWORD, PRINCIPALS, client_for, rolled_back
from tests.security.urls_table import POST_ROWS

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _principal(row) -> str:
    """Someone allowed to use the row: a signed-in one where possible."""
    for principal in PRINCIPALS:
        if principal in row.allowed and principal != "anonymous":
            return principal
    return "anonymous"


def _csrf_client(world, principal, *, slot=0):
    """A client that enforces CSRF, with its own CSRF cookie; returns (client, its token)."""
    client = client_for(world, principal, slot=slot, enforce_csrf_checks=True)
    secret = _get_new_csrf_string()
    client.cookies[settings.CSRF_COOKIE_NAME] = secret
    return client, _mask_cipher_secret(secret)


def _post(client, world, row, *, token=None, header=False):
    data = dict(row.post_data(world))
    headers = dict(HTMX) if header else {}
    if token is not None:
        if header:
            headers["X-CSRFToken"] = token
        else:
            data["csrfmiddlewaretoken"] = token
    with rolled_back():
        return client.post(row.url(world), data, headers=headers)


# The LTI platform's cross-site form posts carry no CSRF token by design: the OIDC state cookie
# and single-use nonce (launch, log-in) or the single-use launch id (deep link) are their proof,
# tested in tests/lti/test_launch_security.py.
LTI_CROSS_SITE = {"lti:launch", "lti:deep-link", "lti:login"}


@pytest.mark.parametrize(
    "row", [row for row in POST_ROWS if row.name not in LTI_CROSS_SITE], ids=lambda row: row.name
)
def test_post_needs_this_sessions_csrf_token(world, row):
    principal = _principal(row)
    with rolled_back():
        client, own = _csrf_client(world, principal)
        _other_client, foreign = _csrf_client(world, principal, slot=1)
        cases = {
            "no token": _post(client, world, row),
            "another session's token": _post(client, world, row, token=foreign),
            "another session's token in the htmx header": _post(
                client, world, row, token=foreign, header=True
            ),
            "a made-up token": _post(client, world, row, token="x" * 64),
        }
        client.cookies.pop(settings.CSRF_COOKIE_NAME)
        cases["a token but no CSRF cookie"] = _post(client, world, row, token=own)
        client.cookies[settings.CSRF_COOKIE_NAME] = _unmask(own)
        control = _post(client, world, row, token=own)
        control_htmx = _post(client, world, row, token=own, header=True)
    wrong = {case: r.status_code for case, r in cases.items() if r.status_code != 403}
    assert not wrong, f"{row.name} as {principal}: accepted without a valid token: {wrong}"
    assert control.status_code != 403, "the control request with the session's own token was refused"
    assert control_htmx.status_code != 403


def _unmask(token):
    from django.middleware.csrf import _unmask_cipher_token

    return _unmask_cipher_token(token)


@pytest.mark.parametrize(
    "row", [row for row in POST_ROWS if "GET" not in row.methods], ids=lambda row: row.name
)
def test_get_on_a_post_only_endpoint_is_405(world, row):
    client = client_for(world, _principal(row), enforce_csrf_checks=True)
    assert client.get(row.url(world)).status_code == 405
    assert client.get(row.url(world), headers=HTMX).status_code == 405


ADMIN_POSTS = [
    ("admin:logout", lambda w: []),
    ("admin:analysis_source_upload", lambda w: []),
    ("admin:accounts_classroom_add", lambda w: []),
    ("admin:accounts_classroom_change", lambda w: [w.class_a.pk]),
    ("admin:analysis_source_changelist", lambda w: []),
]


@pytest.mark.parametrize(("name", "args"), ADMIN_POSTS, ids=[name for name, _ in ADMIN_POSTS])
def test_admin_posts_need_a_csrf_token(world, name, args):
    with rolled_back():
        client, _own = _csrf_client(world, "admin")
        _other, foreign = _csrf_client(world, "admin", slot=1)
        url = reverse(name, args=args(world))
        assert client.post(url, {}).status_code == 403
        assert client.post(url, {"csrfmiddlewaretoken": foreign}).status_code == 403


# --- Redirects after log-in stay on this site (ASVS 5.1.5) ----------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "https:evil.example",
        "javascript:alert(1)",
    ],
)
def test_login_never_redirects_off_site(world, target):
    with rolled_back():
        client = client_for(world, "anonymous")
        response = client.post(
            reverse("accounts:login") + "?" + urlencode({"next": target}),
            {"username": "pupil_a1", "password": PASSWORD, "next": target},
        )
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert "evil" not in location and "javascript" not in location
