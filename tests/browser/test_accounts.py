import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tests import factories
from tests.browser.conftest import assert_no_serious_axe_violations, login

pytestmark = pytest.mark.django_db(transaction=True)


def test_new_student_signs_up_with_a_join_code(page, live_server):
    classroom = factories.make_classroom(name="Year 11 A")
    page.goto(f"{live_server.url}/accounts/signup/")
    page.get_by_label("Class join code").fill(classroom.join_code.lower())
    page.get_by_label("First name").fill("Nadia")
    page.get_by_label("Last name").fill("Petrova")
    page.get_by_label("Username").fill("nadia")
    page.get_by_label(re.compile(r"^Password:?$")).fill("red-kite-fortress-42")
    page.get_by_label("Password confirmation").fill("red-kite-fortress-42")
    page.get_by_role("button", name="Create account and join").click()
    expect(page).to_have_url(re.compile(r"/learn/$"))
    expect(page.get_by_text("You have joined Year 11 A")).to_be_visible()
    assert User.objects.get(username="nadia").enrollments.count() == 1
    assert page.js_errors == []


def test_login_page_is_accessible_and_keyboard_reachable(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    assert_no_serious_axe_violations(page)


def test_log_in_and_out(page, live_server):
    factories.make_teacher(username="ms_okafor", password="pw")
    login(page, live_server, "ms_okafor")
    expect(page).to_have_url(re.compile(r"/teach/$"))
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_page_works_at_320_pixels_wide(page, live_server):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"{live_server.url}/accounts/login/")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
