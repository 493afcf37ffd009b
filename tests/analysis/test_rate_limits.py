"""Per-pupil rate limits on the workspace's writes (django-ratelimit, counted in the cache):
autosave, evidence and hints, hand-in. Over a limit nothing is written; htmx/fetch callers get
429 JSON with ``Retry-After``, a plain form post gets its text back (autosave) or a message.

Time is frozen in every test here: the limiter counts in fixed windows, and a window ending
between two posts would make a count start over.
"""

import json
import logging
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analysis.classwork import services as work
from analysis.models import Evidence, Submission
from config.settings import env_rate
from tests import factories

HTMX = {"headers": {"HX-Request": "true"}}
BASE_DIR = Path(__file__).resolve().parent.parent.parent


def url(name, *args):
    return reverse(f"learn:{name}", args=args)


@pytest.fixture
def frozen():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def small_rates(settings):
    settings.AUTOSAVE_RATE = "3/m"
    settings.WORK_WRITE_RATE = "3/m"
    settings.SUBMIT_RATE = "2/m"


@pytest.fixture
def security_records():
    """What the ``provenance.security`` logger (which does not propagate) records."""

    class Collector(logging.Handler):
        def __init__(self):
            super().__init__(level=logging.DEBUG)
            self.records = []

        def emit(self, record):
            self.records.append(record)

    collector = Collector()
    logger = logging.getLogger("provenance.security")
    logger.addHandler(collector)
    yield collector.records
    logger.removeHandler(collector)


def save(client, assignment, response, text, version, **extra):
    target = url("response-save", assignment.pk, response.pk)
    return client.post(target, {"text": text, "version": version}, **extra)


def attach(client, assignment, response, passage, start, end, **extra):
    target = url("evidence-add", assignment.pk, response.pk)
    return client.post(target, {"passage": passage.pk, "start": start, "end": end}, **extra)


def save_three(client, assignment, response):
    for version, text in enumerate(("one", "two", "three")):
        assert save(client, assignment, response, text, version, **HTMX).status_code == 200


def retry_after(reply) -> int:
    seconds = int(reply["Retry-After"])
    assert 1 <= seconds <= 60
    return seconds


# --- Autosave --------------------------------------------------------------------------------


def test_the_fourth_autosave_in_a_minute_is_refused_and_writes_nothing(
    student_client, assignment, responses, small_rates, frozen
):
    answer = responses[0]
    save_three(student_client, assignment, answer)
    reply = save(student_client, assignment, answer, "four", 3, **HTMX)
    assert reply.status_code == 429
    assert reply["Content-Type"] == "application/json"
    data = reply.json()
    assert data["error"] == "rate_limited"
    assert data["message"] == "Saving too often — waiting a moment, then trying again."
    retry_after(reply)
    answer.refresh_from_db()
    assert (answer.text, answer.version) == ("three", 3)


def test_the_limit_counts_every_answer_of_the_pupil_together(
    student_client, assignment, responses, small_rates, frozen
):
    for response in responses[:3]:
        assert save(student_client, assignment, response, "text", 0, **HTMX).status_code == 200
    assert save(student_client, assignment, responses[0], "more", 1, **HTMX).status_code == 429


def test_another_pupil_is_not_limited(student_client, assignment, responses, classmate, small_rates, frozen):
    save_three(student_client, assignment, responses[0])
    assert save(student_client, assignment, responses[0], "four", 3, **HTMX).status_code == 429
    theirs = work.submission_start(assignment=assignment, student=classmate).responses.first()
    other = Client()
    other.force_login(classmate)
    for version in range(3):
        assert save(other, assignment, theirs, f"mine {version}", version, **HTMX).status_code == 200


def test_saving_works_again_once_retry_after_has_passed(
    student_client, assignment, responses, small_rates, frozen
):
    answer = responses[0]
    save_three(student_client, assignment, answer)
    wait = retry_after(save(student_client, assignment, answer, "four", 3, **HTMX))
    frozen.shift(wait - 1)
    assert save(student_client, assignment, answer, "four", 3, **HTMX).status_code == 429
    frozen.shift(1)
    assert save(student_client, assignment, answer, "four", 3, **HTMX).status_code == 200
    answer.refresh_from_db()
    assert (answer.text, answer.version) == ("four", 4)


def test_a_plain_post_over_the_limit_gives_the_typed_text_back_escaped(
    student_client, assignment, responses, small_rates, frozen
):
    answer = responses[0]
    save_three(student_client, assignment, answer)
    typed = '<script>alert("x")</script> Æthelflæd — 日本語 “quoted” 🙂'
    reply = save(student_client, assignment, answer, typed, 3)
    assert reply.status_code == 429
    retry_after(reply)
    html = reply.content.decode()
    assert "<html" in html and "Your answer was not saved" in html
    assert "Saved too often in a short time." in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Æthelflæd — 日本語 “quoted” 🙂" in html
    assert '<script>alert("x")' not in html
    answer.refresh_from_db()
    assert (answer.text, answer.version) == ("three", 3)


def test_a_refusal_is_one_security_record_without_the_text(
    student_client, student, assignment, responses, small_rates, frozen, security_records
):
    save_three(student_client, assignment, responses[0])
    assert security_records == []
    typed = "Rate-limited marker 5d2b that must stay out of logs"
    reply = save(student_client, assignment, responses[0], typed, 3, **HTMX)
    assert reply.status_code == 429
    assert len(security_records) == 1
    (record,) = security_records
    assert (record.event, record.status, record.outcome) == ("refused", 429, "rate_limited")
    assert (record.user_id, record.method) == (student.pk, "POST")
    assert record.path == url("response-save", assignment.pk, responses[0].pk)
    assert record.request_id == reply["X-Request-ID"]
    assert typed not in record.getMessage() and typed not in json.dumps(record.__dict__, default=str)


# --- Evidence and hints: one budget ----------------------------------------------------------


def test_evidence_over_the_limit_is_refused_and_writes_nothing(
    student_client, assignment, responses, passage, small_rates, frozen
):
    assert attach(student_client, assignment, responses[1], passage, 0, 5, **HTMX).status_code == 200
    assert attach(student_client, assignment, responses[1], passage, 6, 13, **HTMX).status_code == 200
    hint_url = url("response-hint", assignment.pk, responses[0].pk)
    assert student_client.post(hint_url, **HTMX).status_code == 200

    reply = attach(student_client, assignment, responses[1], passage, 14, 18, **HTMX)
    assert reply.status_code == 429
    assert reply.json()["error"] == "rate_limited" and reply.json()["message"]
    retry_after(reply)
    first = Evidence.objects.order_by("pk").first()
    remove = student_client.post(url("evidence-delete", assignment.pk, responses[1].pk, first.pk), **HTMX)
    assert remove.status_code == 429
    assert student_client.post(hint_url, **HTMX).status_code == 429

    assert sorted(Evidence.objects.values_list("quote", flat=True)) == ["First", "passage"]
    responses[0].refresh_from_db()
    assert responses[0].hints_used == 1


def test_evidence_over_the_limit_without_javascript_redirects_with_a_message(
    student_client, assignment, responses, passage, small_rates, frozen
):
    for start, end in ((0, 5), (6, 13), (14, 18)):
        assert attach(student_client, assignment, responses[1], passage, start, end).status_code == 302
    reply = attach(student_client, assignment, responses[1], passage, 0, 18)
    assert reply.status_code == 302
    assert reply["Location"] == url("workspace", assignment.pk) + f"#response-{responses[1].pk}"
    assert "Retry-After" not in reply
    page = student_client.get(reply["Location"]).content.decode()
    assert "Too many changes in a short time. Wait a minute, then try again." in page
    assert Evidence.objects.count() == 3


# --- Submit ----------------------------------------------------------------------------------


def test_submit_over_the_limit_is_refused_and_hands_nothing_in(
    student_client, student, school_class, assignment, submission, small_rates, frozen
):
    # The budget is the pupil's, not the assignment's: two hand-ins elsewhere use it up.
    for _ in range(2):
        other = factories.make_assignment(classroom=school_class)
        assert student_client.post(url("submit", other.pk), **HTMX).status_code == 200

    reply = student_client.post(url("submit", assignment.pk), **HTMX)
    assert reply.status_code == 429
    assert reply.json()["error"] == "rate_limited" and reply.json()["message"]
    assert "HX-Redirect" not in reply
    wait = retry_after(reply)
    rows = Submission.objects.filter(assignment=assignment, student=student)
    assert [row.status for row in rows] == [Submission.Status.IN_PROGRESS]

    frozen.shift(wait)
    assert student_client.post(url("submit", assignment.pk), **HTMX).status_code == 200
    assert [row.status for row in rows.all()] == [Submission.Status.SUBMITTED]


def test_submit_over_the_limit_without_javascript_says_not_handed_in(
    student_client, student, school_class, assignment, submission, settings, frozen
):
    settings.SUBMIT_RATE = "1/m"
    other = factories.make_assignment(classroom=school_class)
    assert student_client.post(url("submit", other.pk)).status_code == 302

    reply = student_client.post(url("submit", assignment.pk))
    assert reply.status_code == 302
    assert reply["Location"] == url("workspace", assignment.pk)
    page = student_client.get(reply["Location"]).content.decode()
    assert "Not handed in yet: that was tried too often." in page
    submission.refresh_from_db()
    assert submission.status == Submission.Status.IN_PROGRESS
    assert Submission.objects.filter(assignment=assignment, student=student).count() == 1


# --- Settings --------------------------------------------------------------------------------


def test_default_rates():
    from config import settings as project

    assert (project.AUTOSAVE_RATE, project.WORK_WRITE_RATE, project.SUBMIT_RATE) == ("120/m", "60/m", "30/m")


def test_rates_from_the_environment_are_checked(monkeypatch):
    monkeypatch.setenv("DJANGO_AUTOSAVE_RATE", "100000/m")
    assert env_rate("DJANGO_AUTOSAVE_RATE", "120/m") == "100000/m"
    monkeypatch.setenv("DJANGO_AUTOSAVE_RATE", "")
    assert env_rate("DJANGO_AUTOSAVE_RATE", "120/m") == "120/m"
    for bad in ("120", "fast", "0/m", "10/0m", "120/minute"):
        monkeypatch.setenv("DJANGO_AUTOSAVE_RATE", bad)
        with pytest.raises(ImproperlyConfigured):
            env_rate("DJANGO_AUTOSAVE_RATE", "120/m")
