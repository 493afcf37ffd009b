"""The authoring studio end to end in Chromium, on a desktop and on a phone: a teacher pastes two
sources, builds an exercise with a question in each stage and a written mark scheme, previews it
as a pupil and sets it; the pupil answers, cites and hands in; the teacher marks with the scheme
and returns it; the pupil reads the feedback. The teacher's page loads and clicks are counted."""

import re

import pytest
from playwright.sync_api import expect

from analysis.models import Exercise, Response, Source, Stage, Submission
from tests import factories
from tests.browser.conftest import assert_no_serious_axe_violations, login

pytestmark = pytest.mark.django_db(transaction=True)

MARK = re.compile(r"^Mark:?$")
COMMENT = re.compile(r"^Comment:?$")
SAVE_WAIT = 10_000

DECREE_ON_PEACE = """The workers' and peasants' government proposes to all warring peoples \
a just, democratic peace.

By such a peace the government means an immediate peace without annexations \
and without indemnities.

The government abolishes secret diplomacy and will publish the secret treaties."""

DECREE_ON_LAND = """Landed proprietorship is abolished forthwith without any compensation.

The landed estates shall be placed at the disposal of the volost land committees \
and the uyezd Soviets.

Any damage to confiscated property is proclaimed a grave crime."""


class Steps:
    """What the teacher does, counted: every page load and every click or choice."""

    def __init__(self, page):
        self.loads = 0
        self.clicks = 0
        page.on("load", lambda _page: self._load())

    def _load(self):
        self.loads += 1

    def click(self, locator):
        self.clicks += 1
        locator.click()


def _fill_source(page, steps, *, title, author, date, caption, text, glossary=""):
    page.get_by_label("Title").fill(title)
    page.get_by_label("Author").fill(author)
    page.get_by_label(re.compile(r"^Date:?$")).fill(date)
    page.get_by_label("Caption").fill(caption)
    page.get_by_label("Publication or occasion").fill("Second All-Russian Congress of Soviets")
    page.get_by_label("Kind of source").fill("Decree")
    steps.click(page.get_by_label("Public domain"))
    page.get_by_label(re.compile(r"^Text:?$")).fill(text)
    if glossary:
        page.get_by_label("Glossary").fill(glossary)


@pytest.fixture
def school():
    teacher = factories.make_teacher(username="ms_okafor", first_name="Ada", last_name="Okafor")
    nadia = factories.make_student(username="nadia", first_name="Nadia", last_name="Petrova")
    classroom = factories.make_classroom(name="Year 11 A", teacher=teacher, students=[nadia])
    return {"teacher": teacher, "nadia": nadia, "classroom": classroom}


@pytest.mark.parametrize("width", [1366, 390])
def test_teacher_builds_sets_marks_and_returns_an_exercise_of_their_own(
    page, browser, live_server, school, width
):
    page.set_viewport_size({"width": width, "height": 900 if width > 600 else 844})
    login(page, live_server, "ms_okafor")
    steps = Steps(page)

    # From the dashboard to the library, then two pasted sources, one after the other.
    steps.click(page.get_by_role("link", name="Library", exact=True))
    expect(page.get_by_role("heading", name="Library", level=1)).to_be_visible()
    steps.click(page.get_by_role("link", name="New text source"))
    _fill_source(
        page,
        steps,
        title="Decree on Peace",
        author="V. I. Lenin",
        date="26 October 1917",
        caption="Adopted by the Congress of Soviets the day after the rising.",
        text=DECREE_ON_PEACE,
        glossary="annexations: taking another country's land",
    )
    steps.click(page.get_by_role("button", name="Save and add another source"))
    expect(page.get_by_text("“Decree on Peace” is saved in your library")).to_be_visible()
    _fill_source(
        page,
        steps,
        title="Decree on Land",
        author="V. I. Lenin",
        date="26 October 1917",
        caption="The land decree, read to the Congress at night.",
        text=DECREE_ON_LAND,
    )
    steps.click(page.get_by_role("button", name="Save and build an exercise with these sources"))

    # The exercise: its sources are already chosen; it starts with a question per stage.
    expect(page.get_by_label("Source A")).to_have_value(str(Source.objects.get(title="Decree on Peace").pk))
    expect(page.get_by_label("Source B")).to_have_value(str(Source.objects.get(title="Decree on Land").pk))
    page.get_by_label("Title").fill("Peace and land, October 1917")
    page.get_by_label("Summary").fill("The first two decrees of the Soviet government.")
    steps.click(page.get_by_role("button", name="Save and add questions"))
    expect(page.get_by_role("heading", name=re.compile("Question 5 · Corroboration"))).to_be_visible()
    exercise = Exercise.objects.get(owner=school["teacher"])
    questions = list(exercise.questions.order_by("position"))
    assert [q.stage for q in questions] == Stage.values
    reading, origin_q, purpose_q, reliability_q, _corroboration = questions

    # Adapt the reliability prompt: it saves by itself and survives a reload.
    reliability = page.locator(f"#q-{reliability_q.pk}")
    reliability.get_by_label("Prompt").fill(
        "How useful is Source B for an historian studying the peasants in 1917?"
    )
    expect(reliability.get_by_role("status")).to_contain_text("Saved at", timeout=SAVE_WAIT)

    # A mark scheme written for the origin question: bands suggested, descriptors typed.
    origin = page.locator(f"#q-{origin_q.pk}")
    steps.click(origin.get_by_text("Write a mark scheme for this question"))
    origin.get_by_label("Level 1 descriptor").fill("Names the author or the date.")
    origin.get_by_label("Level 2 descriptor").fill("Explains who, when and for whom, and why it matters.")
    steps.click(origin.get_by_role("button", name="Save mark scheme"))
    expect(page.get_by_text("Mark scheme saved and chosen for this question.")).to_be_visible()
    origin_q.refresh_from_db()
    assert [(lv.min_marks, lv.max_marks) for lv in origin_q.mark_scheme.levels.all()] == [(1, 2), (3, 4)]
    assert_no_serious_axe_violations(page)

    # Preview as a pupil, then set it to the class from there.
    steps.click(page.get_by_role("link", name="Preview as a pupil"))
    expect(
        page.get_by_text("How useful is Source B for an historian studying the peasants in 1917?")
    ).to_be_visible()
    expect(page.get_by_text("Adopted by the Congress of Soviets the day after the rising.")).to_be_visible()
    expect(page.get_by_text("Explains who, when and for whom")).to_have_count(0)  # teachers only
    steps.click(page.get_by_role("link", name="Set to a class"))
    expect(page.get_by_label(re.compile(r"^Exercise:?$"))).to_have_value(str(exercise.pk))
    expect(page.get_by_label("Year 11 A")).to_be_checked()  # their one class, already chosen
    steps.click(page.get_by_role("button", name="Set exercise"))
    expect(page.get_by_text("“Peace and land, October 1917” is set to Year 11 A.")).to_be_visible()
    assignment = exercise.assignments.get()
    print(f"\nwidth {width}: dashboard to a set exercise: {steps.loads} page loads, {steps.clicks} clicks")
    assert steps.loads <= 8 and steps.clicks <= 12
    assert page.js_errors == []

    # The pupil answers every question, cites words from Source A and hands in.
    pupil_context = browser.new_context(viewport=page.viewport_size, locale="en-GB")
    pupil = pupil_context.new_page()
    login(pupil, live_server, "nadia")
    pupil.goto(f"{live_server.url}/learn/assignments/{assignment.pk}/")
    expect(pupil.get_by_role("heading", level=1)).to_have_text("Peace and land, October 1917")
    answers = [
        "It gives the land to the peasants without paying the landlords.",
        "A decree by Lenin's new government, 26 October 1917, read to the Congress.",
        "To win the soldiers and workers over by promising peace at once.",
        "Useful for what the Bolsheviks promised the peasants, less for what happened.",
        "Both promise the people what they wanted most: peace and land.",
    ]
    for number, (stage, text) in enumerate(zip(Stage.labels, answers, strict=True), start=1):
        pupil.get_by_role("link", name=re.compile(str(stage))).first.click()
        box = pupil.get_by_label(f"Your answer to question {number}")
        box.fill(text)
        expect(pupil.locator(f'.question[data-question-number="{number}"] .save-status')).to_have_text(
            re.compile(r"^Saved \d\d:\d\d$"), timeout=SAVE_WAIT
        )
    pupil.get_by_role("link", name=re.compile("Purpose")).first.click()
    purpose = Response.objects.get(submission__student=school["nadia"], question=purpose_q)
    land = Source.objects.get(title="Decree on Land")  # the purpose question is about Source B
    first_passage = land.passages.order_by("position").first()
    # From the keyboard: a passage, the citing panel beside it, the question, cite.
    pupil.locator(f"#passage-{first_passage.pk}").focus()
    pupil.keyboard.press("ArrowDown")
    pupil.keyboard.press("ArrowUp")
    expect(pupil.locator("#cite-tools")).to_be_visible()
    pupil.keyboard.press("Tab")
    expect(pupil.get_by_label("Attach to")).to_be_focused()
    pupil.get_by_label("Attach to").select_option(str(purpose.pk))
    pupil.keyboard.press("Tab")
    expect(pupil.get_by_role("button", name="Cite this passage")).to_be_focused()
    pupil.keyboard.press("Enter")
    expect(pupil.locator("#workspace-announcer")).to_have_text("Quotation added to question 3.")
    pupil.get_by_role("link", name="Check and submit").click()
    pupil.on("dialog", lambda dialog: dialog.accept())
    pupil.get_by_role("button", name="Submit my answers").click()
    expect(pupil.get_by_role("heading", name="Handed in: your receipt")).to_be_visible()
    submission = Submission.objects.get(student=school["nadia"])
    assert submission.status == Submission.Status.SUBMITTED
    assert purpose.evidence.get().quote == first_passage.text

    # The teacher marks with the written scheme and returns the work.
    page.goto(f"{live_server.url}/teach/assignments/{assignment.pk}/submissions/{submission.pk}/")
    for question in questions:
        response = submission.responses.get(question=question)
        item = page.locator(f"#item-{response.pk}")
        if question == origin_q:
            expect(item.get_by_text("Explains who, when and for whom, and why it matters.")).to_be_visible()
            item.get_by_label("Level 2 · 3–4 marks").check()
            item.get_by_label(COMMENT).fill("Precise on who and when.")
        item.get_by_label(MARK).fill("3")
        item.get_by_role("button", name="Save", exact=True).click()
        expect(item.get_by_text("draft, not yet released")).to_be_visible()
    page.goto(f"{live_server.url}/teach/assignments/{assignment.pk}/")
    page.get_by_role("button", name="Release all fully marked").click()
    expect(page.get_by_text("Marks released to 1 student.")).to_be_visible()

    # The pupil reads the feedback.
    pupil.goto(f"{live_server.url}/learn/assignments/{assignment.pk}/feedback/")
    expect(pupil.get_by_text("Precise on who and when.")).to_be_visible()
    assert pupil.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    pupil_context.close()
