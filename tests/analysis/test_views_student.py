"""The student's pages and workspace endpoints over HTTP: full pages and htmx fragments,
permissions (other class, other pupil, teacher → 404), concurrency and query counts."""

import json
import re
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analysis.classwork import services as work
from analysis.models import Evidence, GlossaryTerm, Stage, Submission
from tests import factories

HTMX = {"headers": {"HX-Request": "true"}}


def url(name, *args):
    return reverse(f"learn:{name}", args=args)


def save_url(assignment, response):
    return url("response-save", assignment.pk, response.pk)


def assert_full_page(reply):
    assert reply.status_code == 200
    assert b"<html" in reply.content


def assert_fragment(reply):
    assert reply.status_code == 200
    assert b"<html" not in reply.content


# --- My assignments --------------------------------------------------------------------------


def test_assignment_list_page_and_fragment(student_client, assignment):
    page = student_client.get(url("assignment-list"))
    assert_full_page(page)
    assert assignment.exercise.title in page.content.decode()
    fragment = student_client.get(url("assignment-list"), **HTMX)
    assert_fragment(fragment)
    assert 'id="assignment-rows"' in fragment.content.decode()


def test_assignment_list_shows_status_progress_and_overdue(student_client, student, school_class):
    now = timezone.now()
    overdue = factories.make_assignment(
        classroom=school_class, opens_at=now - timedelta(days=4), due_at=now - timedelta(days=1)
    )
    factories.make_submission(assignment=overdue, student=student, answers={0: "Started"})
    submitted = factories.make_assignment(classroom=school_class)
    factories.make_submission(assignment=submitted, student=student, status=Submission.Status.SUBMITTED)
    returned = factories.make_assignment(classroom=school_class)
    factories.make_submission(assignment=returned, student=student, status=Submission.Status.RETURNED)

    html = student_client.get(url("assignment-list")).content.decode()
    assert "answered 1 of 3" in html
    assert "Overdue" in html
    assert "In progress" in html and "Handed in" in html and "Returned" in html
    assert url("feedback", returned.pk) in html


def test_upcoming_assignment_is_listed_without_a_link(student_client, school_class):
    upcoming = factories.make_assignment(
        classroom=school_class,
        opens_at=timezone.now() + timedelta(days=2),
        due_at=timezone.now() + timedelta(days=9),
    )
    html = student_client.get(url("assignment-list")).content.decode()
    assert "Opens on" in html
    assert url("workspace", upcoming.pk) not in html


def test_assignment_list_hides_other_classes(student_client, other_class):
    theirs = factories.make_assignment(classroom=other_class)
    html = student_client.get(url("assignment-list")).content.decode()
    assert theirs.exercise.title not in html
    assert "No assignments yet" in html and "Ask your teacher for a join code" in html


def test_assignment_list_query_count_does_not_grow_with_assignments(
    student_client, student, school_class, django_assert_num_queries
):
    factories.make_assignment(classroom=school_class)
    with django_assert_num_queries(3):  # session, user, the list
        student_client.get(url("assignment-list"))
    for _ in range(4):
        assignment = factories.make_assignment(classroom=school_class)
        factories.make_submission(assignment=assignment, student=student, answers={0: "x"})
    with django_assert_num_queries(3):
        student_client.get(url("assignment-list"))


# --- Workspace -------------------------------------------------------------------------------


def test_workspace_page_starts_the_work_and_shows_sources_and_questions(student_client, student, assignment):
    source = assignment.exercise.sources.first()
    source.audience = "Readers of Izvestiia"
    source.context = "Petrograd, November 1917."
    source.save()
    GlossaryTerm.objects.create(source=source, term="passage", definition="A piece of text.")

    page = student_client.get(url("workspace", assignment.pk))

    assert_full_page(page)
    html = page.content.decode()
    submission = Submission.objects.get(assignment=assignment, student=student)
    assert submission.responses.count() == 3
    assert "Readers of Izvestiia" in html  # origin card
    assert '<details class="context-note">' in html
    assert 'popovertarget="gloss-' in html  # glossary reachable from the keyboard
    assert 'aria-current="step"' in html
    assert html.count("<textarea") == 3
    assert "Teacher-only indicative content" not in html
    assert "A model answer" not in html


def test_workspace_htmx_get_returns_the_self_check_fragment(student_client, assignment):
    fragment = student_client.get(url("workspace", assignment.pk), **HTMX)
    assert_fragment(fragment)
    assert 'id="self-check"' in fragment.content.decode()
    assert "Not answered yet: question 1, 2, 3." in fragment.content.decode()


def test_two_sources_are_offered_as_tabs(student_client, school_class):
    exercise = factories.make_exercise(sources=[factories.make_source(), factories.make_source()])
    assignment = factories.make_assignment(classroom=school_class, exercise=exercise)
    html = student_client.get(url("workspace", assignment.pk)).content.decode()
    assert html.count('data-tab-label="Source ') == 2


def test_workspace_resumes_at_the_first_unanswered_stage(student_client, assignment, responses, student):
    work.response_save(response_id=responses[0].pk, student=student, text="Origin done", base_version=0)
    html = student_client.get(url("workspace", assignment.pk)).content.decode()
    assert 'data-current-stage="purpose"' in html
    assert "1 of 1 answered" in html


def test_workspace_of_another_class_is_not_found(student_client, other_class):
    theirs = factories.make_assignment(classroom=other_class)
    assert student_client.get(url("workspace", theirs.pk)).status_code == 404
    assert not Submission.objects.exists()


def test_teacher_gets_not_found_on_learn_pages(teacher_client, assignment):
    for path in (url("assignment-list"), url("workspace", assignment.pk), url("feedback", assignment.pk)):
        assert teacher_client.get(path).status_code == 404


def test_anonymous_visitor_is_sent_to_log_in(client, assignment):
    reply = client.get(url("workspace", assignment.pk))
    assert reply.status_code == 302
    assert reply["Location"].startswith(reverse("accounts:login"))


def test_workspace_before_opening_says_when_it_opens(student_client, school_class):
    upcoming = factories.make_assignment(
        classroom=school_class,
        opens_at=timezone.now() + timedelta(days=2),
        due_at=timezone.now() + timedelta(days=9),
    )
    reply = student_client.get(url("workspace", upcoming.pk))
    assert reply.status_code == 200
    assert "This assignment opens on" in reply.content.decode()
    assert not Submission.objects.exists()


def test_submitted_work_is_read_only_with_a_receipt(
    student_client, assignment, submission, responses, student
):
    work.response_save(
        response_id=responses[0].pk, student=student, text="Four words of answer", base_version=0
    )
    submitted = work.submission_submit(submission=submission)
    html = student_client.get(url("workspace", assignment.pk)).content.decode()
    assert "<textarea" not in html
    assert "Four words of answer" in html
    assert submitted.receipt_hash[:12] in html
    assert submitted.receipt_hash[:13] not in html
    assert "<td>4</td>" in html  # word count of question 1
    assert "Remove" not in html


def test_workspace_escapes_the_students_own_text(student_client, assignment, responses, student):
    payload = '</textarea><script>alert(1)</script><img src=x onerror="alert(2)">'
    work.response_save(response_id=responses[0].pk, student=student, text=payload, base_version=0)
    html = student_client.get(url("workspace", assignment.pk)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;/textarea&gt;&lt;script&gt;" in html


@pytest.mark.parametrize("questions", [3, 12])
def test_workspace_query_count_is_the_same_for_3_and_12_questions(
    questions, student_client, school_class, django_assert_num_queries
):
    stages = [Stage.ORIGIN, Stage.PURPOSE, Stage.RELIABILITY, Stage.CORROBORATION] * (questions // 3)
    exercise = factories.make_exercise(stages=stages[:questions])
    assignment = factories.make_assignment(classroom=school_class, exercise=exercise)
    student_client.get(url("workspace", assignment.pk))  # first visit creates the rows
    with django_assert_num_queries(WORKSPACE_QUERIES):
        reply = student_client.get(url("workspace", assignment.pk))
    assert reply.content.decode().count("<textarea") == questions


@pytest.mark.parametrize("evidence_items", [0, 20])
def test_workspace_query_count_is_the_same_for_0_and_20_evidence_items(
    evidence_items, student_client, assignment, responses, passage, django_assert_num_queries
):
    for index in range(evidence_items):
        factories.make_evidence(response=responses[index % 3], passage=passage, start=0, end=index + 1)
    student_client.get(url("workspace", assignment.pk))  # renders and caches the source panels
    with django_assert_num_queries(WORKSPACE_QUERIES):
        reply = student_client.get(url("workspace", assignment.pk))
    assert reply.content.decode().count('class="chip"') == evidence_items


def _highlights(reply) -> dict:
    found = re.search(
        r'<script id="passage-highlights" type="application/json">(.*?)</script>', reply.content.decode()
    )
    return json.loads(found.group(1))


def test_workspace_lists_only_this_pupils_quotations_to_highlight(
    student_client, assignment, responses, passage, classmate
):
    factories.make_evidence(response=responses[0], passage=passage, start=6, end=13)
    factories.make_evidence(response=responses[2], passage=passage, start=0, end=5)
    theirs = work.submission_start(assignment=assignment, student=classmate).responses.first()
    factories.make_evidence(response=theirs, passage=passage, start=14, end=18)
    reply = student_client.get(url("workspace", assignment.pk))
    assert _highlights(reply) == {str(passage.pk): [[0, 5], [6, 13]]}
    # The passage text itself is shared by everyone: it carries nobody's highlights.
    assert "<mark>" not in reply.content.decode()


def test_a_source_edited_after_it_was_shown_shows_its_new_text(student_client, assignment, passage):
    first = student_client.get(url("workspace", assignment.pk)).content.decode()
    assert "First passage text." in first
    passage.text = "First passage, corrected."
    passage.save()
    GlossaryTerm.objects.create(source=passage.source, term="corrected", definition="Put right by an editor.")
    again = student_client.get(url("workspace", assignment.pk)).content.decode()
    assert "First passage, corrected." in again and "First passage text." not in again
    assert "Put right by an editor." in again
    assert '"First passage, corrected."' in again  # the sentence list for keyboard citing too


def test_a_removed_glossary_term_disappears_from_the_workspace(student_client, assignment, passage):
    term = GlossaryTerm.objects.create(source=passage.source, term="passage", definition="A piece of text.")
    assert "A piece of text." in student_client.get(url("workspace", assignment.pk)).content.decode()
    term.delete()
    assert "A piece of text." not in student_client.get(url("workspace", assignment.pk)).content.decode()


# session, user, assignment with its question count, answers with their submission and
# questions, evidence with passages, the sources (their rendered panels come from the cache).
WORKSPACE_QUERIES = 6


# --- Autosave --------------------------------------------------------------------------------


def test_autosave_returns_the_new_version_as_json(student_client, assignment, responses):
    reply = student_client.post(
        save_url(assignment, responses[0]), {"text": "  Kept as typed \n", "version": 0}, **HTMX
    )
    assert reply.status_code == 200
    assert b"<html" not in reply.content
    data = reply.json()
    assert data["version"] == 1 and data["answered"] is True
    assert len(data["saved_at_display"]) == 5  # "14:03"
    responses[0].refresh_from_db()
    assert responses[0].text == "  Kept as typed \n"


def test_save_without_javascript_redirects_back_to_the_question(student_client, assignment, responses):
    reply = student_client.post(save_url(assignment, responses[1]), {"text": "Plain form", "version": 0})
    assert reply.status_code == 302
    assert reply["Location"] == url("workspace", assignment.pk) + f"#response-{responses[1].pk}"
    responses[1].refresh_from_db()
    assert responses[1].text == "Plain form"


def test_stale_save_gets_409_with_the_servers_text(student_client, assignment, responses):
    target = save_url(assignment, responses[0])
    student_client.post(target, {"text": "Tab A", "version": 0}, **HTMX)
    reply = student_client.post(target, {"text": "Tab B", "version": 0}, **HTMX)
    assert reply.status_code == 409
    data = reply.json()
    assert (data["error"], data["text"], data["version"]) == ("conflict", "Tab A", 1)
    responses[0].refresh_from_db()
    assert responses[0].text == "Tab A"


def test_stale_save_without_javascript_shows_both_texts(student_client, assignment, responses):
    target = save_url(assignment, responses[0])
    student_client.post(target, {"text": "Saved elsewhere", "version": 0})
    reply = student_client.post(target, {"text": "Typed here", "version": 0})
    assert reply.status_code == 409
    html = reply.content.decode()
    assert b"<html" in reply.content
    assert "Saved elsewhere" in html and "Typed here" in html


def test_save_after_submit_is_refused_as_already_submitted(student_client, assignment, submission, responses):
    work.submission_submit(submission=submission)
    reply = student_client.post(
        save_url(assignment, responses[0]), {"text": "Too late", "version": 0}, **HTMX
    )
    assert reply.status_code == 409
    assert reply.json()["error"] == "submitted"
    assert "already been submitted" in reply.json()["message"]
    responses[0].refresh_from_db()
    assert responses[0].text == ""


def test_overlong_answer_is_refused_with_422_and_nothing_stored(
    student_client, assignment, responses, settings
):
    settings.ANSWER_MAX_CHARS = 100
    reply = student_client.post(save_url(assignment, responses[0]), {"text": "z" * 101, "version": 0}, **HTMX)
    assert reply.status_code == 422
    assert "100" in reply.json()["message"]
    responses[0].refresh_from_db()
    assert (responses[0].text, responses[0].version) == ("", 0)


def test_save_with_a_missing_version_is_refused(student_client, assignment, responses):
    reply = student_client.post(save_url(assignment, responses[0]), {"text": "No version"}, **HTMX)
    assert reply.status_code == 422


def test_saving_another_pupils_answer_is_not_found(student_client, assignment, classmate):
    theirs = work.submission_start(assignment=assignment, student=classmate)
    response = theirs.responses.first()
    reply = student_client.post(save_url(assignment, response), {"text": "Overwrite", "version": 0}, **HTMX)
    assert reply.status_code == 404
    response.refresh_from_db()
    assert response.text == ""


def test_answer_under_another_assignment_url_is_not_found(
    student_client, school_class, assignment, responses
):
    other = factories.make_assignment(classroom=school_class)
    reply = student_client.post(
        url("response-save", other.pk, responses[0].pk), {"text": "Wrong URL", "version": 0}, **HTMX
    )
    assert reply.status_code == 404


def test_autosave_from_an_expired_session_gets_401_and_an_event(client, assignment, responses):
    reply = client.post(save_url(assignment, responses[0]), {"text": "Lost?", "version": 0}, **HTMX)
    assert reply.status_code == 401
    assert "session-expired" in reply["HX-Trigger"]
    responses[0].refresh_from_db()
    assert responses[0].text == ""


def test_get_on_post_endpoints_is_not_allowed(student_client, assignment, responses):
    for path in (
        save_url(assignment, responses[0]),
        url("evidence-add", assignment.pk, responses[0].pk),
        url("response-hint", assignment.pk, responses[0].pk),
        url("submit", assignment.pk),
    ):
        assert student_client.get(path).status_code == 405


def test_csrf_endpoint_gives_a_fresh_token(student_client):
    reply = student_client.get(url("csrf"), **HTMX)
    assert reply.status_code == 200
    assert len(reply.json()["csrfToken"]) == 64


def test_stale_csrf_token_is_refused_and_the_fresh_one_works(student, assignment, responses):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(student)
    browser.get(url("workspace", assignment.pk))
    target = save_url(assignment, responses[0])
    stale = browser.post(target, {"text": "x", "version": 0}, HTTP_X_CSRFTOKEN="stale" * 8, **HTMX)
    assert stale.status_code == 403
    token = browser.get(url("csrf"), **HTMX).json()["csrfToken"]
    fresh = browser.post(target, {"text": "x", "version": 0}, HTTP_X_CSRFTOKEN=token, **HTMX)
    assert fresh.status_code == 200


# --- Evidence --------------------------------------------------------------------------------


def test_attaching_evidence_returns_chips_and_highlighted_passage(
    student_client, assignment, responses, passage
):
    reply = student_client.post(
        url("evidence-add", assignment.pk, responses[1].pk),
        {"passage": passage.pk, "start": 6, "end": 13},
        **HTMX,
    )
    assert_fragment(reply)
    html = reply.content.decode()
    assert "<q>passage</q>" in html
    assert "Source A, line 1" in html
    assert f'hx-swap-oob="innerHTML:#passage-{passage.pk}-text"' in html
    assert "First <mark>passage</mark> text." in html
    trigger = json.loads(reply["HX-Trigger"])
    assert trigger["evidence-changed"]["message"] == "Quotation added to question 2."
    assert Evidence.objects.get().quote == "passage"


def test_attaching_evidence_without_javascript_redirects(student_client, assignment, responses, passage):
    reply = student_client.post(
        url("evidence-add", assignment.pk, responses[1].pk), {"passage": passage.pk, "start": 0, "end": 5}
    )
    assert reply.status_code == 302
    assert reply["Location"].endswith(f"#response-{responses[1].pk}")
    assert Evidence.objects.get().quote == "First"


@pytest.mark.parametrize(
    "fields", [{"start": 5, "end": 6}, {"start": 3, "end": 500}, {"start": "a", "end": 2}]
)
def test_bad_selections_are_refused_with_a_message(student_client, assignment, responses, passage, fields):
    reply = student_client.post(
        url("evidence-add", assignment.pk, responses[1].pk), {"passage": passage.pk, **fields}, **HTMX
    )
    assert reply.status_code == 422
    assert reply["Content-Type"].startswith("text/plain")
    assert not Evidence.objects.exists()


def test_evidence_on_another_pupils_answer_is_not_found(student_client, assignment, classmate, passage):
    theirs = work.submission_start(assignment=assignment, student=classmate).responses.first()
    reply = student_client.post(
        url("evidence-add", assignment.pk, theirs.pk), {"passage": passage.pk, "start": 0, "end": 5}, **HTMX
    )
    assert reply.status_code == 404
    assert not Evidence.objects.exists()


def test_removing_evidence_updates_chips_and_passage(student_client, assignment, responses, passage):
    evidence = factories.make_evidence(response=responses[1], passage=passage, start=0, end=5)
    reply = student_client.post(url("evidence-delete", assignment.pk, responses[1].pk, evidence.pk), **HTMX)
    assert_fragment(reply)
    html = reply.content.decode()
    assert "No quotations yet." in html
    assert "<mark>" not in html
    assert (
        json.loads(reply["HX-Trigger"])["evidence-changed"]["message"] == "Quotation removed from question 2."
    )
    assert not Evidence.objects.exists()


def test_removing_evidence_without_javascript_redirects(student_client, assignment, responses, passage):
    evidence = factories.make_evidence(response=responses[1], passage=passage, start=0, end=5)
    reply = student_client.post(url("evidence-delete", assignment.pk, responses[1].pk, evidence.pk))
    assert reply.status_code == 302
    assert not Evidence.objects.exists()


def test_removing_another_pupils_evidence_is_not_found(student_client, assignment, classmate, passage):
    theirs = work.submission_start(assignment=assignment, student=classmate).responses.first()
    evidence = factories.make_evidence(response=theirs, passage=passage, start=0, end=5)
    reply = student_client.post(url("evidence-delete", assignment.pk, theirs.pk, evidence.pk), **HTMX)
    assert reply.status_code == 404
    assert Evidence.objects.filter(pk=evidence.pk).exists()


def test_evidence_after_submit_is_refused(student_client, assignment, submission, responses, passage):
    work.submission_submit(submission=submission)
    reply = student_client.post(
        url("evidence-add", assignment.pk, responses[1].pk),
        {"passage": passage.pk, "start": 0, "end": 5},
        **HTMX,
    )
    assert reply.status_code == 409
    assert not Evidence.objects.exists()


# --- Hints -----------------------------------------------------------------------------------


def test_hint_fragment_reveals_the_next_hint_and_records_it(student_client, assignment, responses):
    hint_url = url("response-hint", assignment.pk, responses[0].pk)
    first = student_client.post(hint_url, **HTMX)
    assert_fragment(first)
    assert "A first hint." in first.content.decode()
    assert "A second hint." not in first.content.decode()
    second = student_client.post(hint_url, **HTMX).content.decode()
    assert "A second hint." in second
    assert "Show another hint" not in second  # none left
    responses[0].refresh_from_db()
    assert responses[0].hints_used == 2


def test_hint_without_javascript_redirects_and_shows_on_the_page(student_client, assignment, responses):
    reply = student_client.post(url("response-hint", assignment.pk, responses[0].pk))
    assert reply.status_code == 302
    assert "A first hint." in student_client.get(url("workspace", assignment.pk)).content.decode()


def test_hints_turned_off_are_not_offered(student_client, school_class, student):
    assignment = factories.make_assignment(classroom=school_class, hints_enabled=False)
    html = student_client.get(url("workspace", assignment.pk)).content.decode()
    assert "Show a hint" not in html
    response = Submission.objects.get(student=student).responses.first()
    assert student_client.post(url("response-hint", assignment.pk, response.pk), **HTMX).status_code == 404


# --- Submit ----------------------------------------------------------------------------------


def test_submit_hands_in_and_lands_on_the_receipt(student_client, assignment, submission):
    reply = student_client.post(url("submit", assignment.pk))
    assert reply.status_code == 302
    assert reply["Location"] == url("workspace", assignment.pk) + "#receipt"
    submission.refresh_from_db()
    assert submission.status == Submission.Status.SUBMITTED


def test_submit_by_htmx_redirects_the_client(student_client, assignment, submission):
    reply = student_client.post(url("submit", assignment.pk), **HTMX)
    assert reply.status_code == 200
    assert reply["HX-Redirect"] == url("workspace", assignment.pk) + "#receipt"


def test_submitting_twice_gives_the_same_receipt(student_client, assignment, submission):
    student_client.post(url("submit", assignment.pk))
    first = Submission.objects.get(pk=submission.pk)
    again = student_client.post(url("submit", assignment.pk))
    assert again.status_code == 302
    second = Submission.objects.get(pk=submission.pk)
    assert (second.submitted_at, second.receipt_hash) == (first.submitted_at, first.receipt_hash)


def test_late_submit_is_refused_when_late_work_is_not_accepted(student_client, school_class, student):
    strict = factories.make_assignment(
        classroom=school_class,
        opens_at=timezone.now() - timedelta(days=3),
        due_at=timezone.now() - timedelta(hours=2),
        late_allowed=False,
    )
    reply = student_client.post(url("submit", strict.pk), follow=True)
    assert "does not accept late work" in reply.content.decode()
    assert Submission.objects.get(student=student).status == Submission.Status.IN_PROGRESS
    assert student_client.post(url("submit", strict.pk), **HTMX).status_code == 409


def test_submit_to_another_class_is_not_found(student_client, other_class):
    theirs = factories.make_assignment(classroom=other_class)
    assert student_client.post(url("submit", theirs.pk)).status_code == 404


SQLITE_THREADS = (
    "SQLite's in-memory test database is one shared cache for all threads: concurrent writers "
    "block each other there instead of queueing as on a real server. The PostgreSQL CI job runs it."
)
RECEIPT_TIME = re.compile(r'class="receipt__facts">.*?<time datetime="([^"]+)"', re.DOTALL)


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_submits_submit_once_with_one_receipt(school_class, student):
    if connection.vendor == "sqlite":
        pytest.skip(SQLITE_THREADS)
    assignment = factories.make_assignment(classroom=school_class)
    submission = work.submission_start(assignment=assignment, student=student)
    first_response = submission.responses.order_by("question__position").first()
    work.response_save(response_id=first_response.pk, student=student, text="My answer", base_version=0)
    statuses, locations, receipt_times = [], [], []
    barrier = threading.Barrier(20, timeout=30)

    def hand_in():
        try:
            browser = Client()
            browser.force_login(student)
            barrier.wait()
            reply = browser.post(url("submit", assignment.pk))
            statuses.append(reply.status_code)
            locations.append(reply["Location"])
            receipt = browser.get(reply["Location"]).content.decode()
            receipt_times.extend(RECEIPT_TIME.findall(receipt))
        finally:
            connection.close()

    threads = [threading.Thread(target=hand_in) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [302] * 20
    assert set(locations) == {url("workspace", assignment.pk) + "#receipt"}
    assert len(receipt_times) == 20 and len(set(receipt_times)) == 1  # every click sees one receipt
    rows = Submission.objects.filter(assignment=assignment, student=student)
    assert rows.count() == 1
    stored = rows.get()
    assert stored.status == Submission.Status.SUBMITTED
    assert stored.receipt_hash == stored.compute_receipt_hash(list(stored.responses.all()))


@pytest.mark.django_db(transaction=True)
def test_parallel_saves_from_one_version_acknowledge_exactly_one(school_class, student):
    if connection.vendor == "sqlite":
        pytest.skip(SQLITE_THREADS)
    assignment = factories.make_assignment(classroom=school_class)
    submission = work.submission_start(assignment=assignment, student=student)
    response = submission.responses.first()
    outcomes = []
    barrier = threading.Barrier(10, timeout=30)

    def save(n):
        try:
            browser = Client()
            browser.force_login(student)
            barrier.wait()
            reply = browser.post(save_url(assignment, response), {"text": f"tab {n}", "version": 0}, **HTMX)
            outcomes.append((reply.status_code, reply.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    acknowledged = [data for status, data in outcomes if status == 200]
    refused = [data for status, data in outcomes if status == 409]
    assert len(acknowledged) == 1 and len(refused) == 9
    response.refresh_from_db()
    assert response.version == 1
    assert all(data["text"] == response.text for data in refused)


@pytest.mark.django_db(transaction=True)
def test_submit_racing_autosaves_keeps_exactly_the_last_acknowledged_save(school_class, student):
    if connection.vendor == "sqlite":
        pytest.skip(SQLITE_THREADS)
    assignment = factories.make_assignment(classroom=school_class)
    submission = work.submission_start(assignment=assignment, student=student)
    response = submission.responses.order_by("question__position").first()
    acknowledged, refused_after_submit = [], []
    started = threading.Event()

    def keep_saving():
        try:
            browser = Client()
            browser.force_login(student)
            version = 0
            for n in range(200):
                reply = browser.post(
                    save_url(assignment, response), {"text": f"draft {n}", "version": version}, **HTMX
                )
                if reply.status_code == 200:
                    version = reply.json()["version"]
                    acknowledged.append((version, f"draft {n}"))
                    started.set()
                elif reply.json()["error"] == "submitted":
                    refused_after_submit.append(n)
                    break
                else:
                    version = reply.json()["version"]
        finally:
            started.set()
            connection.close()

    def hand_in():
        try:
            started.wait(timeout=10)
            browser = Client()
            browser.force_login(student)
            assert browser.post(url("submit", assignment.pk)).status_code == 302
        finally:
            connection.close()

    threads = [threading.Thread(target=keep_saving), threading.Thread(target=hand_in)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    response.refresh_from_db()
    submission.refresh_from_db()
    assert refused_after_submit, "the saver should have been stopped by the submit"
    assert acknowledged[-1] == (response.version, response.text)  # no acknowledged save was lost
    assert submission.receipt_hash == submission.compute_receipt_hash(list(submission.responses.all()))


# --- Feedback --------------------------------------------------------------------------------


@pytest.fixture
def returned(assignment, student, teacher, passage):
    submission = factories.make_submission(
        assignment=assignment,
        student=student,
        status=Submission.Status.RETURNED,
        answers={0: "My origin answer", 1: "My purpose answer"},
        overall_comment="A thoughtful piece of work.",
    )
    first, second, _third = submission.responses.order_by("question__position")
    factories.make_mark(response=first, marks=3, level=2, comment="Good use of the date.", marker=teacher)
    factories.make_mark(response=second, marks=1, level=1, comment="Quote more.", marker=teacher)
    factories.make_evidence(response=second, passage=passage, start=0, end=5)
    return submission


def test_feedback_shows_marks_comments_answers_and_total(student_client, assignment, returned):
    page = student_client.get(url("feedback", assignment.pk))
    assert_full_page(page)
    html = page.content.decode()
    for expected in (
        "3/4",
        "1/4",
        "Good use of the date.",
        "Quote more.",
        "My origin answer",
        "<q>First</q>",
        "4 out of 12 marks",
        "A thoughtful piece of work.",
        "Not marked (out of 4)",
    ):
        assert expected in html
    assert "Teacher-only indicative content" not in html
    assert "A model answer" not in html


def test_feedback_says_what_the_level_means_and_shows_quotations_in_context(
    student_client, assignment, returned
):
    html = student_client.get(url("feedback", assignment.pk)).content.decode()
    level = assignment.exercise.questions.order_by("position").first().mark_scheme.levels.get(number=2)
    assert f"Level 2 (3–4 marks):</strong>\n                {level.descriptor}" in html
    # "First passage text.": the quotation highlighted, with the words after it.
    assert "<mark><q>First</q></mark> passage text." in html
    assert "Source A, line 1" in html


def test_feedback_shows_model_answers_only_when_released(student_client, assignment, returned):
    assignment.release_model_answers = True
    assignment.save()
    html = student_client.get(url("feedback", assignment.pk)).content.decode()
    assert "A model answer" in html
    assert "Teacher-only indicative content" not in html


def test_feedback_fragment(student_client, assignment, returned):
    fragment = student_client.get(url("feedback", assignment.pk), **HTMX)
    assert_fragment(fragment)
    assert "Good use of the date." in fragment.content.decode()


def test_feedback_before_return_says_not_yet(student_client, assignment, submission, teacher):
    work.submission_submit(submission=submission)
    first = submission.responses.first()
    factories.make_mark(response=first, comment="Draft comment not released", marker=teacher)
    reply = student_client.get(url("feedback", assignment.pk))
    assert reply.status_code == 200
    html = reply.content.decode()
    assert "has not returned this work yet" in html
    assert "Draft comment not released" not in html


def test_feedback_of_another_class_is_not_found(student_client, other_class, outsider):
    theirs = factories.make_assignment(classroom=other_class)
    factories.make_submission(assignment=theirs, student=outsider, status=Submission.Status.RETURNED)
    assert student_client.get(url("feedback", theirs.pk)).status_code == 404


def test_feedback_never_shows_a_classmates_work(client, assignment, returned, classmate):
    client.force_login(classmate)
    html = client.get(url("feedback", assignment.pk)).content.decode()
    assert "My origin answer" not in html
    assert "has not returned this work yet" in html
