"""Hand-ins and releases reach the platform's gradebook through the outbox (lti.services)."""

from django.dispatch import receiver

from analysis.signals import marks_released, work_handed_in
from lti.models import GradePost
from lti.services import grade_posts_queue


@receiver(work_handed_in)
def post_submitted(sender, submission, **kwargs):
    grade_posts_queue(submissions=[submission], step=GradePost.Step.SUBMITTED)


@receiver(marks_released)
def post_returned(sender, submissions, **kwargs):
    grade_posts_queue(submissions=submissions, step=GradePost.Step.RETURNED)
