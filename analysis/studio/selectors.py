"""Reads that build the studio's pages: the teacher's library with its filters, one item for
viewing or editing, and what the edit pages show beside the form."""

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404

from analysis.models import Exercise, ExerciseSource, LibraryEdit, MarkScheme, Question, Source

# --- Scoped lookups: 404 outside what the teacher may see or change --------------------------


def visible_exercise(user, pk) -> Exercise:
    return get_object_or_404(Exercise.objects.visible_to(user), pk=pk)


def editable_exercise(user, pk) -> Exercise:
    return get_object_or_404(Exercise.objects.editable_by(user), pk=pk)


def visible_source(user, pk) -> Source:
    return get_object_or_404(Source.objects.visible_to(user), pk=pk)


def editable_source(user, pk) -> Source:
    return get_object_or_404(Source.objects.editable_by(user), pk=pk)


def editable_question(user, exercise, question_id) -> Question:
    return get_object_or_404(
        Question.objects.filter(exercise=exercise).select_related("exercise", "mark_scheme", "source"),
        pk=question_id,
    )


# --- The library ------------------------------------------------------------------------------


def _period_q(period: str, prefix: str) -> Q:
    """A decade ("1910s") or a year ("1917") of the sources' sortable dates."""
    if period.endswith("s") and period[:-1].isdigit() and len(period) <= 5:
        start = int(period[:-1])
        return Q(**{f"{prefix}sort_date__year__gte": start, f"{prefix}sort_date__year__lt": start + 10})
    if period.isdigit() and len(period) <= 4:
        return Q(**{f"{prefix}sort_date__year": int(period)})
    return Q(pk__in=[])


@dataclass
class Library:
    exercises: list
    sources: list
    periods: list
    topics: list
    kinds: list


def _whose(queryset, user, owner: str):
    if owner == "site":
        return queryset.filter(owner__isnull=True)
    if owner == "mine":
        return queryset.filter(owner=user)
    if owner == "shared":
        return queryset.exclude(owner__isnull=True).exclude(owner=user)
    return queryset


def library_choices(user) -> tuple[list, list, list]:
    """The filters' choices, from what the teacher can see: decades, topics and kinds."""
    sources = Source.objects.visible_to(user)
    years = sorted({d.year for d in sources.exclude(sort_date=None).values_list("sort_date", flat=True)})
    decades = sorted({year // 10 * 10 for year in years})
    periods = [(f"{d}s", f"{d}s") for d in decades] + [(str(y), str(y)) for y in years]
    topics = sorted(
        {t for t in sources.values_list("topic", flat=True) if t}
        | {t for t in Exercise.objects.visible_to(user).values_list("topic", flat=True) if t}
    )
    kinds = sorted({k for k in sources.values_list("kind", flat=True) if k})
    return periods, topics, kinds


def library(user, *, q="", period="", topic="", kind="", stage="", owner="", archived=False) -> Library:
    sources = Source.objects.visible_to(user)
    exercises = Exercise.objects.visible_to(user)
    if archived:
        # Archived items show to their owner only; everyone else's stay hidden.
        sources = sources.filter(Q(archived_at=None) | Q(owner=user))
        exercises = exercises.filter(Q(archived_at=None) | Q(owner=user))
    else:
        sources, exercises = sources.current(), exercises.current()
    sources, exercises = _whose(sources, user, owner), _whose(exercises, user, owner)
    for word in q.split()[:8]:
        sources = sources.filter(
            Q(title__icontains=word)
            | Q(author__icontains=word)
            | Q(caption__icontains=word)
            | Q(publication__icontains=word)
            | Q(topic__icontains=word)
        )
        exercises = exercises.filter(
            Q(title__icontains=word)
            | Q(summary__icontains=word)
            | Q(topic__icontains=word)
            | Q(questions__prompt__icontains=word)
            | Q(sources__title__icontains=word)
            | Q(sources__author__icontains=word)
        )
    if period:
        sources = sources.filter(_period_q(period, ""))
        exercises = exercises.filter(_period_q(period, "sources__"))
    if topic:
        sources = sources.filter(topic__iexact=topic)
        exercises = exercises.filter(Q(topic__iexact=topic) | Q(sources__topic__iexact=topic))
    if kind:
        sources = sources.filter(kind__iexact=kind)
        exercises = exercises.filter(sources__kind__iexact=kind)
    if stage:
        sources = sources.filter(questions__stage=stage)
        exercises = exercises.filter(questions__stage=stage)
    exercises = (
        Exercise.objects.filter(pk__in=exercises.values("pk"))
        .annotate(question_count=Count("questions", distinct=True))
        .select_related("owner")
        .prefetch_related(
            Prefetch("exercise_sources", ExerciseSource.objects.select_related("source").order_by("position"))
        )
        .order_by("title")
    )
    sources = (
        Source.objects.filter(pk__in=sources.values("pk"))
        .select_related("owner")
        .annotate(passage_count=Count("passages", distinct=True))
        .order_by("sort_date", "title")
    )
    periods, topics, kinds = library_choices(user)
    return Library(list(exercises), list(sources), periods, topics, kinds)


# --- Edit pages --------------------------------------------------------------------------------


def exercise_editor(exercise):
    questions = list(
        exercise.questions.select_related("source", "mark_scheme")
        .prefetch_related("mark_scheme__levels")
        .order_by("position", "pk")
    )
    return {
        "questions": questions,
        "sources": [link.source for link in exercise.exercise_sources.select_related("source")],
        "history": list(LibraryEdit.objects.filter(exercise=exercise).select_related("by")[:50]),
    }


def source_history(source):
    return list(LibraryEdit.objects.filter(source=source).select_related("by")[:50])


def exercise_with_sources(exercise):
    """Sources with passages and glossary, in order, for a preview."""
    links = (
        ExerciseSource.objects.filter(exercise=exercise)
        .order_by("position")
        .select_related("source")
        .prefetch_related("source__passages", "source__glossary")
    )
    return [link.source for link in links]


def scheme_levels(scheme: MarkScheme | None) -> list:
    return list(scheme.levels.order_by("number")) if scheme else []
