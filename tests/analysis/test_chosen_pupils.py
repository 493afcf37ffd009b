"""Assignments set to chosen pupils of a class: the assign form (its "Pupils" choice, pre-filled
by a link), and every page that asks whom an assignment is for."""

import csv
import io

import pytest
from django.urls import reverse

from accounts.models import Enrollment
from analysis.models import AssignedPupil, Assignment
from tests import factories

pytestmark = pytest.mark.django_db
CREATE = reverse("teach:assignment-create")


def _data(exercise, classrooms, pupils=(), **overrides):
    data = {
        "exercise": exercise.pk,
        "classroom": [c.pk for c in classrooms],
        "pupils": [p.pk for p in pupils],
        "opens_at": "2020-03-02T09:00",
        "due_at": "2040-03-09T15:30",
        "hints_enabled": "on",
        "late_allowed": "on",
    }
    data.update(overrides)
    return data


@pytest.fixture
def exercise(db):
    return factories.make_exercise(title="Chosen work")


@pytest.fixture
def named(student, classmate):
    student.first_name, student.last_name = "Ann", "Adams"
    student.save()
    classmate.first_name, classmate.last_name = "Ben", "Brown"
    classmate.save()
    return student, classmate


@pytest.fixture
def chosen(school_class, named):
    """Work set to the student only; the classmate is in the class but not set it."""
    assignment = factories.make_assignment(classroom=school_class, chosen_pupils_only=True)
    AssignedPupil.objects.create(assignment=assignment, student=named[0])
    return assignment


# --- The assign form -----------------------------------------------------------------------------


def test_a_link_pre_fills_the_class_the_pupils_and_the_exercise(
    teacher_client, school_class, exercise, named, outsider
):
    student, classmate = named
    query = f"?classroom={school_class.pk}&pupils={student.pk}&pupils={outsider.pk}&exercise={exercise.pk}"
    html = teacher_client.get(CREATE + query).content.decode()

    assert f'name="pupils" value="{student.pk}" id="id_pupils_{school_class.pk}_{student.pk}" checked' in html
    assert f'name="pupils" value="{classmate.pk}" id="id_pupils_{school_class.pk}_{classmate.pk}">' in html
    assert f'name="pupils" value="{outsider.pk}"' not in html  # another teacher's pupil: not offered
    assert "1 pupil in the link is not in this class now, so is not ticked." in html
    assert "<details" in html and "data-pupil-choice open" in html
    assert f'value="{exercise.pk}" selected' in html
    assert f'value="{school_class.pk}" id="id_classroom_0" checked' in html


def test_setting_work_to_chosen_pupils(teacher_client, school_class, exercise, named):
    student, classmate = named
    response = teacher_client.post(CREATE, _data(exercise, [school_class], [student]), follow=True)

    assignment = Assignment.objects.get(exercise=exercise)
    assert assignment.chosen_pupils_only
    assert list(assignment.pupils.all()) == [student]
    html = response.content.decode()
    assert "is set to 1 pupil of Year 11 A (Ann Adams)" in html
    assert "Set to 1 pupil of Year 11 A:" in html and "Ann Adams" in html  # the grid's heading
    assert "Ben Brown" not in html


def test_no_pupils_ticked_sets_the_whole_class(teacher_client, school_class, exercise, named):
    teacher_client.post(CREATE, _data(exercise, [school_class]))
    assignment = Assignment.objects.get(exercise=exercise)
    assert not assignment.chosen_pupils_only and not assignment.pupils.exists()
    assert set(assignment.set_to()) == set(named)


def test_chosen_pupils_with_several_classes_are_refused(
    teacher_client, teacher, school_class, exercise, named
):
    second = factories.make_classroom(name="Year 11 C", teacher=teacher)
    response = teacher_client.post(CREATE, _data(exercise, [school_class, second], [named[0]]))
    assert response.status_code == 200
    assert "Chosen pupils can be set work in one class at a time" in response.content.decode()
    assert not Assignment.objects.filter(exercise=exercise).exists()


def test_a_pupil_of_another_of_my_classes_is_refused(teacher_client, teacher, school_class, exercise):
    second_pupil = factories.make_student(first_name="Cy", last_name="Cole")
    factories.make_classroom(name="Year 11 C", teacher=teacher, students=[second_pupil])
    response = teacher_client.post(CREATE, _data(exercise, [school_class], [second_pupil]))
    assert response.status_code == 200
    assert "Not in Year 11 A now: Cy Cole." in response.content.decode()
    assert not Assignment.objects.filter(exercise=exercise).exists()


@pytest.mark.parametrize("bad", ["outsider", "left", "huge", "word"])
def test_pupils_i_do_not_teach_and_nonsense_are_form_errors(
    teacher_client, school_class, exercise, outsider, other_class, classmate, bad
):
    if bad == "left":
        Enrollment.objects.filter(student=classmate).update(ended_at="2020-01-01T00:00Z")
    value = {"outsider": outsider.pk, "left": classmate.pk, "huge": "9" * 30, "word": "x"}[bad]
    data = _data(exercise, [school_class])
    data["pupils"] = [value]
    response = teacher_client.post(CREATE, data)
    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    assert not Assignment.objects.filter(exercise=exercise).exists()


def test_a_pre_fill_link_with_nonsense_still_shows_the_form(teacher_client, school_class):
    response = teacher_client.get(CREATE + "?classroom=x&pupils=²&pupils=" + "9" * 40 + "&pupils=-1")
    assert response.status_code == 200


# --- Whom the work is for ------------------------------------------------------------------------


def test_only_chosen_pupils_see_the_work(client, chosen, named):
    student, classmate = named
    client.force_login(student)
    assert "Exercise" in client.get(reverse("learn:assignment-list")).content.decode()
    assert client.get(reverse("learn:workspace", args=[chosen.pk])).status_code == 200

    client.force_login(classmate)
    assert chosen.exercise.title not in client.get(reverse("learn:assignment-list")).content.decode()
    assert client.get(reverse("learn:workspace", args=[chosen.pk])).status_code == 404


def test_a_pupil_not_chosen_cannot_save_into_it(client, chosen, named):
    classmate = named[1]
    # Work left from before (say, the pupil was set it once): still refused.
    submission = factories.make_submission(assignment=chosen, student=classmate, answers={0: "Old."})
    answer = submission.responses.get(question__position=0)
    client.force_login(classmate)
    response = client.post(
        reverse("learn:response-save", args=[chosen.pk, answer.pk]),
        {"text": "New.", "version": answer.version},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 404
    answer.refresh_from_db()
    assert answer.text == "Old."


def test_the_grid_export_and_counts_show_only_the_chosen(teacher_client, school_class, chosen, named):
    student, classmate = named
    grid = teacher_client.get(reverse("teach:assignment-progress", args=[chosen.pk])).content.decode()
    export = teacher_client.get(reverse("teach:assignment-export", args=[chosen.pk]))
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    dashboard = teacher_client.get(reverse("teach:dashboard")).content.decode()
    class_page = teacher_client.get(reverse("teach:class-detail", args=[school_class.pk])).content.decode()

    body = grid[grid.index("<tbody>") : grid.index("</tbody>")]
    assert "Ann Adams" in body and "Ben Brown" not in body
    assert "Set to 1 pupil of Year 11 A:" in grid
    assert [row[1] for row in rows[1:]] == [student.username]
    assert "0 of 1" in dashboard and "(chosen pupils)" in dashboard
    assert "0 of 1 handed in (chosen pupils)" in class_page


def test_extensions_and_support_are_offered_for_the_chosen_only(teacher_client, chosen, named):
    student, classmate = named
    for name in ("teach:assignment-extensions", "teach:assignment-support"):
        html = teacher_client.get(reverse(name, args=[chosen.pk])).content.decode()
        assert student.username in html and classmate.username not in html
    response = teacher_client.post(
        reverse("teach:assignment-extensions", args=[chosen.pk]),
        {"student": classmate.pk, "due_at": "2041-01-01T09:00"},
    )
    assert response.status_code == 200
    assert not chosen.extensions.exists()


def test_a_chosen_pupil_who_leaves_the_class_no_longer_counts(teacher_client, chosen, named):
    Enrollment.objects.filter(student=named[0]).update(ended_at="2020-01-01T00:00Z")
    assert list(chosen.set_to()) == []
    html = teacher_client.get(reverse("teach:assignment-progress", args=[chosen.pk])).content.decode()
    assert "none of them is in the class now" in html


def test_each_pupil_is_chosen_once(chosen, named):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        AssignedPupil.objects.create(assignment=chosen, student=named[0])


def test_the_class_of_chosen_pupils_work_cannot_be_changed(teacher_client, teacher, chosen):
    elsewhere = factories.make_classroom(name="Year 11 C", teacher=teacher)
    url = reverse("teach:assignment-edit", args=[chosen.pk])
    page = teacher_client.get(url).content.decode()
    assert "Fixed: the work is set to chosen pupils of this class." in page
    teacher_client.post(
        url,
        {
            "exercise": chosen.exercise_id,
            "classroom": elsewhere.pk,
            "opens_at": "2020-03-02T09:00",
            "due_at": "2040-03-09T15:30",
            "note": "Moved?",
        },
    )
    chosen.refresh_from_db()
    assert chosen.classroom_id != elsewhere.pk and chosen.note == "Moved?"


def test_the_service_itself_refuses_pupils_outside_the_one_class(teacher, school_class, named, outsider):
    from django.core.exceptions import ValidationError

    from analysis.teaching.services import assignments_create

    second = factories.make_classroom(name="Year 11 C", teacher=teacher)
    template = Assignment(exercise=factories.make_exercise(), opens_at="2020-01-01T09:00Z")
    with pytest.raises(ValidationError, match="one class at a time"):
        assignments_create(
            template=template, classrooms=[school_class, second], pupils=[named[0]], by=teacher
        )
    with pytest.raises(ValidationError, match="must be in the class now"):
        assignments_create(template=template, classrooms=[school_class], pupils=[outsider], by=teacher)
    assert not Assignment.objects.exists()
