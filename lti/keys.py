"""The tool's signing keys: generated and rotated by ``manage.py lti_keys``, published at
``/lti/jwks.json``. Only the public half is ever sent anywhere."""

import json

from django.db import transaction
from django.utils import timezone
from jwcrypto.jwk import JWK

from lti.models import ToolKey


def _public_jwk(key: JWK, kid: str) -> dict:
    public = json.loads(key.export_public())
    public.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return public


@transaction.atomic
def key_rotate() -> ToolKey:
    """Make a fresh 2048-bit RSA key the active one; the previous active key is retired (still
    published, so tokens it signed keep verifying until it is deleted)."""
    key = JWK.generate(kty="RSA", size=2048)
    kid = key.thumbprint()
    ToolKey.objects.filter(status=ToolKey.Status.ACTIVE).update(
        status=ToolKey.Status.RETIRED, retired_at=timezone.now()
    )
    return ToolKey.objects.create(
        kid=kid,
        private_pem=key.export_to_pem(private_key=True, password=None).decode(),
        public_jwk=_public_jwk(key, kid),
        status=ToolKey.Status.ACTIVE,
    )


def active_key() -> ToolKey:
    """The key that signs, made on first need so that a fresh install works."""
    key = ToolKey.objects.filter(status=ToolKey.Status.ACTIVE).first()
    return key or key_rotate()


def published_jwks() -> dict:
    return {"keys": [key.public_jwk for key in ToolKey.objects.order_by("-created_at")]}


def keys_prune(*, keep_retired: int = 1) -> int:
    """Delete retired keys beyond the newest ``keep_retired``; returns how many went."""
    retired = ToolKey.objects.filter(status=ToolKey.Status.RETIRED).order_by("-retired_at")
    doomed = [key.pk for key in retired[keep_retired:]]
    ToolKey.objects.filter(pk__in=doomed).delete()
    return len(doomed)
