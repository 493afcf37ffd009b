"""Visual sources in a real browser, at a desktop's width and a phone's: a teacher uploads an
image source and marks two regions (one by dragging on the image, one by typing its position);
a pupil cites one region with a click and another from the keyboard; the teacher sees both
outlined on the marking page."""

import io
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from analysis.classwork import services as work
from analysis.models import Evidence, Region, Source, Submission
from tests import factories
from tests.browser.conftest import assert_no_serious_axe_violations, login

pytestmark = pytest.mark.django_db(transaction=True)

SCREENS = Path("/tmp/visual-browser-screens")


def poster_png() -> bytes:
    image = Image.new("RGB", (800, 600), (235, 225, 200))
    for x in range(0, 800, 40):
        image.paste((60, 80, 140), (x, 0, x + 20, 600))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def shot(page, name):
    SCREENS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("width", [1366, 390])
def test_regions_marked_cited_and_seen_by_the_teacher(page, live_server, width):
    page.set_viewport_size({"width": width, "height": 900 if width > 600 else 844})
    teacher = factories.make_teacher(username="ms_okafor")
    pupil = factories.make_student(username="nadia", first_name="Nadia", last_name="Petrova")
    classroom = factories.make_classroom(name="Year 11 A", teacher=teacher, students=[pupil])

    # The teacher uploads an image source.
    login(page, live_server, "ms_okafor")
    page.goto(f"{live_server.url}/teach/sources/new-image/")
    page.locator("#id_upload").set_input_files(
        files=[{"name": "poster.png", "mimeType": "image/png", "buffer": poster_png()}]
    )
    page.get_by_label("Alt text").fill("A recruiting poster with blue stripes.")
    page.get_by_label("Title").fill("Recruiting poster, 1915")
    page.get_by_label("Author").fill("Parliamentary Recruiting Committee")
    page.locator("#id_date_text").fill("1915")
    page.get_by_label("Publication or occasion").fill("Poster")
    page.get_by_label("Kind").fill("poster")
    page.get_by_role("button", name="Save and mark regions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Regions of “Recruiting poster, 1915”")
    source = Source.objects.get(title="Recruiting poster, 1915")

    # One region by dragging a rectangle on the image with the mouse.
    image = page.locator("[data-draw-surface] img")
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.10, box["y"] + box["height"] * 0.20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.30, box["y"] + box["height"] * 0.35, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.40, box["y"] + box["height"] * 0.50, steps=5)
    page.mouse.up()
    new = page.locator("[data-new-region]")
    expect(new.get_by_label("Label")).to_be_focused()
    page.keyboard.type("The soldier")
    new.get_by_role("button", name="Add region").click()
    expect(page.get_by_role("heading", name="1. The soldier")).to_be_visible()

    # One by typing its position in percent, from the keyboard only.
    new = page.locator("[data-new-region]")
    new.get_by_label("Label").fill("The slogan")
    new.get_by_label("Left (%)").fill("50")
    new.get_by_label("Top (%)").fill("70")
    new.get_by_label("Width (%)").fill("40")
    new.get_by_label("Height (%)").fill("20")
    new.get_by_label("Height (%)").press("Enter")
    expect(page.get_by_role("heading", name="2. The slogan")).to_be_visible()
    expect(page.locator(".visual__number")).to_have_count(2)
    shot(page, f"{width}-teacher-regions")
    soldier, slogan = source.regions.all()
    assert (soldier.x, soldier.y) == pytest.approx((0.10, 0.20), abs=0.01)
    assert (soldier.w, soldier.h) == pytest.approx((0.30, 0.30), abs=0.01)
    assert (slogan.x, slogan.y, slogan.w, slogan.h) == (0.5, 0.7, 0.4, 0.2)
    assert_no_serious_axe_violations(page)

    # The exercise is set to the class; the pupil cites a region with a click ...
    assignment = factories.make_assignment(
        classroom=classroom, exercise=factories.make_exercise(sources=[source], title="Recruiting, 1915")
    )
    page.context.clear_cookies()
    login(page, live_server, "nadia")
    page.goto(f"{live_server.url}/learn/assignments/{assignment.pk}/")
    figure = page.locator("[data-visual-cite]")
    expect(figure.get_by_role("img", name="A recruiting poster with blue stripes.")).to_be_visible()
    soldier_button = figure.get_by_role("button", name="Cite region: The soldier")
    soldier_button.click()
    first_question = page.locator('.question[data-question-number="1"]')
    expect(first_question.locator(".chip")).to_contain_text("Source A, region: The soldier")
    expect(first_question.get_by_role("button", name="Remove region “The soldier”")).to_be_visible()
    # ... and another from the keyboard: Tab from the first region to the next, then Enter.
    soldier_button.focus()
    page.keyboard.press("Tab")
    expect(figure.get_by_role("button", name="Cite region: The slogan")).to_be_focused()
    page.keyboard.press("Enter")
    expect(first_question.locator(".chip")).to_have_count(2)
    expect(first_question.locator(".chip").nth(1)).to_contain_text("Source A, region: The slogan")
    expect(figure.locator(".visual__outline--cited")).to_have_count(2)
    shot(page, f"{width}-pupil-workspace")
    assert set(Evidence.objects.values_list("region__label", flat=True)) == {"The soldier", "The slogan"}
    assert page.js_errors == []

    # The teacher sees both regions outlined on the marking page.
    submission = Submission.objects.get(student=pupil)
    work.submission_submit(submission=submission)
    page.context.clear_cookies()
    login(page, live_server, "ms_okafor")
    page.goto(f"{live_server.url}/teach/assignments/{assignment.pk}/submissions/{submission.pk}/")
    cited = page.locator(".mark-item .visual__outline--cited")
    expect(cited).to_have_count(2)
    expect(page.locator(".mark-item figcaption").first).to_contain_text(
        "region: The soldier; region: The slogan"
    )
    page.locator(".sources-panel summary").click()
    expect(page.locator(".sources-panel .visual__outline--cited")).to_have_count(2)
    shot(page, f"{width}-teacher-marking")
    assert Region.objects.count() == 2
