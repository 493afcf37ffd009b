"""The pupil's own quotations are highlighted in the shared, cached source panels by
workspace.js: across glossary terms and line breaks, overlapping quotations merged, the passage
text unchanged, and selecting more text afterwards still cites the right words."""

import pytest
from playwright.sync_api import expect

from analysis.classwork import services as work
from analysis.models import Evidence, Response
from tests import factories
from tests.browser.conftest import login
from tests.browser.test_student import open_workspace, passage_ids, select_with_mouse, world  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

FIRST = (
    "Our party held out its hand, with the gunpowder still in it. "
    "But instead moderate Socialists ran to the City Duma.\n"
    "We shall never form a union with them."
)


def cite(response, passage, text):
    start = passage.text.index(text)
    return factories.make_evidence(response=response, passage=passage, start=start, end=start + len(text))


def test_saved_quotations_are_highlighted_when_the_workspace_opens(page, live_server, world):  # noqa: F811
    submission = work.submission_start(assignment=world["assignment"], student=world["student"])
    answers = list(Response.objects.filter(submission=submission).order_by("question__position"))
    first, second = world["source"].passages.order_by("position")
    cite(answers[0], first, "moderate Socialists ran to the City Duma.\nWe shall")  # a term, a line break
    cite(answers[1], first, "held out its hand")
    cite(answers[2], first, "its hand, with the gunpowder")  # overlaps the one above
    cite(answers[0], second, "The interests of the classes remain.")

    login(page, live_server, "nadia")
    open_workspace(page, live_server, world)
    passage = page.locator(f"#passage-{first.pk}")
    marks = passage.locator("mark")
    highlighted = " | ".join(marks.all_inner_texts())
    assert "held out its hand, with the gunpowder" in "".join(marks.all_inner_texts())
    assert "City Duma" in highlighted and "We shall" in highlighted
    expect(page.locator(f"#passage-{second.pk} mark")).to_have_text("The interests of the classes remain.")
    # The marks only wrap text: the passage reads exactly as before, lines and glossary intact.
    lines = passage.locator("li.passage__line")
    assert "\n".join(lines.all_text_contents()) == FIRST
    expect(passage.get_by_role("button", name="City Duma")).to_be_visible()
    # Offsets still map to the right characters with the marks in place.
    question_two = page.locator('.question[data-question-number="2"]')
    page.get_by_role("link", name="Purpose").first.click()
    question_two.get_by_label("Your answer to question 2").click()
    select_with_mouse(page, passage_ids(world)[0], "still in it")
    question_two.get_by_role("button", name="Attach selected text to question 2").click()
    expect(question_two.locator(".chip")).to_have_count(2)
    assert Evidence.objects.filter(quote="still in it", response=answers[1]).exists()
    assert page.js_errors == []
