"""`manage.py invite_reader SLUG [--count N] [--name NAME]`: print invitation links, one per line."""

from django.core.management.base import BaseCommand, CommandError

from surveys.invitations import InvitationError, invite_reader
from surveys.management.commands._study import study_by_slug


class Command(BaseCommand):
    help = "Invite readers to a study: prints one absolute invitation URL per line (the token is shown only now)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the study's slug")
        parser.add_argument("--count", type=int, default=1, help="how many readers to invite (default 1)")
        parser.add_argument("--name", help="the reader's label in the exports (only with --count 1)")

    def handle(self, *args, slug: str, count: int, name: str | None, **options):
        if count < 1:
            raise CommandError("--count must be 1 or more")
        if name and count != 1:
            raise CommandError("--name names one reader; use it with --count 1")
        study = study_by_slug(slug)
        for _ in range(count):
            try:
                reader, url = invite_reader(study, name)
            except InvitationError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(url)
            self.stderr.write(f"invited {reader.label}")
        if study.status != study.OPEN:
            self.stderr.write(
                f"note: study {slug!r} is {study.status}; links work once it is opened (admin, or import_study --open)"
            )
