"""The LMS course page: what a teacher sees, and its queries do not grow with its activities."""

import pytest
from django.urls import reverse

from lti.models import Course, ResourceLink
from tests import factories

pytestmark = pytest.mark.django_db


def _course(platform, links):
    teacher = factories.make_teacher(school=platform.school)
    classroom = factories.make_classroom(teacher=teacher)
    course = Course.objects.create(platform=platform, context_id=f"c{links}", classroom=classroom, title="9C")
    for n in range(links):
        assignment = factories.make_assignment(classroom=classroom)
        ResourceLink.objects.create(course=course, assignment=assignment, resource_link_id=f"rl{n}")
    return teacher, course


def test_the_course_page_lists_its_activities_in_constant_queries(
    platform, client, django_assert_num_queries
):
    for links in (1, 6):
        teacher, course = _course(platform, links)
        client.force_login(teacher)
        client.get(reverse("lti:course", args=[course.pk]))  # warm-up
        # session, user, the course with platform and class, its links with their exercises
        with django_assert_num_queries(4):
            page = client.get(reverse("lti:course", args=[course.pk]))
        assert page.content.decode().count('href="/teach/assignments/') == links


def test_another_teacher_s_course_is_not_there(platform, client):
    _teacher, course = _course(platform, 1)
    client.force_login(factories.make_teacher(school=platform.school))
    assert client.get(reverse("lti:course", args=[course.pk])).status_code == 404
