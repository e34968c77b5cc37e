"""`manage.py import_study BUNDLE`: import a bundle made by `python -m studies build`."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from surveys.bundles import BundleError, import_bundle


class Command(BaseCommand):
    help = (
        "Import a study bundle (study.json + volumes/): store the exact files to serve (one byte length per content "
        "coding) and refuse the bundle, importing nothing, unless the blinding audit passes on them. "
        "Importing the same bundle again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("bundle", type=Path, help="the bundle folder")
        parser.add_argument("--open", action="store_true", help="open the study to readers right away")
        parser.add_argument(
            "--workers", type=int, default=None, help="processes for the blinding audit (default: one per core)"
        )

    def handle(self, *args, bundle: Path, open: bool, workers: int | None, **options):
        try:
            study, created = import_bundle(bundle, workers=workers)
        except BundleError as error:
            raise CommandError(str(error)) from None
        if open and study.status != study.OPEN:
            study.status = study.OPEN
            study.save(update_fields=["status"])
        verb = "Imported" if created else "Already imported, nothing changed:"
        self.stdout.write(
            f"{verb} study {study.slug!r} ({study.title}): {study.volumes.count()} volumes, "
            f"{study.recognition_items.count()} recognition items, {study.ranking_sets.count()} ranking sets; "
            f"status {study.status}."
        )
