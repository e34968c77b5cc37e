"""Study sets from the generator: the MedSyn volumes a reader study needs, and the study manifest that lists them.

PROMPTS.toml:
    [study]          optional: title (default "MedSyn study set"), seed of the readers' randomisation (default: the
                     generation seed), options (default: the studies' five recognition options)
    [[recognition]]  prompt, finding (one of the options, in any case), n samples (default 1)
    [[ranking]]      structure, prompt (default: a normal report), sets (default 4; one generated volume per set)

The volumes are written as case folders under out/volumes/<id>/; out/study.toml (the `studies` manifest, DESIGN.md)
lists them with source "medsyn". It is a recognition-only study as written: each ranking set is a commented-out
block with the MedSyn volume filled in, because a ranking set also needs the real and baseline scans that only the
researcher has. out/study-set.json lists the ids by role for programs. Volume k of the plan gets seed `seed + k`
whatever the number of processes, so under `torchrun` (rank r generates volumes r, r + world, …) the volumes are
the same as with one process.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

import nibabel as nib
import numpy as np
import torch.distributed as dist
from tqdm import tqdm

from contracts.study_format import DEFAULT_OPTIONS, slugify
from generator.data.cases import Case, write_case
from generator.prompt_files import read_prompt_file
from generator.train import setup_distributed

SOURCE = "medsyn"
MANIFEST, INDEX, VOLUMES = "study.toml", "study-set.json", "volumes"
# The paper's other scans of a ranking set: the real one and the two baseline generators'.
COMPANIONS = ("real", "ha-gan", "medical-diffusion")
NORMAL_REPORT = (
    "FINDINGS: The lungs are clear without consolidation. No emphysema. There is no pleural effusion. "
    "Heart size is normal. The central airways are patent. IMPRESSION: Normal CT of the chest."
)
STUDY_KEYS = {"title", "seed", "options"}
RECOGNITION_KEYS = {"prompt", "finding", "n"}
RANKING_KEYS = {"structure", "prompt", "sets"}


class StudySetError(Exception):
    """An output folder that would lose the researcher's work if written into."""


@dataclass(frozen=True)
class PlannedVolume:
    """One volume to generate: its manifest id, prompt and seed, and its role (a finding, or a structure and set)."""

    id: str
    prompt: str
    seed: int
    finding: str | None = None
    structure: str | None = None
    set: int | None = None

    @property
    def file(self) -> str:
        """The CT's path relative to the output folder (and so to study.toml)."""
        return f"{VOLUMES}/{self.id}/ct.nii.gz"


@dataclass(frozen=True)
class StudySetPlan:
    """A checked PROMPTS.toml: the study's title, reader-randomisation seed, recognition options and volumes."""

    title: str
    seed: int
    options: tuple[str, ...]
    volumes: tuple[PlannedVolume, ...]


def read_plan(path: Path, seed: int = 0) -> StudySetPlan:
    """The plan of a PROMPTS.toml, volume k seeded `seed + k`; PromptFileError names the file and key of a problem."""
    file = read_prompt_file(path)
    file.known_keys(file.raw, {"study", "recognition", "ranking"}, "top level")
    study = file.table("study")
    file.known_keys(study, STUDY_KEYS, "[study]")
    options = study.get("options", list(DEFAULT_OPTIONS))
    if not isinstance(options, list) or len(options) < 2 or not all(isinstance(o, str) and o.strip() for o in options):
        raise file.fail("[study]", "'options' must be a list of at least two non-empty strings")
    canonical = {option.strip().casefold(): option.strip() for option in options}
    if len(canonical) != len(options):
        raise file.fail("[study]", "'options' lists the same option twice")
    volumes: list[PlannedVolume] = []
    for number, table in enumerate(file.tables("recognition"), start=1):
        where = f"[[recognition]] #{number}"
        file.known_keys(table, RECOGNITION_KEYS, where)
        prompt, finding = file.text(table, "prompt", where), file.text(table, "finding", where)
        if finding.casefold() not in canonical:
            raise file.fail(
                where, f"finding {finding!r} is not among the recognition options {list(canonical.values())}"
            )
        finding = canonical[finding.casefold()]
        done = sum(v.finding == finding for v in volumes)
        for k in range(1, file.integer(table, "n", where, 1, minimum=1) + 1):
            volumes.append(
                PlannedVolume(f"{SOURCE}-{slugify(finding)}-{done + k}", prompt, seed + len(volumes), finding=finding)
            )
    for number, table in enumerate(file.tables("ranking"), start=1):
        where = f"[[ranking]] #{number}"
        file.known_keys(table, RANKING_KEYS, where)
        structure = file.text(table, "structure", where)
        prompt = file.text(table, "prompt", where, default=NORMAL_REPORT)
        done = sum(v.structure == structure for v in volumes)
        for k in range(done + 1, done + file.integer(table, "sets", where, 4, minimum=1) + 1):
            volume = PlannedVolume(
                f"{SOURCE}-{slugify(structure)}-set{k}", prompt, seed + len(volumes), structure=structure, set=k
            )
            if not slugify(structure) or any(v.id == volume.id for v in volumes):
                raise file.fail(
                    where,
                    f"structure {structure!r} needs letters or digits that set it apart from the other structures",
                )
            volumes.append(volume)
    if not volumes:
        raise file.fail("top level", "nothing to generate: add [[recognition]] or [[ranking]] tables")
    title = file.text(study, "title", "[study]", default="MedSyn study set")
    return StudySetPlan(title, file.integer(study, "seed", "[study]", seed), tuple(canonical.values()), tuple(volumes))


def make_study_set(plan: StudySetPlan, out: Path, cases: Callable[..., Iterable[Case]], device: str) -> Path | None:
    """Generate the plan's volumes with `cases(prompts, seeds, device=...)` on `device` (each rank's own under
    torchrun, sharing the volumes), then write the manifest and index; return study.toml's path on rank 0."""
    out = Path(out)
    if (out / MANIFEST).exists():
        raise StudySetError(f"{out / MANIFEST}: already exists (it may hold your edits); choose another --out")
    rank, world, rank_device = setup_distributed()
    try:
        mine = list(plan.volumes[rank::world])
        generated = cases(
            [v.prompt for v in mine], [v.seed for v in mine], device=str(rank_device) if world > 1 else device
        )
        for volume, case in tqdm(
            zip(mine, generated), total=len(mine), desc="study set", unit="volume", disable=rank > 0
        ):
            write_case(case, out / VOLUMES / volume.id)
        if world > 1:
            dist.barrier()
        return write_manifest(plan, out) if rank == 0 else None
    finally:
        if world > 1:
            dist.destroy_process_group()


def write_manifest(plan: StudySetPlan, out: Path) -> Path:
    """Write out/study.toml and out/study-set.json for the plan's volumes (already generated) and return the first."""
    image = nib.load(str(Path(out) / plan.volumes[0].file))
    shape, spacing = tuple(int(n) for n in image.shape), float(np.mean(image.header.get_zooms()[:3]))
    (out / MANIFEST).write_text(manifest_text(plan, shape, spacing), encoding="utf-8")
    index = {
        "manifest": MANIFEST,
        "title": plan.title,
        "recognition": [_entry(v, "finding") for v in plan.volumes if v.finding is not None],
        "ranking": [_entry(v, "structure", "set") for v in plan.volumes if v.structure is not None],
    }
    (out / INDEX).write_text(json.dumps(index, indent=2), encoding="utf-8")
    return out / MANIFEST


def manifest_text(plan: StudySetPlan, shape: tuple[int, int, int], spacing: float) -> str:
    """study.toml: the study, the MedSyn volumes, [recognition], and each ranking set as a commented-out block."""
    lines = [
        "# Written by `python -m generator study-set`. As it stands this is a recognition-only study:",
        "#     python -m studies build study.toml --out BUNDLE",
        "# To add the ranking sets, fill in each commented-out block at the end with the set's real and baseline",
        "# scans and uncomment it. Served grid: the generator's (real and baseline scans are resampled to it).",
        "",
        "[study]",
        f"title = {_toml(plan.title)}",
        f"seed = {plan.seed}",
        f"shape = {_toml(list(shape))}",
        f"spacing = {_toml(round(spacing, 6))}",
    ]
    for v in plan.volumes:
        lines += ["", "[[volume]]", f"id = {_toml(v.id)}", f"file = {_toml(v.file)}", f"source = {_toml(SOURCE)}"]
        lines += [f"finding = {_toml(v.finding)}"] if v.finding is not None else []
    recognition = [v.id for v in plan.volumes if v.finding is not None]
    if recognition:
        lines += ["", "[recognition]", f"volumes = {_toml(recognition)}", f"options = {_toml(list(plan.options))}"]
    for v in plan.volumes:
        if v.structure is not None:
            lines += [
                "",
                f"## Ranking set {v.set} of {_toml(v.structure)}: put the set's other scans at these files",
                "## (or change the paths, relative to this file), then remove the '# ' in front of the lines.",
            ]
            lines += ["# " + line if line else "#" for line in _ranking_block(v)]
    return "\n".join(lines) + "\n"


def _ranking_block(volume: PlannedVolume) -> list[str]:
    """One ranking set as it reads once uncommented: the companion scans' [[volume]] tables and the [[ranking]]."""
    slug = f"{slugify(volume.structure)}-set{volume.set}"
    lines = []
    for source in COMPANIONS:
        lines += [
            "[[volume]]",
            f"id = {_toml(f'{source}-{slug}')}",
            f"file = {_toml(f'scans/{source}-{slug}.nii.gz')}",
            f"source = {_toml(source)}",
            "",
        ]
    ids = [volume.id] + [f"{source}-{slug}" for source in COMPANIONS]
    return lines + ["[[ranking]]", f"structure = {_toml(volume.structure)}", f"volumes = {_toml(ids)}"]


def _entry(volume: PlannedVolume, *role: str) -> dict:
    """A study-set.json entry: id, role fields, prompt, seed, case folder and CT file (relative to the index)."""
    fields = asdict(volume)
    return {
        "id": volume.id,
        **{key: fields[key] for key in role},
        "prompt": volume.prompt,
        "seed": volume.seed,
        "folder": f"{VOLUMES}/{volume.id}",
        "file": volume.file,
    }


def _toml(value: str | int | float | list) -> str:
    """A TOML literal: basic strings escaped as JSON does (valid TOML, DEL aside), numbers, flat arrays."""
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    return repr(value)
