"""A platform's instructors see the site library's teacher-only material (indicative content,
model answers) only when the platform's switch is on; other teachers are unaffected."""

import pytest
from django.urls import reverse

from lti.models import LtiIdentity
from tests import factories
from tests.lti.conftest import ISS

pytestmark = pytest.mark.django_db

HIDDEN = ("Teacher-only indicative content.", "A model answer.")


def _lti_teacher(platform):
    teacher = factories.make_teacher(school=platform.school)
    teacher.set_unusable_password()  # made by a launch
    teacher.save()
    LtiIdentity.objects.create(user=teacher, platform=platform, issuer=ISS, sub="t")
    return teacher


@pytest.mark.parametrize("switch", [False, True])
def test_lms_instructors_see_teacher_only_material_only_when_the_platform_allows(platform, client, switch):
    platform.instructors_see_teacher_only = switch
    platform.save()
    exercise = factories.make_exercise()  # the site library
    client.force_login(_lti_teacher(platform))
    page = client.get(reverse("teach:exercise-preview", args=[exercise.pk])).content.decode()
    assert all((text in page) == switch for text in HIDDEN)


def test_the_question_marking_page_follows_the_switch(platform, client):
    teacher = _lti_teacher(platform)
    classroom = factories.make_classroom(teacher=teacher)
    assignment = factories.make_assignment(classroom=classroom)
    question = assignment.exercise.questions.order_by("position").first()
    client.force_login(teacher)
    page = client.get(reverse("teach:question-mark", args=[assignment.pk, question.pk])).content.decode()
    assert not any(text in page for text in HIDDEN)


def test_other_teachers_still_see_it(platform, client):
    exercise = factories.make_exercise()
    client.force_login(factories.make_teacher())
    page = client.get(reverse("teach:exercise-preview", args=[exercise.pk])).content.decode()
    assert all(text in page for text in HIDDEN)


@pytest.mark.parametrize("switch", [False, True])
def test_a_copy_does_not_carry_the_material_out_of_the_library(platform, client, switch):
    """Copy to adapt, then the copy's own edit page and export: the material hidden on the preview
    must not come back through a copy the LMS instructor owns."""
    platform.instructors_see_teacher_only = switch
    platform.save()
    exercise = factories.make_exercise()  # the site library
    client.force_login(_lti_teacher(platform))
    reply = client.post(reverse("teach:exercise-copy", args=[exercise.pk]))
    copy_id = int(reply.url.rstrip("/").split("/")[-2])
    edit = client.get(reverse("teach:exercise-edit", args=[copy_id])).content.decode()
    export = client.get(reverse("teach:exercise-export", args=[copy_id])).content.decode()
    for page in (edit, export):
        assert all((text in page) == switch for text in HIDDEN)
    # The library's own exercise keeps it.
    assert exercise.questions.filter(model_answer="A model answer.").count() == exercise.questions.count()


def test_other_teachers_copies_keep_it(client):
    exercise = factories.make_exercise()
    client.force_login(factories.make_teacher())
    reply = client.post(reverse("teach:exercise-copy", args=[exercise.pk]))
    copy_id = int(reply.url.rstrip("/").split("/")[-2])
    export = client.get(reverse("teach:exercise-export", args=[copy_id])).content.decode()
    assert all(text in export for text in HIDDEN)
