"""How far each reader of a study has come, for the coordinators' progress page: counts and times, never answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from studies.analysis.tables import STATUSES
from surveys.exports import reader_status
from surveys.models import Reader, Study, with_answers


@dataclass(frozen=True)
class ReaderProgress:
    """One reader's row: who (label, level), where they stand, tasks done of their plan, minutes on tasks, when."""

    label: str
    level: str
    status: str
    done: int
    total: int
    minutes: float
    started_at: datetime | None
    finished_at: datetime | None
    last_seen_at: datetime | None

    @classmethod
    def of(cls, reader: Reader) -> ReaderProgress:
        """The row of a reader (fetched `with_answers`, so it costs no query)."""
        done, total = reader.progress()
        return cls(
            reader.label,
            reader.get_level_display(),
            reader_status(reader),
            done,
            total,
            reader.seconds_spent() / 60,
            reader.started_at,
            reader.finished_at,
            reader.last_seen_at,
        )


@dataclass(frozen=True)
class StudyProgress:
    """Every reader's row in invitation order, and the totals."""

    readers: list[ReaderProgress]

    @property
    def finished(self) -> int:
        """Readers who finished (revoked ones count as revoked, whatever they did)."""
        return sum(1 for reader in self.readers if reader.status == STATUSES.FINISHED)

    @property
    def answered(self) -> int:
        """Tasks answered, over all readers."""
        return sum(reader.done for reader in self.readers)

    @property
    def tasks(self) -> int:
        """Tasks in all readers' plans."""
        return sum(reader.total for reader in self.readers)


def study_progress(study: Study) -> StudyProgress:
    """The progress of every reader of `study`, in a fixed number of queries however many readers and answers."""
    readers = with_answers(Reader.objects.filter(study=study).order_by("index"))
    return StudyProgress([ReaderProgress.of(reader) for reader in readers])
