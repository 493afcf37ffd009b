"""T4: ~30 XSS payloads × every user- or admin-writable text field × every page that shows it.

In each run the world holds a payload in EVERY writable field at once (field i gets payload
(i + run) mod 31), and 31 runs rotate the payloads so that every field meets every payload
(the world is built once per module and re-texted by each run, inside the run's transaction).
Each field's payload carries the field's own tag (``xq07z``), so a hit is attributed to the
right field. On every page, for every field:

- raw-absent: the payload as typed never appears (when escaping changes it);
- escaped-present: on the pages that ``pages()`` says show the field, the escaped payload is
  there, so the field really was rendered and the raw-absent check is not vacuous;
- teacher-only text (indicative content; a model answer before marks come back) is never on
  a pupil's page;
- and the page, parsed like a browser would, contains no handler, script URL, un-nonced
  inline script, frame, ``<base>``, meta refresh or injected htmx request (``html_audit``).

The CSV export is checked for formula injection instead: no cell starts with = + - @ (or tab
or carriage return) unless neutralised with a leading apostrophe.
"""

import csv
import io
import re
from urllib.parse import quote, urlencode

import pytest
from django.urls import reverse
from django.utils.html import escape

from accounts.models import User
from tests.security.conftest import client_for, log_secrets, module_world, retext
from tests.security.html_audit import injected_markup, response_nonce

TEN_K = "<img src=x onerror=alert(1)>" * 360  # ~10,000 characters

PAYLOADS = [
    "<script>alert('{t}')</script>",
    "<img src=x onerror=alert('{t}')>",
    "<svg onload=alert('{t}')>",
    "<svg><script>alert('{t}')</script></svg>",
    '"><script>alert("{t}")</script>',
    "'><img src=x onerror=alert('{t}')>",
    '" onmouseover="alert(\'{t}\')" x="',
    "' onfocus='alert(\"{t}\")' autofocus '",
    "javascript:alert('{t}')",
    "<a href=\"javascript:alert('{t}')\">{t}</a>",
    "</textarea><script>alert('{t}')</script>",
    "</title><script>alert('{t}')</script>",
    "</script><script>alert('{t}')</script>",
    '<div hx-get="/evil/{t}" hx-trigger="load">{t}</div>',
    "<button hx-on:click=\"alert('{t}')\" hx-on::load=\"alert('{t}')\">{t}</button>",
    '<form hx-post="/evil/{t}" hx-trigger="load"><input name="x"></form>',
    "{{ '{t}'|upper }}{{ 7|add:7 }}{{ request.user.password }}",
    '{% debug %}{% now "Y" %}{% include "base.html" %}{t}',
    "\u202e{t}gpj.exe \u202dnormal",
    "<iframe src=\"javascript:alert('{t}')\"></iframe>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('{t}')>",
    "<object data=\"data:text/html,<script>alert('{t}')</script>\"></object>",
    '<base href="http://evil.example/{t}/"><link rel=stylesheet href="http://evil.example/{t}.css">',
    '<meta http-equiv="refresh" content="0;url=http://evil.example/{t}">',
    "&lt;script&gt;alert('{t}')&lt;/script&gt; &amp;{t}",
    "<details open ontoggle=alert('{t}')>{t}</details>",
    '=HYPERLINK("http://evil.example/{t}","click")',
    "+cmd|' /C calc'!A0 {t}",
    "-2+3+cmd|' /C calc'!A0 {t}",
    "@SUM(1+1)*cmd|' /C calc'!A0 {t}",
    "{t} " + TEN_K,
]
RUNS = len(PAYLOADS)


def payload_text(run: int, keys: list[str], *, prefix="xq"):
    """``text(key, default)`` for run ``run``: field i gets payload (i + run) mod 31, tagged."""

    def text(key, default):
        index = keys.index(key)
        return PAYLOADS[(index + run) % len(PAYLOADS)].replace("{t}", f"{prefix}{index:02d}z")

    return text


@pytest.fixture(scope="module")
def xss_world(django_db_setup, django_db_blocker):
    """One world for every run (a pupil's work handed back, so the feedback page has marks);
    each run re-texts it inside its own transaction."""
    with module_world(django_db_blocker, a1_returned=True) as world:
        yield world


def payload_world(world, run: int):
    retext(world, payload_text(run, list(world.slots)))
    log_secrets(*world.texts.values())
    return world


# --- Where each field must show up ----------------------------------------------------------

NAMES = lambda *who: {f"{w}.{part}" for w in who for part in ("first_name", "last_name")}  # noqa: E731
SOURCE = {
    *(f"source.{n}" for n in ("title", "author", "date_text", "publication", "kind", "audience")),
    *(f"source.{n}" for n in ("caption", "context", "teacher_notes", "citation", "translation")),
    "glossary.term",
    "glossary.definition",
    "passage.label",
    "passage.text",
}
# Pupils never see the teachers' notes; only Guided support (pupil a2's) shows the context note.
PUPIL_SOURCE = SOURCE - {"source.teacher_notes"}
STANDARD_SOURCE = PUPIL_SOURCE - {"source.context"}
PROMPTS = {f"q{n}.prompt" for n in range(4)}
A1_ANSWERS = {f"a1.answer{n}" for n in range(4)}
A2_ANSWERS = {f"a2.answer{n}" for n in range(4)}


def _q(world, n):
    return world.question(world.exercise_a, n).pk


# (label, principal, url, htmx, fields whose escaped payload must be on the page)
def pages(world):
    a, s1 = world.assignment_a.pk, world.sub_a1.pk
    source = world.exercise_a.exercise_sources.order_by("position").first().source
    yield (
        "student list",
        "a1",
        reverse("learn:assignment-list"),
        False,
        {"exercise.title", "class_a.name"} | NAMES("a1"),
    )
    yield (
        "workspace (handed in)",
        "a1",
        reverse("learn:workspace", args=[a]),
        False,
        {"exercise.title", "exercise.summary", "exercise.instructions", "class_a.name"}
        | STANDARD_SOURCE
        | PROMPTS
        | A1_ANSWERS
        | NAMES("a1"),
    )
    yield (
        "workspace (editing)",
        "a2",
        reverse("learn:workspace", args=[a]),
        False,
        {"exercise.title", "q1.hint", "q1.starter"} | PUPIL_SOURCE | PROMPTS | A2_ANSWERS | NAMES("a2"),
    )
    yield "workspace self-check (htmx)", "a2", reverse("learn:workspace", args=[a]), True, set()
    yield (
        "feedback",
        "a1",
        reverse("learn:feedback", args=[a]),
        False,
        {
            "exercise.title",
            "sub_a1.overall_comment",
            "mark.comment",
            "q1.model",
            "passage.text",  # the words around each quotation ("Source A, line 14": no passage label)
        }
        | PROMPTS
        | A1_ANSWERS,
    )
    yield "feedback (htmx)", "a1", reverse("learn:feedback", args=[a]), True, {"mark.comment", "q1.model"}
    yield (
        "teacher dashboard",
        "teacher_a",
        reverse("teach:dashboard"),
        False,
        {"exercise.title", "class_a.name"} | NAMES("teacher_a"),
    )
    yield (
        "class page",
        "teacher_a",
        reverse("teach:class-detail", args=[world.class_a.pk]),
        False,
        {"class_a.name", "exercise.title"} | NAMES("a1", "a2"),
    )
    yield (
        "progress grid",
        "teacher_a",
        reverse("teach:assignment-progress", args=[a]),
        False,
        {"exercise.title", "class_a.name"} | NAMES("a1", "a2"),
    )
    yield (
        "progress grid (htmx)",
        "teacher_a",
        reverse("teach:assignment-progress", args=[a]),
        True,
        NAMES("a1", "a2"),
    )
    yield (
        "assignment form",
        "teacher_a",
        reverse("teach:assignment-edit", args=[a]),
        False,
        {"exercise.title"},
    )
    yield (
        "extensions",
        "teacher_a",
        reverse("teach:assignment-extensions", args=[a]),
        False,
        NAMES("a1", "a2"),
    )
    yield "unassign", "teacher_a", reverse("teach:assignment-unassign", args=[a]), False, {"exercise.title"}
    yield (
        "remove pupil",
        "teacher_a",
        reverse("teach:class-student-remove", args=[world.class_a.pk, world.users["a1"].pk]),
        False,
        NAMES("a1") | {"class_a.name"},
    )
    yield (
        "marking by student",
        "teacher_a",
        reverse("teach:submission-mark", args=[a, s1]),
        False,
        {"exercise.title", "sub_a1.overall_comment", "mark.comment", "bank_a.text", "q1.indicative"}
        | {"level.descriptor"}
        | SOURCE
        | A1_ANSWERS
        | NAMES("a1"),
    )
    for n in (1, 3):  # a source question and the corroboration question (both sources)
        expected = {f"q{n}.prompt", f"a1.answer{n}", "bank_a.text", "level.descriptor"} | NAMES("a1")
        if n == 1:
            expected |= {"q1.indicative", "q1.model", "mark.comment"}
        yield (
            f"marking question {n + 1}",
            "teacher_a",
            reverse("teach:question-mark", args=[a, _q(world, n)]),
            False,
            expected,
        )
    yield (
        "insight",
        "teacher_a",
        reverse("teach:assignment-insight", args=[a]),
        False,
        {"exercise.title"} | SOURCE,
    )
    yield (
        "print view",
        "teacher_a",
        reverse("teach:submission-print", args=[a, s1]),
        False,
        {"exercise.title", "sub_a1.overall_comment", "mark.comment", "passage.text"}
        | PROMPTS
        | A1_ANSWERS
        | NAMES("a1"),
    )
    yield (
        "exercise preview",
        "teacher_a",
        reverse("teach:exercise-preview", args=[world.exercise_a.pk]),
        False,
        {"exercise.title", "exercise.instructions", "q1.indicative", "q1.model", "level.descriptor"}
        | SOURCE
        | PROMPTS,
    )
    yield (
        "worksheet",
        "teacher_a",
        reverse("teach:exercise-worksheet", args=[world.exercise_a.pk]),
        False,
        {"exercise.title", "exercise.instructions"} | PROMPTS,
    )
    yield "comment bank", "teacher_a", reverse("teach:comment-bank"), False, {"bank_a.text"}
    yield (
        "source library",
        "teacher_a",
        reverse("teach:library"),
        False,
        {"source.title", "exercise.title"},
    )
    yield (
        "source page",
        "teacher_a",
        reverse("sources:source-detail", args=[source.slug]),
        False,
        SOURCE | {"exercise.title"},
    )
    # The authoring studio: teacher A's own items, and a colleague's view of a shared one.
    studio = world.studio
    yield (
        "studio library",
        "teacher_a",
        reverse("teach:library"),
        False,
        {"mine_exercise.title", "mine_exercise.topic", "mine_source.title", "mine_source.topic"},
    )
    yield (
        "studio library (search)",
        "teacher_a",
        reverse("teach:library") + "?archived=on&owner=mine",
        False,
        {"mine_exercise.title", "mine_source.title"},
    )
    yield (
        "studio source",
        "teacher_a",
        reverse("teach:source-edit", args=[studio["source"].pk]),
        False,
        {"mine_source.title", "mine_source.topic", "mine_source.teacher_notes"},
    )
    yield (
        "studio source preview",
        "teacher_a",
        reverse("teach:source-preview", args=[studio["source"].pk]),
        False,
        {"mine_source.title", "mine_source.rights"},
    )
    yield (
        "studio exercise",
        "teacher_a",
        reverse("teach:exercise-edit", args=[studio["exercise"].pk]),
        False,
        {"mine_exercise.title", "mine_exercise.summary", "mine_exercise.topic", "mine_q.prompt"}
        | {"mine_scheme.name", "mine_level.descriptor", "edit.before", "edit.after"},
    )
    yield (
        "studio pupil preview",
        "teacher_a",
        reverse("teach:exercise-pupil-preview", args=[studio["exercise"].pk]),
        False,
        {"mine_exercise.title", "mine_exercise.summary", "mine_q.prompt", "mine_source.title"},
    )
    yield (
        "studio teacher preview",
        "teacher_a",
        reverse("teach:exercise-preview", args=[studio["exercise"].pk]),
        False,
        {"mine_exercise.title", "mine_q.prompt", "mine_scheme.name", "mine_level.descriptor"},
    )
    # The admin: list and change pages of everything a site admin writes or looks at.
    yield (
        "admin sources",
        "admin",
        reverse("admin:analysis_source_changelist"),
        False,
        {f"source.{n}" for n in ("title", "author", "date_text", "kind")},
    )
    yield "admin source", "admin", reverse("admin:analysis_source_change", args=[source.pk]), False, SOURCE
    yield "admin exercises", "admin", reverse("admin:analysis_exercise_changelist"), False, {"exercise.title"}
    yield (
        "admin exercise",
        "admin",
        reverse("admin:analysis_exercise_change", args=[world.exercise_a.pk]),
        False,
        {"exercise.title", "exercise.summary", "exercise.instructions", "q1.indicative", "q1.model"}
        | PROMPTS,
    )
    scheme = world.question(world.exercise_a, 1).mark_scheme
    yield (
        "admin mark scheme",
        "admin",
        reverse("admin:analysis_markscheme_change", args=[scheme.pk]),
        False,
        {"level.descriptor"},
    )
    yield "admin classes", "admin", reverse("admin:accounts_classroom_changelist"), False, {"class_a.name"}
    yield (
        "admin class",
        "admin",
        reverse("admin:accounts_classroom_change", args=[world.class_a.pk]),
        False,
        {"class_a.name"},
    )
    yield (
        "admin users",
        "admin",
        reverse("admin:accounts_user_changelist"),
        False,
        NAMES("a1", "a2", "b", "teacher_a", "teacher_b"),
    )
    yield (
        "admin user",
        "admin",
        reverse("admin:accounts_user_change", args=[world.users["a1"].pk]),
        False,
        NAMES("a1"),
    )
    yield (
        "admin submissions",
        "admin",
        reverse("admin:analysis_submission_changelist"),
        False,
        NAMES("a1", "a2"),
    )
    yield (
        "admin submission",
        "admin",
        reverse("admin:analysis_submission_change", args=[s1]),
        False,
        {"sub_a1.overall_comment"} | A1_ANSWERS,
    )
    response = world.response(world.sub_a1, 1)
    yield (
        "admin answer",
        "admin",
        reverse("admin:analysis_response_change", args=[response.pk]),
        False,
        {
            "a1.answer1",
            "passage.text",
        },
    )
    yield (
        "admin mark",
        "admin",
        reverse("admin:analysis_mark_change", args=[response.mark.pk]),
        False,
        {"mark.comment"},
    )
    yield (
        "admin comment bank",
        "admin",
        reverse("admin:analysis_commentbankentry_changelist"),
        False,
        {"bank_a.text"},
    )


TEACHER_ONLY = {"q1.indicative"}  # never on a student's page, whatever it holds
NOT_YET = {"workspace (editing)": {"q1.model"}}  # the model answer comes with the marks


@pytest.mark.django_db
@pytest.mark.parametrize("run", range(RUNS))
def test_payloads_render_inert_everywhere(xss_world, run):
    world = payload_world(xss_world, run)
    texts = world.texts
    problems = []
    unseen = set(texts)
    clients = {}  # one log-in per principal and run
    for label, principal, url, htmx, shown in pages(world):
        unseen -= shown
        if principal not in clients:
            clients[principal] = client_for(world, principal, slot=10 + len(clients))
        client = clients[principal]
        response = client.get(url, headers={"HX-Request": "true"} if htmx else {})
        if response.status_code != 200:
            problems.append(f"{label}: status {response.status_code}")
            continue
        html, json_problems = _without_json_data(response.content.decode())
        problems += [f"{label}: {p}" for p in json_problems]
        for key, value in texts.items():
            escaped = escape(value)
            if escaped != value and value in html:
                problems.append(f"{label}: raw payload of {key} on the page: {value[:60]!r}")
            if key in shown and escaped not in html:
                problems.append(f"{label}: {key} is not shown escaped: {escaped[:60]!r}")
            hidden = NOT_YET.get(label, set()) | (TEACHER_ONLY if principal in ("a1", "a2") else set())
            if key in hidden and escaped in html:
                problems.append(f"{label}: {key} shown to a student")
        for finding in injected_markup(html, response_nonce(response)):
            problems.append(f"{label}: {finding}")
    problems += csv_problems(world)
    assert not unseen, f"writable fields that no page in the list is expected to show: {unseen}"
    assert not problems, f"run {run}:\n" + "\n".join(problems)


JSON_SCRIPT = re.compile(r'<script[^>]*type="application/json"[^>]*>(.*?)</script>', re.DOTALL)


def _without_json_data(html: str) -> tuple[str, list[str]]:
    """Data islands (``json_script``) hold text as JSON, where quotes are not escaped and need
    not be: nothing in them can end the element as long as < > & are escaped. Check that, then
    leave them out of the raw-payload search."""
    problems = [
        f"unescaped < > or & in a JSON data island: {block[:80]!r}"
        for block in JSON_SCRIPT.findall(html)
        if re.search(r"[<>&]", block)
    ]
    return JSON_SCRIPT.sub("", html), problems


FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_problems(world) -> list[str]:
    """The marks export: no cell a spreadsheet would run as a formula; the names still there."""
    url = reverse("teach:assignment-export", args=[world.assignment_a.pk])
    response = client_for(world, "teacher_a").get(url)
    if response.status_code != 200 or not response["Content-Type"].startswith("text/csv"):
        return [f"CSV export: {response.status_code} {response['Content-Type']}"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    problems = [
        f"CSV export: live formula {cell[:40]!r}"
        for row in rows
        for cell in row
        if cell.startswith(FORMULA_TRIGGERS)
    ]
    names = {row[0] for row in rows[1:]}
    for who in ("a1", "a2"):
        display = User.objects.get(pk=world.users[who].pk).display_name
        if display not in names and f"'{display}" not in names:
            problems.append(f"CSV export: {who}'s name is missing")
    return problems


REFLECTED = [
    ("anonymous", lambda w, p: reverse("accounts:signup") + "?" + urlencode({"code": p})),
    ("anonymous", lambda w, p: reverse("accounts:login") + "?" + urlencode({"next": p})),
    (
        "teacher_a",
        lambda w, p: reverse("teach:assignment-create") + "?" + urlencode({"exercise": p, "class": p}),
    ),
    (
        "teacher_a",
        lambda w, p: (
            reverse("teach:assignment-insight", args=[w.assignment_a.pk]) + "?" + urlencode({"question": p})
        ),
    ),
    (
        "teacher_a",
        lambda w, p: (
            reverse("teach:assignment-progress", args=[w.assignment_a.pk]) + "?" + urlencode({"polls": p})
        ),
    ),
    ("a1", lambda w, p: "/no/such/page/" + quote(p) + "/"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("payload", PAYLOADS[:26], ids=range(26))
def test_query_strings_are_never_reflected_raw(xss_world, payload):
    world = xss_world
    """Reflected XSS: what a link carries in its query string or path comes back escaped, if at all."""
    payload = payload.replace("{t}", "xr00z")
    problems = []
    for principal, url in REFLECTED:
        response = client_for(world, principal).get(url(world, payload))
        html = response.content.decode()
        if escape(payload) != payload and payload in html:
            problems.append(f"{url(world, payload)[:60]}: reflected raw")
        problems += [
            f"{url(world, payload)[:60]}: {p}" for p in injected_markup(html, response_nonce(response))
        ]
    assert not problems, "\n".join(problems)
