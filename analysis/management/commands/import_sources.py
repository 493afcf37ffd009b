"""Load source packs (docs/source-packs.md) from files or folders."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analysis.library.packs import PackError, PackInvalid, pack_import_path

PACK_SUFFIXES = (".yaml", ".yml", ".zip")  # .zip: pack.yaml with images/ (image sources)


def pack_paths(paths: list[str]) -> tuple[list[Path], list[PackError]]:
    """Files as given; folders expand to the *.yaml/*.yml/*.zip files directly inside, sorted by name."""
    files, problems = [], []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in PACK_SUFFIXES)
            if not found:
                problems.append(PackError(raw, None, "", "no *.yaml, *.yml or *.zip files in this folder"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.append(PackError(raw, None, "", "no such file or folder"))
    return files, problems


class Command(BaseCommand):
    help = (
        "Import source packs (YAML files, .zip packs holding pack.yaml and images/, or folders of "
        "them). Each file is checked and written in "
        "one transaction: a file with any error changes nothing, and every error is printed as "
        "file:line: field: message. Re-importing a pack updates it by slug."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="pack files or folders of packs")
        parser.add_argument(
            "--dry-run", action="store_true", help="check everything, then roll back instead of saving"
        )

    def handle(self, *args, paths, dry_run, **options):
        files, problems = pack_paths(paths)
        for problem in problems:
            self.stderr.write(str(problem))
        failed = len(problems)
        for path in files:
            try:
                summary = pack_import_path(path=path, dry_run=dry_run)
            except PackInvalid as exc:
                failed += 1
                self.stderr.write(
                    self.style.ERROR(f"{path}: refused, {len(exc.errors)} error(s); nothing was changed")
                )
                for error in exc.errors:
                    self.stderr.write(f"  {error}")
            else:
                verb = "checked (dry run, nothing saved)" if dry_run else "imported"
                self.stdout.write(self.style.SUCCESS(f"{path}: {verb}: {summary}"))
        if failed:
            raise CommandError(f"{failed} of {len(files) + len(problems)} pack(s) refused")
