from django.db.models import F, Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
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
    """A source the teacher may see, by slug: the site library's first (slugs are unique there),
    then the teacher's own, then what colleagues share."""
    source = (
        Source.objects.visible_to(request.user)
        .filter(slug=slug)
        .prefetch_related(
            "passages",
            "glossary",
            Prefetch(
                "exercises", queryset=Exercise.objects.visible_to(request.user).current().order_by("title")
            ),
        )
        .order_by(F("owner").asc(nulls_first=True), "pk")
        .first()
    )
    if source is None:
        raise Http404
    return render(request, "analysis/source_detail.html", {"source": source})
