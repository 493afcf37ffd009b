"""A pupil's data: what they can download, and what is removed when it is no longer needed."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from analysis.models import Evidence, Response, Submission


def student_data_export(*, student) -> dict:
    """Everything the app holds about one student, in a plain structure for a JSON download.

    Marks and comments appear only once released to the student, as on their feedback page;
    teachers' indicative content and draft marks are not the student's data to see.
    """
    submissions = (
        Submission.objects.filter(student=student)
        .select_related("assignment__exercise", "assignment__classroom")
        .prefetch_related(
            Prefetch(
                "responses",
                queryset=Response.objects.select_related("question", "mark").prefetch_related(
                    Prefetch("evidence", queryset=Evidence.objects.select_related("passage", "region"))
                ),
            )
        )
        .order_by("started_at", "pk")
    )
    return {
        "exported_at": timezone.now().isoformat(),
        "account": {
            "username": student.username,
            "first_name": student.first_name,
            "last_name": student.last_name,
            "date_joined": student.date_joined.isoformat(),
            "last_login": student.last_login.isoformat() if student.last_login else None,
            "email": student.email,
            "email_digest": student.email_digest,
            "last_digest_at": student.last_digest_at.isoformat() if student.last_digest_at else None,
        },
        "classes": [
            {"name": enrollment.classroom.name, "joined_at": enrollment.joined_at.isoformat()}
            for enrollment in student.enrollments.select_related("classroom").order_by("joined_at")
        ],
        "work": [_submission_data(submission) for submission in submissions],
    }


def _submission_data(submission) -> dict:
    released = submission.status == Submission.Status.RETURNED
    return {
        "exercise": submission.assignment.exercise.title,
        "class": submission.assignment.classroom.name,
        "status": submission.status,
        "started_at": submission.started_at.isoformat(),
        "submitted_at": submission.submitted_at.isoformat() if submission.submitted_at else None,
        "receipt": submission.receipt_hash or None,
        "feedback_read_at": submission.feedback_seen_at.isoformat() if submission.feedback_seen_at else None,
        "overall_comment": submission.overall_comment if released else None,
        "answers": [
            {
                "question": response.question.number,
                "prompt": response.question.prompt,
                "text": response.text,
                "hints_used": response.hints_used,
                "updated_at": response.updated_at.isoformat(),
                "evidence": [
                    (
                        {"passage": evidence.passage.label, "quote": evidence.quote}
                        if evidence.passage_id
                        else {"region": evidence.region.label}
                    )
                    for evidence in response.evidence.all()
                ],
                "mark": _mark_data(response) if released else None,
            }
            for response in submission.responses.all()
        ],
    }


def _mark_data(response):
    mark = getattr(response, "mark", None)
    if mark is None:
        return None
    return {"level": mark.level, "marks": mark.marks, "out_of": mark.max_marks, "comment": mark.comment}


def drafts_purge(*, older_than_days: int, now=None) -> int:
    """Delete unsubmitted work in classes archived more than ``older_than_days`` ago.

    Handed-in and returned work is kept (it is the school's record); drafts of a class that
    has ended are not needed by anyone. Returns how many submissions were removed.
    """
    cutoff = (now or timezone.now()) - timedelta(days=older_than_days)
    with transaction.atomic():
        drafts = Submission.objects.filter(
            status=Submission.Status.IN_PROGRESS,
            assignment__classroom__archived_at__lt=cutoff,
        )
        count = drafts.count()
        # Responses, evidence and marks go with their submission (CASCADE).
        drafts.delete()
    return count
