from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from analysis.models import Source


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """Liveness: answers without touching the database."""
    return HttpResponse("ok", content_type="text/plain")


@login_not_required
@never_cache
@require_GET
def healthz_db(request):
    """Readiness: one query by primary key. Also the benchmark's baseline (E0)."""
    source = Source.objects.filter(pk=1).only("pk").first()
    return HttpResponse(f"ok db {'1' if source else '0'}", content_type="text/plain")
