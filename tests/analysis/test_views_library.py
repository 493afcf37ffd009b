import pytest
from django.urls import reverse

from analysis.models import GlossaryTerm
from tests import factories

pytestmark = pytest.mark.django_db


def test_teacher_sees_the_library_and_a_source_with_numbered_passages(teacher_client):
    source = factories.make_source(title="Trotsky's speech", passages=["We shall never\nform a union."])
    GlossaryTerm.objects.create(source=source, term="union", definition="An alliance between parties.")
    assert teacher_client.get(reverse("sources:source-list")).url == reverse("teach:library")
    listing = teacher_client.get(reverse("teach:library"))
    assert "Trotsky&#x27;s speech" in listing.text
    detail = teacher_client.get(source.get_absolute_url())
    assert detail.status_code == 200
    assert 'data-line="2"' in detail.text
    assert "An alliance between parties." in detail.text


def test_students_cannot_browse_the_library(student_client):
    source = factories.make_source()
    assert student_client.get(reverse("sources:source-list")).status_code == 404
    assert student_client.get(source.get_absolute_url()).status_code == 404


def test_unknown_source_is_404(teacher_client):
    assert teacher_client.get(reverse("sources:source-detail", args=["no-such-source"])).status_code == 404


def test_library_query_count_does_not_grow_with_sources(teacher_client, django_assert_max_num_queries):
    for _ in range(3):
        factories.make_exercise()
    with django_assert_max_num_queries(8):
        teacher_client.get(reverse("sources:source-list"))


def test_exercise_cards_open_preview_and_set_the_exercise(teacher_client):
    exercise = factories.make_exercise(title="Trotsky against coalition")
    page = teacher_client.get(reverse("teach:library")).text
    preview = reverse("teach:exercise-preview", args=[exercise.pk])
    set_it = f"{reverse('teach:assignment-create')}?exercise={exercise.pk}"
    assert f'<a href="{preview}">Trotsky against coalition</a>' in page  # the card's title opens it
    assert f'href="{set_it}"' in page and "Set to a class" in page and "Preview as a pupil" in page


def test_an_empty_library_says_how_it_fills(teacher_client):
    page = teacher_client.get(reverse("teach:library")).text
    assert "No exercises yet" in page and "importing a source pack" in page
