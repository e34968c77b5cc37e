"""Where is text control lost: in the base model, in super-resolution, or in measuring? (after bench/prompt_control)

For each pair of bench/prompt_control/pairs.toml the same comparison, positive against negative, is made at every
stage of the chain, so that the first stage where the difference vanishes is the one to train more:

- real, truth: phantoms of the training set, the `cases` with the largest truth of the pair's measure (positive)
  against `cases` phantoms without any finding (negative), their `truth` from meta.json;
- real, measured: the same phantoms measured from the CT alone at full resolution (measurement error);
- real → low → trilinear: their 4× nearest-neighbour down-sampled CT (what the base model learns) brought back by
  trilinear interpolation and measured (what a perfect base model plus a plain up-sampling would give);
- real → low → super-res: the same low-resolution volumes through the trained super-resolution model (its error);
- generated low → trilinear: the base model's samples for the two prompts (seeds 0…n−1, as prompt-experiment),
  up-sampled by trilinear interpolation and measured (the base model's text control, without super-resolution);
- generated → super-res: the whole chain (what `python -m generator prompt-experiment` reports for those seeds).

Each row gives mean ± sd of both groups and the one-tailed Welch p that the positive mean is greater. Read each
generated row against the real row of the same stage, not against the truth: the trilinear rows keep the
low-resolution CT noise, correlated over four voxels, which the rule-based fluid mask merges with the chest wall
(effusion reads 0 there even for real phantoms), and which blurs emphysema's −975 HU specks above −950 HU. Run after
bench/prompt_control/run.sh on its work folder: `python -m bench text-stages WORK [--n 16] [--cases 8]`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from tqdm import tqdm

if __package__ in (None, ""):  # run as a script: `python bench/text_stages.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generator.data.cases import read_case
from generator.data.dataset import find_cases
from generator.data.model_space import HU_MAX, HU_MIN, downsample, from_model, to_model
from generator.metrics.anatomy import measure
from generator.prompt_pairs import read_pairs
from generator.prompt_statistics import welch_greater
from generator.sampling import SamplerSettings, load_pipeline, sample_low, seed_noise, super_resolve

PAIRS = Path(__file__).resolve().parent / "prompt_control" / "pairs.toml"
STAGES = (
    "real, truth",
    "real, measured",
    "real → low → trilinear",
    "real → low → super-res",
    "generated low → trilinear",
    "generated → super-res",
)


def chosen_phantoms(folders: list[Path], measure_name: str, count: int) -> tuple[list[Path], list[Path]]:
    """The `count` phantoms with the largest truth of the measure, and the first `count` without any finding."""
    metas = [(folder, json.loads((folder / "meta.json").read_text())) for folder in folders]
    ranked = sorted(metas, key=lambda item: -item[1]["truth"][measure_name])
    normal = [folder for folder, meta in metas if not any(meta["findings"].values())]
    if len(normal) < count:
        sys.exit(f"bench text-stages: {len(normal)} phantoms without findings, {count} needed (--cases)")
    return [folder for folder, _ in ranked[:count]], normal[:count]


def trilinear_ct(low: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """HU of a low-resolution model-space CT channel, interpolated trilinearly back to `shape`.

    Nearest-neighbour down-sampling by f keeps voxel 0, f, 2f …, so the interpolation puts low voxel i at full
    voxel f·i."""
    hu = (np.clip(low, -1, 1) + 1) / 2 * (HU_MAX - HU_MIN) + HU_MIN
    factor = shape[0] // low.shape[0]
    grid = np.meshgrid(
        *(np.minimum(np.arange(n) / factor, low.shape[axis] - 1) for axis, n in enumerate(shape)), indexing="ij"
    )
    return ndimage.map_coordinates(hu.astype(np.float32), grid, order=1, mode="nearest")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench text-stages", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("work", type=Path, help="bench/prompt_control/run.sh's folder (phantoms, text, base, superres)")
    parser.add_argument(
        "--pairs", type=Path, default=PAIRS, help="prompt pairs (default: bench/prompt_control/pairs.toml)"
    )
    parser.add_argument("--n", type=int, default=16, help="generated volumes per prompt (default 16)")
    parser.add_argument("--cases", type=int, default=8, help="real phantoms per group (default 8)")
    parser.add_argument("--guidance", type=float, default=3.0, help="classifier-free guidance scale (default 3)")
    parser.add_argument("--steps-base", type=int, default=25, help="base sampling steps (default 25)")
    parser.add_argument("--steps-superres", type=int, default=10, help="super-resolution steps (default 10)")
    parser.add_argument("--sampler", default="ddim", help="ddim or dpmpp-2m (default ddim)")
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    pipeline = load_pipeline(args.work / "base", args.work / "superres", args.work / "text")
    settings = SamplerSettings(args.guidance, args.steps_base, args.steps_superres, args.sampler)
    shape = pipeline.grid_shape
    folders = find_cases(args.work / "phantoms")
    pairs = read_pairs(args.pairs)
    values: dict[tuple[str, str, str], list[float]] = {}
    total = len(pairs) * 2 * (args.cases + args.n)
    with tqdm(total=total, desc="text stages", unit="volume", file=sys.stderr) as bar:
        for pair in pairs:
            groups = dict(zip(("positive", "negative"), chosen_phantoms(folders, pair.measure, args.cases)))
            for side, chosen in groups.items():
                for index, folder in enumerate(chosen):
                    case = read_case(folder)
                    low = downsample(torch.from_numpy(to_model(case)), pipeline.factor)[None]
                    noise = torch.Generator().manual_seed(index)
                    superres = super_resolve(
                        pipeline,
                        low,
                        torch.randn((1, 4, *shape), generator=noise),
                        torch.randn((1, 4, *shape), generator=noise),
                        settings,
                    )
                    results = {
                        "real, truth": json.loads((folder / "meta.json").read_text())["truth"],
                        "real, measured": measure(case.ct.astype(np.float32), case.spacing),
                        "real → low → trilinear": measure(trilinear_ct(low[0, 0].numpy(), shape), case.spacing),
                        "real → low → super-res": measure_model(superres, case.affine),
                    }
                    for stage, result in results.items():
                        values.setdefault((pair.name, stage, side), []).append(result[pair.measure])
                    bar.update(1)
                prompt = getattr(pair, side)
                for seed in range(args.n):
                    noise_low, noise_full, noise_condition = seed_noise(seed, shape, pipeline.factor)  # as sample_one
                    low = sample_low(pipeline, prompt, noise_low, settings)
                    full = super_resolve(pipeline, low, noise_full, noise_condition, settings)
                    spacing = float(np.linalg.norm(pipeline.affine[:3, 0]))
                    results = {
                        "generated low → trilinear": measure(trilinear_ct(low[0, 0].cpu().numpy(), shape), spacing),
                        "generated → super-res": measure_model(full, pipeline.affine),
                    }
                    for stage, result in results.items():
                        values.setdefault((pair.name, stage, side), []).append(result[pair.measure])
                    bar.update(1)
    steps = {"base": pipeline.provenance["base"]["step"], "superres": pipeline.provenance["superres"]["step"]}
    print(table(pairs, values, args, steps))


def measure_model(x: np.ndarray, affine: np.ndarray) -> dict[str, float]:
    """The anatomy measures of a model-space volume (4, X, Y, Z) on the grid of `affine`."""
    case = from_model(x, affine)
    return measure(case.ct.astype(np.float32), case.spacing)


def table(pairs, values: dict, args, steps: dict) -> str:
    """One row per pair and stage: both groups' mean ± sd and the one-tailed Welch p."""
    lines = [
        f"Text control stage by stage: base step {steps['base']}, super-resolution step {steps['superres']}; "
        f"{args.cases} real phantoms and {args.n} generated volumes per group; guidance {args.guidance:g}, "
        f"{args.sampler} {args.steps_base} + {args.steps_superres} steps",
        f"{'pair':<13} {'measure':<15} {'stage':<27} {'positive':>17} {'negative':>17} {'p (pos > neg)':>13}",
    ]
    for pair in pairs:
        for stage in STAGES:
            positive, negative = (values[(pair.name, stage, side)] for side in ("positive", "negative"))
            p = welch_greater(positive, negative)["p"]
            lines.append(
                f"{pair.name:<13} {pair.measure:<15} {stage:<27} {_mean_sd(positive):>17} "
                f"{_mean_sd(negative):>17} {'–' if p is None else f'{p:.2g}':>13}"
            )
    lines.append(
        "real groups: the phantoms with the largest truth of the measure against phantoms without findings; "
        "generated groups: the pair's positive and negative prompts with the same seeds."
    )
    return "\n".join(lines)


def _mean_sd(values: list[float]) -> str:
    return f"{np.mean(values):.3g} ± {np.std(values, ddof=1):.2g}"


if __name__ == "__main__":
    main()
