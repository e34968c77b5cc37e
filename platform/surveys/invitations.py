"""Inviting readers: a new reader with its own seeded plan and a one-time link carrying its token."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from studies.plans import reader_plan
from surveys.models import Reader, Study
from surveys.tokens import new_token


class InvitationError(Exception):
    """An invitation that cannot be made (e.g. a name already taken)."""


def invite_reader(study: Study, name: str | None = None) -> tuple[Reader, str]:
    """Create the next reader of `study` (plan from its index) and return it with its absolute invitation URL."""
    token, token_hash = new_token()
    with transaction.atomic():
        Study.objects.select_for_update().get(pk=study.pk)
        index = (study.readers.aggregate(m=Max("index"))["m"] + 1) if study.readers.exists() else 0
        label = (name or "").strip() or f"reader-{index + 1:02d}"
        if study.readers.filter(label=label).exists():
            raise InvitationError(f"study {study.slug!r} already has a reader named {label!r}")
        try:
            reader = Reader.objects.create(
                study=study, index=index, label=label, token_hash=token_hash, plan=reader_plan(study.design, index)
            )
        except IntegrityError as error:
            raise InvitationError(f"could not create the reader: {error}") from None
    return reader, invitation_url(token)


def invitation_url(token: str) -> str:
    """The absolute link a reader opens (base from PLATFORM_BASE_URL)."""
    return settings.PLATFORM_BASE_URL + reverse("surveys:welcome", args=[token])


def revoke(reader: Reader) -> None:
    """Make a reader's link stop working (kept answers stay)."""
    if reader.revoked_at is None:
        reader.revoked_at = timezone.now()
        reader.save(update_fields=["revoked_at"])


def reissue(reader: Reader) -> str:
    """Give an existing reader a fresh link and return it: the old link stops working, answers stay, and a revoked
    reader stays revoked until `restore`."""
    token, reader.token_hash = new_token()
    reader.save(update_fields=["token_hash"])
    return invitation_url(token)


def restore(reader: Reader) -> None:
    """Let a revoked reader's link work again (staff decide this explicitly)."""
    if reader.revoked_at is not None:
        reader.revoked_at = None
        reader.save(update_fields=["revoked_at"])
