"""CSV injection: no cell of any CSV the app writes is read as a formula by a spreadsheet,
whichever separator (``,``, ``;``, tab) it assumes and whether or not it honours quotes.

The app writes one kind of CSV (the marks export) through one helper, ``config.spreadsheet``;
the payloads go in through pupils' names, the text a pupil controls in that file.
"""

import csv
import io
import re

import pytest
from django.urls import reverse

from accounts.models import Enrollment
from config.spreadsheet import csv_safe, csv_text
from tests import factories

pytestmark = pytest.mark.django_db

TRIGGERS = ("=", "+", "-", "@")

PAYLOADS = [
    "Bo;=SUM(40+2);",
    "Bo,=SUM(40+2),",
    "Bo\t=SUM(40+2)\t",
    "=SUM(40+2)",
    "+SUM(40+2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    " =1+1",
    '"=1+1"',
    'a";=1+1;"b',
    'a; =HYPERLINK("http://x")',
    "a\n=1+1",
    "a\r\n@x",
    'x", "=1+1',
    "\t=1+1",
    "\r=1+1",
    'a;"=1+1',
]
ORDINARY = ["Level 2 - good", "Anne-Marie", "O'Neil", "Zoë", "Smith, J.", "2026-11-03 09:15"]


def _cells(text: str, delimiter: str, *, quotes: bool):
    """Every cell as a program reading ``delimiter``-separated text sees it: honouring quotes
    (as csv does), or splitting every line on the separator and every line break regardless."""
    if quotes:
        return [
            cell for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) for cell in row
        ]
    return [cell for line in re.split(r"\r\n|\r|\n", text) for cell in line.split(delimiter)]


def live_formulas(text: str) -> list[str]:
    """Cells a spreadsheet might run, read every way a spreadsheet might read the file."""
    found = []
    for delimiter in (",", ";", "\t"):
        for quotes in (True, False):
            for cell in _cells(text, delimiter, quotes=quotes):
                if cell.lstrip(' "').startswith(TRIGGERS) or cell.startswith(("\t", "\r")):
                    found.append(f"{delimiter!r}/{'quoted' if quotes else 'split'}: {cell[:40]!r}")
    return found


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_is_a_formula_in_any_reading(payload):
    text = csv_text(["Name", "Mark"], [[payload, 3]])
    assert live_formulas(text.removeprefix("\ufeff")) == []


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_left_alone(text):
    assert csv_safe(text) == text
    written = csv_text(["Name"], [[text]]).removeprefix("\ufeff")
    assert list(csv.reader(io.StringIO(written, newline="")))[1] == [text]


def test_every_field_is_quoted():
    written = csv_text(["Name", "Mark"], [["Bo", 3], ["", None]]).removeprefix("\ufeff")
    assert written.splitlines() == ['"Name","Mark"', '"Bo","3"', '"",""']


def test_the_marks_export_is_inert_for_a_corpus_of_names(client):
    teacher = factories.make_teacher()
    classroom = factories.make_classroom(teacher=teacher)
    for n, payload in enumerate(PAYLOADS + ORDINARY):
        pupil = factories.make_student(first_name=payload, last_name="", username=f"csv_pupil_{n}")
        Enrollment.objects.create(classroom=classroom, student=pupil)
    assignment = factories.make_assignment(classroom=classroom)
    client.force_login(teacher)
    response = client.get(reverse("teach:assignment-export", args=[assignment.pk]))
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert live_formulas(text) == []
    assert text.splitlines()[1].startswith('"')  # QUOTE_ALL
    names = {row[0] for row in csv.reader(io.StringIO(text, newline=""))}
    assert set(ORDINARY) <= names, "ordinary names are written as typed"
    assert "Bo;'=SUM(40+2);" in names


def test_the_markbook_export_is_inert_for_a_corpus_of_names_and_titles(client):
    teacher = factories.make_teacher()
    classroom = factories.make_classroom(teacher=teacher)
    for n, payload in enumerate(PAYLOADS + ORDINARY):
        pupil = factories.make_student(first_name=payload, last_name="", username=f"csv_pupil_{n}")
        Enrollment.objects.create(classroom=classroom, student=pupil)
    for payload in PAYLOADS[:5]:
        factories.make_assignment(classroom=classroom, exercise=factories.make_exercise(title=payload))
    client.force_login(teacher)
    response = client.get(reverse("teach:class-markbook-csv", args=[classroom.pk]))
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert live_formulas(text) == []
    names = {row[0] for row in csv.reader(io.StringIO(text, newline=""))}
    assert set(ORDINARY) <= names, "ordinary names are written as typed"
