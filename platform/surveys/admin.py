"""Django admin for study coordinators: studies and their status, readers with progress, invitations, read-only
answers.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from surveys.invitations import InvitationError, invite_reader, reissue, restore, revoke
from surveys.models import (
    AnswerChange,
    DiscriminationAnswer,
    RankingAnswer,
    RatingAnswer,
    Reader,
    RecognitionAnswer,
    ResultsLook,
    Study,
    set_status,
    with_answers,
)


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    """Studies are created by `import_study`; here they are opened, closed, and readers invited."""

    list_display = [
        "title",
        "slug",
        "status",
        "reader_count",
        "progress_link",
        "exports_link",
        "results_link",
        "created_at",
    ]
    list_filter = ["status"]
    readonly_fields = [
        "slug",
        "seed",
        "options",
        "design",
        "bundle_digest",
        "plan",
        "plan_sha256",
        "plan_frozen_at",
        "closed_at",
        "video",
        "created_at",
        "progress_link",
        "exports_link",
        "results_link",
    ]
    fields = ["title", "status", "instructions", "closing_message"] + readonly_fields
    actions = ["open_studies", "close_studies", "invite_one_reader"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="readers")
    def reader_count(self, study: Study) -> int:
        return study.readers.count()

    @admin.display(description="progress")
    def progress_link(self, study: Study) -> str:
        """The staff progress page: every reader's tasks done, minutes and last visit."""
        return format_html('<a href="{}">readers\' progress</a>', reverse("surveys:progress", args=[study.slug]))

    @admin.display(description="exports")
    def exports_link(self, study: Study) -> str:
        return format_html('<a href="{}">CSV files</a>', reverse("surveys:exports", args=[study.slug]))

    @admin.display(description="results")
    def results_link(self, study: Study) -> str:
        """The staff results page: the analysis of the answers so far."""
        return format_html('<a href="{}">results so far</a>', reverse("surveys:results", args=[study.slug]))

    @admin.action(description="Open the selected studies to their readers (freezes each analysis plan)")
    def open_studies(self, request, queryset) -> None:
        self.message_user(request, f"{set_status(queryset, Study.OPEN)} study(ies) opened.")

    @admin.action(description="Close the selected studies (unlocks their results)")
    def close_studies(self, request, queryset) -> None:
        self.message_user(request, f"{set_status(queryset, Study.CLOSED)} study(ies) closed.")

    @admin.action(description="Invite one new reader to each selected study (shows the link once)")
    def invite_one_reader(self, request, queryset) -> None:
        for study in queryset:
            try:
                reader, url = invite_reader(study)
            except InvitationError as error:
                self.message_user(request, str(error), messages.ERROR)
                continue
            self.message_user(
                request, f"{study.slug}: link for {reader.label} (shown only now): {url}", messages.SUCCESS
            )


@admin.register(Reader)
class ReaderAdmin(admin.ModelAdmin):
    """Readers with progress (tasks answered / total), minutes spent and when last seen (filter by study for a
    study's progress); revoke withdraws a link, reissue replaces it, restore undoes a revocation."""

    list_display = ["label", "study", "progress", "minutes", "last_seen_at", "started_at", "finished_at", "revoked_at"]
    list_filter = ["study", "level"]
    readonly_fields = [
        "study",
        "index",
        "label",
        "plan",
        "position",
        "years_experience",
        "level",
        "created_at",
        "started_at",
        "finished_at",
        "last_seen_at",
        "revoked_at",
    ]
    actions = ["revoke_invitations", "reissue_links", "restore_readers"]

    def has_add_permission(self, request) -> bool:
        return False

    def get_queryset(self, request):
        """Readers with their answers prefetched: the progress and minutes columns cost no query per reader."""
        return with_answers(super().get_queryset(request))

    @admin.display(description="progress")
    def progress(self, reader: Reader) -> str:
        done, total = reader.progress()
        return f"{done}/{total}"

    @admin.display(description="minutes")
    def minutes(self, reader: Reader) -> str:
        return f"{reader.seconds_spent() / 60:.1f}"

    @admin.action(description="Revoke the selected invitations")
    def revoke_invitations(self, request, queryset) -> None:
        for reader in queryset:
            revoke(reader)
        self.message_user(request, f"{queryset.count()} invitation(s) revoked.")

    @admin.action(description="Reissue the selected readers' links (old links stop working; shows each new link once)")
    def reissue_links(self, request, queryset) -> None:
        for reader in queryset:
            url = reissue(reader)
            state = " (still revoked: restore the reader for it to work)" if reader.revoked_at else ""
            self.message_user(request, f"New link for {reader.label}{state}, shown only now: {url}", messages.SUCCESS)

    @admin.action(description="Restore the selected revoked readers (their current link works again)")
    def restore_readers(self, request, queryset) -> None:
        for reader in queryset:
            restore(reader)
        self.message_user(request, f"{queryset.count()} reader(s) restored.")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Answers are evidence: staff may read them, never change them."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RecognitionAnswer)
class RecognitionAnswerAdmin(ReadOnlyAdmin):
    """Recognition answers as given (read-only)."""

    list_display = ["reader", "item", "option", "note", "seconds", "updated_at"]
    list_filter = ["reader__study"]


@admin.register(RankingAnswer)
class RankingAnswerAdmin(ReadOnlyAdmin):
    """Ranking answers as given (read-only)."""

    list_display = ["reader", "ranking_set", "ranks", "seconds", "updated_at"]
    list_filter = ["reader__study"]


@admin.register(RatingAnswer)
class RatingAnswerAdmin(ReadOnlyAdmin):
    """Realism ratings as given (read-only)."""

    list_display = ["reader", "item", "score", "note", "seconds", "updated_at"]
    list_filter = ["reader__study"]


@admin.register(DiscriminationAnswer)
class DiscriminationAnswerAdmin(ReadOnlyAdmin):
    """Real-or-synthetic judgements as given (read-only)."""

    list_display = ["reader", "item", "answer", "confidence", "note", "seconds", "updated_at"]
    list_filter = ["reader__study"]


@admin.register(AnswerChange)
class AnswerChangeAdmin(ReadOnlyAdmin):
    """The audit trail: every answer change with its time (read-only)."""

    list_display = ["changed_at", "reader", "task", "value"]
    list_filter = ["reader__study"]


@admin.register(ResultsLook)
class ResultsLookAdmin(ReadOnlyAdmin):
    """Who looked at which study's results, when, and what they were shown (read-only)."""

    list_display = ["at", "study", "user", "what", "shown", "look", "fraction", "finished"]
    list_filter = ["study", "shown"]
    exclude = ["summary"]
