"""Marking three answers in a row without reloading: after every save the card keeps its
question, the page's "marks so far" is right, a refusal is an alert in the error colour, and
a comment saved to the bank is offered on the next question at once. Then the pages a teacher
uses daily fit a phone and a laptop without sideways scrolling."""

import re

import pytest
from playwright.sync_api import expect

from analysis.models import Mark, Submission
from tests import factories
from tests.browser.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)

MARK = re.compile(r"^Mark$")
COMMENT = re.compile(r"^Comment$")
DANGER = "rgb(164, 22, 26)"  # --danger in app.css


@pytest.fixture
def handed_in():
    teacher = factories.make_teacher(username="ms_okafor", first_name="Ada", last_name="Okafor")
    nadia = factories.make_student(username="nadia", first_name="Nadia", last_name="Petrova")
    classroom = factories.make_classroom(name="Year 11 A", teacher=teacher, students=[nadia])
    exercise = factories.make_exercise(title="Trotsky against coalition")
    assignment = factories.make_assignment(classroom=classroom, exercise=exercise)
    submission = factories.make_submission(
        assignment=assignment,
        student=nadia,
        status=Submission.Status.SUBMITTED,
        answers={0: "A speech by Trotsky.", 1: "To win the delegates over.", 2: "Useful but one-sided."},
    )
    return {"assignment": assignment, "submission": submission}


def _card(page, submission, position):
    response = submission.responses.get(question__position=position)
    return page.locator(f"#item-{response.pk}"), response


def test_marking_three_answers_in_a_row_keeps_the_page_right_after_each_save(page, live_server, handed_in):
    assignment, submission = handed_in["assignment"], handed_in["submission"]
    login(page, live_server, "ms_okafor")
    page.goto(f"{live_server.url}/teach/assignments/{assignment.pk}/submissions/{submission.pk}/")
    page.evaluate("window.__samePage = true")  # gone if anything reloads the page
    progress = page.locator("#marking-progress")
    status = page.locator("#marking-status")
    expect(progress).to_have_text("marks so far: 0/12")

    # 1. Origin: a mark and a comment kept in the bank; "Save and next".
    first, origin = _card(page, submission, 0)
    second, purpose = _card(page, submission, 1)
    third, reliability = _card(page, submission, 2)
    first.get_by_label("Level 2 · 3–4 marks").check()
    first.get_by_label(MARK).fill("4")
    first.get_by_label(COMMENT).fill("Precise on the occasion.")
    first.get_by_label("Save this comment to my bank").check()
    expect(second.get_by_label("Add a comment from your bank")).to_be_hidden()  # the bank is empty
    first.get_by_role("button", name="Save and next").click()
    expect(status).to_contain_text("Saved for Nadia Petrova, Question 1 · Origin: 4/4")
    expect(progress).to_have_text("marks so far: 4/12")
    expect(first).to_contain_text("Question 1 about origin?")  # the question stays on its card
    expect(first).to_contain_text("draft, not yet released")
    expect(second.get_by_role("heading", level=2)).to_be_focused()
    # The banked comment is offered on the next question at once.
    bank = second.get_by_label("Add a comment from your bank")
    expect(bank).to_be_visible()
    expect(bank.locator("option", has_text="Precise on the occasion.")).to_have_count(1)
    assert Mark.objects.get(response=origin).marks == 4

    # 2. Purpose: a mark outside the level's band is refused, as an error.
    second.get_by_label("Level 1 · 1–2 marks").check()
    second.get_by_label(MARK).fill("4")
    second.get_by_role("button", name="Save", exact=True).click()
    alert = status.get_by_role("alert")
    expect(alert).to_have_text(re.compile(r"Not saved for Question 2 · Purpose: check the level and mark\."))
    assert alert.evaluate("el => getComputedStyle(el).color") == DANGER
    expect(second.get_by_text("Level 1 allows 1 to 2 marks.")).to_be_visible()
    expect(second).to_contain_text("Question 2 about purpose?")
    expect(progress).to_have_text("marks so far: 4/12")  # nothing changed
    assert not Mark.objects.filter(response=purpose).exists()
    # Corrected, with the comment taken from the bank: saved, and the total moves on.
    second.get_by_label(MARK).fill("2")
    second.get_by_label("Add a comment from your bank").select_option(label="Precise on the occasion.")
    expect(second.get_by_label(COMMENT)).to_have_value("Precise on the occasion.")
    second.get_by_role("button", name="Save and next").click()
    expect(status).to_contain_text("Saved for Nadia Petrova, Question 2 · Purpose: 2/4")
    expect(status.get_by_role("alert")).to_have_count(0)
    expect(progress).to_have_text("marks so far: 6/12")
    expect(second).to_contain_text("Question 2 about purpose?")
    expect(third.get_by_role("heading", level=2)).to_be_focused()

    # 3. Reliability: the third save in a row.
    third.get_by_label("Level 1 · 1–2 marks").check()
    third.get_by_label(MARK).fill("1")
    third.get_by_role("button", name="Save", exact=True).click()
    expect(status).to_contain_text("Saved for Nadia Petrova, Question 3 · Reliability: 1/4")
    expect(progress).to_have_text("marks so far: 7/12")
    expect(third).to_contain_text("Question 3 about reliability?")
    expect(first).to_contain_text("Question 1 about origin?")

    assert page.evaluate("window.__samePage") is True  # no reload at any point
    assert [
        m.marks
        for m in Mark.objects.filter(response__submission=submission).order_by("response__question__position")
    ] == [4, 2, 1]
    assert Mark.objects.get(response=purpose).comment == "Precise on the occasion."
    assert page.js_errors == []


def test_marking_by_question_counts_what_is_marked_as_it_goes(page, live_server, handed_in):
    assignment = handed_in["assignment"]
    other = factories.make_student(username="boris", first_name="Boris", last_name="Ivanov")
    assignment.classroom.enrollments.create(student=other)
    factories.make_submission(
        assignment=assignment, student=other, status=Submission.Status.SUBMITTED, answers={1: "To persuade."}
    )
    question = assignment.exercise.questions.get(position=1)
    login(page, live_server, "ms_okafor")
    page.goto(f"{live_server.url}/teach/assignments/{assignment.pk}/questions/{question.pk}/")
    progress = page.locator("#marking-progress")
    expect(progress).to_have_text("0 of 2 handed-in answers marked")
    card = page.locator(".mark-item").first
    expect(card.get_by_role("heading", level=2)).to_have_text(re.compile("Boris Ivanov"))
    card.get_by_label("Level 1 · 1–2 marks").check()
    card.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#marking-status")).to_contain_text("Saved for Boris Ivanov")
    expect(progress).to_have_text("1 of 2 handed-in answers marked")
    expect(card.get_by_role("heading", level=2)).to_have_text(re.compile("Boris Ivanov"))  # still by student
    assert page.js_errors == []


@pytest.mark.parametrize("width", [390, 1366])
def test_the_teachers_daily_pages_never_scroll_sideways(page, live_server, handed_in, width):
    assignment, submission = handed_in["assignment"], handed_in["submission"]
    question = assignment.exercise.questions.get(position=0)
    login(page, live_server, "ms_okafor")
    page.set_viewport_size({"width": width, "height": 900})
    for path in (
        "/teach/",
        f"/teach/assignments/{assignment.pk}/",
        f"/teach/assignments/{assignment.pk}/submissions/{submission.pk}/",
        f"/teach/assignments/{assignment.pk}/questions/{question.pk}/",
        "/sources/",
        f"/teach/exercises/{assignment.exercise_id}/",
    ):
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, width, overflow)
