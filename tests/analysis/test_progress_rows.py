"""The progress page's per-student rows, written in Python (analysis/templatetags/progress_rows.py)
rather than by the template engine: what a teacher and a screen reader meet in them, the links
they follow, and names escaped in text and in attributes alike."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from accounts.models import User, display_name_of
from analysis.marking.selectors import CellState, GridCell, GridRow, GridStudent, GridSubmission
from analysis.templatetags.progress_rows import (
    grid_rows_html,
    release_rows_html,
    reopen_forms_html,
    url_filler,
)

LABELS = CellState.labels()
NASTY = "Zoë \"<script>alert(1)</script>' onfocus='alert(2)' &amp;"


class Element:
    def __init__(self, tag, attrs):
        self.tag, self.attrs, self.text, self.spoken = tag, dict(attrs), "", ""


class Parsed(HTMLParser):
    """Every element with its attributes and all the text inside it, as a browser reads it
    (``spoken``: without what is inside ``aria-hidden`` elements)."""

    VOID = {"input", "br", "img", "meta", "link", "hr"}

    def __init__(self, markup):
        super().__init__(convert_charrefs=True)
        self.elements, self.open = [], []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = Element(tag, attrs)
        self.elements.append(element)
        if tag not in self.VOID:
            self.open.append(element)

    def handle_endtag(self, tag):
        while self.open and self.open.pop().tag != tag:
            pass

    def handle_data(self, data):
        hidden = any(e.attrs.get("aria-hidden") == "true" for e in self.open)
        for element in self.open:
            element.text += data
            if not hidden:
                element.spoken += " " + data

    def all(self, tag, **attrs):
        return [
            e for e in self.elements if e.tag == tag and all(e.attrs.get(k) == v for k, v in attrs.items())
        ]


class Assignment:
    pk = 7


def cell(state, **values):
    return GridCell(state, LABELS[state], **values)


def row(name, *, status=None, pk=41, cells=(), late=False, marked=0, answered=0, hidden=False, started=True):
    submission = None if status is None else GridSubmission(pk, status, late, None, None)
    return GridRow(
        student=GridStudent(3, "user3", name),
        submission=submission,
        name=name,
        hidden=hidden,
        number=1 if submission else None,
        cells=list(cells),
        marked_count=marked,
        answered_count=answered,
        started=started and submission is not None,
    )


def test_url_filler_gives_what_reverse_gives():
    for name in ("teach:submission-mark", "teach:submission-print", "teach:submission-reopen"):
        for assignment_pk, pk in ((7, 41), (987654321, 5), (12, 987654321), (3, 3)):
            assert url_filler(name, assignment_pk)(pk) == reverse(name, args=[assignment_pk, pk])


def test_each_cell_shows_its_state_in_words_with_mark_hints_and_missing_answers():
    cells = [
        cell("not-started"),
        cell("draft", answered=True),
        cell("answered", answered=True, hints_used=1),
        cell("submitted", answered=False),
        cell("marked", answered=True, marks=3, max_marks=4, hints_used=2),
    ]
    page = Parsed(grid_rows_html([row("Nadia Petrova", status="submitted", cells=cells)], Assignment()))
    tds = page.all("td")
    assert [" ".join(td.spoken.split()) for td in tds] == [
        "Not started",
        "Draft",
        "Answered 1 hint used",
        "Handed in no answer",
        "Marked 3/4 2 hints used",
        "Handed in",
    ]
    assert [b.attrs["class"] for b in page.all("span") if "badge" in b.attrs["class"]] == [
        "badge badge--not-started",
        "badge badge--draft",
        "badge badge--answered",
        "badge badge--submitted",
        "badge badge--marked",
        "badge badge--submitted",  # the row's status: the same word and look as everywhere
    ]
    # "H2" is for the eye only; a screen reader hears the words.
    markers = page.all("span", **{"class": "hint-marker"})
    assert [(m.text, m.attrs.get("aria-hidden")) for m in markers] == [("H1", "true"), ("H2", "true")]
    assert [s.text for s in page.all("span", **{"class": "visually-hidden"})] == [
        "1 hint used",
        "2 hints used",
    ]


def test_the_row_names_the_student_links_to_marking_and_gives_the_status():
    rows = [
        row("Boris Ivanov"),
        row("Nadia Petrova", status="submitted", pk=41, late=True),
        row("Olga Sokolova", status="in_progress", pk=42),
        row("Pavel Orlov", status="returned", pk=43),
    ]
    page = Parsed(grid_rows_html(rows, Assignment()))
    heads = page.all("th", scope="row")
    assert [h.text for h in heads] == [r.name for r in rows]
    links = page.all("a")
    assert [(a.text, a.attrs["href"], a.attrs["id"]) for a in links] == [
        (
            rows[i].name,
            reverse("teach:submission-mark", args=[7, rows[i].submission.pk]),
            f"grid-s-{rows[i].submission.pk}",
        )
        for i in (1, 2, 3)
    ]  # no link for a student who has not started: there is nothing to mark
    statuses = [" ".join(tr_cells[-1].text.split()) for tr_cells in _cells_by_row(page)]
    assert statuses == ["Not started", "Handed in late", "In progress", "Returned"]


def _cells_by_row(page):
    rows, current = [], None
    for element in page.elements:
        if element.tag == "tr":
            current = []
            rows.append(current)
        elif element.tag == "td":
            current.append(element)
    return rows


@pytest.mark.parametrize("hidden", [False, True])
def test_names_are_escaped_in_text_and_in_attributes(hidden):
    name = NASTY if not hidden else "Student 1"
    rows = [row(name, status="submitted", pk=41, hidden=hidden, cells=[cell("submitted")])]
    markup = (
        grid_rows_html(rows, Assignment())
        + release_rows_html(rows, Assignment())
        + reopen_forms_html(rows, Assignment(), "tok3n")
    )
    page = Parsed(markup)
    assert not page.all("script")
    assert not [e for e in page.elements if any(attr.startswith("on") for attr in e.attrs)]
    # The browser reads back exactly the name, wherever it went.
    assert page.all("a")[0].text == name
    assert page.all("label")[0].text == name
    assert page.all("input", type="checkbox")[0].attrs["aria-label"] == f"Release marks for {name}"
    assert (
        page.all("form")[0].attrs["data-confirm"].startswith(f"Reopen {name}'s work so they can revise it?")
    )
    assert [s.text for s in page.all("span", **{"class": "visually-hidden"})] == [f" {name}"] * 3


def test_release_rows_tick_only_handed_in_work_and_say_whether_it_is_ready():
    rows = [
        row("Nadia Petrova", status="submitted", pk=41, marked=2, answered=2),
        row("Olga Sokolova", status="submitted", pk=42, marked=1, answered=2),
        row("Pavel Orlov", status="returned", pk=43, marked=2, answered=2),
    ]
    page = Parsed(release_rows_html(rows, Assignment()))
    assert [c.attrs["value"] for c in page.all("input", type="checkbox")] == ["41", "42"]
    assert [(label.attrs["for"], label.text) for label in page.all("label")] == [
        ("release-41", "Nadia Petrova"),
        ("release-42", "Olga Sokolova"),
    ]
    texts = [[" ".join(td.text.split()) for td in tds] for tds in _cells_by_row(page)]
    assert [t[1:3] for t in texts] == [
        ["2 of 2 answers", "Ready"],
        ["1 of 2 answers", "Still to mark"],
        ["2 of 2 answers", "Returned"],
    ]
    assert [a.attrs["href"] for a in page.all("a")] == [
        reverse(name, args=[7, pk])
        for pk in (41, 42, 43)
        for name in ("teach:submission-mark", "teach:submission-print")
    ]
    buttons = page.all("button")
    assert [(b.attrs["form"], b.attrs["type"], " ".join(b.text.split())) for b in buttons] == [
        ("reopen-41", "submit", "Reopen for revision Nadia Petrova"),
        ("reopen-42", "submit", "Reopen for revision Olga Sokolova"),
        ("reopen-43", "submit", "Reopen for revision Pavel Orlov"),
    ]


def test_each_reopen_form_posts_to_its_submission_with_the_token_after_a_confirmation():
    rows = [row("Nadia Petrova", status="submitted", pk=41), row("Pavel Orlov", status="returned", pk=43)]
    page = Parsed(reopen_forms_html(rows, Assignment(), "tok3n"))
    forms = page.all("form")
    assert [(f.attrs["id"], f.attrs["action"], f.attrs["method"], "hidden" in f.attrs) for f in forms] == [
        ("reopen-41", reverse("teach:submission-reopen", args=[7, 41]), "post", True),
        ("reopen-43", reverse("teach:submission-reopen", args=[7, 43]), "post", True),
    ]
    assert forms[1].attrs["data-confirm"] == (
        "Reopen Pavel Orlov's work so they can revise it? Its marks are kept as drafts and hidden "
        "from them until you release again."
    )
    tokens = page.all("input", type="hidden", name="csrfmiddlewaretoken")
    assert [t.attrs["value"] for t in tokens] == ["tok3n", "tok3n"]
    assert not Parsed(reopen_forms_html(rows, Assignment(), None)).all("input")


@pytest.mark.parametrize(
    ("first", "last", "username", "shown"),
    [
        ("Nadia", "Petrova", "np", "Nadia Petrova"),
        ("", "", "np", "np"),
        ("Nadia", "", "np", "Nadia"),
        ("", "Petrova", "np", "Petrova"),
        (" ", " ", "np", "np"),
    ],
)
def test_grid_names_are_the_users_display_names(first, last, username, shown):
    user = User(first_name=first, last_name=last, username=username)
    assert display_name_of(first, last, username) == user.display_name == shown
