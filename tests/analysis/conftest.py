"""Fixtures for the pupil's side of an assignment (tests/conftest.py holds the people and classes)."""

import pytest

from analysis.classwork import services as work
from analysis.models import Response


@pytest.fixture
def submission(assignment, student):
    """The pupil's work on ``assignment``, started as the workspace starts it."""
    return work.submission_start(assignment=assignment, student=student)


@pytest.fixture
def responses(submission):
    return list(Response.objects.filter(submission=submission).order_by("question__position"))


@pytest.fixture
def passage(assignment):
    return assignment.exercise.sources.first().passages.first()  # "First passage text."
