"""The demo's generator: a small MedSyn model trained on phantoms within a time budget, cached, and its study set.

Every step is one of the project's own commands (`python -m generator ...`), so the demo shows the researcher's flow.
A step whose output exists is skipped, so a second `make demo` starts serving at once; delete var/demo/model to retrain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

PROMPTS = Path(__file__).with_name("prompts.toml")
TRAINING_PHANTOMS = 200
TEXT_STEPS = 400
BASE_SHARE = 0.5  # of the training budget: on a CPU a super-resolution step at 64³ costs about a base step at 16³
SAMPLER = "dpmpp-2m"  # DPM-Solver++(2M): the sampler and steps the text-control run measured (README)
SAMPLER_STEPS = (10, 5)  # steps of the base and super-resolution models: fewer than the defaults, for a CPU


@dataclass(frozen=True)
class ModelPlan:
    """Which config to train, for how many minutes in all, and how many phantoms of its grid to train on."""

    config: str
    minutes: float
    phantoms: int = TRAINING_PHANTOMS
    seed: int = 0


def train_model(plan: ModelPlan, folder: Path, run: Callable[..., None], step: Callable[[str], None]) -> Path:
    """Phantoms at the config's grid → report encoder → base and super-resolution models; returns the folder."""
    from generator.nets.configs import get_config

    size = get_config(plan.config).size
    phantoms, text = folder / "phantoms", folder / "text-encoder"
    if not (phantoms / f"case-{plan.phantoms - 1:04d}" / "meta.json").exists():
        step(f"Making {plan.phantoms} training phantoms at {size}³ (the model's grid)")
        run(
            "-m",
            "generator",
            "phantoms",
            "--out",
            str(phantoms),
            "--n",
            str(plan.phantoms),
            "--size",
            str(size),
            "--seed",
            str(plan.seed + 1),
        )
    if not (text / "config.json").exists():
        step(f"Pre-training the report encoder on the phantoms' reports ({TEXT_STEPS} steps)")
        run(
            "-m",
            "generator",
            "pretrain-text",
            "--data",
            str(phantoms),
            "--out",
            str(text),
            "--config",
            "tiny",
            "--steps",
            str(TEXT_STEPS),
            "--device",
            "cpu",
        )
    for stage, share in (("base", BASE_SHARE), ("superres", 1 - BASE_SHARE)):
        out = folder / stage
        if (out / "checkpoint.json").exists():
            continue
        minutes = plan.minutes * share
        step(f"Training the {plan.config} {stage} model for {minutes:.2g} minutes (cached in {out})")
        extra = ["--text-encoder", str(text)] if stage == "base" else []
        run(
            "-m",
            "generator",
            "train",
            "--stage",
            stage,
            "--config",
            plan.config,
            "--data",
            str(phantoms),
            "--out",
            str(out),
            "--steps",
            "1000000",
            "--max-minutes",
            f"{minutes:.3f}",
            *extra,
        )
    return folder


def study_set(model: Path, out: Path, run: Callable[..., None], step: Callable[[str], None]) -> dict:
    """The demo's generated volumes (demo/prompts.toml) as case folders, and their study-set.json index."""
    index = out / "study-set.json"
    if not index.exists():
        step("Generating the study's MedSyn volumes with the model")
        run(
            "-m",
            "generator",
            "study-set",
            "--base",
            str(model / "base"),
            "--superres",
            str(model / "superres"),
            "--text-encoder",
            str(model / "text-encoder"),
            "--prompts",
            str(PROMPTS),
            "--out",
            str(out),
            "--steps-base",
            str(SAMPLER_STEPS[0]),
            "--steps-superres",
            str(SAMPLER_STEPS[1]),
            "--sampler",
            SAMPLER,
            "--device",
            "cpu",
        )
    return json.loads(index.read_text())


def trained_steps(model: Path) -> dict[str, int]:
    """The optimiser steps each stage reached, for the demo's honest description of its model."""
    return {
        stage: json.loads((model / stage / "checkpoint.json").read_text())["step"] for stage in ("base", "superres")
    }
