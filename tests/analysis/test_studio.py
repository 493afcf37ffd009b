"""The authoring studio: teachers' own sources, exercises, questions and mark schemes, copies,
sharing, pupils' work keeping its meaning, and packs in and out of a teacher's space."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from analysis.library.packs import band_problems
from analysis.models import (
    Exercise,
    LibraryEdit,
    MarkScheme,
    Question,
    Source,
    Stage,
    Submission,
)
from analysis.studio import services as studio
from tests import factories

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}

PASTED = (
    "We stand for peace.\r\n\r\nThe land belongs\u00a0to the\ttoon\x00ers.\u200b\r\n"
    "\r\n\r\nAll power to the Soviets!  \r\n"
)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _source_body(**overrides):
    body = {
        "title": "Decree on Peace",
        "author": "V. I. Lenin",
        "date_text": "26 October 1917",
        "sort_date": "1917-11-08",
        "publication": "Second Congress of Soviets",
        "kind": "Speech",
        "audience": "Delegates",
        "topic": "Russian Revolution",
        "caption": "Lenin addresses the Congress.",
        "rights_kind": "public-domain",
        "text": PASTED,
    }
    body.update(overrides)
    return body


def _make_source(client, **overrides) -> Source:
    response = client.post(reverse("teach:source-create"), _source_body(**overrides))
    assert response.status_code == 302, response.content.decode()[:2000]
    return Source.objects.latest("pk")


def _make_exercise(client, sources, title="Peace and land") -> Exercise:
    body = {"title": title, "summary": "Two decrees of 1917."}
    for n, source in enumerate(sources):
        body[f"source_{n}"] = source.pk
    response = client.post(reverse("teach:exercise-create"), body)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Exercise.objects.latest("pk")


def _question_body(question, **overrides):
    prefix = f"q{question.pk}-"
    body = {
        "stage": question.stage,
        "prompt": question.prompt,
        "max_marks": question.max_marks,
        "source": question.source_id or "",
        "mark_scheme": question.mark_scheme_id or "",
        "hints": "\n".join(question.hints),
        "sentence_starters": "\n".join(question.sentence_starters),
        "indicative_content": question.indicative_content,
        "model_answer": question.model_answer,
    }
    body.update(overrides)
    return {prefix + key: value for key, value in body.items()}


# --- Text ---------------------------------------------------------------------------------


def test_pasted_text_is_normalised_and_cut_into_passages_at_blank_lines(teacher):
    source = _make_source(_client(teacher))
    assert [p.text for p in source.passages.order_by("position")] == [
        "We stand for peace.",
        "The land belongs to the tooners.",
        "All power to the Soviets!",
    ]
    assert [p.label for p in source.passages.order_by("position")] == [
        "Paragraph 1",
        "Paragraph 2",
        "Paragraph 3",
    ]
    assert (source.owner, source.school, source.shared) == (teacher, teacher.school, False)
    assert source.rights == "Public domain"


def test_normalise_text_keeps_newlines_and_composes_accents():
    assert studio.normalise_text("Cafe\u0301\r\nline\x07 two\rthree") == "Caf\u00e9\nline two\nthree"


def test_a_licence_must_be_named(teacher):
    response = _client(teacher).post(reverse("teach:source-create"), _source_body(rights_kind="licence"))
    assert response.status_code == 200
    assert "Name the licence" in response.content.decode()
    assert not Source.objects.exists()


def test_passages_split_join_and_move_with_htmx(teacher):
    client = _client(teacher)
    source = _make_source(client)
    url = reverse("teach:source-passages", args=[source.pk])
    first, second, third = source.passages.order_by("position")

    response = client.post(url, {"passage": second.pk, "action": "split", "at": "to the"}, headers=HTMX)
    assert response.status_code == 200
    assert "Join with next" in response.content.decode()
    assert list(source.passages.order_by("position").values_list("text", flat=True)) == [
        "We stand for peace.",
        "The land belongs",
        "to the tooners.",
        "All power to the Soviets!",
    ]
    client.post(url, {"passage": first.pk, "action": "join"}, headers=HTMX)
    client.post(url, {"passage": third.pk, "action": "up"}, headers=HTMX)
    texts = list(source.passages.order_by("position").values_list("text", flat=True))
    assert texts == [
        "We stand for peace.\n\nThe land belongs",
        "All power to the Soviets!",
        "to the tooners.",
    ]
    labels = list(source.passages.order_by("position").values_list("label", flat=True))
    assert labels == ["Paragraph 1", "Paragraph 2", "Paragraph 3"]


def test_a_split_at_words_not_in_the_passage_is_explained(teacher):
    client = _client(teacher)
    source = _make_source(client)
    passage = source.passages.first()
    response = client.post(
        reverse("teach:source-passages", args=[source.pk]),
        {"passage": passage.pk, "action": "split", "at": "nowhere"},
        headers=HTMX,
    )
    assert "Type the first words" in response.content.decode()
    assert source.passages.count() == 3


def test_glossary_terms_must_occur_in_the_text(teacher):
    client = _client(teacher)
    source = _make_source(client)
    url = reverse("teach:source-glossary", args=[source.pk])
    refused = client.post(url, {"term": "Bolshevik", "definition": "A party."}, headers=HTMX)
    assert "does not occur" in refused.content.decode()
    client.post(url, {"term": "Soviets", "definition": "Councils."}, headers=HTMX)
    assert list(source.glossary.values_list("term", flat=True)) == ["Soviets"]
    preview = client.get(reverse("teach:source-preview", args=[source.pk])).content.decode()
    assert "Councils." in preview and "Lenin addresses the Congress." in preview


# --- Exercises, questions, schemes --------------------------------------------------------


def test_a_teacher_builds_an_exercise_with_a_question_per_stage_and_a_written_scheme(teacher):
    client = _client(teacher)
    a, b = _make_source(client), _make_source(client, title="Decree on Land")
    exercise = _make_exercise(client, [a, b])
    assert (exercise.owner, exercise.shared) == (teacher, False)
    for stage in Stage.values:
        response = client.post(
            reverse("teach:question-add", args=[exercise.pk]), {"stage": stage}, headers=HTMX
        )
        assert response.status_code == 200
    questions = list(exercise.questions.order_by("position"))
    assert [q.stage for q in questions] == Stage.values
    assert questions[4].source is None and questions[1].source == b

    # Autosave: a changed prompt answers with a saved status and is there after a reload.
    origin = questions[Stage.values.index(Stage.ORIGIN)]
    saved = client.post(
        reverse("teach:question-edit", args=[exercise.pk, origin.pk]),
        _question_body(origin, prompt="Who wrote Source A, and why then?"),
        headers=HTMX,
    )
    assert "Saved at" in saved.content.decode()
    page = client.get(reverse("teach:exercise-edit", args=[exercise.pk])).content.decode()
    assert "Who wrote Source A, and why then?" in page

    # A written scheme with a gap is refused, with the pack validator's words.
    scheme_url = reverse("teach:question-scheme", args=[exercise.pk, origin.pk])
    gap = {"level-1-min": "1", "level-1-max": "2", "level-1-descriptor": "Describes."}
    gap |= {"level-2-min": "4", "level-2-max": "4", "level-2-descriptor": "Explains."}
    refused = client.post(scheme_url, gap, headers=HTMX).content.decode()
    assert "gap between bands: marks 3–3 belong to no level" in refused
    short = {**gap, "level-2-min": "3", "level-2-max": "3"}
    assert "top band ends at 3" in client.post(scheme_url, short, headers=HTMX).content.decode()
    good = {**gap, "level-2-min": "3"}
    client.post(scheme_url, good, headers=HTMX)
    origin.refresh_from_db()
    assert origin.mark_scheme.owner == teacher
    assert [(lv.min_marks, lv.max_marks) for lv in origin.mark_scheme.levels.all()] == [(1, 2), (3, 4)]

    # Set to a class: the assign form arrives with the exercise chosen.
    form = client.get(reverse("teach:assignment-create") + f"?exercise={exercise.pk}").content.decode()
    assert f'<option value="{exercise.pk}" selected>' in form


def test_questions_move_and_are_removed(teacher):
    client = _client(teacher)
    exercise = _make_exercise(client, [_make_source(client)])
    for stage in (Stage.ORIGIN, Stage.PURPOSE):
        client.post(reverse("teach:question-add", args=[exercise.pk]), {"stage": stage}, headers=HTMX)
    purpose = exercise.questions.get(stage=Stage.PURPOSE)
    client.post(
        reverse("teach:question-move", args=[exercise.pk, purpose.pk]), {"direction": "up"}, headers=HTMX
    )
    assert list(exercise.questions.order_by("position").values_list("stage", flat=True)) == [
        "purpose",
        "origin",
    ]
    client.post(reverse("teach:question-delete", args=[exercise.pk, purpose.pk]), headers=HTMX)
    assert list(exercise.questions.values_list("stage", "position")) == [("origin", 0)]


def test_pupil_preview_shows_no_teacher_only_text(teacher):
    exercise = factories.make_exercise()
    html = _client(teacher).get(reverse("teach:exercise-pupil-preview", args=[exercise.pk])).content.decode()
    assert "Question 1 about origin?" in html
    assert "A first hint." in html
    assert "Teacher-only indicative content." not in html and "A model answer." not in html


def test_band_problems_are_the_pack_rules():
    assert band_problems([{"level": 1, "min": 1, "max": 2}, {"level": 2, "min": 2, "max": 4}])
    assert not band_problems(
        [{"level": 1, "min": 1, "max": 2}, {"level": 2, "min": 3, "max": 4}], max_marks=4
    )


# --- Ownership, sharing, copies ------------------------------------------------------------


def test_copy_to_adapt_leaves_the_original_untouched(teacher):
    teachers_scheme = factories.make_mark_scheme(owner=factories.make_teacher())
    original = factories.make_exercise(mark_scheme=teachers_scheme)
    before = list(original.questions.values_list("pk", "prompt", "mark_scheme"))
    response = _client(teacher).post(reverse("teach:exercise-copy", args=[original.pk]))
    copy = Exercise.objects.get(owner=teacher)
    assert response.url == reverse("teach:exercise-edit", args=[copy.pk])
    assert copy.title == f"{original.title} (copy)" and not copy.shared and copy.based_on == original
    assert list(original.questions.values_list("pk", "prompt", "mark_scheme")) == before
    assert copy.questions.count() == 3
    # Site sources are referenced; the teacher-specific scheme is copied as the teacher's own.
    assert list(copy.sources.all()) == list(original.sources.all())
    copied_schemes = {q.mark_scheme for q in copy.questions.all()}
    assert len(copied_schemes) == 1 and copied_schemes.pop().owner == teacher


def test_private_items_are_404_to_others_and_shared_ones_preview_and_copy_but_not_edit(
    teacher, other_teacher
):
    client = _client(teacher)
    source = _make_source(client)
    exercise = _make_exercise(client, [source])
    colleague = _client(other_teacher)  # same school
    stranger = _client(factories.make_teacher(school=factories.make_school()))
    for url in (
        reverse("teach:exercise-pupil-preview", args=[exercise.pk]),
        reverse("teach:exercise-preview", args=[exercise.pk]),
        reverse("teach:source-preview", args=[source.pk]),
    ):
        assert colleague.get(url).status_code == 404
    assert colleague.post(reverse("teach:exercise-copy", args=[exercise.pk])).status_code == 404

    client.post(reverse("teach:exercise-manage", args=[exercise.pk]), {"action": "share"})
    client.post(reverse("teach:source-manage", args=[source.pk]), {"action": "share"})
    assert colleague.get(reverse("teach:exercise-pupil-preview", args=[exercise.pk])).status_code == 200
    assert colleague.get(reverse("teach:exercise-edit", args=[exercise.pk])).status_code == 404
    assert colleague.get(reverse("teach:source-edit", args=[source.pk])).status_code == 404
    assert stranger.get(reverse("teach:exercise-pupil-preview", args=[exercise.pk])).status_code == 404
    assert colleague.post(reverse("teach:exercise-copy", args=[exercise.pk])).status_code == 302
    assert Exercise.objects.filter(owner=other_teacher, based_on=exercise).exists()
    library = colleague.get(reverse("teach:library")).content.decode()
    assert "Peace and land" in library
    assert "Peace and land" not in stranger.get(reverse("teach:library")).content.decode()


def test_library_searches_prompts_and_filters_by_period_and_kind(teacher):
    factories.make_exercise(title="Kronstadt")
    source = factories.make_source(title="Pravda report", sort_date="1921-03-08", kind="Newspaper report")
    factories.make_source(title="Izvestiia report", sort_date="1917-11-08")
    client = _client(teacher)
    html = client.get(reverse("teach:library") + "?q=about+purpose").content.decode()
    assert "Kronstadt" in html
    assert "Kronstadt" not in client.get(reverse("teach:library") + "?q=zebra").content.decode()
    decade = client.get(reverse("teach:library") + "?period=1920s").content.decode()
    assert source.title in decade
    assert source.title not in client.get(reverse("teach:library") + "?period=1910s").content.decode()
    assert source.title in client.get(reverse("teach:library") + "?kind=Newspaper+report").content.decode()


def test_archived_items_are_hidden_and_a_filter_shows_them_to_their_owner(teacher):
    client = _client(teacher)
    exercise = _make_exercise(client, [_make_source(client)], title="Old lesson")
    client.post(reverse("teach:exercise-manage", args=[exercise.pk]), {"action": "archive"})
    assert "Old lesson" not in client.get(reverse("teach:library")).content.decode()
    assert "Old lesson" in client.get(reverse("teach:library") + "?archived=on").content.decode()
    form = client.get(reverse("teach:assignment-create")).content.decode()
    assert "Old lesson" not in form


def test_teacher_slugs_never_touch_the_site_library(teacher):
    site = factories.make_source(slug="decree-on-peace", title="Decree on Peace")
    mine = _make_source(_client(teacher))
    assert mine.slug.startswith("decree-on-peace-") and mine.slug != site.slug
    site.refresh_from_db()
    assert site.owner is None and site.title == "Decree on Peace"


def test_an_unused_draft_is_deleted_but_a_set_exercise_is_archived(teacher):
    client = _client(teacher)
    draft = _make_exercise(client, [_make_source(client)])
    client.post(reverse("teach:exercise-manage", args=[draft.pk]), {"action": "delete"})
    assert not Exercise.objects.filter(pk=draft.pk).exists()
    used = _make_exercise(client, [_make_source(client)])
    factories.make_assignment(exercise=used)
    client.post(reverse("teach:exercise-manage", args=[used.pk]), {"action": "delete"})
    used.refresh_from_db()
    assert used.archived_at is not None


# --- Pupils' work keeps its meaning --------------------------------------------------------


@pytest.fixture
def worked(teacher):
    """The teacher's own exercise, set to a class, with one pupil's handed-in answers."""
    client = _client(teacher)
    source = _make_source(client)
    exercise = _make_exercise(client, [source])
    client.post(reverse("teach:question-add", args=[exercise.pk]), {"stage": Stage.ORIGIN})
    assignment = factories.make_assignment(
        exercise=exercise, classroom=factories.make_classroom(teacher=teacher)
    )
    submission = factories.make_submission(
        assignment=assignment, answers={0: "Lenin, to the Congress."}, status=Submission.Status.SUBMITTED
    )
    factories.make_evidence(response=submission.responses.get(), passage=source.passages.first())
    return client, exercise, source


def test_edits_that_change_the_meaning_of_pupils_work_are_refused(worked):
    client, exercise, source = worked
    question = exercise.questions.get()
    refused = client.post(
        reverse("teach:question-edit", args=[exercise.pk, question.pk]),
        _question_body(question, max_marks=10),
        headers=HTMX,
    ).content.decode()
    assert "Save as a new version" in refused
    question.refresh_from_db()
    assert question.max_marks == 4
    added = client.post(reverse("teach:question-add", args=[exercise.pk]), {"stage": "purpose"}, headers=HTMX)
    assert "Save as a new version" in added.content.decode()
    assert exercise.questions.count() == 1
    passage = source.passages.first()
    joined = client.post(
        reverse("teach:source-passages", args=[source.pk]),
        {"passage": passage.pk, "action": "join"},
        headers=HTMX,
    )
    assert "Pupils have quoted" in joined.content.decode()
    assert source.passages.count() == 3


def test_wording_fixes_are_allowed_and_kept_in_the_history(worked, teacher):
    client, exercise, _source = worked
    question = exercise.questions.get()
    old = question.prompt
    response = client.post(
        reverse("teach:question-edit", args=[exercise.pk, question.pk]),
        _question_body(question, prompt="Who wrote Source A?"),
        headers=HTMX,
    )
    assert "Saved at" in response.content.decode()
    edit = LibraryEdit.objects.get(exercise=exercise)
    assert (edit.by, edit.before, edit.after) == (teacher, old, "Who wrote Source A?")
    page = client.get(reverse("teach:exercise-edit", args=[exercise.pk])).content.decode()
    assert "Changes since pupils started" in page and "Who wrote Source A?" in page


def test_save_as_a_new_version_archives_the_old_one_for_future_assignments(worked, teacher):
    client, exercise, _source = worked
    response = client.post(reverse("teach:exercise-manage", args=[exercise.pk]), {"action": "new-version"})
    new = Exercise.objects.get(based_on=exercise)
    assert response.url == reverse("teach:exercise-edit", args=[new.pk])
    exercise.refresh_from_db()
    assert exercise.archived_at is not None and new.archived_at is None and new.title == exercise.title
    assert (
        exercise.assignments.count() == 1
        and Submission.objects.filter(assignment__exercise=exercise).exists()
    )
    # The new version takes the changes the old one refused.
    added = client.post(reverse("teach:question-add", args=[new.pk]), {"stage": "purpose"}, headers=HTMX)
    assert "Save as a new version" not in added.content.decode()
    assert new.questions.count() == 2
    form = client.get(reverse("teach:assignment-create")).content.decode()
    choices = form.split('name="exercise"')[1].split("</select>")[0]
    assert f'value="{new.pk}"' in choices and f'value="{exercise.pk}"' not in choices


# --- Packs ---------------------------------------------------------------------------------------


def test_a_teacher_exports_their_exercise_and_imports_it_as_their_own(teacher, other_teacher):
    client = _client(teacher)
    exercise = _make_exercise(client, [_make_source(client)])
    client.post(reverse("teach:question-add", args=[exercise.pk]), {"stage": Stage.ORIGIN})
    response = client.get(reverse("teach:exercise-export", args=[exercise.pk]))
    assert response["Content-Disposition"].startswith("attachment;")
    pack = response.content
    assert b"Decree on Peace" in pack and b"questions:" in pack

    site_before = (Source.objects.filter(owner=None).count(), Exercise.objects.filter(owner=None).count())
    upload = SimpleUploadedFile("pack.yaml", pack, "application/yaml")
    imported = _client(other_teacher).post(reverse("teach:pack-import"), {"file": upload})
    assert imported.status_code == 302
    theirs = Exercise.objects.get(owner=other_teacher)
    assert theirs.title == exercise.title and theirs.questions.count() == 1
    assert theirs.sources.get().owner == other_teacher
    assert (
        Source.objects.filter(owner=None).count(),
        Exercise.objects.filter(owner=None).count(),
    ) == site_before
    # Importing the same pack again updates the teacher's own items instead of adding more.
    upload = SimpleUploadedFile("pack.yaml", pack, "application/yaml")
    _client(other_teacher).post(reverse("teach:pack-import"), {"file": upload})
    assert Exercise.objects.filter(owner=other_teacher).count() == 1


def test_a_bad_pack_is_refused_with_located_errors_and_nothing_imported(teacher):
    bad = b"sources:\n  - slug: x\n    title: T\n"
    upload = SimpleUploadedFile("bad.yaml", bad, "application/yaml")
    html = _client(teacher).post(reverse("teach:pack-import"), {"file": upload}).content.decode()
    assert "Nothing was imported" in html and "line 2" in html
    assert not Source.objects.exists()


def test_a_teachers_import_cannot_overwrite_the_site_library(teacher):
    site = factories.make_source(slug="site-source", title="Site title")
    pack = (
        b"sources:\n  - slug: site-source\n    title: Hijacked\n    author: A\n    date: '1917'\n"
        b"    publication: P\n    kind: K\n    passages:\n      - label: One\n        text: Words.\n"
    )
    _client(teacher).post(reverse("teach:pack-import"), {"file": SimpleUploadedFile("p.yaml", pack)})
    site.refresh_from_db()
    assert site.title == "Site title"
    assert Source.objects.get(owner=teacher).title == "Hijacked"


def test_scheme_choices_offer_only_visible_schemes(teacher, other_teacher):
    private = factories.make_mark_scheme(owner=other_teacher, name="Their private scheme")
    client = _client(teacher)
    exercise = _make_exercise(client, [_make_source(client)])
    client.post(reverse("teach:question-add", args=[exercise.pk]), {"stage": Stage.ORIGIN})
    question = exercise.questions.get()
    assert (
        "Their private scheme"
        not in client.get(reverse("teach:exercise-edit", args=[exercise.pk])).content.decode()
    )
    response = client.post(
        reverse("teach:question-edit", args=[exercise.pk, question.pk]),
        _question_body(question, mark_scheme=private.pk),
        headers=HTMX,
    )
    assert "Not saved" in response.content.decode()
    assert Question.objects.get(pk=question.pk).mark_scheme is None
    assert MarkScheme.objects.filter(owner=teacher).count() == 0


def test_two_sources_then_an_exercise_that_starts_with_a_question_per_stage(teacher):
    client = _client(teacher)
    first = client.post(
        reverse("teach:source-create"),
        _source_body(then="another", glossary="Soviets: elected councils\npeace: the end of a war"),
    )
    one = Source.objects.get()
    assert first.url == reverse("teach:source-create") + f"?with={one.pk}"
    assert list(one.glossary.values_list("term", "definition")) == [
        ("Soviets", "elected councils"),
        ("peace", "the end of a war"),
    ]
    second = client.post(first.url, _source_body(title="Decree on Land", then="exercise"))
    two = Source.objects.latest("pk")
    assert second.url == reverse("teach:exercise-create") + f"?source={one.pk}&source={two.pk}"
    form = client.get(second.url).content.decode()
    assert f'<option value="{two.pk}" selected>' in form.split('name="source_1"')[1].split("</select>")[0]
    client.post(
        second.url,
        {
            "title": "Land and peace",
            "summary": "S.",
            "source_0": one.pk,
            "source_1": two.pk,
            "start_questions": "on",
        },
    )
    exercise = Exercise.objects.get()
    assert list(exercise.questions.values_list("stage", flat=True)) == Stage.values
    assert [q.source for q in exercise.questions.all()] == [one, two, two, two, None]


def test_a_glossary_term_not_in_the_text_is_refused_on_the_new_source_form(teacher):
    response = _client(teacher).post(reverse("teach:source-create"), _source_body(glossary="Kulak: a farmer"))
    assert "“Kulak” does not occur in the text." in response.content.decode()
    assert not Source.objects.exists()


def test_a_passage_nobody_quoted_can_be_corrected(teacher):
    client = _client(teacher)
    source = _make_source(client)
    passage = source.passages.get(position=1)
    client.post(
        reverse("teach:source-passages", args=[source.pk]),
        {"passage": passage.pk, "action": "text", "text": "The land belongs to the peasants.\r\n"},
        headers=HTMX,
    )
    passage.refresh_from_db()
    assert passage.text == "The land belongs to the peasants."


def test_a_prompt_typed_in_several_autosaves_is_one_history_row(worked):
    client, exercise, _source = worked
    question = exercise.questions.get()
    old = question.prompt
    for prompt in ("Who wrote", "Who wrote Source A", "Who wrote Source A, and when?"):
        client.post(
            reverse("teach:question-edit", args=[exercise.pk, question.pk]),
            _question_body(question, prompt=prompt),
            headers=HTMX,
        )
    assert list(LibraryEdit.objects.values_list("before", "after")) == [
        (old, "Who wrote Source A, and when?")
    ]


def test_a_new_version_of_a_quoted_source_takes_over_in_unworked_exercises(worked, teacher):
    client, worked_exercise, source = worked
    fresh = _make_exercise(client, [source], title="Next year's lesson")
    response = client.post(reverse("teach:source-manage", args=[source.pk]), {"action": "new-version"})
    new = Source.objects.get(based_on=source)
    assert response.url == reverse("teach:source-edit", args=[new.pk])
    source.refresh_from_db()
    assert source.archived_at is not None
    assert list(fresh.sources.all()) == [new]  # no pupils' work: it moves to the new version
    assert list(worked_exercise.sources.all()) == [source]  # pupils' quotations keep their text
    passage = new.passages.first()
    joined = client.post(
        reverse("teach:source-passages", args=[new.pk]),
        {"passage": passage.pk, "action": "join"},
        headers=HTMX,
    )
    assert "Pupils have quoted" not in joined.content.decode()
    assert new.passages.count() == 2


def test_a_class_id_too_large_for_the_database_is_an_invalid_choice_not_a_server_error(teacher):
    response = _client(teacher).post(
        reverse("teach:assignment-create"),
        {"exercise": "1", "classroom": "9" * 40, "opens_at": "2026-12-05T10:00"},
    )
    assert response.status_code == 200
    assert "is not a valid value" in response.content.decode()
