"""A platform in the test process: its key signs id_tokens, its JWKS is served to the tool
through a stand-in HTTP session (the browser test uses the real demo platform instead)."""

import json
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from jwcrypto.jwk import JWK

from lti.models import Deployment, Platform
from tests import factories

ISS = "https://lms.example.org"
CLIENT_ID = "client-123"
DEPLOYMENT_ID = "deployment-1"
C = "https://purl.imsglobal.org/spec/lti/claim/"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


class PlatformKeys:
    def __init__(self):
        self.key = JWK.generate(kty="RSA", size=2048)
        self.kid = self.key.thumbprint()
        self.fetches = 0

    def jwks(self):
        public = json.loads(self.key.export_public())
        public.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return {"keys": [public]}

    def sign(self, claims, *, kid=None, key=None):
        pem = (key or self.key).export_to_pem(private_key=True, password=None)
        return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid or self.kid})


class FakeResponse:
    def __init__(self, payload, status=200):
        self._payload = payload
        self.status_code = status
        self.ok = status < 400
        self.text = json.dumps(payload)
        self.content = self.text.encode()
        self.headers = {}
        self.url = "https://lms.example.org/"
        self.reason = "Service Unavailable" if status == 503 else "OK"

    def json(self):
        return self._payload


class FakeSession:
    def __init__(self, keys):
        self.keys = keys
        self.headers = {}

    def get(self, url, **kwargs):
        self.keys.fetches += 1
        return FakeResponse(self.keys.jwks())


@pytest.fixture
def platform_keys(monkeypatch):
    keys = PlatformKeys()
    monkeypatch.setattr("lti.tool._http_session", lambda: FakeSession(keys))
    return keys


@pytest.fixture
def platform(db):
    school = factories.default_school()
    platform = Platform.objects.create(
        name="Example LMS",
        issuer=ISS,
        client_id=CLIENT_ID,
        auth_login_url=ISS + "/auth",
        auth_token_url=ISS + "/token",
        key_set_url=ISS + "/jwks",
        school=school,
        frame_origins="https://lms.example.org\nhttps://frames.example.net",
    )
    Deployment.objects.create(platform=platform, deployment_id=DEPLOYMENT_ID)
    return platform


def start_login(client, *, iss=ISS, client_id=CLIENT_ID):
    """The platform's login initiation; returns the state and nonce the tool issued."""
    response = client.get(
        "/lti/login/",
        {
            "iss": iss,
            "login_hint": "hint",
            "target_link_uri": "http://testserver/lti/launch/",
            "client_id": client_id,
        },
    )
    assert response.status_code == 302, response.content[:500]
    query = parse_qs(urlsplit(response["Location"]).query)
    return query["state"][0], query["nonce"][0]


def claims(
    *, nonce, sub="learner-1", role="Learner", context="course-1", message="LtiResourceLinkRequest", **extra
):
    now = int(time.time())
    body = {
        "iss": ISS,
        "aud": CLIENT_ID,
        "sub": sub,
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
        "given_name": "Sam",
        "family_name": "Lee",
        C + "deployment_id": DEPLOYMENT_ID,
        C + "message_type": message,
        C + "version": "1.3.0",
        C + "roles": [MEMBERSHIP + role],
        C + "context": {"id": context, "title": "History 9C"},
        C + "resource_link": {"id": "link-" + uuid.uuid4().hex[:6]},
    }
    if message == "LtiDeepLinkingRequest":
        body.pop(C + "resource_link")
        body["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
            "deep_link_return_url": ISS + "/deep-link/return",
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe"],
        }
    body.update(extra)
    return body
