"""Dynamic registration: a one-time URL made by a site admin for a school; the tool reads the
platform's configuration, registers itself and records the platform for that school."""

from urllib.parse import urlencode

import pytest
from django.urls import reverse

from lti.models import Deployment, Platform
from tests import factories
from tests.lti.conftest import FakeResponse

pytestmark = pytest.mark.django_db

MOODLE = "https://moodle.example.org"
CONFIG_URL = MOODLE + "/mod/lti/openid-configuration.php"


class FakeMoodle:
    def __init__(self, issuer=MOODLE):
        self.headers = {}
        self.issuer = issuer
        self.registered = []

    def get(self, url, **kwargs):
        assert url == CONFIG_URL
        return FakeResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": MOODLE + "/mod/lti/auth.php",
                "token_endpoint": MOODLE + "/mod/lti/token.php",
                "jwks_uri": MOODLE + "/mod/lti/certs.php",
                "registration_endpoint": MOODLE + "/mod/lti/openid-registration.php",
                "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                    "product_family_code": "moodle"
                },
            }
        )

    def post(self, url, json=None, headers=None, **kwargs):
        self.registered.append((json, headers))
        return FakeResponse(
            {
                "client_id": "moodle-client-1",
                "https://purl.imsglobal.org/spec/lti-tool-configuration": {"deployment_id": "7"},
            }
        )


@pytest.fixture
def moodle(monkeypatch):
    fake = FakeMoodle()
    monkeypatch.setattr("lti.tool._http_session", lambda: fake)
    return fake


def _invite(client, school):
    admin = factories.make_teacher(is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post(reverse("lti:register-invite"), {"school": school.pk}, follow=True)
    text = next(str(m) for m in response.context["messages"])
    client.logout()
    return text.split(": ", 1)[1]


def test_a_platform_registers_itself_for_the_invited_school(moodle, client):
    school = factories.make_school(name="Hillside")
    url = _invite(client, school)
    response = client.get(
        url + "&" + urlencode({"openid_configuration": CONFIG_URL, "registration_token": "reg-token"})
    )
    assert response.status_code == 200 and b"Provenance is registered" in response.content
    platform = Platform.objects.get()
    assert (platform.issuer, platform.client_id, platform.school) == (MOODLE, "moodle-client-1", school)
    assert platform.key_set_url == MOODLE + "/mod/lti/certs.php" and platform.frame_origin_list == [MOODLE]
    assert Deployment.objects.get().deployment_id == "7"
    request, headers = moodle.registered[0]
    assert headers["Authorization"] == "Bearer reg-token"
    assert request["jwks_uri"].endswith("/lti/jwks.json") and request["initiate_login_uri"].endswith(
        "/lti/login/"
    )
    assert "frame-ancestors https://moodle.example.org" in response["Content-Security-Policy"]
    # The URL works once.
    again = client.get(url + "&" + urlencode({"openid_configuration": CONFIG_URL}))
    assert again.status_code == 404 and Platform.objects.count() == 1


def test_a_configuration_naming_another_issuer_is_refused(moodle, client, caplog):
    moodle.issuer = "https://evil.example.net"
    url = _invite(client, factories.make_school())
    response = client.get(url + "&" + urlencode({"openid_configuration": CONFIG_URL}))
    assert response.status_code == 400 and b"another issuer" in response.content
    assert not Platform.objects.exists()
    assert any(getattr(r, "outcome", "") == "registration_failed" for r in caplog.records)


def test_only_site_admins_make_registration_urls(client):
    client.force_login(factories.make_teacher())
    assert (
        client.post(reverse("lti:register-invite"), {"school": factories.make_school().pk}).status_code == 404
    )
