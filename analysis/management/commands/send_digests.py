"""Queue the daily digest e-mails for the background worker (docs/whats-new.md)."""

from django.core.management.base import BaseCommand

from analysis.news.tasks import schedule_daily_digests, send_all_digests


class Command(BaseCommand):
    help = (
        "Queue today's digest e-mail for every user who switched it on (run it once a day from cron), "
        "or with --schedule start the worker's own daily schedule instead."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--schedule",
            action="store_true",
            help="Queue the self-rescheduling daily run (at PROVENANCE_DIGEST_HOUR) unless one is waiting.",
        )

    def handle(self, *args, schedule=False, **options):
        if schedule:
            if schedule_daily_digests():
                self.stdout.write("Daily digests scheduled: the worker runs them every day from now on.")
            else:
                self.stdout.write("Daily digests are already scheduled.")
            return
        result = send_all_digests.enqueue()
        self.stdout.write(
            f"Digests queued (task {result.id}); the worker (`manage.py db_worker`) sends them."
        )
