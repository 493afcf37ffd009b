"""T4 in a real browser: the ten worst payloads in every writable field, rendered and used in
Chromium with the app's CSP enforced, on the workspace (editing and handed in), the feedback
page and the marking page.

Pass: no dialog opened, no CSP violation reported (a ``securitypolicyviolation`` listener is
installed before any page script runs), no request that the app itself would not make (no
``evil`` URL, no off-site origin, no injected htmx request), no script error.
"""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.security.conftest import PASSWORD, build_world
from tests.security.test_xss import PAYLOADS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORST = [
    PAYLOADS[0],  # <script>
    PAYLOADS[1],  # <img onerror>
    PAYLOADS[2],  # <svg onload>
    PAYLOADS[6],  # " onmouseover=" attribute breaker
    PAYLOADS[10],  # </textarea> breakout
    PAYLOADS[12],  # </script> breakout (JSON data islands)
    PAYLOADS[13],  # injected hx-get, triggered on load
    PAYLOADS[14],  # injected hx-on
    PAYLOADS[20],  # mutation XSS via <math><style>
    PAYLOADS[9],  # javascript: link
]

WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI} (${e.sample})`);
});
"""


class Watch:
    """Everything the page does that a payload could have caused."""

    def __init__(self, tab, origin):
        self.page = tab
        self.origin = origin
        self.dialogs, self.requests = [], []
        tab.add_init_script(WATCH_CSP)
        tab.on("dialog", self._dialog)
        tab.on("request", lambda request: self.requests.append(request.url))

    def _dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def unexpected_requests(self):
        return [
            url
            for url in self.requests
            if "evil" in url or not (url.startswith(self.origin) or url.startswith("data:image/"))
        ]

    def csp_violations(self):
        return self.page.evaluate("window.__cspViolations || []")

    def assert_clean(self, where):
        assert self.dialogs == [], f"{where}: dialogs {self.dialogs}"
        assert self.csp_violations() == [], f"{where}: CSP violations {self.csp_violations()}"
        assert self.unexpected_requests() == [], f"{where}: requests {self.unexpected_requests()}"
        assert self.page.js_errors == [], f"{where}: script errors {self.page.js_errors}"


def _worst_world(offset):
    order: dict[str, int] = {}

    def text(key, default):
        index = order.setdefault(key, len(order))
        return WORST[(index + offset) % len(WORST)].replace("{t}", f"xb{index:02d}z")

    return build_world(text, a1_returned=True)


def _poke(tab):
    """Move focus and the pointer over the page: handlers a payload smuggled in would fire."""
    for _ in range(25):
        tab.keyboard.press("Tab")
    box = tab.viewport_size
    for y in range(0, box["height"], 90):
        tab.mouse.move(box["width"] / 3, y)
        tab.mouse.move(2 * box["width"] / 3, y)
    tab.wait_for_timeout(300)


@pytest.mark.parametrize("offset", [0, 5])
def test_worst_payloads_do_nothing_in_the_browser(page, live_server, offset):
    world = _worst_world(offset)
    watch = Watch(page, live_server.url)
    workspace = f"{live_server.url}/learn/assignments/{world.assignment_a.pk}/"

    # A pupil still writing: type, let the autosave run, take a hint, use a sentence starter.
    login(page, live_server, "pupil_a2", PASSWORD)
    page.goto(workspace)
    page.wait_for_load_state("networkidle")
    page.locator("a[data-stage-link='purpose']").first.click()
    answer = page.get_by_label("Your answer to question 2")
    answer.click()
    answer.press("End")
    answer.type(" and more")
    expect(page.locator(f"#status-{world.response(world.sub_a2, 1).pk}")).to_contain_text(
        "Saved", timeout=10_000
    )
    page.locator("#stage-purpose details.starters summary").first.click()
    page.locator("#stage-purpose [data-starter]").first.click()
    page.locator("#stage-purpose .hints button").first.click()
    page.wait_for_load_state("networkidle")
    _poke(page)
    watch.assert_clean("workspace (editing)")
    page.get_by_role("button", name="Log out").click()

    # The pupil whose work came back: the handed-in workspace and the feedback page.
    login(page, live_server, "pupil_a1", PASSWORD)
    page.goto(workspace)
    page.wait_for_load_state("networkidle")
    _poke(page)
    watch.assert_clean("workspace (handed in)")
    page.goto(f"{workspace}feedback/")
    page.wait_for_load_state("networkidle")
    _poke(page)
    watch.assert_clean("feedback")
    page.get_by_role("button", name="Log out").click()

    # The teacher marking: the page, then a mark saved through htmx re-renders the answer.
    login(page, live_server, "teacher_a", PASSWORD)
    page.goto(f"{live_server.url}/teach/assignments/{world.assignment_a.pk}/submissions/{world.sub_a1.pk}/")
    page.wait_for_load_state("networkidle")
    item = page.locator(f"#item-{world.response(world.sub_a1, 1).pk}")
    item.get_by_label("Mark", exact=True).fill("4")
    item.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state("networkidle")
    _poke(page)
    watch.assert_clean("marking")
    assert any("/teach/" in url for url in watch.requests)
