from django import template
from django.db.models import Count, Q

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


@register.filter
def sees_teacher_only(user, item) -> bool:
    """Whether this teacher sees a site-library exercise's teacher-only material (model answers,
    indicative content). Everyone does, except users made by an LTI launch whose platforms all
    keep the per-platform switch off. Free for every other user (no query)."""
    if not getattr(item, "is_site_library", False):
        return True
    return not lti_restricted(user)


def lti_restricted(user) -> bool:
    if not getattr(user, "is_authenticated", False) or user.has_usable_password():
        return False
    cached = getattr(user, "_lti_teacher_only_hidden", None)
    if cached is None:
        flags = list(user.lti_identities.values_list("platform__instructors_see_teacher_only", flat=True))
        cached = bool(flags) and not any(flags)
        user._lti_teacher_only_hidden = cached
    return cached
