"""The student's workspace in Chromium: work is never lost, evidence by mouse and keyboard,
conflicts between tabs, an expired session, submitting once, and accessibility (axe-core)."""

import re
import time

import pytest
from django.contrib.sessions.models import Session
from playwright.sync_api import expect

from analysis.classwork import services as work
from analysis.models import Evidence, GlossaryTerm, Response, Stage, Submission
from tests import factories
from tests.browser.conftest import assert_no_serious_axe_violations, login

pytestmark = pytest.mark.django_db(transaction=True)

SAVE_WAIT = 10_000  # ms: a save lands about 1.5 s after the last keystroke


@pytest.fixture
def world(db):
    """A student in a class with an open two-source exercise (tabs, glossary, four stages)."""
    student = factories.make_student(username="nadia", first_name="Nadia", last_name="Petrova")
    teacher = factories.make_teacher(username="ms_okafor")
    classroom = factories.make_classroom(name="Year 11 A", teacher=teacher, students=[student])
    trotsky = factories.make_source(
        title="Trotsky's speech to the Congress of Soviets",
        author="Leon Trotsky",
        date_text="26 October (8 November) 1917",
        publication="Second Congress of Soviets",
        kind="speech",
        audience="Delegates to the Congress",
        context="The Bolsheviks had taken power the day before.",
        passages=(
            "Our party held out its hand, with the gunpowder still in it. "
            "But instead moderate Socialists ran to the City Duma.\n"
            "We shall never form a union with them.",
            "Political combinations come and go. The interests of the classes remain.",
        ),
    )
    GlossaryTerm.objects.create(
        source=trotsky, term="City Duma", definition="Petrograd's elected city council."
    )
    izvestiia = factories.make_source(
        title="Bolshevik terms for a coalition",
        passages=("1. Acceptance of the program of the Soviet Government.",),
    )
    exercise = factories.make_exercise(
        sources=[trotsky, izvestiia],
        stages=(Stage.ORIGIN, Stage.PURPOSE, Stage.RELIABILITY, Stage.CORROBORATION),
        title="Offer and refusal, November 1917",
    )
    assignment = factories.make_assignment(classroom=classroom, exercise=exercise)
    return {"student": student, "teacher": teacher, "assignment": assignment, "source": trotsky}


def open_workspace(page, live_server, world):
    page.goto(f"{live_server.url}/learn/assignments/{world['assignment'].pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Offer and refusal, November 1917")


def question(page, number):
    return page.locator(f'.question[data-question-number="{number}"]')


def answer_box(page, number):
    return page.get_by_label(f"Your answer to question {number}")


def stored(world, number):
    return Response.objects.get(submission__student=world["student"], question__position=number - 1)


def select_with_mouse(page, passage_id, text):
    """Drag across ``text`` inside a passage with the real mouse."""
    box = page.evaluate(
        """([id, text]) => {
          const list = document.querySelector(`#passage-${id} ol.passage__lines`);
          const walker = document.createTreeWalker(list, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const at = node.data.indexOf(text);
            if (at < 0) continue;
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + text.length);
            const r = range.getBoundingClientRect();
            return {left: r.left, right: r.right, y: r.top + r.height / 2};
          }
          return null;
        }""",
        [passage_id, text],
    )
    assert box, f"{text!r} not found in passage {passage_id}"
    page.mouse.move(box["left"] + 1, box["y"])
    page.mouse.down()
    page.mouse.move((box["left"] + box["right"]) / 2, box["y"], steps=4)
    page.mouse.move(box["right"] - 1, box["y"], steps=4)
    page.mouse.up()


def passage_ids(world):
    return list(world["source"].passages.order_by("position").values_list("pk", flat=True))


# --- Never lose a word -----------------------------------------------------------------------


def test_typing_is_saved_and_still_there_after_reload(page, live_server, world):
    login(page, live_server, "nadia")
    open_workspace(page, live_server, world)
    text = "Trotsky gave this speech in 1917,\n  to the Congress of Soviets.  "
    answer_box(page, 1).fill(text)
    expect(question(page, 1).locator(".save-status")).to_have_text(
        re.compile(r"^Saved \d\d:\d\d$"), timeout=SAVE_WAIT
    )
    assert stored(world, 1).text == text  # byte for byte, spaces included

    page.reload()
    expect(answer_box(page, 1)).to_have_value(text)
    expect(page.locator('[data-stage-count="origin"]')).to_have_text("1 of 1 answered")
    assert page.js_errors == []


def test_a_save_whose_reply_is_lost_is_not_mistaken_for_a_conflict(page, live_server, world):
    """The server stores a save but the reply never arrives (the connection drops on the way
    back). The retry is based on the old version, so the server answers 409 with the text it
    holds: the same text. That is no conflict for the pupil to resolve; the tab carries on."""
    lost = []

    def lose_the_first_reply(route):
        if not lost:
            reply = route.fetch()  # the server handles the save ...
            lost.append(reply.status)
            route.abort("connectionreset")  # ... but the browser never hears back
        else:
            route.continue_()

    login(page, live_server, "nadia")
    open_workspace(page, live_server, world)
    page.route(re.compile(r"/responses/\d+/save/$"), lose_the_first_reply)
    text = "Written once, acknowledged late."
    answer_box(page, 1).fill(text)
    expect(question(page, 1).locator(".save-status")).to_have_text(
        re.compile(r"^Saved \d\d:\d\d$"), timeout=SAVE_WAIT * 3
    )
    assert lost == [200]
    expect(question(page, 1).locator(".conflict__box")).to_have_count(0)
    answer = stored(world, 1)
    assert (answer.text, answer.version) == (text, 1)
    # Later typing saves on top of the version the server reported.
    answer_box(page, 1).press("End")
    answer_box(page, 1).type(" More.")
    expect(question(page, 1).locator(".save-status")).to_have_text(
        re.compile(r"^Saved \d\d:\d\d$"), timeout=SAVE_WAIT
    )
    page.wait_for_function("() => !document.querySelector('.save-status[data-state=saving]')")
    answer = stored(world, 1)
    assert (answer.text, answer.version) == (text + " More.", 2)
    assert page.js_errors == []


def test_sentence_starter_is_inserted_at_the_cursor_and_saved(page, live_server, world):
    world["assignment"].support_level = "guided"  # sentence starters are Guided support's
    world["assignment"].save()
    login(page, live_server, "nadia")
    open_workspace(page, live_server, world)
    box = answer_box(page, 1)
    box.fill("I think.")
    box.evaluate("el => el.setSelectionRange(0, 0)")
    question(page, 1).get_by_text("Sentence starters").click()
    question(page, 1).get_by_role("button", name="This source was written by…").click()
    expect(box).to_have_value("This source was written by…I think.")
    expect(question(page, 1).locator(".save-status")).to_contain_text("Saved", timeout=SAVE_WAIT)
    assert stored(world, 1).text == "This source was written by…I think."


def test_two_tabs_in_conflict_show_both_texts_and_the_student_chooses(context, live_server, world):
    first = context.new_page()
    login(first, live_server, "nadia")
    second = context.new_page()
    open_workspace(first, live_server, world)
    open_workspace(second, live_server, world)

    answer_box(first, 1).fill("Written in the first tab.")
    expect(question(first, 1).locator(".save-status")).to_contain_text("Saved", timeout=SAVE_WAIT)
    answer_box(second, 1).fill("Written in the second tab.")

    conflict = question(second, 1).locator(".conflict__box")
    expect(conflict).to_be_visible(timeout=SAVE_WAIT)
    expect(conflict.locator("[data-mine]")).to_have_text("Written in the second tab.")
    expect(conflict.locator("[data-theirs]")).to_have_text("Written in the first tab.")
    assert stored(world, 1).text == "Written in the first tab."  # nothing overwritten silently

    conflict.get_by_role("button", name="Keep mine").click()
    expect(question(second, 1).locator(".save-status")).to_contain_text("Saved", timeout=SAVE_WAIT)
    expect(conflict).to_be_hidden()
    assert (stored(world, 1).text, stored(world, 1).version) == ("Written in the second tab.", 2)

    # The first tab is now the stale one: it takes the saved version instead.
    answer_box(first, 1).fill("A late edit in the first tab.")
    stale = question(first, 1).locator(".conflict__box")
    expect(stale).to_be_visible(timeout=SAVE_WAIT)
    stale.get_by_role("button", name="Use the saved version").click()
    expect(answer_box(first, 1)).to_have_value("Written in the second tab.")
    assert stored(world, 1).text == "Written in the second tab."


def test_expired_session_keeps_the_text_and_saves_after_logging_in_elsewhere(
    context, page, live_server, world
):
    login(page, live_server, "nadia")
    open_workspace(page, live_server, world)
    box = answer_box(page, 1)
    box.fill("Before the session ended.")
    status = question(page, 1).locator(".save-status")
    expect(status).to_contain_text("Saved", timeout=SAVE_WAIT)

    Session.objects.all().delete()  # the session expires while the page is open
    box.press("End")
    box.type(" Typed after it ended.")
    expect(status).to_contain_text("session has ended", timeout=SAVE_WAIT)
    expect(page.locator("#session-banner")).to_be_visible()
    expect(box).to_have_value("Before the session ended. Typed after it ended.")
    draft = page.evaluate("Object.entries(sessionStorage).filter(([k]) => k.startsWith('provenance:draft:'))")
    assert draft and "Typed after it ended." in draft[0][1]
    assert stored(world, 1).text == "Before the session ended."

    other = context.new_page()
    login(other, live_server, "nadia")  # a new session and a new CSRF token
    page.bring_to_front()
    expect(status).to_contain_text("Saved", timeout=25_000)
    assert stored(world, 1).text == "Before the session ended. Typed after it ended."
    expect(page.locator("#session-banner")).to_be_hidden()
    assert (
        page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('provenance:draft:')).length")
        == 0
    )


def test_unsaved_draft_in_the_tab_is_restored_and_saved_on_reload(page, live_server, world):
    login(page, live_server, "nadia")
    open_workspace(page, live_server, world)
    response = stored(world, 2)
    page.evaluate(
        "([key, text]) => sessionStorage.setItem(key, JSON.stringify({text, base: 0, at: Date.now()}))",
        [f"provenance:draft:{world['student'].pk}:{response.pk}", "Typed before the tab crashed."],
    )
    page.reload()
    expect(answer_box(page, 2)).to_have_value("Typed before the tab crashed.")
    expect(question(page, 2).locator(".save-status")).to_contain_text("Saved", timeout=SAVE_WAIT)
    assert stored(world, 2).text == "Typed before the tab crashed."


# --- Evidence --------------------------------------------------------------------------------


def test_attach_and_remove_evidence_with_the_mouse(page, live_server, world):
    login(page, live_server, "nadia")
    open_workspace(page, live_server, world)
    page.get_by_role("link", name=re.compile("Purpose")).first.click()
    answer_box(page, 2).click()
    first_passage = passage_ids(world)[0]

    select_with_mouse(page, first_passage, "held out its hand")
    floating = page.locator("#attach-float")
    expect(floating).to_be_visible()
    expect(floating).to_have_text(re.compile(r"Attach to question\s+2"))
    floating.click()

    chips = question(page, 2).locator(".chip")
    expect(chips).to_have_count(1)
    expect(chips.first.locator("q")).to_have_text("held out its hand")
    expect(chips.first).to_contain_text("Source A")
    expect(page.locator(f"#passage-{first_passage} mark")).to_have_text("held out its hand")
    expect(page.locator("#workspace-announcer")).to_have_text("Quotation added to question 2.")

    # The button in the answer panel works too, for a second quotation.
    select_with_mouse(page, first_passage, "We shall never form a union")
    question(page, 2).get_by_role("button", name=re.compile("Attach selected text")).click()
    expect(chips).to_have_count(2)
    assert sorted(Evidence.objects.values_list("quote", flat=True)) == [
        "We shall never form a union",
        "held out its hand",
    ]

    chips.first.get_by_role("button", name=re.compile("Remove")).click()
    expect(chips).to_have_count(1)
    expect(page.locator(f"#passage-{first_passage} mark")).to_have_text("We shall never form a union")
    expect(page.locator("#workspace-announcer")).to_have_text("Quotation removed from question 2.")
    assert list(Evidence.objects.values_list("quote", flat=True)) == ["We shall never form a union"]
    assert page.js_errors == []


def test_attach_and_remove_evidence_with_the_keyboard_only(page, live_server, world):
    login(page, live_server, "nadia")
    open_workspace(page, live_server, world)
    first_passage, second_passage = passage_ids(world)
    page.locator(f"#passage-{first_passage}").focus()  # as if reached with Tab
    page.keyboard.press("ArrowDown")  # arrow keys move between passages
    expect(page.locator(f"#passage-{second_passage}")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(page.locator(f"#passage-{first_passage}")).to_be_focused()

    tools = page.locator("#cite-tools")
    expect(tools).to_be_visible()
    page.keyboard.press("Tab")  # the glossary term inside the passage
    expect(page.get_by_role("button", name="City Duma")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Attach to")).to_be_focused()
    page.keyboard.press("ArrowDown")  # question 2
    expect(page.get_by_label("Attach to")).to_have_value(str(stored(world, 2).pk))
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Cite this passage")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#workspace-announcer")).to_have_text("Quotation added to question 2.")
    whole = world["source"].passages.order_by("position").first().text
    assert list(Evidence.objects.values_list("quote", "response__question__position")) == [(whole, 1)]

    page.keyboard.press("Tab")
    expect(page.get_by_label("Cite a sentence")).to_be_focused()
    page.keyboard.press("ArrowDown")  # the second sentence
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(question(page, 2).locator(".chip")).to_have_count(2)
    expect(page.locator("#workspace-announcer")).to_have_text("Quotation added to question 2.")
    assert Evidence.objects.filter(quote="But instead moderate Socialists ran to the City Duma.").exists()

    # Remove one from the keyboard: focus moves to the list of quotations, not the page top.
    page.locator("a[data-stage-link='purpose']").first.press("Enter")
    remove = question(page, 2).get_by_role("button", name=re.compile("Remove quotation “But instead"))
    remove.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#workspace-announcer")).to_have_text("Quotation removed from question 2.")
    expect(question(page, 2).locator(".chip")).to_have_count(1)
    expect(page.locator(f"#evidence-{stored(world, 2).pk}")).to_be_focused()


# --- Stages, hints, tabs ---------------------------------------------------------------------


def test_stages_switch_without_reload_and_hints_are_recorded(page, live_server, world):
    login(page, live_server, "nadia")
    open_workspace(page, live_server, world)
    expect(question(page, 1)).to_be_visible()
    expect(question(page, 2)).to_be_hidden()
    page.get_by_role("link", name=re.compile("Reliability")).first.click()
    expect(question(page, 3)).to_be_visible()
    expect(question(page, 1)).to_be_hidden()
    expect(page.locator("a[data-stage-link='reliability'][aria-current='step']")).to_have_count(1)

    question(page, 3).get_by_role("button", name=re.compile("Show a hint")).click()
    expect(question(page, 3).get_by_text("A first hint.")).to_be_visible()
    expect(question(page, 3).get_by_text("A first hint.")).to_be_focused()
    assert stored(world, 3).hints_used == 1


def test_source_tabs_follow_the_aria_pattern(page, live_server, world):
    login(page, live_server, "nadia")
    open_workspace(page, live_server, world)
    first_tab = page.get_by_role("tab", name="Source A")
    second_tab = page.get_by_role("tab", name="Source B")
    expect(first_tab).to_have_attribute("aria-selected", "true")
    expect(page.get_by_text("Bolshevik terms for a coalition")).to_be_hidden()
    first_tab.focus()
    page.keyboard.press("ArrowRight")
    expect(second_tab).to_be_focused()
    expect(second_tab).to_have_attribute("aria-selected", "true")
    expect(page.get_by_text("Bolshevik terms for a coalition")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.get_by_text("Trotsky's speech to the Congress of Soviets")).to_be_visible()


# --- Submit ----------------------------------------------------------------------------------


def test_submit_once_with_a_double_click_and_see_the_receipt(page, live_server, world):
    login(page, live_server, "nadia")
    open_workspace(page, live_server, world)
    answer_box(page, 1).fill("Leon Trotsky, November 1917, to the Congress.")
    page.get_by_role("link", name="Check and submit").click()
    expect(page.locator("#self-check")).to_contain_text("Question 1 says who produced the source and when.")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Submit my answers").dblclick()

    expect(page.get_by_role("heading", name="Handed in: your receipt")).to_be_visible()
    submission = Submission.objects.get(student=world["student"])
    assert submission.status == Submission.Status.SUBMITTED
    expect(page.locator(".receipt__code")).to_have_text(submission.receipt_hash[:12])
    assert stored(world, 1).text == "Leon Trotsky, November 1917, to the Congress."
    expect(page.locator("textarea")).to_have_count(0)
    assert Submission.objects.count() == 1


# --- Accessibility ---------------------------------------------------------------------------


def test_learn_pages_have_no_serious_accessibility_violations(page, live_server, world):
    student, assignment = world["student"], world["assignment"]
    submission = work.submission_start(assignment=assignment, student=student)
    first, second = submission.responses.order_by("question__position")[:2]
    work.response_save(response_id=first.pk, student=student, text="Trotsky, 1917.", base_version=0)
    passage = world["source"].passages.order_by("position").first()
    work.evidence_add(response_id=second.pk, student=student, passage_id=passage.pk, start=0, end=27)
    work.response_hint_reveal(response_id=first.pk, student=student)
    returned = factories.make_assignment(classroom=assignment.classroom, exercise=assignment.exercise)
    done = factories.make_submission(
        assignment=returned, student=student, status=Submission.Status.RETURNED, answers={0: "An answer"}
    )
    factories.make_mark(
        response=done.responses.order_by("question__position").first(), comment="Well argued."
    )

    login(page, live_server, "nadia")
    expect(page.get_by_role("heading", name="My assignments")).to_be_visible()
    assert_no_serious_axe_violations(page)

    open_workspace(page, live_server, world)
    page.locator(f"#passage-{passage.pk}").focus()  # keyboard tools showing
    assert_no_serious_axe_violations(page)

    page.goto(f"{live_server.url}/learn/assignments/{returned.pk}/feedback/")
    expect(page.get_by_text("Well argued.")).to_be_visible()
    assert_no_serious_axe_violations(page)


def test_workspace_fits_a_320_pixel_screen(page, live_server, world):
    page.set_viewport_size({"width": 320, "height": 640})
    login(page, live_server, "nadia")
    open_workspace(page, live_server, world)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0


# --- More ways to lose a connection (docs/quality.md T10) -----------------------------------------


# Counts the autosave POSTs per answer and how many were in flight at once (saves are compare-and-
# set on the answer's version, so two at once would earn a spurious conflict), and notes any
# textarea taken out of the page (a re-rendered answer box would drop what the pupil typed).
WATCH_SAVES = """
(() => {
  const open = {};
  window.__saves = [];
  window.__mostSavesAtOnce = 0;
  window.__textareasRemoved = 0;
  const original = window.fetch;
  window.fetch = function (input, init) {
    const url = String((input && input.url) || input);
    if (!(init && init.method === "POST" && url.endsWith("/save/"))) return original.apply(this, arguments);
    open[url] = (open[url] || 0) + 1;
    window.__mostSavesAtOnce = Math.max(window.__mostSavesAtOnce, open[url]);
    const entry = { url: url, status: null };
    window.__saves.push(entry);
    return original.apply(this, arguments).then(
      (response) => { open[url] -= 1; entry.status = response.status; return response; },
      (error) => { open[url] -= 1; entry.status = "failed"; throw error; }
    );
  };
  document.addEventListener("DOMContentLoaded", () => {
    new MutationObserver((records) => {
      records.forEach((record) => record.removedNodes.forEach((node) => {
        if (node.nodeType === 1 && (node.matches("textarea") || node.querySelector("textarea"))) {
          window.__textareasRemoved += 1;
        }
      }));
    }).observe(document.body, { childList: true, subtree: true });
  });
})();
"""

DROP_SECONDS = 30
AUTOSAVE_INTERVAL = 1_500  # ms, DEBOUNCE_MS in workspace.js
BACK_ONLINE_WAIT = 5_000  # ms: everything is saved within a few seconds of reconnecting


def test_thirty_second_network_drop_loses_no_characters(context, page, live_server, world):
    """Thirty seconds pass on the page's clock (Playwright's clock: timers and Date jump ahead),
    so the drop costs a few real seconds, not thirty."""
    context.add_init_script(WATCH_SAVES)
    page.clock.install()
    login(page, live_server, "nadia")
    open_workspace(page, live_server, world)
    first, second = answer_box(page, 1), answer_box(page, 2)
    first_status = question(page, 1).locator(".save-status")
    second_status = question(page, 2).locator(".save-status")
    first.fill("Trotsky, 1917.")
    expect(first_status).to_have_attribute("data-state", "saved", timeout=SAVE_WAIT)
    typed = {1: "Trotsky, 1917.", 2: ""}

    def type_offline(number, text):
        """Type at the end of an answer: it says "Not saved" at once, its autosave is tried and
        fails, and the box still holds every character typed so far."""
        box, status = answer_box(page, number), question(page, number).locator(".save-status")
        tries = page.evaluate("window.__saves.length")
        box.press("Control+End")
        box.press_sequentially(text)
        typed[number] += text
        expect(status).to_contain_text("Not saved", timeout=AUTOSAVE_INTERVAL)
        page.wait_for_function(
            "n => window.__saves.slice(n).some(save => save.status === 'failed')",
            arg=tries,
            timeout=AUTOSAVE_INTERVAL + 3_000,
        )
        expect(status).to_contain_text("Not saved — no connection")
        expect(box).to_have_value(typed[number])

    def page_now() -> float:
        return page.evaluate("Date.now()") / 1000

    context.set_offline(True)
    went_offline = page_now()
    type_offline(1, " Written on the bus — the wifi dropped.\nA second line: «Duma», café, 1917.")
    page.get_by_role("link", name=re.compile("Purpose")).first.click()
    type_offline(2, "To win over the delegates.\n\nAnd to shame the moderates.")
    # Part of the deliberate 30 s without a connection. The pupil types on until just before it
    # comes back, so each answer's next retry is then a long backoff away.
    page.clock.fast_forward(int(max(0, went_offline + DROP_SECONDS - 6 - page_now()) * 1000))
    type_offline(2, " Then the Duma.")
    page.get_by_role("link", name=re.compile("Origin")).first.click()
    type_offline(1, " (Added offline.)")
    page.clock.fast_forward(int(max(0, went_offline + DROP_SECONDS - page_now()) * 1000) + 50)

    assert page_now() - went_offline >= DROP_SECONDS
    expect(first_status).to_contain_text("Not saved — no connection")
    expect(second_status).to_contain_text("Not saved — no connection")
    expect(first).to_have_value(typed[1])
    expect(second).to_have_value(typed[2])
    assert (stored(world, 1).text, stored(world, 2).text) == ("Trotsky, 1917.", "")

    context.set_offline(False)
    back_online = time.monotonic()
    expect(first_status).to_have_attribute("data-state", "saved", timeout=BACK_ONLINE_WAIT)
    expect(second_status).to_have_attribute("data-state", "saved", timeout=BACK_ONLINE_WAIT)
    print(f"\nsaved {time.monotonic() - back_online:.2f} s after the connection came back")

    assert (stored(world, 1).text, stored(world, 2).text) == (typed[1], typed[2])
    assert page.evaluate("window.__textareasRemoved") == 0
    assert page.evaluate("window.__mostSavesAtOnce") == 1
    assert 409 not in [save["status"] for save in page.evaluate("window.__saves")]
    expect(page.locator(".conflict:not([hidden])")).to_have_count(0)
    assert page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('provenance:draft:'))") == []

    page.reload()
    expect(first).to_have_value(typed[1])
    expect(second).to_have_value(typed[2])
    assert page.js_errors == []


def test_server_restart_mid_answer_is_retried_until_it_lands(page, live_server, world):
    login(page, live_server, "nadia")
    open_workspace(page, live_server, world)
    box = answer_box(page, 1)
    status = question(page, 1).locator(".save-status")

    # While the server restarts, the proxy in front of it answers 502.
    def bad_gateway(route):
        route.fulfill(status=502, body="Bad gateway")

    page.route("**/save/", bad_gateway)
    box.fill("Written during a restart.")
    expect(status).to_contain_text("Not saved — retrying", timeout=SAVE_WAIT)
    page.unroute("**/save/", bad_gateway)
    expect(status).to_contain_text("Saved", timeout=40_000)
    assert stored(world, 1).text == "Written during a restart."


def test_logging_out_in_another_tab_keeps_the_text_and_saves_after_logging_back_in(
    context, page, live_server, world
):
    login(page, live_server, "nadia")
    open_workspace(page, live_server, world)
    other = context.new_page()
    other.goto(f"{live_server.url}/learn/")
    other.get_by_role("button", name="Log out").click()
    expect(other).to_have_url(re.compile(r"/accounts/login/"))

    page.bring_to_front()
    box = answer_box(page, 1)
    box.fill("Typed after logging out elsewhere.")
    status = question(page, 1).locator(".save-status")
    expect(status).to_contain_text("session has ended", timeout=SAVE_WAIT)
    expect(box).to_have_value("Typed after logging out elsewhere.")

    login(other, live_server, "nadia")
    page.bring_to_front()
    expect(status).to_contain_text("Saved", timeout=40_000)
    assert stored(world, 1).text == "Typed after logging out elsewhere."


# --- As pupils really read: on a phone and on a laptop -----------------------------------------

PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}
LAPTOP = {"viewport": {"width": 1366, "height": 900}, "has_touch": True}
SCREENS = [pytest.param(PHONE, id="phone-390"), pytest.param(LAPTOP, id="laptop-1366")]
LONG_URL = (
    "https://www.marxists.org/archive/trotsky/1917/10/speech-to-the-second-all-russian-congress-of-soviets"
    "-on-the-question-of-a-coalition-with-the-moderate-socialists-full-text-and-notes.html"
)


@pytest.fixture(params=SCREENS)
def screen(browser, request):
    """A page in a fresh browser context of the given size (touch on, to tap as on a phone)."""
    context = browser.new_context(locale="en-GB", **request.param)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page
    context.close()


def no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_workspace_and_feedback_never_scroll_sideways(screen, live_server, world):
    source = world["source"]
    source.citation = f"Trotsky, speech, 26 October 1917. {LONG_URL}"
    source.save()
    returned = factories.make_assignment(
        classroom=world["assignment"].classroom, exercise=world["assignment"].exercise
    )
    done = factories.make_submission(
        assignment=returned,
        student=world["student"],
        status=Submission.Status.RETURNED,
        answers={1: "An answer"},
    )
    answer = done.responses.order_by("question__position")[1]
    factories.make_mark(response=answer, comment="Well argued.")
    passage = source.passages.order_by("position").first()
    factories.make_evidence(response=answer, passage=passage, start=0, end=27)

    login(screen, live_server, "nadia")
    open_workspace(screen, live_server, world)
    expect(screen.get_by_text(LONG_URL, exact=False)).to_be_attached()
    assert no_sideways_scroll(screen)
    # Nor once the keyboard citing tools show, with their long options.
    screen.locator(f"#passage-{passage.pk}").focus()
    expect(screen.locator("#cite-tools")).to_be_visible()
    assert no_sideways_scroll(screen)

    screen.goto(f"{live_server.url}/learn/assignments/{returned.pk}/feedback/")
    expect(screen.get_by_text("Well argued.")).to_be_visible()
    expect(screen.locator(".quote-in-context mark")).to_have_text("Our party held out its hand")
    assert no_sideways_scroll(screen)
    assert screen.js_errors == []


def test_a_tapped_glossary_term_shows_its_definition_beside_it_at_once(screen, live_server, world):
    login(screen, live_server, "nadia")
    open_workspace(screen, live_server, world)
    term = screen.get_by_role("button", name="City Duma")
    term.scroll_into_view_if_needed()
    term.tap()
    definition = screen.get_by_role("tooltip")
    expect(definition).to_be_visible()
    expect(definition).to_contain_text("Petrograd's elected city council.")
    expect(screen.locator("#cite-tools")).to_be_hidden()  # a tap is not the keyboard
    box, word = definition.bounding_box(), term.bounding_box()
    width, height = screen.viewport_size["width"], screen.viewport_size["height"]
    assert box["x"] >= 0 and box["y"] >= 0
    assert box["x"] + box["width"] <= width and box["y"] + box["height"] <= height
    # Next to its word: just below it (or just above), not somewhere in the middle of the window.
    gap = min(abs(box["y"] - (word["y"] + word["height"])), abs(word["y"] - (box["y"] + box["height"])))
    assert gap <= 16
    assert no_sideways_scroll(screen)


def test_a_mouse_click_in_a_passage_opens_no_keyboard_panel(page, live_server, world):
    page.set_viewport_size({"width": 1366, "height": 900})
    login(page, live_server, "nadia")
    open_workspace(page, live_server, world)
    first = passage_ids(world)[0]
    page.locator(f"#passage-{first} li.passage__line").first.click()
    expect(page.locator(f"#passage-{first}")).to_be_focused()
    expect(page.locator("#cite-tools")).to_be_hidden()
    # The keyboard still gets it: Tab on from there.
    page.keyboard.press("Tab")  # the glossary term in the passage
    expect(page.get_by_role("button", name="City Duma")).to_be_focused()
    expect(page.locator("#cite-tools")).to_be_visible()
    expect(page.locator("#cite-tools")).to_contain_text("Cite from “Passage 1”")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Attach to")).to_be_focused()


def test_a_ragged_selection_is_cited_as_whole_words_with_a_line_a_teacher_can_say(page, live_server, world):
    login(page, live_server, "nadia")
    open_workspace(page, live_server, world)
    page.get_by_role("link", name=re.compile("Purpose")).first.click()
    answer_box(page, 2).click()
    second = passage_ids(world)[1]
    select_with_mouse(page, second, "cal combinations come and g")
    question(page, 2).get_by_role("button", name=re.compile("Attach selected text")).click()
    chip = question(page, 2).locator(".chip")
    expect(chip.locator("q")).to_have_text("Political combinations come and go")
    # Passage 1 has two lines, so passage 2 begins on line 3 of Source A.
    expect(chip.locator(".chip__where")).to_have_text("Source A, line 3")
    expect(page.locator(f"#passage-{second} li.passage__line").first).to_have_attribute("data-line", "3")
    assert list(Evidence.objects.values_list("quote", flat=True)) == ["Political combinations come and go"]


def test_reaching_a_question_about_source_b_shows_source_b(page, live_server, world):
    exercise = world["assignment"].exercise
    source_b = exercise.sources.exclude(pk=world["source"].pk).get()
    exercise.questions.filter(position=2).update(source=source_b)
    login(page, live_server, "nadia")
    open_workspace(page, live_server, world)
    expect(page.get_by_role("tab", name="Source A")).to_have_attribute("aria-selected", "true")
    page.get_by_role("link", name=re.compile("Reliability")).first.click()
    expect(question(page, 3)).to_be_visible()
    expect(page.get_by_role("tab", name="Source B")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_text("Bolshevik terms for a coalition")).to_be_visible()
    # Back to a question about Source A: Source A again.
    page.get_by_role("link", name=re.compile("Origin")).first.click()
    answer_box(page, 1).click()
    expect(page.get_by_role("tab", name="Source A")).to_have_attribute("aria-selected", "true")
