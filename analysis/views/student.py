from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.decorators import student_required


@student_required
@require_GET
def assignment_list(request):
    return render(request, "analysis/assignment_list.html", {})
