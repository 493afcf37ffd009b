from django.core.management.base import BaseCommand

from lti.keys import key_rotate, keys_prune
from lti.models import ToolKey


class Command(BaseCommand):
    help = (
        "Generate or rotate the LTI tool's signing key (the old one stays published until pruned). "
        "Without options: make a key if there is none."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rotate", action="store_true", help="Make a new active key; retire the old one."
        )
        parser.add_argument(
            "--prune", action="store_true", help="Delete retired keys except the most recent one."
        )

    def handle(self, *args, rotate=False, prune=False, **options):
        if rotate or not ToolKey.objects.filter(status=ToolKey.Status.ACTIVE).exists():
            key = key_rotate()
            self.stdout.write(f"Active key {key.kid}")
        else:
            self.stdout.write("An active key exists; --rotate makes a new one.")
        if prune:
            self.stdout.write(f"Deleted {keys_prune()} retired key(s).")
