"""A teacher's marking cycle in a real browser: watch the grid, mark by level and comment,
release, and the student reads the feedback. axe-core checks the teacher pages."""

import re

import pytest
from playwright.sync_api import expect

from analysis.models import Mark, Submission
from tests import factories
from tests.browser.conftest import assert_no_serious_axe_violations, login

pytestmark = pytest.mark.django_db(transaction=True)

MARK = re.compile(r"^Mark:?$")
COMMENT = re.compile(r"^Comment:?$")


@pytest.fixture
def cycle():
    teacher = factories.make_teacher(username="ms_okafor", first_name="Ada", last_name="Okafor")
    nadia = factories.make_student(username="nadia", first_name="Nadia", last_name="Petrova")
    boris = factories.make_student(username="boris", first_name="Boris", last_name="Ivanov")
    classroom = factories.make_classroom(name="Year 11 A", teacher=teacher, students=[nadia, boris])
    source = factories.make_source(
        title="Trotsky's speech",
        passages=("We reject coalition with the compromisers.\nAll power to the soviets.", "A second part."),
    )
    exercise = factories.make_exercise(sources=[source], title="Trotsky against coalition")
    assignment = factories.make_assignment(classroom=classroom, exercise=exercise)
    submission = factories.make_submission(
        assignment=assignment,
        student=nadia,
        status=Submission.Status.SUBMITTED,
        answers={0: "A speech by Trotsky to the Congress.", 1: "He wanted to win over the delegates."},
    )
    purpose = submission.responses.get(question__position=1)
    factories.make_evidence(response=purpose, start=3, end=28)
    return {
        "teacher": teacher,
        "nadia": nadia,
        "boris": boris,
        "assignment": assignment,
        "submission": submission,
    }


def _item(page, submission, position):
    response = submission.responses.get(question__position=position)
    return page.locator(f"#item-{response.pk}"), response


def test_teacher_marks_releases_and_the_student_reads_it(page, live_server, cycle, browser):
    assignment, submission = cycle["assignment"], cycle["submission"]
    page.clock.install()
    login(page, live_server, "ms_okafor")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    assert_no_serious_axe_violations(page)

    # The grid: Nadia has handed in, Boris has not started. It refreshes by itself.
    page.get_by_role("link", name="Trotsky against coalition").first.click()
    grid = page.locator("#progress-grid")
    expect(grid.get_by_role("row", name=re.compile("Nadia Petrova"))).to_contain_text("Handed in")
    expect(grid.get_by_role("row", name=re.compile("Boris Ivanov"))).to_contain_text("Not started")
    assert_no_serious_axe_violations(page)
    factories.make_submission(assignment=assignment, student=cycle["boris"], answers={0: "I think"})
    page.clock.run_for(11_000)
    # The refresh that run_for sets off may be dropped if a refresh that started before Boris's
    # work existed is still on its way; the next one, 10 s later at the latest, shows it.
    expect(grid.get_by_role("row", name=re.compile("Boris Ivanov"))).to_contain_text(
        "Answered", timeout=15_000
    )

    # Mark Nadia's work: the evidence is highlighted beside her answer.
    page.get_by_role("link", name="Nadia Petrova", exact=True).click()
    expect(page.get_by_role("heading", name="Nadia Petrova", level=1)).to_be_visible()
    purpose_item, purpose = _item(page, submission, 1)
    expect(purpose_item.locator("mark")).to_have_text("reject coalition with the")
    assert_no_serious_axe_violations(page)

    origin_item, origin = _item(page, submission, 0)
    origin_item.get_by_label("Level 2 · 3–4 marks").check()
    expect(origin_item.get_by_label(MARK)).to_have_value("3")  # the band's lowest mark
    origin_item.get_by_label(MARK).fill("4")
    origin_item.get_by_label(COMMENT).fill("Precise on the occasion.")
    origin_item.get_by_role("button", name="Save and next").click()
    expect(page.locator("#marking-status")).to_contain_text("Saved for Nadia Petrova, Question 1")
    # Focus moves on to the next answer.
    expect(purpose_item.get_by_role("heading", level=2)).to_be_focused()

    purpose_item.get_by_label("Level 1 · 1–2 marks").check()
    purpose_item.get_by_label(MARK).fill("4")
    purpose_item.get_by_role("button", name="Save", exact=True).click()
    expect(purpose_item.get_by_text("Level 1 allows 1 to 2 marks.")).to_be_visible()
    purpose_item.get_by_label(MARK).fill("2")
    purpose_item.get_by_label(COMMENT).fill("Which words show his aim?")
    purpose_item.get_by_role("button", name="Save", exact=True).click()
    # Read the database only once the page says the save is done.
    expect(page.locator("#marking-status")).to_contain_text("Saved for Nadia Petrova, Question 2")
    expect(purpose_item.get_by_text("draft, not yet released")).to_be_visible()
    assert Mark.objects.get(response=origin).marks == 4
    assert Mark.objects.get(response=purpose).comment == "Which words show his aim?"

    # Mark by question works too, and passes axe.
    question = assignment.exercise.questions.get(position=1)
    page.goto(f"{live_server.url}/teach/assignments/{assignment.pk}/questions/{question.pk}/")
    expect(page.get_by_role("heading", name=re.compile("Question 2"), level=1)).to_be_visible()
    assert_no_serious_axe_violations(page)

    # Release: the student sees the marks on the feedback page.
    page.goto(f"{live_server.url}/teach/assignments/{assignment.pk}/")
    page.get_by_role("button", name="Release all fully marked").click()
    expect(page.get_by_text("Marks released to 1 student.")).to_be_visible()
    submission.refresh_from_db()
    assert submission.status == Submission.Status.RETURNED
    assert page.js_errors == []

    student_context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    student_page = student_context.new_page()
    login(student_page, live_server, "nadia")
    student_page.goto(f"{live_server.url}/learn/assignments/{assignment.pk}/feedback/")
    expect(student_page.get_by_text("Precise on the occasion.")).to_be_visible()
    expect(student_page.get_by_text("Which words show his aim?")).to_be_visible()
    student_context.close()


def test_marking_page_fits_a_phone_screen(page, live_server, cycle):
    login(page, live_server, "ms_okafor")
    page.set_viewport_size({"width": 320, "height": 640})
    assignment, submission = cycle["assignment"], cycle["submission"]
    for path in (
        f"/teach/assignments/{assignment.pk}/",
        f"/teach/assignments/{assignment.pk}/submissions/{submission.pk}/",
    ):
        page.goto(f"{live_server.url}{path}")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, path


def test_reopening_handed_in_work_asks_first(page, live_server, cycle):
    """The reopen buttons of the "Return marks" table submit hidden per-row forms, each of
    which names the student in its confirmation; declining leaves the work handed in."""
    assignment, submission = cycle["assignment"], cycle["submission"]
    login(page, live_server, "ms_okafor")
    page.goto(f"{live_server.url}/teach/assignments/{assignment.pk}/")
    reopen = page.get_by_role("button", name="Reopen for revision Nadia Petrova")
    questions = []

    def answer(dialog, accept):
        questions.append(dialog.message)
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    reopen.click()
    expect(page.get_by_role("checkbox", name="Release marks for Nadia Petrova")).to_be_visible()
    submission.refresh_from_db()
    assert submission.status == Submission.Status.SUBMITTED

    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    reopen.click()
    expect(page.get_by_text("Nadia Petrova's work is open again for revision.")).to_be_visible()
    submission.refresh_from_db()
    assert submission.status == Submission.Status.IN_PROGRESS
    assert [q.startswith("Reopen Nadia Petrova's work so they can revise it?") for q in questions] == [
        True,
        True,
    ]
    assert page.js_errors == []


def test_a_double_clicked_roster_upload_is_sent_once(page, live_server, cycle, tmp_path):
    """Adding students takes seconds (each password is hashed); a second click meanwhile must not
    send the file again, or its "already taken" page would replace the one with the passwords.
    The page counts the submissions that would go out (and stops them, to look at the page while
    the first one is on its way)."""
    classroom = cycle["assignment"].classroom
    roster = tmp_path / "roster.csv"
    roster.write_text("pupil1,Pupil,One\npupil2,Pupil,Two\n")
    login(page, live_server, "ms_okafor")
    page.goto(f"{live_server.url}/teach/classes/{classroom.pk}/roster/")
    page.evaluate(
        """() => {
            window.__sent = 0;
            window.addEventListener("submit", (event) => {
                if (!event.defaultPrevented) window.__sent += 1;
                event.preventDefault();
            });
        }"""
    )
    page.get_by_label(re.compile("file", re.IGNORECASE)).set_input_files(str(roster))
    button = page.get_by_role("button", name="Add students")
    button.click()
    expect(button).to_be_disabled()
    expect(page.get_by_role("status").filter(has_text="please wait")).to_be_visible()
    button.click(force=True)  # the impatient second click
    page.keyboard.press("Enter")  # or Enter in the form
    assert page.evaluate("window.__sent") == 1
    assert page.js_errors == []


def test_a_roster_upload_shows_every_new_password(page, live_server, cycle, tmp_path):
    classroom = cycle["assignment"].classroom
    roster = tmp_path / "roster.csv"
    roster.write_text("".join(f"pupil{n},Pupil,Number {n}\n" for n in range(6)))
    login(page, live_server, "ms_okafor")
    page.goto(f"{live_server.url}/teach/classes/{classroom.pk}/roster/")
    page.get_by_label(re.compile("file", re.IGNORECASE)).set_input_files(str(roster))
    page.get_by_role("button", name="Add students").click()
    expect(page.get_by_role("heading", name=re.compile("6 students added"))).to_be_visible()
    expect(page.get_by_role("row")).to_have_count(7)
    assert classroom.enrollments.filter(student__username__startswith="pupil").count() == 6
    assert page.js_errors == []
