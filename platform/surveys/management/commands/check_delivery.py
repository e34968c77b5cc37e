"""`manage.py check_delivery URL`: does the nginx at URL serve the platform as deploy/ sets it up? (run at start)"""

from django.core.management.base import BaseCommand, CommandError

from deploy.probe import delivery_problems_after


class Command(BaseCommand):
    help = (
        "Check the nginx in front of the platform at URL: the app answers through it, each internal X-Accel location "
        "sends the stored files it is handed with the same headers for every file, and static files are collected."
    )

    def add_arguments(self, parser):
        parser.add_argument("url", help="the site as readers reach it, e.g. https://reader.example.org")
        parser.add_argument("--wait", type=float, default=0, help="keep trying for this many seconds (default 0)")

    def handle(self, *args, url: str, wait: float, **options):
        problems = delivery_problems_after(url.rstrip("/"), wait)
        if problems:
            raise CommandError(f"nginx at {url} is not serving the platform as it must: " + " | ".join(problems))
        self.stdout.write(
            f"{url}: nginx sends scans, the instruction video and static files as the platform hands them"
        )
