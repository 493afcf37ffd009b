"""The digest's background tasks, run by the worker (`manage.py db_worker`).

``send_digest`` sends one user's digest; ``send_all_digests`` queues one for everyone who wants
one and, with ``reschedule``, queues itself again for the next day at ``DIGEST_HOUR`` (the
self-scheduling alternative to running `manage.py send_digests` from cron)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.tasks import TaskResultStatus, task
from django.utils import timezone

from analysis.news.digest import digest_recipients, digest_send


@task()
def send_digest(user_id: int) -> int:
    """One user's digest (nothing when nothing is new, or already sent today)."""
    return digest_send(user_id=user_id)


@task()
def send_all_digests(reschedule: bool = False) -> int:
    """Queue every wanted digest; with ``reschedule``, this task again for tomorrow."""
    recipients = digest_recipients()
    for user_id in recipients:
        send_digest.enqueue(user_id)
    if reschedule:
        schedule_daily_digests()
    return len(recipients)


def next_digest_time(now: datetime | None = None) -> datetime:
    """The next ``DIGEST_HOUR`` o'clock, local time, after ``now``."""
    local = timezone.localtime(now or timezone.now())
    at = local.replace(hour=settings.DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if at <= local:
        at = (at + timedelta(days=1)).replace(hour=settings.DIGEST_HOUR)
    return at


def schedule_daily_digests(now: datetime | None = None) -> bool:
    """Queue ``send_all_digests`` for the next digest time, unless a run is already waiting
    (so starting the schedule twice does not start two chains). Returns whether it queued."""
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(
        task_path=send_all_digests.module_path, status=TaskResultStatus.READY
    ).exists()
    if waiting:
        return False
    send_all_digests.using(run_after=next_digest_time(now)).enqueue(reschedule=True)
    return True
