"""The teachers' dashboard: their classes, what is set, due soon and waiting to be marked."""

from datetime import timedelta

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.decorators import teacher_required
from accounts.models import Classroom
from analysis.models import Assignment
from analysis.news import selectors as news
from analysis.teaching.scope import HtmxHttpRequest

DUE_SOON_DAYS = 7


@teacher_required
@require_GET
def dashboard(request: HtmxHttpRequest):
    user = request.user
    classes = list(Classroom.objects.taught_by(user).active().with_student_counts().order_by("name"))
    archived_classes = Classroom.objects.taught_by(user).filter(archived_at__isnull=False).order_by("name")
    assignments = list(
        news.with_new_handins(
            Assignment.objects.for_teacher(user)
            .filter(classroom__archived_at__isnull=True)
            .select_related("exercise", "classroom")
            .with_progress_counts(),
            teacher=user,
        ).order_by("due_at", "pk")
    )

    now = timezone.now()
    due_soon = [a for a in assignments if a.due_at and now <= a.due_at <= now + timedelta(days=DUE_SOON_DAYS)]
    context = {
        "classes": classes,
        "archived_classes": archived_classes,
        "assignments": assignments,
        "due_soon": due_soon,
        "to_mark_total": sum(a.to_mark_count for a in assignments),
        "to_mark": [a for a in assignments if a.to_mark_count],
        # What's new: hand-ins since this teacher last opened each assignment's progress.
        "new_handins": [a for a in assignments if a.new_handins],
        "unassigned": Assignment.objects.taught_by(user)
        .filter(archived_at__isnull=False)
        .select_related("exercise", "classroom")
        .order_by("-archived_at")[:20],
        "due_soon_days": DUE_SOON_DAYS,
    }
    return render(request, "analysis/teacher_dashboard.html", context)
