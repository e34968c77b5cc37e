"""Finding a study by slug for the management commands, with a clear error."""

from django.core.management.base import CommandError

from surveys.models import Study


def study_by_slug(slug: str) -> Study:
    """The study `slug`, or a CommandError listing the known slugs."""
    study = Study.objects.filter(slug=slug).first()
    if study is None:
        known = ", ".join(Study.objects.values_list("slug", flat=True)) or "none imported yet"
        raise CommandError(f"no study with slug {slug!r} (known: {known})")
    return study
