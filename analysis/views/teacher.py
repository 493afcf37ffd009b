from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.decorators import teacher_required


@teacher_required
@require_GET
def dashboard(request):
    return render(request, "analysis/teacher_dashboard.html", {})
