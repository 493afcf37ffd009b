"""Test settings: the real settings with a fast hasher and plain static storage."""

import tempfile
from pathlib import Path

from config.settings import *  # noqa: F403
from config.settings import STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
# Uploaded images go to a throw-away folder, never into the checkout.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="provenance-media-"))
