"""`manage.py close_study SLUG`: close a study to its readers, which unlocks its results for the staff."""

from django.core.management.base import BaseCommand

from surveys.management.commands._study import study_by_slug
from surveys.models import Study, set_status


class Command(BaseCommand):
    help = "Close a study: readers can no longer answer, and its results (hidden while it was open) are unlocked."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the study's slug")

    def handle(self, *args, slug: str, **options):
        study = study_by_slug(slug)
        set_status(Study.objects.filter(pk=study.pk), Study.CLOSED)
        study.refresh_from_db()
        self.stdout.write(f"Closed {study.slug} at {study.closed_at:%Y-%m-%d %H:%M:%S} UTC; its results are unlocked.")
