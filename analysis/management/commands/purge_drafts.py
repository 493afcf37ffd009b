from django.conf import settings
from django.core.management.base import BaseCommand

from analysis.classwork.privacy import drafts_purge


class Command(BaseCommand):
    help = "Delete unsubmitted drafts of classes archived longer ago than the retention period."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=settings.DRAFT_RETENTION_DAYS,
            help="Retention period in days after a class is archived (default: DRAFT_RETENTION_DAYS).",
        )

    def handle(self, *args, days, **options):
        removed = drafts_purge(older_than_days=days)
        self.stdout.write(f"Removed {removed} unsubmitted draft(s) of classes archived over {days} days ago.")
