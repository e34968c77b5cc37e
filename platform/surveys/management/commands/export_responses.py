"""`manage.py export_responses SLUG --out DIR`: write rankings.csv, pathology.csv, ratings.csv, discrimination.csv,
readers.csv and design.csv (each with its header even before anyone answers)."""

from pathlib import Path

from django.core.management.base import BaseCommand

from surveys.exports import write_exports
from surveys.management.commands._study import study_by_slug


class Command(BaseCommand):
    help = (
        "Export a study's answers as tidy CSV files (rankings.csv, pathology.csv, ratings.csv, discrimination.csv, "
        "readers.csv) "
        "and the study's design (design.csv) for `python -m studies analyze`."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the study's slug")
        parser.add_argument("--out", type=Path, required=True, help="folder to write the CSV files into")

    def handle(self, *args, slug: str, out: Path, **options):
        counts = write_exports(study_by_slug(slug), out)
        summary = ", ".join(f"{kind}.csv: {n} rows" for kind, n in counts.items())
        self.stdout.write(f"Wrote {out}: {summary}.")
