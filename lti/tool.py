"""pylti1p3 over this app's models. The library validates every launch (JWT signature against
the platform's JWKS, registration, deployment, message type and version, state and nonce) and
signs deep-linking responses and service tokens; this module supplies its configuration and
tightens three things it leaves loose:

- a nonce is used once (its row is deleted as it is checked) and must be the one issued with
  this browser's state;
- the state must come from this browser's state cookie (the library also accepts a state it
  saw before with the same token, which would let a token be replayed);
- ``aud``/``azp`` must name this registration's client id.

Refusals raise ``LaunchRefused`` with a short code for the security log.
"""

import datetime
import hashlib
import http.cookies

import requests
from django.conf import settings
from django.utils import timezone
from pylti1p3.contrib.django import DjangoMessageLaunch, DjangoOIDCLogin
from pylti1p3.contrib.django.cookie import DjangoCookieService
from pylti1p3.contrib.django.request import DjangoRequest
from pylti1p3.deployment import Deployment as LibDeployment
from pylti1p3.exception import LtiException
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.registration import Registration
from pylti1p3.session import SessionService
from pylti1p3.tool_config import ToolConfAbstract

from lti.keys import active_key, published_jwks
from lti.models import Deployment, LaunchState, Platform

# Python writes the cookie attribute Partitioned from 3.14 on; until then it is taught here (as
# pylti1p3 teaches it SameSite), so that Django's own set_cookie can carry it.
if "partitioned" not in http.cookies.Morsel._reserved:
    http.cookies.Morsel._reserved["partitioned"] = "Partitioned"
    http.cookies.Morsel._flags.add("partitioned")

JWKS_CACHE_SECONDS = 3600
LAUNCH_LIFETIME_SECONDS = 3600
LOGIN_LIFETIME_SECONDS = 600
HTTP_TIMEOUT_SECONDS = 10


class LaunchRefused(Exception):
    """A launch the tool will not accept: ``code`` for the log, ``message`` for the person."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# The library's own messages, mapped to a code and a sentence a teacher can act on.
_LIBRARY_REFUSALS = [
    ("State not found", "state_mismatch", "This launch did not start in this browser, or it took too long."),
    ("Missing state", "state_mismatch", "This launch did not start in this browser, or it took too long."),
    (
        "Unable to find public key",
        "unknown_key",
        "The platform signed this launch with a key it does not publish.",
    ),
    (
        "Signature verification failed",
        "bad_signature",
        "This launch's signature does not match the platform's keys.",
    ),
    (
        "Signature has expired",
        "expired",
        "This launch has expired. Open the activity again from your course.",
    ),
    ("not yet valid", "not_yet_valid", "This launch is dated in the future. Check the platform's clock."),
    ("Can't decode id_token", "bad_token", "This launch's token could not be verified."),
    (
        "Invalid Nonce",
        "nonce_replayed",
        "This launch has already been used. Open the activity again from your course.",
    ),
    ("Registration not found", "unknown_platform", "This platform is not registered with Provenance."),
    ("Client id not registered", "wrong_audience", "This launch was meant for another tool."),
    (
        "Unable to find deployment",
        "unregistered_deployment",
        "This deployment of the tool is not registered.",
    ),
    ("Incorrect version", "bad_message", "This launch is not LTI 1.3."),
    ("message type", "bad_message", "Provenance does not accept this kind of LTI message."),
    ("Missing id_token", "bad_token", "The launch arrived without its token."),
    ("Invalid id_token", "bad_token", "The launch's token is malformed."),
    ("Invalid JWT format", "bad_token", "The launch's token is malformed."),
    ("JWT KID not found", "unknown_key", "The launch's token names no key."),
    ("Could not find", "bad_login", "The platform's log-in request is incomplete or not registered."),
]


def refusal_from(error: Exception) -> LaunchRefused:
    if isinstance(error, LaunchRefused):
        return error
    text = str(error)
    for fragment, code, message in _LIBRARY_REFUSALS:
        if fragment.lower() in text.lower():
            return LaunchRefused(code, message)
    return LaunchRefused("invalid_launch", "This launch could not be verified.")


# --- Storage: the database, so every process sees a nonce and a nonce is used once -----------


class DatabaseLaunchStorage(LaunchDataStorage):
    """pylti1p3's launch data storage over ``LaunchState``. No storage cookie: state binding
    comes from the state cookie, and keys are random."""

    def get_session_cookie_name(self):
        return None

    def can_set_keys_expiration(self) -> bool:
        return True

    def get_value(self, key: str):
        row = LaunchState.objects.live(self._prepare_key(key)).first()
        return row.value if row else None

    def set_value(self, key: str, value, exp: int | None = None) -> None:
        expires = timezone.now() + datetime.timedelta(seconds=exp or LAUNCH_LIFETIME_SECONDS)
        LaunchState.objects.update_or_create(
            key=self._prepare_key(key), defaults={"value": value, "expires_at": expires}
        )

    def check_value(self, key: str) -> bool:
        return LaunchState.objects.live(self._prepare_key(key)).exists()

    def take_value(self, key: str):
        """Read and delete in one step: the second taker finds nothing."""
        row = LaunchState.objects.live(self._prepare_key(key)).first()
        if row is None:
            return None
        deleted, _ = LaunchState.objects.filter(pk=row.pk).delete()
        return row.value if deleted else None


class OnceSessionService(SessionService):
    """Nonces used once and bound to the state they were issued with."""

    def __init__(self, request):
        super().__init__(request)
        self.set_data_storage(DatabaseLaunchStorage())
        self.data_storage.set_request(request)
        self._last_nonce = None

    def save_nonce(self, nonce: str):
        self._last_nonce = nonce
        super().save_nonce(nonce)

    def save_state_params(self, state, params):
        super().save_state_params(state, {**params, "nonce": self._last_nonce})

    def check_nonce(self, nonce: str) -> bool:
        return self.data_storage.take_value(self._get_key("nonce", nonce)) is not None

    def check_state_is_valid(self, state, id_token_hash) -> bool:
        return False  # only this browser's state cookie proves the state

    def set_state_valid(self, state, id_token_hash):
        return None


class LaunchCookieService(DjangoCookieService):
    """The launch flow's cookies (the OIDC state) are ``SameSite=None; Secure`` so that they
    survive the platform's cross-site POST into its iframe. Browsers accept Secure cookies from
    http://localhost and 127.0.0.1, so the local demo behaves as production does. No other cookie
    is touched: the session cookie keeps its own settings."""

    def update_response(self, response):
        # Partitioned (CHIPS): a browser that blocks third-party cookies still keeps this one for
        # the platform's frame, so the launch validates inside it.
        for key, data in self._cookie_data_to_set.items():
            response.set_cookie(
                key,
                data["value"],
                max_age=data["exp"],
                secure=True,
                httponly=True,
                samesite="None",
                path="/lti/",
            )
            response.cookies[key]["partitioned"] = True

    def clear(self, response, state: str):
        key = self._get_key(state)
        response.delete_cookie(key, path="/lti/", samesite="None")
        response.cookies[key]["secure"] = True
        response.cookies[key]["partitioned"] = True


# --- Configuration: registrations and deployments from the models ------------------------------


class ToolRegistration(Registration):
    """A registration whose tool key is the active ``ToolKey``."""

    def __init__(self, platform: Platform):
        super().__init__()
        self.platform = platform
        key = active_key()
        self._kid = key.kid
        self.set_issuer(platform.issuer).set_client_id(platform.client_id)
        self.set_auth_login_url(platform.auth_login_url).set_auth_token_url(platform.auth_token_url)
        self.set_key_set_url(platform.key_set_url).set_tool_private_key(key.private_pem)
        if platform.auth_audience:
            self.set_auth_audience(platform.auth_audience)

    def get_kid(self):
        return self._kid

    def get_jwks(self):
        return published_jwks()["keys"]


def find_platform(iss: str, client_id: str | None) -> Platform | None:
    queryset = Platform.objects.usable().filter(issuer=iss)
    if client_id:
        return queryset.filter(client_id=client_id).first()
    candidates = list(queryset[:2])
    return candidates[0] if len(candidates) == 1 else None


class ModelToolConf(ToolConfAbstract):
    """Every issuer may hold several client ids (one per registration)."""

    def check_iss_has_one_client(self, iss):
        return False

    def check_iss_has_many_clients(self, iss):
        return True

    def find_registration_by_issuer(self, iss, *args, **kwargs):
        return self.find_registration_by_params(iss, None)

    def find_registration_by_params(self, iss, client_id, *args, **kwargs):
        platform = find_platform(iss, client_id)
        return ToolRegistration(platform) if platform else None

    def find_deployment(self, iss, deployment_id):
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(self, iss, deployment_id, client_id, *args, **kwargs):
        platform = find_platform(iss, client_id)
        if platform and Deployment.objects.filter(platform=platform, deployment_id=deployment_id).exists():
            return LibDeployment().set_deployment_id(deployment_id)
        return None


def _http_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = "Provenance-LTI"
    original = session.request

    def with_timeout(method, url, **kwargs):
        kwargs.setdefault("timeout", HTTP_TIMEOUT_SECONDS)
        return original(method, url, **kwargs)

    session.request = with_timeout
    return session


# --- Login initiation and launch ------------------------------------------------------------


class ToolOIDCLogin(DjangoOIDCLogin):
    def __init__(self, request):
        django_request = DjangoRequest(request)
        super().__init__(
            django_request,
            ModelToolConf(),
            session_service=OnceSessionService(django_request),
            cookie_service=LaunchCookieService(django_request),
        )
        # Something to save with the state, so that the nonce is bound to it.
        self.pass_params_to_launch({"started": timezone.now().isoformat()})
        # A nonce and its state live ten minutes: long enough for a slow platform, no longer.
        self._session_service.set_launch_data_lifetime(LOGIN_LIFETIME_SECONDS)

    def validate_oidc_login(self):
        iss = self._get_request_param("iss")
        if (
            iss
            and not settings.DEBUG
            and Platform.objects.filter(issuer=iss, is_demo=True, active=True).exists()
        ):
            raise LaunchRefused("demo_platform", "The local demo platform is refused outside development.")
        return super().validate_oidc_login()


class ToolMessageLaunch(DjangoMessageLaunch):
    def __init__(self, request, *, launch_id=None):
        django_request = DjangoRequest(request, post_only=True)
        super().__init__(
            django_request,
            ModelToolConf(),
            session_service=OnceSessionService(django_request),
            cookie_service=LaunchCookieService(django_request),
            requests_session=_http_session(),
        )
        self.set_launch_data_lifetime(LAUNCH_LIFETIME_SECONDS)
        self.set_public_key_caching(DatabaseLaunchStorage(), cache_lifetime=JWKS_CACHE_SECONDS)
        # exp and iat must be present (PyJWT checks them once present); aud is checked below.
        self.set_jwt_verify_options({"verify_aud": False, "require": ["exp", "iat"]})
        self.platform: Platform | None = None

    @classmethod
    def restore(cls, request, launch_id: str) -> "ToolMessageLaunch":
        """A launch validated earlier (the deep-linking pick page posts its id back)."""
        launch = cls(request)
        data = launch.get_session_service().get_launch_data(launch_id)
        if not data or not str(launch_id).startswith("lti1p3-launch-"):
            raise LaunchRefused("launch_expired", "This page has expired. Start again from your course.")
        launch.set_launch_id(launch_id).set_auto_validation(enable=False).set_jwt({"body": data})
        launch.set_restored().validate_registration()
        return launch

    def validate_nonce(self):
        nonce = self._get_jwt_body().get("nonce")
        params = self.get_params_from_login() or {}
        if not nonce or params.get("nonce") != nonce:
            raise LaunchRefused("nonce_mismatch", "This launch's nonce was not issued to this browser.")
        return super().validate_nonce()

    def validate_registration(self):
        body = self._get_jwt_body()
        iss = body.get("iss")
        if (
            iss
            and not settings.DEBUG
            and Platform.objects.filter(issuer=iss, is_demo=True, active=True).exists()
        ):
            raise LaunchRefused("demo_platform", "The local demo platform is refused outside development.")
        aud = body.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        known = set(Platform.objects.usable().filter(issuer=iss).values_list("client_id", flat=True))
        if known and not known.intersection(audiences):
            raise LaunchRefused("wrong_audience", "This launch was meant for another tool.")
        super().validate_registration()
        client_id = self._registration.get_client_id()
        azp = body.get("azp")
        if (len(audiences) > 1 or azp is not None) and azp != client_id:
            raise LaunchRefused("wrong_audience", "This launch names another tool as its party (azp).")
        self.platform = self._registration.platform
        return self

    def get_public_key(self):
        """The platform's key for this token's ``kid``; when the cached JWKS lacks it (the
        platform rotated its keys), fetch the JWKS once more before refusing."""
        try:
            return super().get_public_key()
        except LtiException as error:
            if "Unable to find public key" not in str(error):
                raise
            url = self._registration.get_key_set_url() or ""
            cache_key = "key-set-url-" + hashlib.md5(url.encode()).hexdigest()
            LaunchState.objects.filter(key=DatabaseLaunchStorage()._prepare_key(cache_key)).delete()
            self._registration.set_key_set(None)
            return super().get_public_key()

    def fetch_public_key(self, key_set_url):
        try:
            return super().fetch_public_key(key_set_url)
        except (LtiException, requests.RequestException) as error:
            raise LaunchRefused("jwks_unavailable", "The platform's keys could not be fetched.") from error

    def clear_state_cookie(self, response):
        state = self._get_request_param("state")
        if state:
            self._cookie_service.clear(response, state)


def service_registration(platform: Platform) -> ToolRegistration:
    return ToolRegistration(platform)


def http_session() -> requests.Session:
    return _http_session()
