"""T7, control characters: NUL and other control characters reach every text field of every
form, upload and source pack, and the server never answers 5xx.

- every URL of the permission matrix that takes a POST (``urls_table.ROWS``, so a new form is
  covered as soon as it has a row), each field of its body in turn, plain and (where htmx posts
  it) as htmx;
- every admin add and change form, its fields read from the page as a browser would;
- the roster upload (CSV cells, hypothesis) and the source-pack upload (every scalar of a good
  pack in turn, escaped into YAML, and raw in its block texts).

PostgreSQL refuses NUL in text; SQLite stores it. Either way the answer must be a clean refusal
(or a clean save of what may be stored), never a server error.
"""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from analysis.library import packs
from tests.security.conftest import client_for, fuzz_settings, rolled_back
from tests.security.urls_table import ROWS

pytestmark = pytest.mark.django_db

CONTROLS = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\u2028", "\ufeff"]
HTMX = {"HX-Request": "true"}
GOOD_PACK = Path(__file__).resolve().parents[1] / "packs" / "good" / "gettysburg-1863.yaml"
PREFERRED = ("teacher_a", "a2", "a1", "b", "admin", "anonymous")


@pytest.fixture(autouse=True)
def unlimited_rates(settings):
    settings.AUTOSAVE_RATE = settings.WORK_WRITE_RATE = settings.SUBMIT_RATE = "100000/m"
    settings.SIGNUP_RATE = settings.SIGNUPS_PER_CLASS_RATE = "100000/m"
    settings.JOIN_CODE_FAILURE_RATE = settings.JOIN_CODE_FAILURE_RATE_PER_PUPIL = "100000/m"
    settings.LOGIN_FAILURE_RATE = "100000/m"
    settings.AXES_ENABLED = False  # the lock-out is not what is fuzzed here


def _no_server_error(response, what):
    assert response.status_code < 500, f"{what}: {response.status_code}"


def _tainted(value, control: str):
    return f"{value}{control}" if value not in (None, "") else f"A{control}B"


# --- Every form of the permission matrix --------------------------------------------------------

POST_ROWS = [row for row in ROWS if "POST" in row.methods]


@pytest.mark.parametrize("row", POST_ROWS, ids=[row.name for row in POST_ROWS])
def test_control_characters_in_every_posted_field(world, row):
    principal = next(p for p in PREFERRED if p in row.allowed)
    url = row.url(world)
    body = row.post_data(world)
    fields = [name for name, value in body.items() if not hasattr(value, "read")] or ["next"]
    variants = [{}, HTMX] if row.htmx else [{}]
    for field in fields:
        for control in CONTROLS:
            for headers in variants:
                tainted = {**row.post_data(world), field: _tainted(body.get(field), control)}
                with rolled_back():
                    response = client_for(world, principal).post(url, tainted, headers=headers)
                _no_server_error(response, f"{row.name} {field}={control!r}")
    for name, value in body.items():  # uploads: the file's own text
        if hasattr(value, "read"):
            for control in CONTROLS:
                upload = SimpleUploadedFile(value.name, f"pupil_x,A{control}a,B\n".encode(), "text/csv")
                with rolled_back():
                    response = client_for(world, principal).post(url, {**body, name: upload})
                _no_server_error(response, f"{row.name} {name} upload {control!r}")


# --- The roster upload, fuzzed ---------------------------------------------------------------------

CELL = st.text(st.one_of(st.sampled_from(CONTROLS), st.characters(exclude_categories=("Cs",))), max_size=12)


@fuzz_settings(max_examples=max(20, fuzz_settings().max_examples // 4))
@given(rows=st.lists(st.lists(CELL, min_size=1, max_size=4), min_size=1, max_size=4))
def test_roster_uploads_with_control_characters_never_fail_the_server(world, rows):
    text = "\n".join(",".join(cells) for cells in rows)
    upload = SimpleUploadedFile("roster.csv", text.encode("utf-8"), "text/csv")
    url = reverse("teach:class-roster-upload", args=[world.class_a.pk])
    with rolled_back():
        response = client_for(world, "teacher_a").post(url, {"file": upload})
    _no_server_error(response, repr(text[:80]))


def test_a_nul_in_a_roster_is_a_clear_message(world):
    upload = SimpleUploadedFile("roster.csv", b"pupil_x,A\x00da,Lovelace\n", "text/csv")
    url = reverse("teach:class-roster-upload", args=[world.class_a.pk])
    with rolled_back():
        response = client_for(world, "teacher_a").post(url, {"file": upload})
    assert response.status_code == 200
    assert "null character" in response.text


# --- Source packs -----------------------------------------------------------------------------------

_PLAIN_VALUE = re.compile(r"^(\s*(?:- )?[a-z_]+: )(?![|>\[{&*!#\"'])(\S.*?)\s*$")


def _pack_variants(control: str):
    """The good pack with one value at a time tainted: each plain scalar rewritten as a
    double-quoted YAML string with the control character escaped, and each block text with the
    raw character in its first line."""
    lines = GOOD_PACK.read_text().splitlines(keepends=True)
    for number, line in enumerate(lines):
        match = _PLAIN_VALUE.match(line)
        if match:
            quoted = json.dumps(match.group(2) + control)  # JSON's escapes are YAML's
            yield number + 1, "".join(lines[:number] + [match.group(1) + quoted + "\n"] + lines[number + 1 :])
        elif line.rstrip().endswith(("|", ">")) and number + 1 < len(lines):
            block = lines[number + 1]
            tainted = block.rstrip("\n") + control + "\n"
            yield number + 2, "".join(lines[: number + 1] + [tainted] + lines[number + 2 :])


@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x7f", "\x0b"], ids=repr)
def test_control_characters_in_every_pack_value_are_refused_cleanly(control):
    variants = list(_pack_variants(control))
    assert len(variants) > 30, "the pack's values were not found"
    for line, text in variants:
        with pytest.raises(packs.PackInvalid) as refused:
            packs.pack_import(data=text.encode("utf-8"), filename="tainted.yaml", dry_run=True)
        assert refused.value.errors, line


def test_a_nul_escape_in_an_uploaded_pack_is_a_clear_message(world):
    text = GOOD_PACK.read_text()
    match = re.search(r"^(\s+(?:- )?(?:text|label|title): )(?![|>])(\S.*)$", text, re.MULTILINE)
    assert match, "no one-line text value in the pack"
    tainted = text[: match.start(2)] + json.dumps(match.group(2) + "\x00") + text[match.end(2) :]
    upload = SimpleUploadedFile("tainted.yaml", tainted.encode(), "application/yaml")
    with rolled_back():
        response = client_for(world, "admin").post(reverse("admin:analysis_source_upload"), {"pack": upload})
    assert response.status_code == 200
    assert "control character" in response.text


# --- Every admin form -----------------------------------------------------------------------------


class _FormFields(HTMLParser):
    """The fields a browser would send from the page's main form: (name, value, is_text)."""

    TEXT_TYPES = {"text", "email", "url", "search", "tel", None}

    def __init__(self):
        super().__init__()
        self.fields: list[list] = []
        self._textarea = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and name not in ("csrfmiddlewaretoken", "_addanother", "_continue"):
            kind = attrs.get("type")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.fields.append([name, attrs.get("value", "on"), False])
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self.fields.append([name, attrs.get("value", ""), kind in self.TEXT_TYPES])
        elif tag == "textarea" and name:
            self._textarea = [name, "", True]
            self.fields.append(self._textarea)
        elif tag == "select" and name:
            self._select = [name, None, False]
        elif (
            tag == "option" and self._select is not None and ("selected" in attrs or self._select[1] is None)
        ):
            self._select[1] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select is not None:
            if self._select[1] is not None:
                self.fields.append(self._select)
            self._select = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data


def _admin_forms(world):
    """(model name, URL) of every admin add page and the change page of one object per model."""
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        yield model.__name__, reverse("admin:{}_{}_add".format(*info))
        first = model.objects.order_by("pk").first()
        if first is not None:
            yield model.__name__, reverse("admin:{}_{}_change".format(*info), args=[first.pk])


def test_control_characters_in_every_admin_form(world):
    client = client_for(world, "admin")
    tried = 0
    for model, url in _admin_forms(world):
        page = client.get(url)
        _no_server_error(page, url)
        if page.status_code != 200:
            continue  # read-only models refuse the add page (403)
        parser = _FormFields()
        parser.feed(page.content.decode())
        base = [(name, value) for name, value, _text in parser.fields]
        text_fields = [i for i, (_name, _value, is_text) in enumerate(parser.fields) if is_text]
        for index in text_fields:
            for control in ("\x00", "\x1b"):
                body = {}
                for i, (name, value) in enumerate(base):
                    body.setdefault(name, []).append(_tainted(value, control) if i == index else value)
                with rolled_back():
                    response = client.post(url, body)
                tried += 1
                _no_server_error(response, f"{model} {base[index][0]}={control!r}")
    assert tried > 50, "the admin forms' text fields were not found"
