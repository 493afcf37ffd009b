"""The LTI tool driven through the local demo platform (lti_platform/, the one `make lti-demo`
serves), running as its own server on another site than the tool, as a school's LMS would:
deep linking inside the platform's frame, a learner's launch from the frame into the workspace
(a new tab: the frame cannot keep the session cookie), hand-in, the instructor's launch into the
grid in a new window, release, the score arriving in the platform's gradebook, the roster sync."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.models import Enrollment
from analysis.marking.services import mark_save
from analysis.models import Assignment, Submission
from lti.demo import demo_platform_register
from lti.models import Course, GradePost, LtiIdentity
from tests import factories
from tests.worker import run_worker

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def demo_platform(live_server, settings):
    """The demo platform on 127.0.0.1 (the tool's live server is on localhost: another site).
    The tool accepts it only with DEBUG on, as in development."""
    settings.DEBUG = True
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lti_platform.settings",
        "LTI_DEMO_TOOL_URL": live_server.url,
        "LTI_DEMO_PLATFORM_URL": url,
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/received.json", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        demo_platform_register(platform_url=url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def received(url):
    return json.loads(urllib.request.urlopen(url + "/received.json", timeout=5).read())


def act_as(page, url, label):
    page.goto(url + "/")
    page.get_by_label("Acting as").select_option(label=label)
    page.get_by_role("button", name="Switch").click()
    expect(page.locator("#acting")).to_have_text(label.split(" (")[0])


def test_deep_link_launch_hand_in_release_and_the_grade_arrives(page, context, demo_platform, live_server):
    exercise = factories.make_exercise(title="Offer and refusal, November 1917")

    # 1. The instructor adds an activity inside the course page's frame (cross-site: the launch's
    #    state cookie is partitioned, so it holds even where third-party cookies are blocked).
    page.goto(demo_platform + "/?frame=deep-link")
    frame = page.frame_locator("iframe[title=Provenance]")
    expect(frame.get_by_role("heading", name="Add a Provenance activity")).to_be_visible()
    frame.get_by_label("Exercise").select_option(label=exercise.title)
    frame.get_by_role("button", name="Add activity").click()
    expect(frame.get_by_role("heading", name="Activity added")).to_be_visible()
    assignment = Assignment.objects.get(exercise=exercise)
    course = Course.objects.get()
    assert assignment.classroom == course.classroom
    link = received(demo_platform)["links"][0]
    assert link["custom"] == {"provenance_assignment": str(assignment.pk)}

    # 2. A learner opens it in the course page. The frame cannot keep Provenance's session
    #    cookie, so it offers a new tab, which lands straight in the workspace.
    act_as(page, demo_platform, "Sam Lee (Learner)")
    page.goto(f"{demo_platform}/?frame={link['id']}")
    frame = page.frame_locator("iframe[title=Provenance]")
    with context.expect_page() as opened:
        frame.get_by_role("link", name="Open in a new tab").click()
    work = opened.value
    expect(work.get_by_role("heading", level=1)).to_have_text(exercise.title)
    assert work.url.endswith(f"/learn/assignments/{assignment.pk}/")
    work.get_by_label("Your answer to question 1").fill("Trotsky, speaking to the Congress in November 1917.")
    work.get_by_role("link", name="Check and submit").click()
    work.on("dialog", lambda dialog: dialog.accept())
    work.get_by_role("button", name="Submit my answers").click()
    expect(work.get_by_role("heading", name="Handed in: your receipt")).to_be_visible()
    work.close()
    sam = LtiIdentity.objects.get(sub="demo-learner-1").user
    submission = Submission.objects.get(assignment=assignment, student=sam)
    run_worker()
    handed_in = [r for r in received(demo_platform)["received"] if r["kind"] == "score"]
    assert handed_in[-1]["payload"]["activityProgress"] == "Submitted"
    assert handed_in[-1]["payload"]["gradingProgress"] == "Pending"

    # 3. The instructor opens the activity in a new window: the progress grid. Marks (saved
    #    through the marking service, as the marking page does) and releases from the grid.
    response = submission.responses.get(question__position=0)
    teacher = LtiIdentity.objects.get(sub="demo-instructor-1").user
    mark_save(response=response, marker=teacher, level=2, marks=3, comment="Well placed.")
    act_as(page, demo_platform, "Ada Byron (Instructor)")
    page.goto(f"{demo_platform}/open/{link['id']}/")
    expect(page.get_by_role("heading", name="Progress")).to_be_visible()
    assert page.url.endswith(f"/teach/assignments/{assignment.pk}/")
    page.get_by_role("button", name="Release all fully marked").click()
    expect(page.get_by_text("Sent: 1. Waiting: 1.")).to_be_visible()

    # 4. The worker posts the score; the platform has it, and says so on its page.
    run_worker()
    scores = [r["payload"] for r in received(demo_platform)["received"] if r["kind"] == "score"]
    final = scores[-1]
    assert final["userId"] == "demo-learner-1"
    assert (final["scoreGiven"], final["scoreMaximum"]) == (3, exercise.total_marks)
    assert (final["activityProgress"], final["gradingProgress"]) == ("Completed", "FullyGraded")
    assert "Well placed." in final["comment"]
    assert set(GradePost.objects.values_list("status", flat=True)) == {GradePost.Status.SENT}
    page.goto(demo_platform + "/received/")
    expect(page.locator(".grade-row")).to_contain_text(f"3.0 / {float(exercise.total_marks)}")

    # 5. A learner added on the platform joins the class when the instructor syncs the roster.
    page.goto(demo_platform + "/")
    page.get_by_label("First name").fill("Lina")
    page.get_by_label("Last name").fill("Roy")
    page.get_by_role("button", name="Add a learner").click()
    page.goto(f"{demo_platform}/open/{link['id']}/")
    page.goto(f"{live_server.url}/lti/courses/{course.pk}/")
    page.get_by_role("button", name="Sync roster now").click()
    expect(page.get_by_text("Roster synced")).to_be_visible()
    lina = LtiIdentity.objects.get(user__first_name="Lina").user
    assert Enrollment.objects.current().filter(classroom=course.classroom, student=lina).exists()
