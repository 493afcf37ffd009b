"""Write sources (and optionally mark schemes and exercises) out as a source pack."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analysis.library.packs import UnknownSlugs, pack_export_files, pack_zip
from analysis.models import Exercise, MarkScheme, Source


class Command(BaseCommand):
    help = (
        "Export a source pack. Positional SLUGs name sources; --exercise adds an exercise together "
        "with its sources and its questions' mark schemes; --mark-scheme adds a mark scheme; --all "
        "exports the whole library. Writes to stdout unless -o FILE is given. A pack with image "
        "sources is written as a .zip (pack.yaml and images/): give -o FILE.zip."
    )

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*", metavar="SOURCE_SLUG", help="sources to export")
        parser.add_argument(
            "--exercise", action="append", default=[], metavar="SLUG", help="an exercise to export"
        )
        parser.add_argument(
            "--mark-scheme", action="append", default=[], metavar="SLUG", help="a mark scheme to export"
        )
        parser.add_argument("--all", action="store_true", help="every source, mark scheme and exercise")
        parser.add_argument("-o", "--output", default="-", metavar="FILE", help="'-' (default) for stdout")

    def handle(self, *args, slugs, exercise, mark_scheme, all, output, **options):
        if all:
            slugs = [
                *slugs,
                *Source.objects.order_by("sort_date", "title", "slug").values_list("slug", flat=True),
            ]
            mark_scheme = [*mark_scheme, *MarkScheme.objects.order_by("slug").values_list("slug", flat=True)]
            exercise = [*exercise, *Exercise.objects.order_by("slug").values_list("slug", flat=True)]
        if not (slugs or exercise or mark_scheme):
            raise CommandError("Name at least one source slug, --exercise, --mark-scheme, or use --all.")
        try:
            text, images = pack_export_files(
                source_slugs=slugs, mark_scheme_slugs=mark_scheme, exercise_slugs=exercise
            )
        except UnknownSlugs as exc:
            raise CommandError(str(exc)) from exc
        if images or output.lower().endswith(".zip"):
            if output == "-" or not output.lower().endswith(".zip"):
                raise CommandError("These sources carry images: write a .zip pack with -o FILE.zip.")
            Path(output).write_bytes(pack_zip(text, images))
            self.stderr.write(f"Wrote {output} (pack.yaml and {len(images)} image(s))")
        elif output == "-":
            self.stdout.write(text, ending="")
        else:
            Path(output).write_text(text, encoding="utf-8", newline="\n")
            self.stderr.write(f"Wrote {output}")
