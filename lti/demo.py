"""Registering the local demo platform (``lti_platform``) with this tool."""

from accounts.models import School
from lti.keys import active_key
from lti.models import Deployment, Platform

DEMO_CLIENT_ID = "provenance-demo"
DEMO_DEPLOYMENT_ID = "demo-deployment-1"


def demo_platform_register(
    *, platform_url: str = "http://localhost:8100", school: School | None = None
) -> Platform:
    platform_url = platform_url.rstrip("/")
    school = school or School.objects.order_by("pk").first() or School.objects.create(name="Demo school")
    active_key()
    platform, _ = Platform.objects.update_or_create(
        issuer=platform_url,
        client_id=DEMO_CLIENT_ID,
        defaults={
            "name": "Local demo platform",
            "auth_login_url": platform_url + "/auth",
            "auth_token_url": platform_url + "/token",
            "key_set_url": platform_url + "/jwks",
            "school": school,
            "frame_origins": platform_url,
            "is_demo": True,
            "active": True,
        },
    )
    Deployment.objects.get_or_create(platform=platform, deployment_id=DEMO_DEPLOYMENT_ID)
    return platform
