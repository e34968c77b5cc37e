"""Studies, their volumes and tasks, invited readers and their answers, with the rules that keep answers valid."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from contracts.windows import RECOGNITION_WINDOW, WINDOWS
from studies.analysis.plan import TESTS, plan_digest, resolve_plan
from studies.delivery import SUFFIXES

REAL, SYNTHETIC = "real", "synthetic"
CONFIDENCES = range(1, 6)
"""How sure a reader is of a real-or-synthetic judgement: 1 (guessing) to 5 (certain)."""
SINGLE_SCAN_KINDS = ("recognition", "rating", "discrimination")


def task_key(task: dict[str, Any]) -> str:
    """What identifies a plan task within its kind: the volume of a single-scan task, the set of a ranking."""
    return task["volume"] if task["kind"] in SINGLE_SCAN_KINDS else task["set"]


ANSWER_KINDS = {
    "recognition_answers": "item__volume",
    "ranking_answers": "ranking_set",
    "rating_answers": "item__volume",
    "discrimination_answers": "item__volume",
}
"""Every kind of answer a reader gives (its related name on Reader) and the relation reading it needs joined."""

LEVELS = [
    ("resident", "Resident"),
    ("junior", "Junior radiologist"),
    ("senior", "Senior radiologist"),
    ("faculty", "Faculty"),
]


class Study(models.Model):
    """One reader study imported from a bundle: texts, options, design (seed, tasks) and status."""

    DRAFT, OPEN, CLOSED = "draft", "open", "closed"
    STATUSES = [(DRAFT, "Draft"), (OPEN, "Open"), (CLOSED, "Closed")]

    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=STATUSES, default=DRAFT)
    seed = models.BigIntegerField()
    instructions = models.TextField(blank=True)
    closing_message = models.TextField(blank=True)
    video = models.CharField(max_length=100, blank=True, help_text="Opaque file name of the instruction video, if any.")
    options = models.JSONField(default=list, help_text="Answer options of the recognition task.")
    design = models.JSONField(help_text="seed, recognition and ranking of study.json: the input of the reader plans.")
    bundle_digest = models.CharField(max_length=64, help_text="SHA-256 of the imported study.json.")
    created_at = models.DateTimeField(default=timezone.now)
    plan = models.JSONField(default=dict, blank=True, help_text="The analysis plan of study.json (resolved).")
    plan_sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the plan when it was frozen.")
    plan_frozen_at = models.DateTimeField(null=True, blank=True, help_text="When the study opened and froze it.")
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When the study last closed.")

    class Meta:
        verbose_name_plural = "studies"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        """Freeze the plan when the study opens and refuse to change it once an answer exists (the pre-registered
        analysis cannot follow the data); closing records when."""
        stored = Study.objects.filter(pk=self.pk).values("plan").first() if self.pk else None
        if stored is not None and stored["plan"] != self.plan:
            if self.has_answers():
                raise ValidationError("The analysis plan is frozen: this study has answers, so it cannot change.")
            self.plan_frozen_at = None
        if self.status == self.OPEN and self.plan_frozen_at is None:
            self.plan_sha256, self.plan_frozen_at = plan_digest(self.analysis_plan), timezone.now()
        if self.status == self.CLOSED and self.closed_at is None:
            self.closed_at = timezone.now()
        if self.status == self.OPEN:
            self.closed_at = None
        super().save(*args, **kwargs)

    def has_answers(self) -> bool:
        """Whether any reader has saved any answer."""
        answers = (RecognitionAnswer, RankingAnswer, RatingAnswer, DiscriminationAnswer)
        return any(model.objects.filter(reader__study=self).exists() for model in answers)

    @property
    def analysis_plan(self) -> dict[str, Any]:
        """The resolved plan (studies imported before plans: the documented defaults for their tasks)."""
        if self.plan:
            return self.plan
        tasks = tuple(task for task in TESTS if self.design.get(task))

        def fail(where: str, problem: str) -> ValidationError:
            return ValidationError(f"{self.slug}: analysis {where}: {problem}")

        return resolve_plan(None, tasks, set(self.volumes.values_list("source", flat=True)), fail)

    @property
    def data_dir(self):
        """Where this study's volumes and media are stored."""
        return settings.PLATFORM_DATA_DIR / "studies" / self.slug

    @property
    def recognition_window(self) -> str:
        """The window preset recognition pages open in (studies imported before it was configurable: lung)."""
        return (self.design.get("recognition") or {}).get("window") or RECOGNITION_WINDOW

    @property
    def rating(self) -> dict[str, Any] | None:
        """study.json's rating definition (volumes, scale, question, labels, position, window), or None."""
        return self.design.get("rating")

    @property
    def discrimination(self) -> dict[str, Any] | None:
        """study.json's discrimination definition (volumes, question, real_sources, position, window), or None."""
        return self.design.get("discrimination")


def set_status(studies: models.QuerySet, status: str) -> int:
    """Open or close each study through its save(), which freezes the plan or records the closing; the count."""
    count = 0
    for study in studies:
        study.status = status
        study.save()
        count += 1
    return count


class Volume(models.Model):
    """A served scan under its opaque name, with the researcher's key (never shown to readers)."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="volumes")
    name = models.CharField(max_length=64, help_text="Opaque name; the only name a reader sees.")
    key_id = models.CharField("volume id", max_length=200)
    source = models.CharField(max_length=100)
    finding = models.CharField(max_length=200, blank=True)
    original_file = models.CharField(max_length=500, blank=True)
    sha256 = models.CharField(max_length=64)
    raw_bytes = models.BigIntegerField(help_text="Size of the uncompressed NIfTI file.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "name"], name="unique_volume_name")]

    def __str__(self) -> str:
        return f"{self.key_id} ({self.name})"

    def served_path(self, coding: str):
        """The stored copy of the int16 NIfTI served in content coding `coding` (zstd, gzip or identity), padded to
        the study's one length for that coding (`studies.delivery`)."""
        return self.study.data_dir / "volumes" / f"{self.name}{SUFFIXES[coding]}"

    @property
    def gzip_path(self):
        """The stored gzip copy (served with Content-Encoding: gzip)."""
        return self.served_path("gzip")

    @property
    def zstd_path(self):
        """The stored zstd copy (served with Content-Encoding: zstd)."""
        return self.served_path("zstd")

    @property
    def identity_path(self):
        """The stored NIfTI itself (served to clients that accept neither coding)."""
        return self.served_path("identity")


class RecognitionItem(models.Model):
    """One scan the reader classifies in the recognition task."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="recognition_items")
    volume = models.ForeignKey(Volume, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "volume"], name="unique_recognition_volume")]

    def __str__(self) -> str:
        return f"recognition of {self.volume}"


class RatingItem(models.Model):
    """One scan the reader scores on the study's realism scale."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="rating_items")
    volume = models.ForeignKey(Volume, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "volume"], name="unique_rating_volume")]

    def __str__(self) -> str:
        return f"rating of {self.volume}"


class DiscriminationItem(models.Model):
    """One scan the reader judges real or synthetic; `is_real` is the truth, which never leaves the server."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="discrimination_items")
    volume = models.ForeignKey(Volume, on_delete=models.CASCADE)
    is_real = models.BooleanField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "volume"], name="unique_discrimination_volume")]

    def __str__(self) -> str:
        return f"real or synthetic: {self.volume}"

    @property
    def truth(self) -> str:
        """'real' or 'synthetic'."""
        return REAL if self.is_real else SYNTHETIC


class RankingSet(models.Model):
    """One set of scans the reader ranks for how well they preserve one structure."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="ranking_sets")
    structure = models.CharField(max_length=200)
    key = models.CharField("set", max_length=200)
    window = models.CharField(max_length=20, choices=[(name, name) for name in WINDOWS])
    volumes = models.ManyToManyField(Volume, related_name="ranking_sets")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "key"], name="unique_ranking_set")]

    def __str__(self) -> str:
        return self.key

    def check_ranks(self, ranks: dict[str, int], names: set[str] | None = None) -> None:
        """Refuse ranks that are not a permutation of 1..k over exactly this set's scans (`names`, when the caller
        has them: a reader's plan lists each set's scans)."""
        names = {volume.name for volume in self.volumes.all()} if names is None else set(names)
        if set(ranks) != names:
            raise ValidationError("Rank every scan of this set, and only those scans.")
        values = list(ranks.values())
        whole = all(isinstance(value, int) and not isinstance(value, bool) for value in values)
        if not whole or sorted(values) != list(range(1, len(names) + 1)):
            raise ValidationError(f"Ranks must use each of 1 to {len(names)} exactly once.")


class Reader(models.Model):
    """An invited radiologist: hashed invitation token, own task plan, demographics, progress and timing."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="readers")
    index = models.PositiveIntegerField(help_text="Seeds this reader's randomised plan.")
    label = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    plan = models.JSONField(editable=False)
    position = models.PositiveIntegerField(default=0, help_text="The task (0-based) the reader is on.")
    years_experience = models.PositiveSmallIntegerField(null=True, blank=True)
    level = models.CharField(max_length=20, choices=LEVELS, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "index"], name="unique_reader_index"),
            models.UniqueConstraint(fields=["study", "label"], name="unique_reader_label"),
        ]
        ordering = ["study", "index"]

    def __str__(self) -> str:
        return self.label

    @property
    def is_locked(self) -> bool:
        """Finished readers' answers never change."""
        return self.finished_at is not None

    def task(self, position: int) -> dict[str, Any]:
        """Task `position` (0-based) of the plan; IndexError outside it."""
        if not 0 <= position < len(self.plan):
            raise IndexError(position)
        return self.plan[position]

    def answers_by_position(self) -> dict[int, Any]:
        """This reader's answers keyed by plan position: one query per kind of task the plan has."""
        kinds = {task["kind"] for task in self.plan}
        by_kind = {
            kind: {_answer_key(kind, answer): answer for answer in self.answers_of(f"{kind}_answers")} for kind in kinds
        }
        found = {}
        for position, task in enumerate(self.plan):
            answer = by_kind[task["kind"]].get(task_key(task))
            if answer is not None:
                found[position] = answer
        return found

    def first_incomplete(self, answers: dict[int, Any] | None = None) -> int | None:
        """The first task without a complete answer, or None when all are done (`answers`: answers_by_position())."""
        answers = self.answers_by_position() if answers is None else answers
        for position in range(len(self.plan)):
            if position not in answers or not answers[position].is_complete:
                return position
        return None

    def progress(self, answers: dict[int, Any] | None = None) -> tuple[int, int]:
        """(tasks answered, tasks in the plan); `answers`: answers_by_position(), if already at hand."""
        answers = self.answers_by_position() if answers is None else answers
        return sum(1 for answer in answers.values() if answer.is_complete), len(self.plan)

    def seconds_spent(self) -> float:
        """Total time on the tasks: the sum of the per-item seconds."""
        return float(sum(answer.seconds for kind in ANSWER_KINDS for answer in self.answers_of(kind)))

    def answers_of(self, kind: str) -> models.QuerySet:
        """This reader's answers of one kind (a key of ANSWER_KINDS): those `with_answers` prefetched, else one query
        that joins what reading them needs."""
        if kind in getattr(self, "_prefetched_objects_cache", {}):
            return getattr(self, kind).all()
        return getattr(self, kind).select_related(ANSWER_KINDS[kind])


def _answer_key(kind: str, answer: Any) -> str:
    """What an answer of `kind` answers, as task_key names it: its scan's opaque name, or its ranking set."""
    return answer.ranking_set.key if kind == "ranking" else answer.item.volume.name


def with_answers(readers: models.QuerySet) -> models.QuerySet:
    """Readers with every kind of answer prefetched: progress() and seconds_spent() of many readers in one query per
    kind (the staff progress page), not per reader."""
    return readers.prefetch_related(
        *(
            models.Prefetch(kind, queryset=getattr(Reader, kind).rel.related_model.objects.select_related(joined))
            for kind, joined in ANSWER_KINDS.items()
        )
    )


class Answer(models.Model):
    """What both answer kinds share: who, how long, when."""

    seconds = models.FloatField(default=0.0, help_text="Active time the reader spent on this task.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class RecognitionAnswer(Answer):
    """The option (and note) a reader chose for one recognition scan."""

    reader = models.ForeignKey(Reader, on_delete=models.CASCADE, related_name="recognition_answers")
    item = models.ForeignKey(RecognitionItem, on_delete=models.CASCADE, related_name="answers")
    option = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["reader", "item"], name="unique_recognition_answer")]

    @property
    def is_complete(self) -> bool:
        """An option has been chosen."""
        return bool(self.option)

    @property
    def is_correct(self) -> bool:
        """The chosen option equals the volume's finding (case-insensitive)."""
        return self.option.strip().casefold() == self.item.volume.finding.strip().casefold()


class RankingAnswer(Answer):
    """The ranks a reader gave to the scans of one set: {opaque name: rank}, 1 = best preserved."""

    reader = models.ForeignKey(Reader, on_delete=models.CASCADE, related_name="ranking_answers")
    ranking_set = models.ForeignKey(RankingSet, on_delete=models.CASCADE, related_name="answers")
    ranks = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["reader", "ranking_set"], name="unique_ranking_answer")]

    @property
    def is_complete(self) -> bool:
        """Every scan of the set has its rank."""
        return bool(self.ranks)


class RatingAnswer(Answer):
    """The score (1..scale) and note a reader gave one rated scan."""

    reader = models.ForeignKey(Reader, on_delete=models.CASCADE, related_name="rating_answers")
    item = models.ForeignKey(RatingItem, on_delete=models.CASCADE, related_name="answers")
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["reader", "item"], name="unique_rating_answer")]

    @property
    def is_complete(self) -> bool:
        """A score has been given."""
        return self.score is not None


class DiscriminationAnswer(Answer):
    """A reader's judgement of one scan: real or synthetic, a confidence of 1–5, and a note."""

    ANSWERS = [(REAL, "Real"), (SYNTHETIC, "Synthetic")]

    reader = models.ForeignKey(Reader, on_delete=models.CASCADE, related_name="discrimination_answers")
    item = models.ForeignKey(DiscriminationItem, on_delete=models.CASCADE, related_name="answers")
    answer = models.CharField(max_length=10, choices=ANSWERS, blank=True)
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["reader", "item"], name="unique_discrimination_answer")]

    @property
    def is_complete(self) -> bool:
        """Both the judgement and its confidence are given."""
        return bool(self.answer) and self.confidence is not None

    @property
    def is_correct(self) -> bool:
        """The judgement matches the truth."""
        return self.answer == self.item.truth


class ResultsLook(models.Model):
    """Audit trail of the results: who looked at a study's results page or downloaded them, when, and what they were
    shown (progress only, an interim look with its frozen analysis, or the final results after close)."""

    PROGRESS, INTERIM, FINAL = "progress", "interim", "final"
    SHOWN = [(PROGRESS, "progress only"), (INTERIM, "interim look"), (FINAL, "final results")]

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="results_looks")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    what = models.CharField(max_length=20, help_text="The page or the download (page, zip).")
    shown = models.CharField(max_length=10, choices=SHOWN)
    look = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Interim look number (1-based).")
    fraction = models.FloatField(null=True, blank=True, help_text="Information fraction: finished / planned readers.")
    finished = models.PositiveIntegerField(default=0, help_text="Finished readers at that moment.")
    summary = models.JSONField(null=True, blank=True, help_text="The interim analysis, frozen at its first view.")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]


class AnswerChange(models.Model):
    """Audit trail: every change of an answer, with its time."""

    reader = models.ForeignKey(Reader, on_delete=models.CASCADE, related_name="answer_changes")
    task = models.CharField(max_length=300, help_text="Which task, by kind and volume or set.")
    value = models.JSONField()
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at"]
