from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from accounts.decorators import teacher_required
from analysis.models import Exercise, Source


@teacher_required
@require_GET
def source_list(request):
    """The library moved to /teach/library/ (with teachers' own items and filters)."""
    return redirect("teach:library")


@teacher_required
@require_GET
def source_detail(request, slug):
    source = get_object_or_404(
        Source.objects.prefetch_related(
            "passages",
            "glossary",
            Prefetch(
                "exercises", queryset=Exercise.objects.visible_to(request.user).current().order_by("title")
            ),
        ),
        slug=slug,
        owner__isnull=True,  # slugs name site-library items; teachers' own are under /teach/sources/
    )
    return render(request, "analysis/source_detail.html", {"source": source})
