"""DPM-Solver++(2M) against DDIM: how close each sampler's volumes come to DDIM 50/20 in fewer steps, and how fast.

On the models of a WORK folder (bench/text_control.py's or bench/prompt_control/run.sh's: base, superres, text),
every sampler setting samples the same prompts (the pairs' positives and the normal report) with the same seeds;
each volume is compared with the DDIM 50 + 20 volume of its prompt and seed: CT RMSE in HU, and the anatomy
measures (effusion mL, CTR, %LAA-950) as mean absolute differences. `python -m bench samplers WORK [--n 4]`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):  # run as a script: `python bench/samplers.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.text_control import measures_of
from bench.text_stages import PAIRS
from generator.data.model_space import HU_MAX, HU_MIN
from generator.prompt_pairs import read_pairs
from generator.sampling import SamplerSettings, load_pipeline, sample_one

REFERENCE = SamplerSettings(steps_base=50, steps_superres=20, sampler="ddim")
CANDIDATES = (
    SamplerSettings(steps_base=20, steps_superres=10, sampler="ddim"),
    SamplerSettings(steps_base=20, steps_superres=10, sampler="dpmpp-2m"),
    SamplerSettings(steps_base=10, steps_superres=5, sampler="dpmpp-2m"),
)
MEASURES = ("effusion_ml", "effusion_ml_robust", "ctr", "laa950_percent")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench samplers", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("work", type=Path, help="folder with base, superres and text")
    parser.add_argument("--n", type=int, default=4, help="seeds per prompt (default 4)")
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    pipeline = load_pipeline(args.work / "base", args.work / "superres", args.work / "text", device)
    pairs = read_pairs(PAIRS)
    prompts = [pair.positive for pair in pairs] + [pairs[0].negative]
    runs = {}
    for settings in (REFERENCE, *CANDIDATES):
        begun = time.perf_counter()
        volumes = [sample_one(pipeline, p, seed, settings) for p in prompts for seed in range(args.n)]
        runs[settings] = ((time.perf_counter() - begun) / len(volumes), volumes)
    reference = runs[REFERENCE][1]
    reference_measures = [measures_of(v, pipeline.affine) for v in reference]
    lines = [
        f"Samplers against DDIM 50 + 20 on {len(prompts)} prompts x {args.n} seeds (base step "
        f"{pipeline.provenance['base']['step']}, super-resolution step {pipeline.provenance['superres']['step']})",
        f"{'sampler':<10} {'steps':>7} {'s/volume':>9} {'CT RMSE HU':>11} " + " ".join(f"{m:>19}" for m in MEASURES),
    ]
    for settings, (seconds, volumes) in runs.items():
        rmse = np.mean(
            [np.sqrt(np.mean((v[0] - r[0]) ** 2)) * (HU_MAX - HU_MIN) / 2 for v, r in zip(volumes, reference)]
        )
        measured = [measures_of(v, pipeline.affine) for v in volumes]
        diffs = [np.mean([abs(a[m] - b[m]) for a, b in zip(measured, reference_measures)]) for m in MEASURES]
        lines.append(
            f"{settings.sampler:<10} {settings.steps_base:>3}+{settings.steps_superres:<3} {seconds:9.2f} {rmse:11.1f} "
            + " ".join(f"{d:19.3g}" for d in diffs)
        )
    lines.append("measure columns: mean |difference| from the DDIM 50 + 20 volume of the same prompt and seed")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
