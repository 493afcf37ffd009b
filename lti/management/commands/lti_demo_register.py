from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from lti.demo import demo_platform_register


class Command(BaseCommand):
    help = "Register the local demo LTI platform (make lti-demo) with this tool. Development only."

    def add_arguments(self, parser):
        parser.add_argument("--platform-url", default="http://localhost:8100")

    def handle(self, *args, platform_url, **options):
        if not settings.DEBUG:
            raise CommandError("The demo platform is refused when DJANGO_DEBUG is off.")
        platform = demo_platform_register(platform_url=platform_url)
        self.stdout.write(f"Registered {platform.name} ({platform.issuer}) for {platform.school}.")
