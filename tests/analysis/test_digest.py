"""The daily e-mail digest of what's new (docs/whats-new.md): sent by the background worker,
only to users who switched it on, only when something is new, once, never with anyone's answers."""

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import User
from analysis.marking.services import marks_release
from analysis.models import Submission
from analysis.news.digest import MIN_GAP, digest_send
from analysis.news.tasks import send_all_digests, send_digest
from tests import factories
from tests.worker import run_worker

pytestmark = pytest.mark.django_db

SECRET_ANSWER = "Trotsky is furious because the Mensheviks walked out"


def digest_on(user, email=None):
    user.email = email or f"{user.username}@example.org"
    user.email_digest = True
    user.save(update_fields=["email", "email_digest"])
    return user


def returned_work(assignment, student, teacher):
    submission = factories.make_submission(
        assignment=assignment,
        student=student,
        status=Submission.Status.SUBMITTED,
        answers={q.position: SECRET_ANSWER for q in assignment.exercise.questions.all()},
    )
    for response in submission.responses.all():
        factories.make_mark(response=response, marker=teacher)
    marks_release(assignment=assignment, by=teacher)
    return submission


def test_switched_off_nothing_is_sent(assignment, student):
    student.email = "pupil@example.org"
    student.save()
    send_all_digests.enqueue()
    run_worker()
    run_worker()  # the per-user tasks the first run queued
    assert mail.outbox == []


def test_pupil_digest_lists_new_work_and_feedback_once_and_nothing_of_anyone_else(
    assignment, school_class, student, classmate, teacher
):
    digest_on(student)
    digest_on(classmate)
    returned_work(assignment, student, teacher)
    second = factories.make_assignment(classroom=school_class)
    # The classmate's returned work on the second assignment: not in this pupil's e-mail.
    returned_work(second, classmate, teacher)
    factories.make_submission(assignment=second, student=student)  # opened: not new

    send_digest.enqueue(student.pk)
    run_worker()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [student.email]
    body = message.body
    assert f"Feedback returned: {assignment.exercise.title}" in body
    assert reverse("learn:feedback", args=[assignment.pk]) in body
    assert second.exercise.title not in body
    assert SECRET_ANSWER not in body
    assert classmate.display_name not in body
    assert reverse("accounts:notifications") in body  # how to switch it off


def test_a_double_enqueue_sends_once(assignment, student):
    digest_on(student)
    send_digest.enqueue(student.pk)
    send_digest.enqueue(student.pk)
    run_worker()
    assert len(mail.outbox) == 1
    assert f"New work: {assignment.exercise.title}" in mail.outbox[0].body
    student.refresh_from_db()
    assert student.last_digest_at is not None


def test_nothing_new_sends_nothing_and_the_next_day_only_the_news(assignment, school_class, student):
    digest_on(student)
    start = timezone.now()
    assert digest_send(user_id=student.pk, now=start) == 1
    mail.outbox.clear()

    # The next day: nothing new since (the first assignment was in yesterday's e-mail).
    assert digest_send(user_id=student.pk, now=start + MIN_GAP + timedelta(minutes=1)) == 0
    assert mail.outbox == []

    second_day = start + MIN_GAP + timedelta(minutes=1)
    later = factories.make_assignment(
        classroom=school_class,
        opens_at=second_day + timedelta(hours=1),
        due_at=second_day + timedelta(days=7),
    )
    assert digest_send(user_id=student.pk, now=second_day + MIN_GAP + timedelta(minutes=1)) == 1
    assert later.exercise.title in mail.outbox[0].body
    assert assignment.exercise.title not in mail.outbox[0].body


def test_work_already_opened_or_feedback_already_read_is_left_out(assignment, student, teacher):
    digest_on(student)
    returned_work(assignment, student, teacher)
    pupil = Client()
    pupil.force_login(student)
    pupil.get(reverse("learn:feedback", args=[assignment.pk]))

    assert digest_send(user_id=student.pk) == 0
    assert mail.outbox == []


def test_teacher_digest_counts_hand_ins_and_late_ones_without_answers(
    assignment, teacher, student, classmate
):
    digest_on(teacher)
    for pupil, late in ((student, False), (classmate, True)):
        factories.make_submission(
            assignment=assignment,
            student=pupil,
            status=Submission.Status.SUBMITTED,
            is_late=late,
            answers={0: SECRET_ANSWER},
        )
    send_all_digests.enqueue()
    run_worker()  # queues the per-user tasks
    run_worker()

    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert f"{assignment.exercise.title} ({assignment.classroom.name}): 2 handed in, 1 late" in body
    assert SECRET_ANSWER not in body
    assert reverse("teach:assignment-progress", args=[assignment.pk]) in body


def test_no_address_no_email(assignment, student):
    User.objects.filter(pk=student.pk).update(email_digest=True, email="")
    assert digest_send(user_id=student.pk) == 0
    assert mail.outbox == []


def test_the_daily_schedule_is_queued_once_for_tomorrow_morning(settings):
    settings.DIGEST_HOUR = 7
    call_command("send_digests", "--schedule", stdout=io.StringIO())
    call_command("send_digests", "--schedule", stdout=io.StringIO())  # already waiting: not twice

    waiting = DBTaskResult.objects.filter(task_path=send_all_digests.module_path, status="READY")
    assert waiting.count() == 1
    run_after = timezone.localtime(waiting.get().run_after)
    assert run_after > timezone.now()
    assert (run_after.hour, run_after.minute) == (7, 0)
    assert run_after - timezone.now() <= timedelta(days=1)


def test_the_cron_command_queues_the_digests_for_the_worker(assignment, student):
    digest_on(student)
    call_command("send_digests", stdout=io.StringIO())
    assert mail.outbox == []  # queued, not sent in the command
    run_worker()
    run_worker()
    assert len(mail.outbox) == 1
