"""Skills across the year in a real browser: a teacher opens a pupil's profile and prints it for a
parents' evening (two A4 pages at most), picks the pupils at Level 1 on reliability in the class
skills view and reaches the assign form with them chosen; a pupil reads their own progress. No
page scrolls sideways on a phone."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from analysis.models import Assignment, Stage, Submission
from tests import factories
from tests.browser.conftest import assert_no_serious_axe_violations, login

pytestmark = pytest.mark.django_db(transaction=True)

STAGES = (Stage.READING, Stage.ORIGIN, Stage.PURPOSE, Stage.RELIABILITY, Stage.CORROBORATION)
COMMENT = (
    "You explain who wrote the source and when, but say more about why that matters for what it can "
    "tell us: link the author's position to the purpose of the speech and quote the words that show it."
)


def pdf_pages(pdf: bytes) -> int:
    """The number of page objects in a PDF (``/Type /Page``, not ``/Pages``)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


@pytest.fixture
def year():
    """A class of four with a term of returned work: eight assignments of five questions, each
    marked with a comment on every answer. Nadia climbs on reliability; Boris and Chen stay at
    Level 1 of a four-level scheme."""
    teacher = factories.make_teacher(username="ms_okafor", first_name="Ada", last_name="Okafor")
    nadia = factories.make_student(username="nadia", first_name="Nadia", last_name="Petrova")
    boris = factories.make_student(username="boris", first_name="Boris", last_name="Ivanov")
    chen = factories.make_student(username="chen", first_name="Chen", last_name="Li")
    dara = factories.make_student(username="dara", first_name="Dara", last_name="Quinn")
    classroom = factories.make_classroom(
        name="Year 11 A", teacher=teacher, students=[nadia, boris, chen, dara]
    )
    scheme = factories.make_mark_scheme(bands=((1, 2), (3, 4), (5, 6), (7, 8)))
    for level in scheme.levels.all():
        level.descriptor = (
            f"Level {level.number}: " + "an answer that weighs the source's origin and purpose. " * 3
        )
        level.save()
    sources = [factories.make_source(), factories.make_source()]
    now = timezone.now()
    for week in range(8):
        exercise = factories.make_exercise(
            sources=sources, stages=STAGES, mark_scheme=scheme, title=f"Week {week + 1}: sources on 1917"
        )
        assignment = factories.make_assignment(
            classroom=classroom, exercise=exercise, opens_at=now - timedelta(days=70 - week * 7)
        )
        for pupil, level in ((nadia, 1 + week // 2), (boris, 1), (chen, 1)):
            submission = factories.make_submission(
                assignment=assignment,
                student=pupil,
                answers=dict.fromkeys(range(len(STAGES)), "An answer."),
                status=Submission.Status.RETURNED,
                overall_comment=COMMENT,
            )
            Submission.objects.filter(pk=submission.pk).update(
                submitted_at=now - timedelta(days=68 - week * 7),
                returned_at=now - timedelta(days=60 - week * 7),
            )
            for response in submission.responses.select_related("question"):
                comment = f"{response.question.get_stage_display()}: {COMMENT}"  # a different one each
                factories.make_mark(response=response, level=level, marks=2 * level, comment=comment)
    return {"teacher": teacher, "nadia": nadia, "boris": boris, "chen": chen, "classroom": classroom}


def no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0


def test_teacher_opens_a_pupils_profile_and_prints_it_on_two_pages(page, live_server, year):
    login(page, live_server, "ms_okafor")
    page.goto(f"{live_server.url}/teach/classes/{year['classroom'].pk}/")
    page.get_by_role("link", name="Nadia Petrova", exact=True).click()
    expect(page.get_by_role("heading", name="Nadia Petrova", level=1)).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Reliability: level reached"))).to_be_visible()
    expect(page.get_by_text("Reliability — Level 4")).to_be_visible()
    assignments = page.locator("section", has=page.get_by_role("heading", name="Assignments", level=2))
    week_8 = assignments.get_by_role("listitem").filter(has_text="Week 8: sources on 1917")
    expect(week_8).to_contain_text("40/40 marks")
    # The chart's data table, for anyone who cannot read the chart.
    chart = page.locator("figure", has=page.get_by_role("img", name=re.compile("Reliability: level reached")))
    chart.get_by_text("Data table").click()
    expect(chart.get_by_role("table").get_by_role("row")).to_have_count(9)
    assert_no_serious_axe_violations(page)

    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", print_background=True)
    assert 1 <= pdf_pages(pdf) <= 2

    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 390, "height": 800})
    assert no_sideways_scroll(page)


def test_teacher_sets_an_exercise_to_the_pupils_at_level_1_on_reliability(page, live_server, year):
    login(page, live_server, "ms_okafor")
    page.goto(f"{live_server.url}/teach/classes/{year['classroom'].pk}/")
    page.get_by_role("link", name="Skills", exact=True).click()
    expect(page.get_by_role("heading", name="Skills in Year 11 A", level=1)).to_be_visible()
    assert_no_serious_axe_violations(page)

    reliability = page.locator("section", has=page.get_by_role("heading", name="Reliability", level=2))
    cell = reliability.locator('[data-level="1"]')
    expect(cell).to_contain_text("2 pupils")
    expect(cell).to_contain_text("Boris Ivanov")
    expect(cell).to_contain_text("Chen Li")
    expect(reliability.locator('[data-level="4"]')).to_contain_text("Nadia Petrova")
    expect(reliability.locator('[data-level="none"]')).to_contain_text("Dara Quinn")

    cell.get_by_role("link", name=re.compile("Set these 2 pupils an exercise")).click()
    page.wait_for_load_state("networkidle")
    url = urlsplit(page.url)
    assert url.path == "/teach/assignments/new/"
    query = parse_qs(url.query)
    assert query["classroom"] == [str(year["classroom"].pk)]
    assert sorted(query["pupils"]) == sorted([str(year["boris"].pk), str(year["chen"].pk)])
    # The form arrives with those two ticked: set them the exercise, in one step.
    group = page.locator(f'.pupil-group[data-class="{year["classroom"].pk}"]')
    expect(group.get_by_role("checkbox", name="Boris Ivanov")).to_be_checked()
    expect(group.get_by_role("checkbox", name="Chen Li")).to_be_checked()
    expect(group.get_by_role("checkbox", name="Nadia Petrova")).not_to_be_checked()
    page.get_by_label("Exercise", exact=True).select_option(label="Week 8: sources on 1917")
    page.get_by_role("button", name="Set exercise").click()
    expect(page.get_by_text("Set to 2 pupils of Year 11 A:")).to_be_visible()
    newest = Assignment.objects.latest("pk")
    assert newest.chosen_pupils_only
    assert sorted(p.username for p in newest.pupils.all()) == ["boris", "chen"]
    # Its progress grid lists only them.
    page.goto(f"{live_server.url}/teach/assignments/{newest.pk}/")
    grid = page.locator("table").first
    expect(grid).to_contain_text("Boris Ivanov")
    expect(grid).to_contain_text("Chen Li")
    expect(grid).not_to_contain_text("Nadia Petrova")
    expect(grid).not_to_contain_text("Dara Quinn")
    page.goto(f"{live_server.url}/teach/classes/{year['classroom'].pk}/skills/")

    # Or tick pupils from several cells and send them together.
    reliability.get_by_label("Nadia Petrova").check()
    reliability.get_by_label("Boris Ivanov").check()
    page.get_by_role("button", name="Set the ticked pupils an exercise").first.click()
    page.wait_for_load_state("networkidle")
    query = parse_qs(urlsplit(page.url).query)
    assert sorted(query["pupils"]) == sorted([str(year["nadia"].pk), str(year["boris"].pk)])

    page.go_back()
    page.set_viewport_size({"width": 390, "height": 800})
    assert no_sideways_scroll(page)


def test_a_pupil_reads_their_progress(page, live_server, year):
    login(page, live_server, "nadia")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My progress").click()
    expect(page.get_by_role("heading", name="My progress", level=1)).to_be_visible()
    reliability = page.locator("#progress-reliability")
    expect(reliability).to_contain_text(re.compile(r"Level 1 → Level 4 since \w+ \d{4}"))
    expect(reliability).to_contain_text("You reached the top level")
    expect(page.get_by_role("link", name="Week 8: sources on 1917")).to_be_visible()
    expect(page.get_by_text("Boris")).to_have_count(0)
    assert_no_serious_axe_violations(page)
    page.set_viewport_size({"width": 390, "height": 800})
    assert no_sideways_scroll(page)
