"""The markbook in a real browser: the teacher opens it from the class page, sorts it by an
assignment's column, and follows a cell into marking; on a phone only the table scrolls sideways.
And the assign form's "Pupils" choice follows the classes ticked."""

import re

import pytest
from playwright.sync_api import expect

from analysis.models import Assignment, Submission
from tests import factories
from tests.browser.conftest import assert_no_serious_axe_violations, login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def book():
    teacher = factories.make_teacher(username="ms_okafor", first_name="Ada", last_name="Okafor")
    nadia = factories.make_student(username="nadia", first_name="Nadia", last_name="Petrova")
    boris = factories.make_student(username="boris", first_name="Boris", last_name="Ivanov")
    classroom = factories.make_classroom(name="Year 11 A", teacher=teacher, students=[nadia, boris])
    factories.make_classroom(name="Year 11 B", teacher=teacher, students=[factories.make_student()])
    exercise = factories.make_exercise(title="Trotsky against coalition")
    assignment = factories.make_assignment(classroom=classroom, exercise=exercise)
    for _n in range(5):  # enough columns to need sideways scrolling on a phone
        factories.make_assignment(classroom=classroom, exercise=factories.make_exercise())
    marks = {nadia: [1, 1, 1], boris: [4, 4, 3]}
    submissions = {}
    for pupil, given in marks.items():
        submission = factories.make_submission(
            assignment=assignment,
            student=pupil,
            status=Submission.Status.SUBMITTED,
            answers={0: "An answer.", 1: "Another.", 2: "A third."},
        )
        for response, mark in zip(submission.responses.order_by("question__position"), given, strict=True):
            factories.make_mark(response=response, marks=mark, level=1 if mark <= 2 else 2)
        submissions[pupil.username] = submission
    return {"classroom": classroom, "assignment": assignment, "submissions": submissions}


def pupil_names(page):
    return page.locator("table.markbook tbody th").all_inner_texts()


def test_the_teacher_sorts_the_markbook_and_opens_a_cell_to_mark(page, live_server, book):
    assignment, submissions = book["assignment"], book["submissions"]
    login(page, live_server, "ms_okafor")
    page.goto(f"{live_server.url}/teach/classes/{book['classroom'].pk}/")
    page.get_by_role("link", name="Markbook").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Markbook"))
    assert pupil_names(page) == ["Boris Ivanov", "Nadia Petrova"]  # by surname
    expect(page.locator("table.markbook tbody tr").first).to_contain_text("11/12")
    expect(page.locator("table.markbook tbody tr").first).to_contain_text("draft")
    assert_no_serious_axe_violations(page)

    column = page.get_by_role("columnheader", name=re.compile("Trotsky against coalition"))
    column.get_by_role("link", name=re.compile("Sort")).click()  # highest marks first
    expect(column).to_have_attribute("aria-sort", "descending")
    assert pupil_names(page) == ["Boris Ivanov", "Nadia Petrova"]
    page.get_by_role("columnheader", name=re.compile("Trotsky against coalition")).get_by_role(
        "link", name=re.compile("Sort")
    ).click()  # and the other way
    expect(page.get_by_role("columnheader", name=re.compile("Trotsky against coalition"))).to_have_attribute(
        "aria-sort", "ascending"
    )
    assert pupil_names(page) == ["Nadia Petrova", "Boris Ivanov"]
    assert "sort=a" in page.url

    page.locator("table.markbook tbody tr").first.locator("a.markbook__link", has_text="3/12").click()
    expect(page).to_have_url(
        re.compile(rf"/teach/assignments/{assignment.pk}/submissions/{submissions['nadia'].pk}/$")
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nadia Petrova")
    assert page.js_errors == []


@pytest.mark.parametrize("width", [390, 1366])
def test_only_the_table_scrolls_sideways(page, live_server, book, width):
    login(page, live_server, "ms_okafor")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/teach/classes/{book['classroom'].pk}/markbook/")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    wrap = page.locator(".markbook-wrap")
    if width == 390:
        assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")  # the table scrolls in its box
        wrap.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
        name = page.locator("table.markbook tbody th").first
        box, frame = name.bounding_box(), wrap.bounding_box()
        assert box["x"] >= frame["x"] - 1  # the pupil column stays in view
        assert name.is_visible()


def test_the_pupils_choice_follows_the_class_ticked(page, live_server, book):
    classroom = book["classroom"]
    login(page, live_server, "ms_okafor")
    page.goto(f"{live_server.url}/teach/assignments/new/?classroom={classroom.pk}")
    page.get_by_text("Set to chosen pupils only").click()
    group = page.locator(f'.pupil-group[data-class="{classroom.pk}"]')
    expect(group).to_be_visible()
    expect(page.locator(".pupil-group:not([hidden])")).to_have_count(1)
    assert_no_serious_axe_violations(page)
    page.get_by_role("checkbox", name="Year 11 B").check()  # two classes: no chosen pupils
    expect(page.locator(".pupil-group:not([hidden])")).to_have_count(0)
    expect(page.get_by_text("Tick one class above to choose pupils from it.")).to_be_visible()
    page.get_by_role("checkbox", name="Year 11 B").uncheck()
    group.get_by_role("checkbox", name="Nadia Petrova").check()
    page.get_by_label("Exercise", exact=True).select_option(label="Trotsky against coalition")
    page.get_by_role("button", name="Set exercise").click()
    expect(page.get_by_text("Set to 1 pupil of Year 11 A:")).to_be_visible()
    newest = Assignment.objects.latest("pk")
    assert newest.chosen_pupils_only and [p.username for p in newest.pupils.all()] == ["nadia"]
    assert page.js_errors == []
