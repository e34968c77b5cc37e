"""`manage.py demo_study BUNDLE`: import and open a bundle, set up a staff login and print a reader link (for `make
demo`).
"""

import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from surveys.bundles import BundleError, import_bundle
from surveys.invitations import invite_reader, reissue
from surveys.models import Study, set_status

DEMO_READER = "demo-reader"


class Command(BaseCommand):
    help = (
        "Set up a demo: import and open BUNDLE, create or update a staff user with a printed password, "
        "and print a fresh link for the demo reader (earlier links of the demo reader stop working)."
    )

    def add_arguments(self, parser):
        parser.add_argument("bundle", type=Path, help="a bundle made by `python -m studies build`")
        parser.add_argument("--username", default="coordinator", help="the staff user's name (default: coordinator)")
        parser.add_argument("--password", help="the staff user's password (default: a new random one, printed)")

    def handle(self, *args, bundle: Path, username: str, password: str | None, **options):
        try:
            study, created = import_bundle(bundle)
        except BundleError as error:
            raise CommandError(str(error)) from None
        password = password or secrets.token_urlsafe(12)
        with transaction.atomic():
            set_status(Study.objects.filter(pk=study.pk), Study.OPEN)
            user, _ = get_user_model().objects.get_or_create(username=username)
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
            reader = study.readers.filter(label=DEMO_READER).first()
            link = reissue(reader) if reader else invite_reader(study, DEMO_READER)[1]
        base = link.split("/r/", 1)[0]
        self.stdout.write(
            f"Study {study.slug!r} ({study.title}) {'imported' if created else 'already imported'} and open."
        )
        self.stdout.write(f"Reader link:  {link}")
        self.stdout.write(f"Staff login:  {base}/admin/  user {username!r}, password {password!r}")
