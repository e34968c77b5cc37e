"""x0- against v-prediction in the super-resolution model: how close each gets to the phantoms in the same steps.

The super-resolution model of bench/prompt_control/run.sh's WORK folder is trained twice from the same seed on the
same phantoms, once predicting x0 directly (the paper's parameterisation) and once predicting v (Salimans & Ho
2022; `generator.diffusion.denoiser`), for --train-steps steps each; or two checkpoints are given with --x0 and --v.
Each is measured on the `--cases` phantoms with the largest effusion and the `--cases` with the most emphysema:

- x0 error at t: the CT channel's root-mean-square error in HU of the network's x0 estimate when it sees the phantom
  noised to diffusion time t (with the low-resolution condition noised as in sampling);
- sampled: the error of the whole super-resolution of the phantom's 4× down-sampled volume (DDIM, --steps), and the
  effusion (mL) and %LAA-950 measured in it, against the same measures of the phantoms themselves.

The first row copies the nearest-up-sampled condition (no model). Run after bench/prompt_control/run.sh:
`python -m bench prediction WORK [--train-steps 300 | --x0 DIR --v DIR] [--cases 3] [--steps 10]`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):  # run as a script: `python bench/prediction.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.text_stages import measure_model
from generator.checkpoints import load_info
from generator.data.cases import read_case
from generator.data.dataset import find_cases
from generator.data.model_space import HU_MAX, HU_MIN, downsample, to_model, upsample
from generator.diffusion.denoiser import add_noise
from generator.metrics.anatomy import measure
from generator.sampling import SamplerSettings, condition, load_pipeline, super_resolve
from generator.train import TrainOptions, train

TIMES = (0.05, 0.2, 0.5, 0.9)
HU_PER_UNIT = (HU_MAX - HU_MIN) / 2


def trained(work: Path, prediction: str, steps: int, batch_size: int) -> Path:
    """The super-resolution checkpoint predicting `prediction` after `steps` steps, trained unless it exists."""
    out = work / f"superres-{prediction}-{steps}"
    if not (out / "checkpoint.json").exists():
        train(
            TrainOptions(
                stage="superres",
                config="small",
                data=work / "phantoms",
                out=out,
                steps=steps,
                batch_size=batch_size,
                prediction=prediction,
                workers=2,
            )
        )
    return out


def chosen(folders: list[Path], count: int) -> dict[str, list[Path]]:
    """The `count` phantoms with the largest effusion and the `count` with the largest %LAA-950."""
    truths = [(folder, json.loads((folder / "meta.json").read_text())["truth"]) for folder in folders]
    return {
        name: [folder for folder, _ in sorted(truths, key=lambda item: -item[1][name])[:count]]
        for name in ("effusion_ml", "laa950_percent")
    }


def evaluate(superres_dir: Path | None, work: Path, groups: dict[str, list[Path]], steps: int) -> dict:
    """Errors and measures of one checkpoint (None: copy the up-sampled condition) over the chosen phantoms."""
    pipeline = load_pipeline(work / "base", superres_dir, work / "text") if superres_dir else None
    errors: dict[str, list[float]] = {}
    measures: dict[str, list[float]] = {}
    for name, folders in groups.items():
        for index, folder in enumerate(folders):
            case = read_case(folder)
            x = torch.from_numpy(to_model(case))[None]
            factor = pipeline.factor if pipeline else 4
            low = downsample(x[0], factor)[None]
            noise = torch.Generator().manual_seed(index)
            if pipeline is None:
                sampled = upsample(low, factor)[0].numpy()
            else:
                low_t = torch.full((1,), pipeline.refiner.low_noise_sample)
                cond = condition(pipeline.refiner, low, low_t, torch.randn(x.shape, generator=noise), factor)
                for t in TIMES:
                    at = torch.full((1,), t)
                    x0 = pipeline.superres(
                        add_noise(x, at, torch.randn(x.shape, generator=noise)), at, low=cond, low_t=low_t
                    )
                    errors.setdefault(f"t={t:g}", []).append(_rmse_hu(x0[0, 0], x[0, 0]))
                sampled = super_resolve(
                    pipeline,
                    low,
                    torch.randn(x.shape, generator=noise),
                    torch.randn(x.shape, generator=noise),
                    SamplerSettings(steps_superres=steps),
                )
            errors.setdefault("sampled", []).append(_rmse_hu(torch.from_numpy(sampled[0]), x[0, 0]))
            measures.setdefault(name, []).append(measure_model(sampled, case.affine)[name])
    return {"errors": errors, "measures": measures}


def real_measures(groups: dict[str, list[Path]]) -> dict[str, list[float]]:
    """The chosen phantoms measured from their own CT at full resolution."""
    out: dict[str, list[float]] = {}
    for name, folders in groups.items():
        for folder in folders:
            case = read_case(folder)
            out.setdefault(name, []).append(measure(case.ct.astype(np.float32), case.spacing)[name])
    return out


def _rmse_hu(estimate: torch.Tensor, truth: torch.Tensor) -> float:
    return float((estimate.float() - truth.float()).square().mean().sqrt()) * HU_PER_UNIT


def table(rows: list[tuple[str, str, dict]], real: dict[str, list[float]], groups: dict, steps: int) -> str:
    """One row per model: x0 errors by time, sampled error, and the two measures (mean over their phantoms)."""
    columns = [f"t={t:g}" for t in TIMES] + ["sampled"]
    lines = [
        f"Super-resolution fidelity on {len(groups['effusion_ml'])} + {len(groups['laa950_percent'])} phantoms "
        f"(largest effusion + most emphysema); CT RMSE in HU; DDIM {steps} steps",
        f"{'model':<32} {'step':>6} " + " ".join(f"{c:>8}" for c in columns) + f" {'effusion mL':>12} {'%LAA-950':>9}",
    ]
    for label, step, result in [("phantoms, measured", "", {"errors": {}, "measures": real}), *rows]:
        errors = " ".join(
            f"{np.mean(result['errors'][c]):8.0f}" if c in result["errors"] else f"{'–':>8}" for c in columns
        )
        m = result["measures"]
        lines.append(
            f"{label:<32} {step:>6} {errors} {np.mean(m['effusion_ml']):12.0f} {np.mean(m['laa950_percent']):9.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench prediction", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("work", type=Path, help="bench/prompt_control/run.sh's folder (phantoms, text, base)")
    parser.add_argument("--train-steps", type=int, default=300, help="steps of each training (default 300)")
    parser.add_argument("--batch-size", type=int, default=8, help="training batch (default 8)")
    parser.add_argument("--x0", type=Path, help="a trained x0-predicting super-resolution checkpoint (no training)")
    parser.add_argument("--v", type=Path, help="a trained v-predicting super-resolution checkpoint (no training)")
    parser.add_argument("--cases", type=int, default=3, help="phantoms per finding (default 3)")
    parser.add_argument("--steps", type=int, default=10, help="DDIM steps of the sampled super-resolution")
    args = parser.parse_args(argv)
    if (args.x0 is None) != (args.v is None):
        parser.error("give both --x0 and --v, or neither (then both are trained)")
    folders = {"x0": args.x0, "v": args.v}
    for prediction, folder in folders.items():
        if folder is None:
            folders[prediction] = trained(args.work, prediction, args.train_steps, args.batch_size)
        elif load_info(folder)["config"]["superres"].get("prediction", "x0") != prediction:
            parser.error(f"{folder} does not predict {prediction}")
    torch.set_grad_enabled(False)
    groups = chosen(find_cases(args.work / "phantoms"), args.cases)
    rows = [("copy the up-sampled condition", "", evaluate(None, args.work, groups, args.steps))]
    for prediction, folder in folders.items():
        rows.append(
            (
                f"predicting {prediction}",
                str(load_info(folder)["step"]),
                evaluate(folder, args.work, groups, args.steps),
            )
        )
    print(table(rows, real_measures(groups), groups, args.steps))


if __name__ == "__main__":
    main()
