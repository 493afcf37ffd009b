import os
import shutil

import pytest

from tests import factories


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: the rendered source panels are keyed by source id
    and version, and a rolled-back test's ids come round again."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def teacher(db):
    return factories.make_teacher(username="teacher_a")


@pytest.fixture
def other_teacher(db):
    return factories.make_teacher(username="teacher_b")


@pytest.fixture
def student(db):
    return factories.make_student(username="student_a1")


@pytest.fixture
def classmate(db):
    return factories.make_student(username="student_a2")


@pytest.fixture
def outsider(db):
    """A student of another class."""
    return factories.make_student(username="student_b")


@pytest.fixture
def school_class(db, teacher, student, classmate):
    return factories.make_classroom(name="Year 11 A", teacher=teacher, students=[student, classmate])


@pytest.fixture
def other_class(db, other_teacher, outsider):
    return factories.make_classroom(name="Year 11 B", teacher=other_teacher, students=[outsider])


@pytest.fixture
def assignment(db, school_class):
    return factories.make_assignment(classroom=school_class)


@pytest.fixture
def student_client(client, student):
    client.force_login(student)
    return client


@pytest.fixture
def teacher_client(client, teacher):
    client.force_login(teacher)
    return client


# --- Browser (Playwright + the system Chromium) ------------------------------------------------
# Playwright's sync API runs an event loop in this thread, which makes Django refuse ORM calls
# from tests ("async context"); the tests are synchronous code, so that guard is switched off.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("PROVENANCE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if {"page", "context", "browser"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM}; .ci/run installs it")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page
