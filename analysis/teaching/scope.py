"""What every teacher view shares: the request type and lookups scoped to the classes the
teacher teaches, so another class's ids answer 404. For the views in this package only."""

from django.apps import apps
from django.db.models import Exists, OuterRef, prefetch_related_objects
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django_htmx.middleware import HtmxDetails

from accounts.models import Classroom
from analysis.models import Assignment, ExerciseSource, Submission
from analysis.news.selectors import last_visit_subquery


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


# --- Scoped lookups -------------------------------------------------------------------


def classroom(request, pk) -> Classroom:
    return get_object_or_404(Classroom.objects.taught_by(request.user), pk=pk)


def assignment(request, pk, *, current=False, for_grid=False) -> Assignment:
    """One assignment of a class this teacher teaches, or 404. ``for_grid``: with what the
    progress grid asks about it in the same query: ``last_visit_at`` (when this teacher last
    opened its progress; None if never) and ``lti_linked`` (whether an LMS gradebook takes its
    scores, so the LMS box needs its own query only then)."""
    queryset = Assignment.objects.taught_by(request.user).select_related("exercise", "classroom")
    if current:
        queryset = queryset.filter(archived_at__isnull=True)
    if for_grid:
        links = apps.get_model("lti", "ResourceLink").objects.filter(assignment=OuterRef("pk"))
        queryset = queryset.annotate(
            last_visit_at=last_visit_subquery(request.user), lti_linked=Exists(links)
        )
    return get_object_or_404(queryset, pk=pk)


def submission(request, assignment, submission_id):
    """One submission of this assignment that the teacher may see, or 404."""
    return get_object_or_404(
        Submission.objects.visible_to(request.user).filter(assignment=assignment).select_related("student"),
        pk=submission_id,
    )


def questions(assignment):
    return exercise_questions(assignment.exercise)


def exercise_questions(exercise):
    """An exercise's questions in order, with their sources and mark schemes' levels."""
    return list(
        exercise.questions.select_related("mark_scheme", "source")
        .prefetch_related("mark_scheme__levels")
        .order_by("position", "pk")
    )


def exercise_sources(exercise):
    links = (
        ExerciseSource.objects.filter(exercise=exercise)
        .order_by("position")
        .select_related("source")
        .prefetch_related("source__passages", "source__glossary")
    )
    sources = [link.source for link in links]
    # Image sources' regions (analysis/studio): one more query only when there is an image.
    prefetch_related_objects([source for source in sources if source.image], "regions")
    return sources


def query_id(request, key) -> int | None:
    """An id from the query string, or None. ``str.isdigit()`` is not enough: "²" is a digit
    that ``int()`` refuses (a 500), and a very long number would be too."""
    raw = request.GET.get(key, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


def query_ids(request, key) -> list[int]:
    """Every id given for ``key`` in the query string (``?pupils=1&pupils=2``), in order, without
    repeats; anything that is not an id (see ``query_id``) is left out."""
    ids = []
    for raw in request.GET.getlist(key)[:500]:
        if raw.isascii() and raw.isdigit() and len(raw) <= 18 and int(raw) not in ids:
            ids.append(int(raw))
    return ids
