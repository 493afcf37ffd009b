"""The three support levels in Chromium: each shows exactly what it promises, and under exam
conditions the countdown runs and, at the limit, the work is handed in as it stood."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from analysis.classwork import services as work
from analysis.models import Background, GlossaryTerm, Response, Submission
from tests import factories
from tests.browser.conftest import assert_no_serious_axe_violations, login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(db):
    student = factories.make_student(username="nadia", first_name="Nadia", last_name="Petrova")
    teacher = factories.make_teacher(username="ms_okafor")
    classroom = factories.make_classroom(name="Year 11 A", teacher=teacher, students=[student])
    source = factories.make_source(
        title="Trotsky's speech to the Congress of Soviets",
        author="Leon Trotsky",
        audience="Delegates to the Congress",
        caption="From a report of a speech by Leon Trotsky, Petrograd, 1917.",
        context="The Congress's second session began on the evening of 26 October.",
        teacher_notes="Teachers only: the speech is usually dated 26 October.",
        passages=("Our party held out its hand, with the gunpowder still in it.",),
    )
    source.passages.update(modified="Our party offered to work with them, straight after the fighting.")
    GlossaryTerm.objects.create(source=source, term="gunpowder", definition="Explosive powder.")
    background = Background.objects.create(
        slug="october-1917",
        title="Russia, October 1917",
        timeline=[{"date": "25 October (7 November) 1917", "event": "The Provisional Government falls."}],
        people=[{"name": "Leon Trotsky", "role": "Chairman of the Petrograd Soviet."}],
    )
    exercise = factories.make_exercise(sources=[source], background=background, title="The speech")
    source.save()
    assignment = factories.make_assignment(classroom=classroom, exercise=exercise, due_at=None)
    return {"student": student, "assignment": assignment}


def open_workspace(page, live_server, world, level):
    assignment = world["assignment"]
    assignment.support_level = level
    assignment.save()
    login(page, live_server, "nadia")
    page.goto(f"{live_server.url}/learn/assignments/{assignment.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("The speech")


PROMISES = {
    # what the pupil can see: the levels that promise it
    "caption": {"guided", "standard", "exam"},
    "glossary": {"guided", "standard", "exam"},
    "origin card": {"guided", "standard"},
    "timeline": {"guided", "standard"},
    "key people": {"guided", "standard"},
    "hints": {"guided", "standard"},
    "context": {"guided"},
    "sentence starters": {"guided"},
    "modified text": {"guided"},
}


def what_is_shown(page) -> dict[str, bool]:
    sources = page.locator(".workspace__sources")
    questions = page.locator("#questions")
    return {
        "caption": sources.get_by_text("From a report of a speech by Leon Trotsky").is_visible(),
        "glossary": sources.get_by_role("button", name="gunpowder").first.is_visible(),
        "origin card": sources.get_by_text("Delegates to the Congress").is_visible(),
        "timeline": sources.get_by_text("Timeline", exact=True).is_visible(),
        "key people": sources.get_by_text("Key people", exact=True).is_visible(),
        "hints": questions.get_by_role("button", name="Show a hint").first.is_visible(),
        "context": sources.get_by_text("Context: what was happening").is_visible(),
        "sentence starters": questions.get_by_text("Sentence starters").first.is_visible(),
        "modified text": sources.get_by_text("Our party offered to work with them").is_visible(),
    }


@pytest.mark.parametrize("level", ["guided", "standard", "exam"])
def test_each_support_level_shows_exactly_what_it_promises(page, live_server, world, level):
    open_workspace(page, live_server, world, level)

    shown = what_is_shown(page)

    assert shown == {part: level in levels for part, levels in PROMISES.items()}
    expect(page.locator("body")).not_to_contain_text("Teachers only")
    expect(page.locator("[data-support-level]")).to_have_attribute("data-support-level", level)
    assert page.js_errors == []


def test_guided_support_is_readable_and_the_timeline_opens(page, live_server, world):
    open_workspace(page, live_server, world, "guided")
    page.get_by_text("Timeline", exact=True).click()
    expect(page.get_by_text("The Provisional Government falls.")).to_be_visible()
    expect(page.get_by_text("Modified text: Passage 1")).to_be_visible()
    assert_no_serious_axe_violations(page)


def test_exam_countdown_runs_and_at_the_limit_the_work_is_handed_in(page, live_server, world):
    assignment = world["assignment"]
    assignment.time_limit_minutes = 30
    assignment.save()
    submission = work.submission_start(assignment=assignment, student=world["student"])
    Response.objects.filter(submission=submission, question__position=0).update(
        text="Written before the time ran out.", version=1
    )
    Submission.objects.filter(pk=submission.pk).update(time_up_at=timezone.now() + timedelta(seconds=8))

    open_workspace(page, live_server, world, "exam")
    left = page.locator("[data-countdown-left]")
    first = left.inner_text()
    expect(left).not_to_have_text(first, timeout=5_000)  # it counts down

    expect(page.get_by_role("heading", name="Handed in: your receipt")).to_be_visible(timeout=15_000)
    submission.refresh_from_db()
    assert submission.status == Submission.Status.SUBMITTED
    assert submission.submitted_at == submission.time_up_at
    assert submission.responses.get(question__position=0).text == "Written before the time ran out."
    assert page.js_errors == []
