import pytest
from playwright.sync_api import expect
from analysis.models import Submission
from analysis.services import work
from tests import factories
from tests.browser.conftest import login
from tests.browser.test_student import world, open_workspace, answer_box, question, select_with_mouse, passage_ids  # noqa

pytestmark = pytest.mark.django_db(transaction=True)

def test_shots(context, page, live_server, world):
    student, assignment = world["student"], world["assignment"]
    submission = work.submission_start(assignment=assignment, student=student)
    first, second = submission.responses.order_by("question__position")[:2]
    passage = world["source"].passages.order_by("position").first()
    work.evidence_add(response_id=second.pk, student=student, passage_id=passage.pk, start=0, end=27)
    returned = factories.make_assignment(classroom=assignment.classroom, exercise=assignment.exercise)
    done = factories.make_submission(assignment=returned, student=student, status=Submission.Status.RETURNED, answers={0: "An answer", 1:"Another"}, overall_comment="Good work overall.")
    factories.make_mark(response=done.responses.order_by("question__position").first(), comment="Well argued.")
    login(page, live_server, "nadia")
    page.screenshot(path="/tmp/scratch/list.png", full_page=True)
    open_workspace(page, live_server, world)
    page.get_by_role("link", name="2. Purpose").click()
    question(page, 2).get_by_role("button", name="Show a hint").click()
    page.locator(f"#passage-{passage.pk}").focus()
    select_with_mouse(page, passage.pk, "with the gunpowder")
    page.wait_for_timeout(400)
    page.screenshot(path="/tmp/scratch/ws2.png", full_page=False)
    other = context.new_page(); open_workspace(other, live_server, world)
    answer_box(other, 1).fill("Other tab text"); other.wait_for_timeout(2500)
    page.get_by_role("link", name="1. Origin").click()
    answer_box(page, 1).fill("This tab text"); page.wait_for_timeout(2500)
    page.screenshot(path="/tmp/scratch/conflict.png", full_page=False)
    page.get_by_role("link", name="Check and submit").click(); page.wait_for_timeout(800)
    page.screenshot(path="/tmp/scratch/review.png", full_page=False)
    page.goto(f"{live_server.url}/learn/assignments/{returned.pk}/feedback/")
    page.screenshot(path="/tmp/scratch/feedback.png", full_page=True)
    page.goto(f"{live_server.url}/learn/assignments/{returned.pk}/")
    page.screenshot(path="/tmp/scratch/receipt.png", full_page=False)
    page.set_viewport_size({"width": 320, "height": 900})
    open_workspace(page, live_server, world)
    page.screenshot(path="/tmp/scratch/narrow.png", full_page=False)
    pass
