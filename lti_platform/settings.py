"""A minimal LTI 1.3 platform for trying Provenance without a real LMS (``make lti-demo``).

It keeps everything in memory (one process, ``runserver --noreload``): one course, an
instructor, two learners (more can be added), the activities deep-linked into it, and every
message it receives from the tool. Its signing key is made when it starts; the tool refuses a
platform marked as the demo whenever ``DJANGO_DEBUG`` is off.
"""

import os

DEBUG = True
SECRET_KEY = "lti-demo-platform-not-secret"
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
ROOT_URLCONF = "lti_platform.urls"
INSTALLED_APPS = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES = {}
USE_TZ = True
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(os.path.dirname(__file__), "templates")],
        "APP_DIRS": False,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

PLATFORM_URL = os.environ.get("LTI_DEMO_PLATFORM_URL", "http://localhost:8100").rstrip("/")
TOOL_URL = os.environ.get("LTI_DEMO_TOOL_URL", "http://127.0.0.1:8000").rstrip("/")
CLIENT_ID = os.environ.get("LTI_DEMO_CLIENT_ID", "provenance-demo")
DEPLOYMENT_ID = os.environ.get("LTI_DEMO_DEPLOYMENT_ID", "demo-deployment-1")
