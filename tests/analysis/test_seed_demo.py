"""The demo: the 1917 pack loads, and seed_demo's sample work cites the pack's real passages."""

import io
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from analysis.models import Assignment, Evidence, Mark, StudentSupport, Submission, SupportLevel

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_work_on_the_1917_pack_at_every_support_level(settings):
    settings.DEBUG = True
    call_command("import_sources", str(Path(django_settings.BASE_DIR) / "fixtures"), stdout=io.StringIO())

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())  # idempotent

    # The term's work on the image source cites regions (tests/analysis/test_seed_term.py).
    evidence = list(Evidence.objects.filter(passage__isnull=False).select_related("passage"))
    assert evidence
    assert all(e.passage.text[e.start : e.end] == e.quote for e in evidence)
    assert {a.support_level for a in Assignment.objects.all()} == set(SupportLevel.values)
    assert Assignment.objects.filter(support_level="exam", time_limit_minutes__isnull=False).exists()
    assert StudentSupport.objects.filter(extra_time_percent=25).exists()
    assert Submission.objects.filter(status=Submission.Status.RETURNED).exists()
    assert Mark.objects.exists()
