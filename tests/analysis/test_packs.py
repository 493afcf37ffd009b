"""Source packs: import (command, admin upload, service) and export, against a
corpus of good packs (tests/packs/good/) and one bad pack per kind of error
(tests/packs/bad/). Each bad file says what it expects in its second line,
``# expect: <field path> | <message fragment>``, and marks the line the error
must point at with ``# <-``."""

import datetime
import io
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from analysis.library import packs
from analysis.library.packs import PackInvalid, pack_export, pack_import, pack_import_path
from analysis.models import (
    Evidence,
    Exercise,
    ExerciseSource,
    GlossaryTerm,
    Level,
    MarkScheme,
    Passage,
    Question,
    Source,
    Stage,
)
from tests import factories

PACKS = Path(__file__).resolve().parent.parent / "packs"
GOOD = PACKS / "good"
GETTYSBURG = GOOD / "gettysburg-1863.yaml"
BAD_FILES = sorted((PACKS / "bad").glob("*.yaml"))
REAL_PACK = Path(settings.BASE_DIR) / "fixtures" / "izvestiia-trotsky-1917.yaml"
LIBRARY_MODELS = [Source, Passage, GlossaryTerm, MarkScheme, Level, Exercise, ExerciseSource, Question]
UPLOAD_URL = "/admin/analysis/source/upload/"


def fingerprint() -> dict:
    """Every library row, every column: equal fingerprints mean nothing was written."""
    return {model.__name__: list(model.objects.order_by("pk").values_list()) for model in LIBRARY_MODELS}


def counts() -> dict:
    return {model.__name__: model.objects.count() for model in LIBRARY_MODELS}


@dataclass
class Expectation:
    field: str
    fragment: str
    line: int

    def matches(self, errors):
        return [
            error
            for error in errors
            if (error.line, error.field) == (self.line, self.field) and self.fragment in error.message
        ]


def expectation(path: Path) -> Expectation:
    lines = path.read_bytes().split(b"\n")
    header = next(line for line in lines if line.startswith(b"# expect:")).decode()
    field, fragment = (part.strip() for part in header.removeprefix("# expect:").split("|", 1))
    marked = next(number for number, line in enumerate(lines, start=1) if b"# <-" in line)
    return Expectation(field, fragment, marked)


def import_text(text: str, filename: str = "pack.yaml", **kwargs):
    return pack_import(data=text.encode(), filename=filename, **kwargs)


def clear_library():
    Exercise.objects.all().delete()
    Source.objects.all().delete()
    MarkScheme.objects.all().delete()


@pytest.fixture
def gettysburg(db):
    """The hand-written pack, imported."""
    pack_import_path(path=GETTYSBURG)
    return Exercise.objects.get(slug="gettysburg-reception")


# --- The bad corpus: refused whole, located precisely -----------------------------


def test_bad_corpus_has_one_file_per_kind_of_error():
    assert len(BAD_FILES) >= 25
    for path in BAD_FILES:
        assert expectation(path).fragment, path


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda path: path.stem)
def test_bad_pack_is_refused_whole_and_the_error_names_file_line_and_field(gettysburg, path):
    before = fingerprint()

    with pytest.raises(PackInvalid) as caught:
        pack_import_path(path=path)

    assert fingerprint() == before
    expected = expectation(path)
    errors = caught.value.errors
    located = expected.matches(errors)
    assert located, f"expected {expected}; got\n" + "\n".join(map(str, errors))
    prefix = f"{path}:{expected.line}:"
    assert str(located[0]).startswith(prefix)
    if expected.field:
        assert f": {expected.field}: " in str(located[0])


def test_every_error_is_reported_not_just_the_first(db):
    text = GETTYSBURG.read_text(encoding="utf-8")
    text = text.replace("kind: speech", "kind: 1863").replace("stage: purpose", "stage: purposes")
    text = text.replace(
        "max_marks: 4\n        mark_scheme: gettysburg-4-marks",
        "max_marks: 3\n        mark_scheme: gettysburg-4-marks",
        1,
    )

    with pytest.raises(PackInvalid) as caught:
        import_text(text)

    fields = [error.field for error in caught.value.errors]
    assert "sources[0].kind" in fields
    assert "exercises[0].questions[1].stage" in fields
    assert "exercises[0].questions[0].max_marks" in fields
    assert Source.objects.count() == 0


def test_errors_are_formatted_file_line_field_message(db):
    text = GETTYSBURG.read_text(encoding="utf-8").replace("stage: purpose", "stage: origins")
    line = text.split("\n").index("      - stage: origins") + 1

    with pytest.raises(PackInvalid) as caught:
        import_text(text)

    assert [str(error) for error in caught.value.errors] == [
        f"pack.yaml:{line}: exercises[0].questions[1].stage: "
        "'origins' is not one of origin, purpose, reliability, corroboration"
    ]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(db, settings, tmp_path):
    settings.SOURCE_PACK_MAX_BYTES = 1000
    big = tmp_path / "big.yaml"
    big.write_bytes(GETTYSBURG.read_bytes())
    assert big.stat().st_size > 1000

    with pytest.raises(PackInvalid) as caught:
        pack_import_path(path=big)

    assert [str(error) for error in caught.value.errors] == [
        f"{big}: the file is larger than the 1000-byte limit for a source pack"
    ]
    assert counts() == dict.fromkeys(counts(), 0)


def test_an_open_file_is_read_no_further_than_the_limit(db, settings):
    settings.SOURCE_PACK_MAX_BYTES = 1000
    stream = io.BytesIO(GETTYSBURG.read_bytes())

    with pytest.raises(PackInvalid, match="larger than the 1000-byte limit"):
        packs.pack_import_file(file=stream, filename="big.yaml")

    assert stream.tell() == 1001


def test_a_utf8_byte_order_mark_is_accepted(db):
    pack_import(data=packs.UTF8_BOM + GETTYSBURG.read_bytes(), filename="bom.yaml")

    assert Source.objects.get(slug="gettysburg-address-bliss-1863").title.startswith("The Gettysburg")


def test_utf16_is_refused_as_not_utf8(db):
    with pytest.raises(PackInvalid, match="not UTF-8"):
        pack_import(data=GETTYSBURG.read_text(encoding="utf-8").encode("utf-16"), filename="utf16.yaml")


def test_absurd_nesting_is_refused_not_crashed(db):
    with pytest.raises(PackInvalid) as caught:
        import_text("sources: " + "[" * 5000 + "]" * 5000)

    assert len(caught.value.errors) == 1


def test_a_missing_file_is_reported_not_crashed(db, tmp_path):
    with pytest.raises(PackInvalid, match="No such file"):
        pack_import_path(path=tmp_path / "missing.yaml")


# --- Good packs --------------------------------------------------------------------


def test_hand_written_pack_imports_every_value(gettysburg):
    address = Source.objects.get(slug="gettysburg-address-bliss-1863")
    times = Source.objects.get(slug="chicago-times-on-gettysburg-1863")
    assert address.date_text == "19 November 1863"
    assert address.sort_date == datetime.date(1863, 11, 19)
    assert times.sort_date == datetime.date(1863, 11, 20)  # written as a quoted string
    assert address.teacher_notes.startswith("Lincoln wrote out five copies of the speech; this is")
    assert address.context.endswith('"a few appropriate remarks".\n')
    assert times.translation == ""
    passages = list(address.passages.all())
    assert [p.label for p in passages] == ["Opening", "The war and the cemetery", "The unfinished work"]
    assert passages[0].text.endswith("created equal.\n")  # `|` keeps the final newline
    assert passages[1].text.endswith("we should do this.")  # `|-` strips it
    assert passages[1].text.count("\n") == 3
    assert [g.term for g in address.glossary.all()] == ["score", "consecrate", "hallow"]

    scheme = MarkScheme.objects.get(slug="gettysburg-6-marks")
    bands = [(level.number, level.min_marks, level.max_marks) for level in scheme.levels.all()]
    assert bands == [(1, 1, 2), (2, 3, 4), (3, 5, 6)]

    assert [link.source for link in gettysburg.exercise_sources.all()] == [address, times]
    questions = list(gettysburg.questions.all())
    assert [q.stage for q in questions] == [
        Stage.ORIGIN,
        Stage.PURPOSE,
        Stage.RELIABILITY,
        Stage.CORROBORATION,
    ]
    assert [q.source for q in questions] == [address, address, times, None]
    assert questions[0].hints[1] == "Why was Lincoln at Gettysburg in November 1863?"
    assert len(questions[0].hints) == 2
    assert questions[0].sentence_starters == ["Source A was written by…", "It was delivered at…"]
    assert questions[1].hints == []
    assert questions[3].mark_scheme == scheme
    assert questions[3].max_marks == 6


def test_import_returns_a_summary_of_what_it_did(db):
    summary = pack_import_path(path=GETTYSBURG)

    assert str(summary).startswith("sources: 2 created; passages: 4 created; glossary terms: 4 created;")
    assert summary.total("created") == 2 + 4 + 4 + 2 + 5 + 1 + 2 + 4


def test_reimporting_the_same_pack_changes_nothing(gettysburg):
    before = fingerprint()

    summary = pack_import_path(path=GETTYSBURG)

    assert fingerprint() == before  # same rows, same ids, same updated_at
    assert summary.total("created") == summary.total("updated") == summary.total("deleted") == 0
    assert summary.total("unchanged") == 24


def test_reimporting_an_edited_pack_updates_in_place(gettysburg):
    address = Source.objects.get(slug="gettysburg-address-bliss-1863")
    first_passage_id = address.passages.first().pk
    text = GETTYSBURG.read_text(encoding="utf-8")
    text = text.replace('title: "The Gettysburg Address (the Bliss copy)"', "title: The Gettysburg Address")
    # Drop the last glossary term of the address and the last question.
    text = text.replace("      - term: hallow\n        definition: To make holy.\n", "")
    text = text[: text.index("      - stage: corroboration")]
    # Rename a term in place (terms are unique per source, so this swaps rows safely).
    text = text.replace("term: consecrate", "term: score-two").replace("term: score\n", "term: consecrate\n")

    summary = import_text(text)

    address.refresh_from_db()
    assert address.title == "The Gettysburg Address"
    assert address.passages.first().pk == first_passage_id
    assert [g.term for g in address.glossary.all()] == ["consecrate", "score-two"]
    assert gettysburg.questions.count() == 3
    assert summary.counts["questions"]["deleted"] == 1
    assert summary.counts["sources"]["updated"] == 1
    again = counts()
    import_text(text)
    assert counts() == again


def test_an_exercise_may_use_sources_and_schemes_already_in_the_library(gettysburg):
    text = """\
exercises:
  - slug: chicago-times-only
    title: The Chicago Times alone
    summary: One source, one question.
    sources: [chicago-times-on-gettysburg-1863]
    questions:
      - stage: reliability
        source: chicago-times-on-gettysburg-1863
        prompt: How far can we trust it?
        max_marks: 6
        mark_scheme: gettysburg-6-marks
"""
    import_text(text)

    question = Exercise.objects.get(slug="chicago-times-only").questions.get()
    assert question.mark_scheme.slug == "gettysburg-6-marks"


def test_changing_a_schemes_top_mark_may_not_strand_library_questions(gettysburg):
    other = factories.make_exercise(mark_scheme=MarkScheme.objects.get(slug="gettysburg-4-marks"))
    assert other.questions.first().max_marks == 4
    text = "mark_schemes:\n  - slug: gettysburg-4-marks\n    name: Five now\n    levels:\n"
    text += "      - {level: 1, min: 1, max: 5, descriptor: All.}\n"

    with pytest.raises(PackInvalid) as caught:
        import_text(text)

    assert f"question 1 of exercise '{other.slug}' in the library is marked out of 4" in str(caught.value)
    assert caught.value.errors[0].field == "mark_schemes[0].levels"


def test_dry_run_checks_everything_and_writes_nothing(db):
    summary = pack_import_path(path=GETTYSBURG, dry_run=True)

    assert summary.total("created") == 24
    assert counts() == dict.fromkeys(counts(), 0)


# --- Student work protects what it points at -------------------------------------------


def _cite(exercise, passage):
    assignment = factories.make_assignment(exercise=exercise)
    submission = factories.make_submission(assignment=assignment, answers={2: "An answer."})
    response = submission.responses.get(question__position=2)
    return factories.make_evidence(response=response, passage=passage, start=0, end=12)


def test_removing_a_passage_that_students_quote_is_refused_whole(gettysburg):
    cited = Source.objects.get(slug="gettysburg-address-bliss-1863").passages.last()
    _cite(gettysburg, cited)
    before = fingerprint()
    text = GETTYSBURG.read_text(encoding="utf-8")
    start = text.index('      - label: "The unfinished work"')
    end = text.index("    glossary:")
    edited = text[:start] + text[end:]
    edited = edited.replace("kind: speech", "kind: address")  # a change that must not land either

    with pytest.raises(PackInvalid) as caught:
        import_text(edited, filename="edited.yaml")

    assert fingerprint() == before
    (error,) = caught.value.errors
    assert error.field == "sources[0].passages"
    assert error.line == edited.split("\n").index("    passages:") + 1
    assert "passage 3 (“The unfinished work”) is quoted in students' evidence" in error.message
    assert Evidence.objects.filter(passage=cited).exists()


def test_rewording_a_quoted_passage_is_refused_unless_the_quotation_survives(gettysburg):
    cited = Source.objects.get(slug="gettysburg-address-bliss-1863").passages.last()
    evidence = _cite(gettysburg, cited)
    assert evidence.quote == "But, in a la"
    text = GETTYSBURG.read_text(encoding="utf-8")

    with pytest.raises(PackInvalid) as caught:
        import_text(text.replace("But, in a larger sense", "Yet, in a larger sense"))
    assert caught.value.errors[0].field == "sources[0].passages[2].text"

    import_text(text.replace("shall not perish from the earth.", "shall not perish from the earth!"))
    cited.refresh_from_db()
    assert cited.text.endswith("earth!\n")


def test_removing_a_question_students_answered_is_refused(gettysburg):
    assignment = factories.make_assignment(exercise=gettysburg)
    factories.make_submission(assignment=assignment, answers={3: "They disagree."})
    text = GETTYSBURG.read_text(encoding="utf-8")
    text = text[: text.index("      - stage: corroboration")]

    with pytest.raises(PackInvalid) as caught:
        import_text(text)

    assert caught.value.errors[0].field == "exercises[0].questions"
    assert "question 4 has students' answers" in caught.value.errors[0].message
    assert gettysburg.questions.count() == 4


# --- Export ------------------------------------------------------------------------


def test_export_import_export_is_identical(gettysburg):
    first = pack_export(exercise_slugs=["gettysburg-reception"])
    clear_library()

    import_text(first)
    second = pack_export(exercise_slugs=["gettysburg-reception"])

    assert second == first


def _normalised(pack: dict) -> dict:
    """What a hand-written pack means: empty optional values dropped, dates as dates."""

    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v not in (None, "", [])}
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
            return datetime.date.fromisoformat(value)
        return value

    return clean(pack)


def test_export_of_a_hand_written_pack_keeps_every_value_and_reimports_unchanged(gettysburg):
    exported = pack_export(exercise_slugs=["gettysburg-reception"])

    original = yaml.safe_load(GETTYSBURG.read_text(encoding="utf-8"))
    assert yaml.safe_load(exported) == _normalised(original)
    before = fingerprint()
    summary = import_text(exported)
    assert fingerprint() == before
    assert summary.total("unchanged") == 24


def test_export_uses_the_documented_key_order_and_block_scalars(gettysburg):
    exported = pack_export(exercise_slugs=["gettysburg-reception"])

    assert exported.startswith("sources:\n  - slug: gettysburg-address-bliss-1863\n    title: ")
    assert list(yaml.safe_load(exported)) == ["sources", "mark_schemes", "exercises"]
    source_keys = list(yaml.safe_load(exported)["sources"][0])
    assert source_keys == [key for key in packs.SOURCE if key in source_keys]
    assert "        text: |-\n          Now we are engaged" in exported
    assert "        text: |\n          Four score" in exported
    assert "    sources: [gettysburg-address-bliss-1863, chicago-times-on-gettysburg-1863]\n" in exported
    assert "translation: ''" not in exported  # empty optional keys are left out
    assert "—we can not consecrate—" in exported  # UTF-8, not \u escapes


TRICKY_TEXTS = [
    "ends with a newline\n",
    "ends with two newlines\n\n",
    "no final newline\nsecond line",
    "trailing spaces   \nsecond line",
    "second line has trailing spaces\nhere   ",
    "  leading spaces\nsecond line",
    "\nleading newline",
    "windows\r\nline endings\r\n",
    "a tab\there\nand a line separator\u2028there",
    "# not a comment\n- not a list\nkey: not a mapping",
    "|\n>\n'\n\"",
    "  spaces around  ",
    "Cyrillic: Известия\nemoji: ✊",
    "a very long single line " * 20,
]


def test_export_round_trips_tricky_text_byte_for_byte(db):
    source = factories.make_source(passages=TRICKY_TEXTS, slug="tricky")
    first = pack_export(source_slugs=["tricky"])
    clear_library()

    import_text(first)

    assert list(Passage.objects.order_by("position").values_list("text", flat=True)) == TRICKY_TEXTS
    assert pack_export(source_slugs=["tricky"]) == first
    assert source.title in first


@given(st.text())
def test_the_pack_dumper_is_lossless_for_any_text(text):
    dumped = yaml.dump(
        {"text": text}, Dumper=packs._PackDumper, allow_unicode=True, sort_keys=False, width=10**9
    )
    assert yaml.safe_load(dumped) == {"text": text}


def test_export_of_unknown_slugs_names_them(db):
    with pytest.raises(packs.UnknownSlugs, match="no-such-source"):
        pack_export(source_slugs=["no-such-source"])


# --- The real 1917 pack --------------------------------------------------------------


@pytest.mark.skipif(not REAL_PACK.exists(), reason=f"{REAL_PACK} has not been written yet")
def test_the_real_1917_pack_imports_cleanly_and_round_trips(db):
    summary = pack_import_path(path=REAL_PACK)
    assert summary.counts["sources"]["created"] >= 2
    original = yaml.safe_load(REAL_PACK.read_text(encoding="utf-8"))
    slugs = {
        "source_slugs": [s["slug"] for s in original.get("sources", [])],
        "mark_scheme_slugs": [m["slug"] for m in original.get("mark_schemes", [])],
        "exercise_slugs": [e["slug"] for e in original.get("exercises", [])],
    }

    first = pack_export(**slugs)
    assert yaml.safe_load(first) == _normalised(original)
    before = counts()
    assert import_text(first).total("unchanged") == summary.total("created")
    assert counts() == before
    assert pack_export(**slugs) == first


# --- Management commands ---------------------------------------------------------------


def test_import_sources_imports_a_folder_and_reports_per_file(db):
    out = io.StringIO()

    call_command("import_sources", str(GOOD), stdout=out)

    assert f"{GETTYSBURG}: imported: sources: 2 created" in out.getvalue()
    assert Exercise.objects.filter(slug="gettysburg-reception").exists()


def test_import_sources_twice_gives_identical_row_counts(db):
    call_command("import_sources", str(GETTYSBURG), stdout=io.StringIO())
    first = counts()
    out = io.StringIO()

    call_command("import_sources", str(GETTYSBURG), stdout=out)

    assert counts() == first
    assert "sources: 2 unchanged" in out.getvalue()


def test_import_sources_fails_with_every_located_error_and_imports_the_good_files(db):
    bad = PACKS / "bad" / "bad-stage.yaml"
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match="1 of 2 pack"):
        call_command("import_sources", str(bad), str(GETTYSBURG), stdout=out, stderr=err)

    expected = expectation(bad)
    assert f"{bad}:{expected.line}: {expected.field}: {expected.fragment}" in err.getvalue()
    assert "nothing was changed" in err.getvalue()
    assert not Source.objects.filter(slug__startswith="bad-").exists()
    assert Source.objects.filter(slug="gettysburg-address-bliss-1863").exists()


def test_import_sources_reports_missing_paths(db, tmp_path):
    with pytest.raises(CommandError):
        call_command("import_sources", str(tmp_path / "nope.yaml"), stderr=io.StringIO())


def test_import_sources_dry_run_writes_nothing(db):
    out = io.StringIO()
    call_command("import_sources", "--dry-run", str(GETTYSBURG), stdout=out)

    assert "dry run" in out.getvalue()
    assert Source.objects.count() == 0


def test_export_sources_writes_stdout_or_a_file(gettysburg, tmp_path):
    out = io.StringIO()
    call_command("export_sources", "chicago-times-on-gettysburg-1863", stdout=out)
    assert out.getvalue() == pack_export(source_slugs=["chicago-times-on-gettysburg-1863"])
    assert "exercises:" not in out.getvalue()

    target, err = tmp_path / "pack.yaml", io.StringIO()
    call_command("export_sources", "--exercise", "gettysburg-reception", "-o", str(target), stderr=err)
    assert target.read_text(encoding="utf-8") == pack_export(exercise_slugs=["gettysburg-reception"])

    everything = io.StringIO()
    call_command("export_sources", "--all", stdout=everything)
    assert yaml.safe_load(everything.getvalue()) == yaml.safe_load(target.read_text(encoding="utf-8"))


def test_export_sources_refuses_unknown_slugs_and_no_slugs(db):
    with pytest.raises(CommandError, match="nope"):
        call_command("export_sources", "nope", stdout=io.StringIO())
    with pytest.raises(CommandError, match="at least one"):
        call_command("export_sources", stdout=io.StringIO())


# --- Admin upload page and export action ---------------------------------------------------


def _upload(client, path: Path, name=None):
    upload = SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="application/yaml")
    return client.post(UPLOAD_URL, {"pack": upload})


def test_source_changelist_has_an_upload_button(admin_client):
    response = admin_client.get(reverse("admin:analysis_source_changelist"))

    assert f'href="{UPLOAD_URL}"' in response.text
    assert "Upload a source pack" in response.text


def test_upload_page_shows_a_labelled_file_field(admin_client):
    response = admin_client.get(UPLOAD_URL)

    assert response.status_code == 200
    assert '<label for="id_pack"' in response.text
    assert 'type="file" name="pack"' in response.text


def test_upload_page_needs_add_permission_on_sources(client, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_source"))
    client.force_login(viewer)

    assert client.get(UPLOAD_URL).status_code == 403
    assert "Upload a source pack" not in client.get(reverse("admin:analysis_source_changelist")).text


def test_upload_page_is_for_staff_only(client, student):
    client.force_login(student)

    response = client.get(UPLOAD_URL)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_uploading_a_good_pack_imports_it_and_says_what_it_did(admin_client):
    response = _upload(admin_client, GETTYSBURG)

    assert response.status_code == 302
    assert Exercise.objects.filter(slug="gettysburg-reception").exists()
    page = admin_client.get(response["Location"])
    assert "Imported gettysburg-1863.yaml: sources: 2 created" in page.text


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda path: path.stem)
def test_uploading_a_bad_pack_shows_every_error_and_changes_nothing(admin_client, path):
    pack_import_path(path=GETTYSBURG)
    before = fingerprint()

    response = _upload(admin_client, path)

    assert response.status_code == 200
    assert fingerprint() == before
    expected = expectation(path)
    located = expected.matches(response.context["pack_errors"])
    assert located
    assert str(located[0]).startswith(f"{path.name}:{expected.line}:")
    assert 'role="alert"' in response.text


def test_upload_errors_are_escaped(admin_client, tmp_path):
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text("sources: []\n'<script>alert(1)</script>': 1\n", encoding="utf-8")

    response = _upload(admin_client, hostile, name="<img src=x onerror=alert(1)>.yaml")

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;img src=x onerror=alert(1)&gt;.yaml:2: " in response.text
    assert "<img src=x" not in response.text


def test_upload_over_the_size_limit_is_refused(admin_client, settings):
    settings.SOURCE_PACK_MAX_BYTES = 1000

    response = _upload(admin_client, GETTYSBURG)

    assert response.status_code == 200
    assert "larger than the 1000-byte limit" in response.text
    assert Source.objects.count() == 0


def test_upload_without_a_file_asks_for_one(admin_client):
    response = admin_client.post(UPLOAD_URL, {})

    assert response.status_code == 200
    assert response.context["form"].errors["pack"]


def test_admin_action_exports_selected_sources_as_a_pack(admin_client, gettysburg):
    times = Source.objects.get(slug="chicago-times-on-gettysburg-1863")

    response = admin_client.post(
        reverse("admin:analysis_source_changelist"),
        {"action": "export_pack", "_selected_action": [times.pk]},
    )

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="chicago-times-on-gettysburg-1863.yaml"'
    assert response.content.decode() == pack_export(source_slugs=[times.slug])


# --- Older packs ------------------------------------------------------------------------------


def test_an_older_packs_provenance_imports_as_teacher_notes_and_exports_under_the_new_key(db):
    older = (GOOD / "gettysburg-1863.yaml").read_text().replace("    teacher_notes:", "    provenance:")
    pack_import(data=older.encode(), filename="older.yaml")
    address = Source.objects.get(slug="gettysburg-address-bliss-1863")
    assert address.teacher_notes.startswith("Lincoln wrote out five copies of the speech; this is")
    exported = yaml.safe_load(pack_export(source_slugs=[address.slug]))["sources"][0]
    assert "provenance" not in exported
    assert exported["teacher_notes"] == address.teacher_notes
