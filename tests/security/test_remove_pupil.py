"""A removed pupil could rejoin at once with the unchanged join code. Removing a pupil offers,
in the same step, a new code for the class (a checkbox on the confirmation, ticked)."""

import pytest
from django.urls import reverse

from accounts.models import Classroom, Enrollment
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting(db):
    teacher, pupil, stays = factories.make_teacher(), factories.make_student(), factories.make_student()
    classroom = factories.make_classroom(teacher=teacher, students=[pupil, stays])
    return teacher, pupil, stays, classroom


def _remove_url(classroom, pupil):
    return reverse("teach:class-student-remove", args=[classroom.pk, pupil.pk])


def test_the_confirmation_offers_a_new_code_ticked(client, setting):
    teacher, pupil, _stays, classroom = setting
    client.force_login(teacher)
    page = client.get(_remove_url(classroom, pupil)).text
    assert 'name="regenerate_code"' in page and "checked" in page.split('name="regenerate_code"')[1][:40]


def test_removing_with_a_new_code_stops_the_pupil_rejoining(client, setting):
    teacher, pupil, stays, classroom = setting
    old_code = classroom.join_code
    client.force_login(teacher)
    response = client.post(_remove_url(classroom, pupil), {"regenerate_code": "on"}, follow=True)
    classroom = Classroom.objects.get(pk=classroom.pk)
    assert classroom.join_code != old_code
    assert f"New join code: {classroom.join_code}" in response.text
    assert not Enrollment.objects.current().filter(classroom=classroom, student=pupil).exists()
    assert Enrollment.objects.current().filter(classroom=classroom, student=stays).exists()

    client.force_login(pupil)
    rejoin = client.post(reverse("accounts:join"), {"join_code": old_code})
    assert rejoin.status_code == 200 and "does not match an open class" in rejoin.text
    assert not Enrollment.objects.current().filter(classroom=classroom, student=pupil).exists()


def test_removing_without_the_box_keeps_the_code(client, setting):
    teacher, pupil, _stays, classroom = setting
    client.force_login(teacher)
    client.post(_remove_url(classroom, pupil), {})
    assert Classroom.objects.get(pk=classroom.pk).join_code == classroom.join_code
