"""Does the report steer the anatomy, finding by finding? One command from phantoms to the paper's Tables II–IV.

`python -m bench text-control WORK [--minutes M]` runs, each stage cached in WORK so that a second call continues:

1. phantoms (WORK/phantoms): `--phantoms` balanced-mix phantoms (`generator.data.findings.MIXES`) on the config's
   grid, so that every prompt's finding is common enough to learn;
2. report encoder (WORK/text): `pretrain-text` on their reports (or `--text-encoder DIR`, e.g. for the Table VII
   ablation with a generic encoder);
3. base (WORK/base) and super-resolution (WORK/superres) training for shares of `--minutes` (2/3 and 1/3), counted
   across calls in WORK/trained.json, with held-out losses per noise level in their held-out.csv;
4. the three prompt experiments of bench/prompt_control/pairs.toml: `--n` seeds per prompt, each measured at the
   base stage (its low-resolution CT interpolated trilinearly to the full grid) and after super-resolution; samples
   are cached in WORK/samples.jsonl by checkpoint digests, sampler settings, prompt and seed;
5. super-resolution fidelity: `--cases` phantoms matching each positive prompt, their own low-resolution volumes
   through the super-resolution model, their truth against what it keeps.

WORK/text-control.json has the issue's schema: findings (measure, positive/negative mean, sd, n, one-tailed Welch
p, the truth of the phantoms whose findings match each prompt), superres_fidelity (truth, kept) and trained
(steps, minutes, device). WORK/text-control-stages.json adds the same comparison at the base stage.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):  # run as a script: `python bench/text_control.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.text_stages import PAIRS, trilinear_ct
from generator.checkpoints import load_info
from generator.data.cases import read_case
from generator.data.dataset import find_cases
from generator.data.model_space import downsample, from_model, to_model
from generator.data.phantoms import write_phantoms
from generator.metrics.anatomy import measure
from generator.model_commands import add_superres_start_arguments
from generator.nets.configs import get_config
from generator.prompt_pairs import read_pairs
from generator.prompt_statistics import spread, welch_greater
from generator.sampling import SamplerSettings, check_settings, load_pipeline, sample_low, seed_noise, super_resolve
from generator.text.configs import text_config
from generator.text.corpus import read_corpus
from generator.text.pretraining import pretrain
from generator.train import TrainOptions, train

SHARES = {"base": 2 / 3, "superres": 1 / 3}
MIN_MINUTES = 0.05  # a stage whose remaining budget is below this is not started again
HELD_OUT = 4
# Which phantoms match each pair's positive prompt (the finding and its grade); the negative prompt is a normal
# report, matched by phantoms without any finding.
POSITIVE = {
    "effusion": lambda f: (
        (f["pleural_effusion"] or {}).get("size") == "large" and f["pleural_effusion"]["side"] == "bilateral"
    ),
    "cardiomegaly": lambda f: (f["cardiomegaly"] or {}).get("grade") == "marked",
    "emphysema": lambda f: (f["emphysema"] or {}).get("severity") == "severe",
}


def phantoms(work: Path, count: int, size: int, workers: int) -> list[Path]:
    """The balanced phantom set, written unless its last case exists."""
    folder = work / "phantoms"
    if not (folder / f"case-{count - 1:04d}" / "meta.json").exists():
        write_phantoms(folder, count, size, seed=7, workers=workers, mix="balanced")
    return find_cases(folder)[:count]


def text_encoder(work: Path, config: str, steps: int) -> Path:
    """The report encoder pre-trained on the phantoms' reports, unless it exists."""
    out = work / "text"
    if not (out / "config.json").exists():
        pretrain(read_corpus(work / "phantoms"), out, text_config(config), steps=steps, device=_device())
    return out


def trained(work: Path, stage: str, config: str, encoder: Path, minutes: float, batch: int | None) -> Path:
    """Train `stage` until it has had its share of `minutes` over all calls (WORK/trained.json)."""
    record_path = work / "trained.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    out = work / stage
    remaining = minutes * SHARES[stage] - record.get(stage, 0.0)
    if remaining >= MIN_MINUTES or not (out / "checkpoint.json").exists():
        begun = time.monotonic()
        train(
            TrainOptions(
                stage=stage,
                config=config,
                data=work / "phantoms",
                out=out,
                steps=10**9,
                text_encoder=encoder if stage == "base" else None,
                batch_size=batch,
                resume=(out / "checkpoint.json").exists(),
                workers=0,
                max_minutes=max(remaining, MIN_MINUTES),
                held_out=HELD_OUT,
                cpu_bf16=True,
            )
        )
        record[stage] = record.get(stage, 0.0) + (time.monotonic() - begun) / 60
        record_path.write_text(json.dumps(record, indent=2))
    return out


class SampleCache:
    """Measured samples in a JSON-lines file, keyed by what made them: a second call reuses them."""

    def __init__(self, path: Path):
        self.path = path
        self.values = {}
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    entry = json.loads(line)
                    self.values[entry["key"]] = entry["values"]

    def get(self, parts: list, compute) -> dict:
        key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
        if key not in self.values:
            self.values[key] = compute()
            with self.path.open("a") as f:
                f.write(json.dumps({"key": key, "values": self.values[key]}) + "\n")
        return self.values[key]


def measures_of(x: np.ndarray, affine: np.ndarray) -> dict:
    """All measures (with the robust effusion) of a model-space volume (4, X, Y, Z)."""
    case = from_model(x, affine)
    return measure(case.ct.astype(np.float32), case.spacing, robust=True)


def generated(pipeline, cache: SampleCache, prompt: str, seed: int, settings: SamplerSettings) -> dict:
    """The measures of one prompt and seed at the base stage (trilinear) and after super-resolution."""

    def compute():
        noise_low, noise_full, noise_condition = seed_noise(seed, pipeline.grid_shape, pipeline.factor)
        low = sample_low(pipeline, prompt, noise_low, settings)
        full = super_resolve(pipeline, low, noise_full, noise_condition, settings)
        return {"base": base_stage_measures(pipeline, low), "superres": measures_of(full, pipeline.affine)}

    return cache.get([_digests(pipeline), settings.describe(), prompt, seed], compute)


def base_stage_measures(pipeline, low: torch.Tensor) -> dict:
    """The measures of a base-stage sample (1, 4, x, y, z): its CT interpolated trilinearly to the full grid."""
    spacing = float(np.linalg.norm(pipeline.affine[:3, 0]))
    return measure(trilinear_ct(low[0, 0].cpu().numpy(), pipeline.grid_shape), spacing, robust=True)


def kept(pipeline, cache: SampleCache, folder: Path, index: int, settings: SamplerSettings) -> dict:
    """The measures of a phantom's own low-resolution volume through the super-resolution model."""

    def compute():
        case = read_case(folder)
        low = downsample(torch.from_numpy(to_model(case)), pipeline.factor)[None]
        gen = torch.Generator().manual_seed(index)
        shape = (1, 4, *pipeline.grid_shape)
        full = super_resolve(
            pipeline, low, torch.randn(shape, generator=gen), torch.randn(shape, generator=gen), settings
        )
        return measures_of(full, case.affine)

    return cache.get([_digests(pipeline), settings.describe(), "kept", folder.name], compute)


def _digests(pipeline) -> list[str]:
    return [entry["digest"] for key, entry in pipeline.provenance.items() if key in ("base", "superres")]


def summary(values: dict[str, list[float]], truth: dict[str, list[float]], name: str) -> dict:
    """One finding's entry of text-control.json."""
    return {
        "measure": name,
        "positive": spread(values["positive"]),
        "negative": spread(values["negative"]),
        "p_one_tailed": welch_greater(values["positive"], values["negative"])["p"],
        "truth": {
            "positive_mean": float(np.mean(truth["positive"])) if truth["positive"] else None,
            "negative_mean": float(np.mean(truth["negative"])) if truth["negative"] else None,
        },
    }


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the phantoms, report encoder and training that this bench shares with encoder-ablation."""
    parser.add_argument("--config", default="small32", help="diffusion config (default small32: 32³ base grid)")
    parser.add_argument("--phantoms", type=int, default=400, help="balanced phantoms (default 400)")
    parser.add_argument("--text-config", default="small", help="report encoder config (default small)")
    parser.add_argument("--text-steps", type=int, default=1500, help="report encoder steps (default 1500)")
    parser.add_argument("--batch-size", type=int, help="training batch (default: the config's)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench text-control", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("work", type=Path, help="folder for every stage's output (cached, resumable)")
    parser.add_argument("--minutes", type=float, default=90.0, help="training minutes in all (default 90)")
    add_training_arguments(parser)
    parser.add_argument("--text-encoder", type=Path, help="use this encoder folder instead of pre-training one")
    parser.add_argument("--n", type=int, default=32, help="samples per prompt (default 32)")
    parser.add_argument("--cases", type=int, default=8, help="phantoms per finding for fidelity (default 8)")
    parser.add_argument("--effusion", choices=("strict", "robust"), default="strict", help="effusion measure")
    parser.add_argument("--sampler", default="ddim", choices=("ddim", "dpmpp-2m"), help="sampler (default ddim)")
    parser.add_argument("--steps-base", type=int, default=50, help="base sampling steps (default 50)")
    parser.add_argument("--steps-superres", type=int, default=20, help="super-resolution steps (default 20)")
    add_superres_start_arguments(parser)
    parser.add_argument("--guidance", type=float, default=3.0, help="classifier-free guidance scale (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="phantom-writing processes (default 2)")
    args = parser.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    config = get_config(args.config)
    folders = phantoms(work, args.phantoms, config.size, args.workers)
    encoder = args.text_encoder or text_encoder(work, args.text_config, args.text_steps)
    for stage in ("base", "superres"):
        trained(work, stage, args.config, encoder, args.minutes, args.batch_size)
    torch.set_grad_enabled(False)
    device = _device()
    pipeline = load_pipeline(work / "base", work / "superres", encoder, device)
    settings = SamplerSettings(
        args.guidance,
        args.steps_base,
        args.steps_superres,
        args.sampler,
        cpu_bf16=True,
        superres_start=args.superres_start,
        superres_rho=args.superres_rho,
    )
    check_settings(pipeline, settings)
    cache = SampleCache(work / "samples.jsonl")
    metas = [(folder, json.loads((folder / "meta.json").read_text())) for folder in folders]
    effusion = "effusion_ml" if args.effusion == "strict" else "effusion_ml_robust"
    findings, stages, fidelity = {}, {}, {}
    for pair in read_pairs(PAIRS):
        name = effusion if pair.measure == "effusion_ml" else pair.measure
        truth_name = "effusion_ml" if name == effusion else name
        matching = {
            "positive": [(f, m) for f, m in metas if POSITIVE[pair.name](m["findings"])],
            "negative": [(f, m) for f, m in metas if not any(m["findings"].values())],
        }
        truth = {side: [m["truth"][truth_name] for _, m in rows] for side, rows in matching.items()}
        values = {"base": {}, "superres": {}}
        for side in ("positive", "negative"):
            prompt = getattr(pair, side)
            for seed in range(args.n):
                result = generated(pipeline, cache, prompt, seed, settings)
                for stage in values:
                    values[stage].setdefault(side, []).append(result[stage][name])
        findings[pair.name] = summary(values["superres"], truth, name)
        stages[pair.name] = summary(values["base"], truth, name)
        chosen = matching["positive"][: args.cases]
        fidelity[name] = {
            "truth": float(np.mean([m["truth"][truth_name] for _, m in chosen])) if chosen else None,
            "kept": float(np.mean([kept(pipeline, cache, f, i, settings)[name] for i, (f, _) in enumerate(chosen)]))
            if chosen
            else None,
        }
    record = json.loads((work / "trained.json").read_text())
    result = {
        "findings": findings,
        "superres_fidelity": fidelity,
        "trained": {
            "base_steps": load_info(work / "base")["step"],
            "superres_steps": load_info(work / "superres")["step"],
            "minutes": round(sum(record.values()), 2),
            "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        },
    }
    (work / "text-control.json").write_text(json.dumps(result, indent=2))
    (work / "text-control-stages.json").write_text(json.dumps({"base_stage": stages}, indent=2))
    print(table(findings, stages, fidelity, result["trained"]))


def table(findings: dict, stages: dict, fidelity: dict, trained_: dict) -> str:
    """The results as text: each finding at both stages, then the super-resolution fidelity."""
    lines = [
        f"Text control: base {trained_['base_steps']} steps, super-resolution {trained_['superres_steps']} steps, "
        f"{trained_['minutes']} training minutes on {trained_['device']}",
        f"{'finding':<13} {'stage':<9} {'positive':>17} {'negative':>17} {'p':>8} {'truth pos':>10} {'truth neg':>10}",
    ]
    for name, entry in findings.items():
        for stage, e in (("base", stages[name]), ("superres", entry)):
            p = e["p_one_tailed"]
            lines.append(
                f"{name:<13} {stage:<9} {_mean_sd(e['positive']):>17} {_mean_sd(e['negative']):>17} "
                f"{'–' if p is None else f'{p:.2g}':>8} {_number(e['truth']['positive_mean']):>10} "
                f"{_number(e['truth']['negative_mean']):>10}"
            )
    lines.append(
        "super-resolution fidelity (phantoms' own low resolution): "
        + ", ".join(f"{k} {_number(v['truth'])} -> {_number(v['kept'])}" for k, v in fidelity.items())
    )
    return "\n".join(lines)


def _mean_sd(side: dict) -> str:
    return f"{side['mean']:.3g} ± {_number(side['sd'])}"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def _device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


if __name__ == "__main__":
    main()
