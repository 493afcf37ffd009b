"""Background work for the LTI tool (Django's tasks framework; the worker is ``db_worker``)."""

import datetime
import logging

from django.db import transaction
from django.tasks import task
from django.utils import timezone
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem
from pylti1p3.service_connector import ServiceConnector

from lti.models import Course, GradePost
from lti.tool import http_session, service_registration

logger = logging.getLogger("provenance.lti")

MAX_ATTEMPTS = 5
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_READ_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"


def retry_delay(attempts: int) -> datetime.timedelta:
    """1, 4, 16, 64 minutes: a platform down for a lesson is caught up by the end of the day."""
    return datetime.timedelta(minutes=4 ** (attempts - 1))


def _grade_of(post: GradePost) -> Grade:
    # Stamped with when it happened, so a platform keeps the newest even if posts arrive late.
    grade = Grade().set_user_id(post.lti_user_id).set_timestamp(post.created_at.isoformat())
    if post.step == GradePost.Step.SUBMITTED:
        return grade.set_activity_progress("Submitted").set_grading_progress("Pending")
    grade.set_activity_progress("Completed").set_grading_progress("FullyGraded")
    grade.set_score_given(float(post.score_given)).set_score_maximum(float(post.score_maximum))
    if post.comment:
        grade.set_comment(post.comment)
    return grade


def _lineitem_url(post: GradePost, service: AssignmentsGradesService) -> str:
    link = post.link
    if link.lineitem_url:
        return link.lineitem_url
    found = service.find_lineitem_by_resource_link_id(link.resource_link_id)
    if found is None or not found.get_id():
        raise LtiException("The platform has no gradebook column for this activity yet.")
    link.lineitem_url = found.get_id()
    link.save(update_fields=["lineitem_url"])
    return link.lineitem_url


def grade_post_deliver(post: GradePost) -> None:
    """Post one score to the platform's line item (raises on any failure)."""
    course: Course = post.link.course
    scopes = list(course.ags_scopes) or [SCORE_SCOPE, LINEITEM_READ_SCOPE]
    connector = ServiceConnector(service_registration(course.platform), http_session())
    service = AssignmentsGradesService(
        connector, {"scope": scopes, "lineitems": course.lineitems_url, "lineitem": post.link.lineitem_url}
    )
    lineitem = LineItem({"id": _lineitem_url(post, service)})
    service.put_grade(_grade_of(post), lineitem)


def _describe(error: Exception) -> str:
    if isinstance(error, LtiServiceException):
        return f"The platform answered {error.response.status_code}: {error.response.text[:300]}"
    return str(error)[:500] or error.__class__.__name__


@task
def grade_post_send(post_id: int) -> str:
    """Send one outbox row. A failure is recorded on the row and retried later (up to
    ``MAX_ATTEMPTS``); the last one leaves it ``failed`` for the teacher to see and resend."""
    with transaction.atomic():
        post = (
            GradePost.objects.select_for_update()
            .select_related("link__course__platform")
            .filter(pk=post_id)
            .first()
        )
        if post is None or post.status == GradePost.Status.SENT:
            return "nothing to do"
        # A newer score for the same pupil and link already delivered supersedes this one (a
        # retried hand-in notice must not overwrite the released mark).
        if GradePost.objects.filter(
            link=post.link, submission=post.submission, pk__gt=post.pk, status=GradePost.Status.SENT
        ).exists():
            post.status = GradePost.Status.SENT
            post.last_error = "Superseded by a newer score."
            post.save(update_fields=["status", "last_error", "updated_at"])
            return "superseded"
    try:
        grade_post_deliver(post)
    except Exception as error:  # every failure is recorded and retried: nothing is lost silently
        post.attempts += 1
        post.last_error = _describe(error)
        retry = post.attempts < MAX_ATTEMPTS
        post.status = GradePost.Status.PENDING if retry else GradePost.Status.FAILED
        post.save(update_fields=["attempts", "last_error", "status", "updated_at"])
        logger.warning("grade post %s failed (attempt %s): %s", post.pk, post.attempts, post.last_error)
        if retry:
            grade_post_send.using(run_after=timezone.now() + retry_delay(post.attempts)).enqueue(post.pk)
        return "failed"
    post.attempts += 1
    post.status = GradePost.Status.SENT
    post.sent_at = timezone.now()
    post.last_error = ""
    post.save(update_fields=["attempts", "status", "sent_at", "last_error", "updated_at"])
    return "sent"


@task
def roster_sync_task(course_id: int) -> str:
    from lti.services import roster_sync

    course = Course.objects.select_related("platform", "classroom").filter(pk=course_id).first()
    if course is None or not course.memberships_url:
        return "nothing to do"
    try:
        result = roster_sync(course=course)
    except Exception as error:  # recorded for the teacher; the next launch tries again
        Course.objects.filter(pk=course_id).update(roster_error=_describe(error))
        return "failed"
    return f"added {len(result.added)}, removed {len(result.removed)}"
