from django import template
from django.db.models import Count, Q

from lti.access import sees_teacher_only
from lti.models import GradePost

register = template.Library()


@register.inclusion_tag("lti/_grade_status.html")
def lti_grade_status(assignment):
    """The LMS gradebook's side of an assignment: scores waiting, sent and failed (one query;
    nothing shows for an assignment without an LTI link, and no query at all when the assignment
    was read with ``lti_linked`` and has none)."""
    if getattr(assignment, "lti_linked", True) is False:
        return {"assignment": assignment, "total": 0}
    counts = GradePost.objects.filter(link__assignment=assignment).aggregate(
        total=Count("pk"),
        failed=Count("pk", filter=Q(status=GradePost.Status.FAILED)),
        pending=Count("pk", filter=Q(status=GradePost.Status.PENDING)),
        retrying=Count("pk", filter=Q(status=GradePost.Status.PENDING, attempts__gt=0)),
        sent=Count("pk", filter=Q(status=GradePost.Status.SENT)),
    )
    return {"assignment": assignment, **counts}


# Whether a teacher sees a site-library exercise's teacher-only material: lti/access.py.
register.filter("sees_teacher_only", sees_teacher_only)
