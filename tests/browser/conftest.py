"""Helpers for the Playwright tests. The browser fixtures themselves live in
tests/conftest.py, so that every folder shares one Playwright instance per session."""


def login(page, live_server, username, password="pw"):
    """Log in through the real form, as a user would."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")


def assert_no_serious_axe_violations(page):
    """axe-core finds no serious or critical accessibility violation on the page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [
        violation
        for violation in results.response["violations"]
        if violation.get("impact") in ("serious", "critical")
    ]
    assert not bad, "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:5]}" for v in bad
    )
