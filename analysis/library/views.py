from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.decorators import teacher_required
from analysis.models import Exercise, Source


def _visible(user):
    """The site library, the teacher's own sources and those colleagues share: another teacher's
    private source (an image source made at /teach/sources/new-image/) is not listed or shown."""
    mine = Q(owner__isnull=True) | Q(owner=user)
    if user.school_id:
        mine |= Q(shared=True, school_id=user.school_id)
    return Source.objects.filter(mine)


@teacher_required
@require_GET
def source_list(request):
    sources = _visible(request.user).prefetch_related("exercises").order_by("sort_date", "title")
    exercises = Exercise.objects.prefetch_related("sources").order_by("title")
    return render(request, "analysis/source_list.html", {"sources": sources, "exercises": exercises})


@teacher_required
@require_GET
def source_detail(request, slug):
    source = get_object_or_404(
        _visible(request.user).prefetch_related(
            "passages", "glossary", Prefetch("exercises", queryset=Exercise.objects.order_by("title"))
        ),
        slug=slug,
    )
    return render(request, "analysis/source_detail.html", {"source": source})
