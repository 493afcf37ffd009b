"""LTI Dynamic Registration (Moodle's "register by URL"): a site admin makes a one-time
registration URL for a school on the connect page; the platform opens it with its
``openid_configuration`` (and a ``registration_token``); the tool reads the platform's
configuration, registers itself at the platform's registration endpoint and records the
platform, its client id and deployment id for that school."""

import datetime
import secrets
from urllib.parse import urlsplit

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import School
from lti.keys import active_key
from lti.models import Deployment, LaunchState, Platform
from lti.tool import LaunchRefused, http_session

INVITE_DAYS = 7
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]


def invite_create(*, school: School) -> str:
    token = secrets.token_urlsafe(24)
    LaunchState.objects.create(
        key=f"invite-{token}",
        value={"school": school.pk},
        expires_at=timezone.now() + datetime.timedelta(days=INVITE_DAYS),
    )
    return token


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def tool_registration_request(build_url) -> dict:
    """What the tool asks the platform to register (LTI Dynamic Registration, section 3.3)."""
    launch = build_url(reverse("lti:launch"))
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": build_url(reverse("lti:login")),
        "redirect_uris": [launch],
        "client_name": "Provenance",
        "jwks_uri": build_url(reverse("lti:jwks")),
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(SCOPES),
        TOOL_CONFIGURATION: {
            "domain": urlsplit(launch).netloc,
            "target_link_uri": launch,
            "claims": ["iss", "sub", "name", "given_name", "family_name"],
            "messages": [
                {"type": "LtiDeepLinkingRequest", "target_link_uri": launch, "label": "Provenance"},
                {"type": "LtiResourceLinkRequest", "target_link_uri": launch},
            ],
        },
    }


def _json(response, what: str) -> dict:
    if not response.ok:
        raise LaunchRefused(
            "registration_failed", f"The platform refused the {what} ({response.status_code})."
        )
    try:
        data = response.json()
    except ValueError as error:
        raise LaunchRefused("registration_failed", f"The platform's {what} is not JSON.") from error
    if not isinstance(data, dict):
        raise LaunchRefused("registration_failed", f"The platform's {what} is not a JSON object.")
    return data


def register(*, invite: str, openid_configuration: str, registration_token: str, build_url) -> Platform:
    """Use the invitation (once), register with the platform, record the platform."""
    row = LaunchState.objects.live(f"invite-{invite}").first()
    if row is None:
        raise LaunchRefused(
            "invite_unknown", "This registration URL has expired or been used. Make a new one."
        )
    school = School.objects.get(pk=row.value["school"])
    if not openid_configuration.startswith("https://") and not openid_configuration.startswith("http://"):
        raise LaunchRefused("registration_failed", "The platform sent no configuration URL.")
    session = http_session()
    config = _json(session.get(openid_configuration), "configuration")
    issuer = str(config.get("issuer", ""))
    # The configuration must come from the issuer it names (Dynamic Registration 3.5.1).
    if not issuer or not openid_configuration.startswith(issuer.rstrip("/")):
        raise LaunchRefused("registration_failed", "The platform's configuration names another issuer.")
    needed = ("authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint")
    if any(not str(config.get(name, "")).startswith(("https://", "http://")) for name in needed):
        raise LaunchRefused("registration_failed", "The platform's configuration lacks an endpoint.")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    answer = _json(
        session.post(
            config["registration_endpoint"], json=tool_registration_request(build_url), headers=headers
        ),
        "registration",
    )
    client_id = str(answer.get("client_id", ""))
    deployment_id = str((answer.get(TOOL_CONFIGURATION) or {}).get("deployment_id", ""))
    if not client_id:
        raise LaunchRefused("registration_failed", "The platform gave no client id.")
    product = (config.get(PLATFORM_CONFIGURATION) or {}).get("product_family_code", "")
    active_key()
    with transaction.atomic():
        used, _ = LaunchState.objects.filter(pk=row.pk).delete()
        if not used:
            raise LaunchRefused("invite_unknown", "This registration URL has just been used.")
        platform, _ = Platform.objects.update_or_create(
            issuer=issuer,
            client_id=client_id,
            defaults={
                "name": f"{product or _origin(issuer)} ({school.name})"[:200],
                "auth_login_url": config["authorization_endpoint"],
                "auth_token_url": config["token_endpoint"],
                "key_set_url": config["jwks_uri"],
                "school": school,
                "frame_origins": _origin(issuer),
                "active": True,
            },
        )
        if deployment_id:
            Deployment.objects.get_or_create(platform=platform, deployment_id=deployment_id)
    return platform
