"""What's new in Chromium: a pupil sees new work flagged on their list and counted in the
navigation, opens it, and the flag and the count clear; returned feedback the same way."""

import pytest
from playwright.sync_api import expect

from analysis.marking.services import marks_release
from analysis.models import Submission
from tests import factories
from tests.browser.conftest import assert_no_serious_axe_violations, login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(db):
    student = factories.make_student(username="nadia", first_name="Nadia", last_name="Petrova")
    teacher = factories.make_teacher(username="ms_okafor")
    classroom = factories.make_classroom(name="Year 11 A", teacher=teacher, students=[student])
    new_work = factories.make_assignment(
        classroom=classroom, exercise=factories.make_exercise(title="Trotsky rejects a coalition")
    )
    marked = factories.make_assignment(
        classroom=classroom, exercise=factories.make_exercise(title="The Bolsheviks' terms")
    )
    submission = factories.make_submission(
        assignment=marked,
        student=student,
        status=Submission.Status.SUBMITTED,
        answers={
            q.position: "Term 3 makes the Congress the only source of authority."
            for q in marked.exercise.questions.all()
        },
    )
    for response in submission.responses.all():
        factories.make_mark(response=response, marker=teacher)
    marks_release(assignment=marked, by=teacher)
    return {"student": student, "new_work": new_work, "marked": marked}


def test_pupil_sees_new_work_and_feedback_and_the_flags_clear_once_opened(page, live_server, world):
    page.set_viewport_size({"width": 390, "height": 800})
    login(page, live_server, "nadia")
    count = page.locator("#whats-new-count")
    expect(count).to_have_text("2 new")  # the visible number and its spoken word
    new_card = page.locator(f"#assignment-{world['new_work'].pk}")
    returned_card = page.locator(f"#assignment-{world['marked'].pk}")
    expect(new_card.locator(".badge--new")).to_have_text("New")
    expect(returned_card.locator(".badge--new")).to_have_text("New feedback")
    assert_no_serious_axe_violations(page)

    new_card.get_by_role("link", name="Start").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#whats-new-count")).to_have_count(0)  # the workspace never shows the count
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="My assignments").click()

    expect(count).to_have_text("1 new")
    expect(new_card.locator(".badge--new")).to_have_count(0)
    returned_card.get_by_role("link", name="Read your feedback").click()
    expect(page.get_by_role("heading", name="Your total")).to_be_visible()
    expect(page.locator("#whats-new-count")).to_have_count(0)  # read now: nothing new left
    nav.get_by_role("link", name="My assignments").click()
    expect(returned_card.locator(".badge--new")).to_have_count(0)
    expect(page.locator("#whats-new-count")).to_have_count(0)


def test_switching_the_digest_on_from_the_notifications_page(page, live_server, world):
    login(page, live_server, "nadia")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Notifications").click()
    page.get_by_label("Send me a daily e-mail of what is new").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Give an e-mail address for the digest")).to_be_visible()  # nothing saved yet
    expect(page.get_by_label("E-mail address")).to_have_attribute("aria-invalid", "true")
    assert page.get_by_label("Send me a daily e-mail of what is new").is_checked()  # nothing lost

    page.get_by_label("E-mail address").fill("nadia@example.org")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("A digest goes to nadia@example.org")
    assert_no_serious_axe_violations(page)
    world["student"].refresh_from_db()
    assert world["student"].email_digest
