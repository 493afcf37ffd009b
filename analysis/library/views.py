from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.decorators import teacher_required
from analysis.models import Exercise, Source


@teacher_required
@require_GET
def source_list(request):
    sources = Source.objects.prefetch_related("exercises").order_by("sort_date", "title")
    exercises = Exercise.objects.prefetch_related("sources").order_by("title")
    return render(request, "analysis/source_list.html", {"sources": sources, "exercises": exercises})


@teacher_required
@require_GET
def source_detail(request, slug):
    source = get_object_or_404(
        Source.objects.prefetch_related(
            "passages", "glossary", Prefetch("exercises", queryset=Exercise.objects.order_by("title"))
        ),
        slug=slug,
    )
    return render(request, "analysis/source_detail.html", {"source": source})
