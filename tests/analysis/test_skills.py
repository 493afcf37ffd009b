"""Skills across the year (docs/skills.md): the common level scale (declared and default, and
through a source pack), each pupil's profile, the class skills view and the pupil's own progress
page; what counts (released marks only), and who may see what."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.classes import services as class_services
from analysis.library.models import common_level
from analysis.library.packs import PackInvalid, pack_export, pack_import
from analysis.marking import skills
from analysis.models import Level, MarkScheme, Stage, StudentSupport, Submission
from tests import factories

RETURNED = Submission.Status.RETURNED
SUBMITTED = Submission.Status.SUBMITTED

# --- The common scale ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "top", "expected"),
    [
        (1, 2, 2),  # two levels: 1 → 2, 2 → 4
        (2, 2, 4),
        (1, 3, 1),  # 4/3 = 1.33
        (2, 3, 3),  # 8/3 = 2.67
        (3, 3, 4),
        (1, 4, 1),  # four levels: the scale itself
        (3, 4, 3),
        (1, 5, 1),  # 0.8
        (2, 5, 2),  # 1.6
        (4, 5, 3),  # 3.2
        (5, 5, 4),
        (1, 8, 1),  # 0.5 rounds half up, not to even
        (0, 3, 0),  # Level 0: nothing creditable
        (None, 3, 0),  # no level chosen: nothing creditable
    ],
)
def test_the_default_is_proportional_rounded_half_up(number, top, expected):
    assert common_level(number, top) == expected


def test_a_declared_common_level_wins_over_the_default():
    assert common_level(1, 2, declared=1) == 1
    assert common_level(2, 2, declared=3) == 3


def test_a_scheme_maps_its_levels_with_declarations_and_defaults(db):
    scheme = factories.make_mark_scheme(bands=((1, 2), (3, 4), (5, 6)))
    Level.objects.filter(scheme=scheme, number=1).update(common_level=2)
    scheme = MarkScheme.objects.prefetch_related("levels").get(pk=scheme.pk)
    assert scheme.common_levels() == {1: 2, 2: 3, 3: 4}


PACK = """
mark_schemes:
  - slug: three-levels
    name: Three levels
    levels:
      - {level: 0, min: 0, max: 0, descriptor: Nothing creditable.}
      - {level: 1, min: 1, max: 2, descriptor: Describes., common_level: 1}
      - {level: 2, min: 3, max: 4, descriptor: Explains., common_level: 2}
      - {level: 3, min: 5, max: 6, descriptor: Evaluates.}
"""


def test_a_pack_declares_common_levels_and_leaves_out_the_default(db):
    pack_import(data=PACK.encode(), filename="pack.yaml")
    scheme = MarkScheme.objects.prefetch_related("levels").get(slug="three-levels")
    assert [(lv.number, lv.common_level) for lv in scheme.levels.order_by("number")] == [
        (0, None),
        (1, 1),
        (2, 2),
        (3, None),
    ]
    assert scheme.common_levels() == {0: 0, 1: 1, 2: 2, 3: 4}

    exported = yaml.safe_load(pack_export(mark_scheme_slugs=["three-levels"]))
    levels = exported["mark_schemes"][0]["levels"]
    assert [level.get("common_level") for level in levels] == [None, 1, 2, None]
    assert "common_level" not in levels[3]  # the default is not written out


def test_a_pack_with_a_common_level_off_the_scale_is_refused_whole(db):
    text = PACK.replace("common_level: 2}", "common_level: 7}")
    with pytest.raises(PackInvalid) as caught:
        pack_import(data=text.encode(), filename="pack.yaml")
    assert "must be from 0 to 4" in str(caught.value.errors[0])
    assert not MarkScheme.objects.filter(slug="three-levels").exists()


def test_the_bundled_fixtures_rely_on_the_default(db):
    """The packs in fixtures/ declare no common levels: every level maps proportionally."""
    from django.core.management import call_command

    call_command("import_sources", "fixtures/", verbosity=0)
    assert Level.objects.exists()
    assert not Level.objects.filter(common_level__isnull=False).exists()


# --- Test data: a year of work for one class ------------------------------------------------------


def four_level_scheme():
    return factories.make_mark_scheme(bands=((1, 2), (3, 4), (5, 6), (7, 8)))


def set_work(*, classroom, stages, scheme, days_ago, anonymous=False, title=None):
    exercise = factories.make_exercise(stages=stages, mark_scheme=scheme)
    if title:
        exercise.title = title
        exercise.save()
    return factories.make_assignment(
        classroom=classroom,
        exercise=exercise,
        opens_at=timezone.now() - timedelta(days=days_ago),
        anonymous_marking=anonymous,
    )


def mark_work(assignment, student, levels, *, status=RETURNED, days_ago=0, comment="", overall=""):
    """Hand in ``student``'s work and mark question n at ``levels[n]`` (the lowest mark of it)."""
    submission = factories.make_submission(
        assignment=assignment,
        student=student,
        answers={n: f"Answer {n}." for n in range(len(levels))},
        status=status,
        overall_comment=overall,
    )
    when = timezone.now() - timedelta(days=days_ago)
    Submission.objects.filter(pk=submission.pk).update(
        submitted_at=when, returned_at=when if status == RETURNED else None
    )
    for response in submission.responses.select_related("question__mark_scheme"):
        level = levels[response.question.position]
        low = response.question.mark_scheme.levels.get(number=level).min_marks if level else 0
        factories.make_mark(response=response, level=level, marks=low, comment=comment)
    return submission


@pytest.fixture
def year(school_class, student, classmate):
    """Two returned pieces of reliability work for the pupil on different schemes (Level 1 of 2 =
    common Level 2, in October; then Level 3 of 4 = common Level 3), a draft marked but not
    released, and the classmate's work."""
    two = factories.make_mark_scheme()  # two levels
    four = four_level_scheme()
    october = set_work(
        classroom=school_class,
        stages=(Stage.ORIGIN, Stage.RELIABILITY),
        scheme=two,
        days_ago=60,
        title="Trotsky and the coalition",
    )
    later = set_work(
        classroom=school_class, stages=(Stage.RELIABILITY,), scheme=four, days_ago=20, title="Izvestiia terms"
    )
    draft = set_work(
        classroom=school_class, stages=(Stage.RELIABILITY,), scheme=four, days_ago=5, title="Drafts"
    )
    mark_work(october, student, [2, 1], days_ago=55, comment="Say who wrote it.", overall="A good start.")
    mark_work(later, student, [3], days_ago=15, comment="Weigh the provenance.")
    mark_work(draft, student, [4], status=SUBMITTED, days_ago=3, comment="Secret draft comment.")
    mark_work(october, classmate, [1, 2], days_ago=55, comment="Classmate's comment.")
    StudentSupport.objects.create(assignment=later, student=student, support_level="guided")
    return {"october": october, "later": later, "draft": draft, "four": four}


def text_of(reply) -> str:
    return reply.content.decode()


# --- Reads ---------------------------------------------------------------------------------------


def test_the_profile_orders_released_levels_in_time_and_ignores_drafts(year, school_class, student):
    profile = skills.student_profile(classroom=school_class, student=student)
    by_stage = {series.stage: series for series in profile.series}
    assert [p.level for p in by_stage[Stage.RELIABILITY].points] == [2, 3]  # the draft's 4 is not there
    assert [p.title for p in by_stage[Stage.RELIABILITY].points] == [
        "Trotsky and the coalition",
        "Izvestiia terms",
    ]
    assert [p.level for p in by_stage[Stage.ORIGIN].points] == [4]
    assert by_stage[Stage.PURPOSE].points == []
    assert by_stage[Stage.RELIABILITY].latest.descriptor == "Level 3 descriptor"
    assert profile.drafts == 1
    rows = {row.assignment.exercise.title: row for row in profile.assignments}
    assert rows["Izvestiia terms"].support == "Guided"
    assert rows["Izvestiia terms"].marks == 5 and rows["Izvestiia terms"].maximum == 8
    assert rows["Drafts"].marks is None and rows["Drafts"].unreleased_draft
    assert rows["Trotsky and the coalition"].overall_comment == "A good start."


def test_the_class_view_places_each_pupil_at_their_highest_level_in_the_window(
    year, school_class, student, classmate
):
    rows, pupils = skills.class_skills(classroom=school_class, last=3)
    assert pupils == 2
    reliability = next(row for row in rows if row.stage == Stage.RELIABILITY)
    placed = {cell.level: [p.name for p in cell.pupils] for cell in reliability.cells}
    assert placed[3] == [student.display_name]  # Level 2 then Level 3: the highest
    assert placed[4] == [classmate.display_name]  # Level 2 of 2 → common Level 4
    assert reliability.assignments == ["Izvestiia terms", "Trotsky and the coalition"]  # newest first

    rows, _ = skills.class_skills(classroom=school_class, last=1)
    reliability = next(row for row in rows if row.stage == Stage.RELIABILITY)
    placed = {cell.level: [p.name for p in cell.pupils] for cell in reliability.cells}
    assert placed[3] == [student.display_name]
    assert placed[None] == [classmate.display_name]  # nothing returned in the last one


# --- The teacher's pages ----------------------------------------------------------------------------


def test_the_profile_page_shows_levels_descriptors_marks_support_and_comments(
    year, teacher_client, school_class, student
):
    reply = teacher_client.get(reverse("teach:student-profile", args=[school_class.pk, student.pk]))
    assert reply.status_code == 200
    page = text_of(reply)
    assert student.display_name in page
    assert "<svg" in page and "Trotsky and the coalition: 2; Izvestiia terms: 3" in page  # chart + its words
    assert "Reliability — Level 3" in page and "Level 3 descriptor" in page
    assert "5/8 marks" in page and "Guided" in page
    assert "Weigh the provenance." in page and "A good start." in page
    assert "1 assignment has draft marks not returned yet" in page
    assert "Secret draft comment." not in page
    assert "Classmate" not in page


def test_anonymous_drafts_are_not_even_noted_beside_a_name(school_class, student, teacher_client):
    blind = set_work(
        classroom=school_class,
        stages=(Stage.RELIABILITY,),
        scheme=four_level_scheme(),
        days_ago=2,
        anonymous=True,
    )
    mark_work(blind, student, [4], status=SUBMITTED)
    page = text_of(teacher_client.get(reverse("teach:student-profile", args=[school_class.pk, student.pk])))
    assert "draft" not in page.lower()
    assert "Handed in" in page  # the state of the work, never its marks


def test_a_pupil_who_left_keeps_their_profile(year, teacher, teacher_client, school_class, student):
    class_services.enrollment_remove(classroom=school_class, student=student, by=teacher)
    reply = teacher_client.get(reverse("teach:student-profile", args=[school_class.pk, student.pk]))
    assert reply.status_code == 200
    assert "has left the class" in text_of(reply)
    skills_page = text_of(teacher_client.get(reverse("teach:class-skills", args=[school_class.pk])))
    assert "Pupils who have left this class" in skills_page
    assert reverse("teach:student-profile", args=[school_class.pk, student.pk]) in skills_page


def test_another_class_pupil_or_another_teachers_class_is_404(
    year, teacher_client, school_class, other_class, outsider, student
):
    assert (
        teacher_client.get(reverse("teach:student-profile", args=[school_class.pk, outsider.pk])).status_code
        == 404
    )
    assert (
        teacher_client.get(reverse("teach:student-profile", args=[other_class.pk, outsider.pk])).status_code
        == 404
    )
    assert teacher_client.get(reverse("teach:class-skills", args=[other_class.pk])).status_code == 404


def test_pupils_cannot_open_the_teachers_pages(year, student_client, school_class, student):
    assert (
        student_client.get(reverse("teach:student-profile", args=[school_class.pk, student.pk])).status_code
        == 404
    )
    assert student_client.get(reverse("teach:class-skills", args=[school_class.pk])).status_code == 404


def test_the_class_view_links_each_group_to_the_assign_form(year, teacher_client, school_class, student):
    page = text_of(teacher_client.get(reverse("teach:class-skills", args=[school_class.pk])))
    url = skills.assign_url(school_class.pk, [student.pk])
    assert url.replace("&", "&amp;") in page
    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).path == reverse("teach:assignment-create")
    assert query == {"classroom": [str(school_class.pk)], "pupils": [str(student.pk)]}
    assert 'name="pupils"' in page and f'value="{student.pk}"' in page  # tick boxes for any group
    assert reverse("teach:class-skills", args=[school_class.pk]) in text_of(
        teacher_client.get(reverse("teach:class-detail", args=[school_class.pk]))
    )


@pytest.mark.parametrize("last", ["0", "abc", "99", "²"])
def test_a_bad_window_says_so_and_shows_the_default(year, teacher_client, school_class, last):
    reply = teacher_client.get(reverse("teach:class-skills", args=[school_class.pk]), {"last": last})
    assert reply.status_code == 200
    assert "Choose how many assignments to count from the list" in text_of(reply)


# --- The pupil's own page ------------------------------------------------------------------------------


def test_the_pupil_reads_their_progress_in_plain_words(year, student_client, school_class):
    reply = student_client.get(reverse("learn:progress"))
    assert reply.status_code == 200
    page = " ".join(text_of(reply).split())
    october = (timezone.now() - timedelta(days=55)).strftime("%B %Y")
    assert f"Level 2 → Level 3 since {october}" in page
    assert "To reach Level 4:</strong> Level 4 descriptor" in page  # from the latest scheme
    assert "Level 4 in" in page  # origin: one answer, Level 2 of 2
    assert reverse("learn:feedback", args=[year["later"].pk]) in page
    assert "Drafts" not in page and "Secret draft comment." not in page
    assert "Classmate" not in page


def test_the_pupil_sees_nothing_before_work_is_returned(db, classmate, school_class, client):
    outsider_work = set_work(
        classroom=school_class, stages=(Stage.RELIABILITY,), scheme=four_level_scheme(), days_ago=1
    )
    mark_work(outsider_work, classmate, [4], status=SUBMITTED)
    client.force_login(classmate)
    page = text_of(client.get(reverse("learn:progress")))
    assert "Nothing has been returned to you yet" in page
    assert "Level 4" not in page.replace("Level 0 to Level 4", "")


def test_the_progress_page_is_linked_for_pupils_and_refused_to_teachers(year, student_client, teacher):
    assert reverse("learn:progress") in text_of(student_client.get(reverse("learn:assignment-list")))
    teacher_client = Client()
    teacher_client.force_login(teacher)
    assert teacher_client.get(reverse("learn:progress")).status_code == 404


# --- The studio's scheme editor -------------------------------------------------------------------


def test_the_studio_declares_common_levels_or_leaves_them_to_the_default(teacher, teacher_client):
    exercise = factories.make_exercise(owner=teacher, stages=(Stage.RELIABILITY,))
    question = exercise.questions.get()
    url = reverse("teach:question-scheme", args=[exercise.pk, question.pk])
    rows = {"level-1-min": "1", "level-1-max": "2", "level-1-descriptor": "Describes."}
    rows |= {"level-2-min": "3", "level-2-max": "4", "level-2-descriptor": "Explains."}
    htmx = {"HX-Request": "true"}

    refused = text_of(teacher_client.post(url, {**rows, "level-2-common": "9"}, headers=htmx))
    assert "Level 2: the common level is a whole number from 0 to 4, or empty." in refused
    assert 'value="9"' in refused  # what was typed is kept to correct
    falling = {**rows, "level-1-common": "3", "level-2-common": "2"}
    assert "may not be below a lower level" in text_of(teacher_client.post(url, falling, headers=htmx))

    teacher_client.post(url, {**rows, "level-1-common": "1"}, headers=htmx)
    question.refresh_from_db()
    scheme = MarkScheme.objects.prefetch_related("levels").get(pk=question.mark_scheme_id)
    assert [lv.common_level for lv in scheme.levels.order_by("number")] == [1, None]
    assert scheme.common_levels() == {1: 1, 2: 4}  # level 2 of 2 by default
    page = text_of(teacher_client.get(reverse("teach:exercise-edit", args=[exercise.pk])))
    assert 'name="level-1-common" value="1"' in page


def test_a_copied_scheme_keeps_its_common_levels(teacher, teacher_client):
    scheme = factories.make_mark_scheme(owner=factories.make_teacher())
    Level.objects.filter(scheme=scheme, number=1).update(common_level=1)
    original = factories.make_exercise(mark_scheme=scheme)
    teacher_client.post(reverse("teach:exercise-copy", args=[original.pk]))
    copied = MarkScheme.objects.get(owner=teacher)
    assert [lv.common_level for lv in copied.levels.order_by("number")] == [1, None]


def test_a_mark_at_a_level_the_scheme_no_longer_has_is_left_out(year, school_class, student):
    Level.objects.filter(scheme=year["four"], number=3).delete()  # the scheme was re-imported
    profile = skills.student_profile(classroom=school_class, student=student)
    reliability = next(series for series in profile.series if series.stage == Stage.RELIABILITY)
    assert [p.level for p in reliability.points] == [2]
