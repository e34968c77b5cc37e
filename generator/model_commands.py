"""Diffusion sub-commands: train, sample, segment, prompt-experiment, study-set, describe.

Registering the commands imports nothing heavy (torch, transformers, scipy are imported by the command that runs),
so that `python -m generator --help` answers at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:
    import numpy as np

    from generator.data.cases import Case

BATCH = 8  # volumes per generate() call: 8 case folders of 256³ hold about 0.7 GB
DEFAULT_GUIDANCE = 3.0  # generator.sampling.DEFAULT_GUIDANCE (not imported here: it would import torch)
SAMPLER_NAMES = ("ddim", "dpmpp-2m")  # generator.sampling.SAMPLERS
THRESHOLDS = ("none", "static", "dynamic")  # generator.diffusion.thresholding.THRESHOLDS


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's sub-commands (each sets `run`, which returns the exit status)."""
    p = sub.add_parser("train", help="train the base (text-conditioned, low-resolution) or super-resolution model")
    p.add_argument(
        "--stage",
        choices=("base", "superres"),
        required=True,
        help="base: the text-conditioned low-resolution model; superres: the super-resolution model",
    )
    p.add_argument("--config", default="small", help="tiny, small, small32 or paper (default: small)")
    p.add_argument("--data", type=Path, required=True, help="folder of case folders")
    p.add_argument("--text-encoder", type=Path, help="report encoder folder (from pretrain-text); base stage only")
    p.add_argument("--out", type=Path, required=True, help="checkpoint folder")
    p.add_argument("--steps", type=int, default=1000, help="total optimiser steps (default: 1000)")
    p.add_argument("--batch-size", type=int, help="per-process batch (default: the config's)")
    p.add_argument("--accumulate", type=int, default=1, help="gradient-accumulation micro-batches per step")
    p.add_argument("--resume", action="store_true", help="continue the checkpoint in --out exactly")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation, data order and noise")
    p.add_argument("--workers", type=int, default=2, help="data-loader worker processes (default: 2)")
    p.add_argument("--save-every", type=int, help="checkpoint every N steps (default: the config's)")
    p.add_argument(
        "--prediction",
        choices=("x0", "v"),
        help="what the network outputs, for a new run (default: the config's, v; x0 is the paper's parameterisation)",
    )
    p.add_argument(
        "--refine-from",
        type=float,
        help="super-resolution, new run: the start time t0 of a refining sampler, trained on t <= t0 "
        "(default: the config's, 0.3; 1 is the paper's full chain from pure noise)",
    )
    p.add_argument(
        "--cpu-bf16",
        action="store_true",
        help="on a CPU with AVX512-BF16 or AMX, train under bf16 autocast (small32: 2.4x faster steps)",
    )
    p.add_argument(
        "--max-minutes",
        type=float,
        help="stop with a checkpoint at the first step after this many "
        "minutes of training (cluster time limits); --resume continues",
    )
    p.add_argument(
        "--held-out",
        type=int,
        default=0,
        help="keep this many cases out of training and log their loss per noise level to held-out.csv",
    )
    p.add_argument("--eval-every", type=int, help="held-out evaluation every N steps (default: --save-every)")
    p.add_argument(
        "--allow-missing-masks",
        action="store_true",
        help="train on cases that lack some masks, leaving those channels out of their loss",
    )
    p.set_defaults(run=run_train)

    for name, text in (
        ("sample", "generate CT volumes with their masks from reports"),
        ("segment", "segment a CT: fix its CT channel and generate lobes, airway and vessels"),
    ):
        p = sub.add_parser(name, help=text)
        _generation_arguments(p, "folder for the case folders")
        if name == "sample":
            prompt = p.add_mutually_exclusive_group(required=True)
            prompt.add_argument("--prompt", help="one report")
            prompt.add_argument("--reports", type=Path, help="text file of reports separated by lines of ---")
            p.add_argument("--n", type=int, default=1, help="samples per report (seeds seed, seed+1, ...)")
            p.add_argument(
                "--fix",
                action="append",
                default=[],
                metavar="CHANNEL=PATH",
                help="hold lobes, airway, vessels or ct to a NIfTI volume (repeatable)",
            )
            p.set_defaults(run=run_sample)
        else:
            p.add_argument("--ct", type=Path, required=True, help="CT NIfTI in HU on the model's grid")
            p.add_argument(
                "--prompt", default="", help="optional report (default: none, and then guidance is not applied)"
            )
            p.set_defaults(run=run_segment)

    p = sub.add_parser(
        "prompt-experiment",
        help="test whether prompts move an anatomy measure the way they say",
        description="For each [[pair]] of PAIRS.toml (name, measure, positive, negative) sample n "
        "volumes per prompt with the same seeds, measure them and test positive > "
        "negative (one-tailed Welch t-test): results.csv, summary.json, summary.md, "
        "prompt-experiment.png.",
    )
    _generation_arguments(p, "folder for the results")
    p.add_argument("--pairs", type=Path, required=True, help="PAIRS.toml with [[pair]] tables")
    p.add_argument("--n", type=int, default=32, help="volumes per prompt (default: 32)")
    p.add_argument("--keep-volumes", action="store_true", help="also write the case folders under OUT/cases/")
    p.set_defaults(run=run_prompt_experiment)

    p = sub.add_parser(
        "study-set",
        help="generate the MedSyn volumes of a reader study and its study.toml",
        description="Generate the [[recognition]] and [[ranking]] volumes of PROMPTS.toml as case "
        "folders under OUT/volumes/ and write OUT/study.toml (for python -m studies build) "
        "and OUT/study-set.json. Under torchrun the volumes are shared across processes.",
    )
    _generation_arguments(p, "folder for volumes/, study.toml and study-set.json")
    p.add_argument("--prompts", type=Path, required=True, help="PROMPTS.toml with [[recognition]] and [[ranking]]")
    p.set_defaults(run=run_study_set)

    p = sub.add_parser("describe", help="print parameter counts and memory estimates of a config as JSON")
    p.add_argument("--config", required=True, help="tiny, small, small32 or paper")
    p.set_defaults(run=run_describe)


def run_train(args: argparse.Namespace) -> int:
    """`train`: one stage, on one device or under torchrun."""
    from generator.train import TrainOptions, train

    options = TrainOptions(
        stage=args.stage,
        config=args.config,
        data=args.data,
        out=args.out,
        steps=args.steps,
        text_encoder=args.text_encoder,
        batch_size=args.batch_size,
        accumulate=args.accumulate,
        resume=args.resume,
        seed=args.seed,
        workers=args.workers,
        save_every=args.save_every,
        max_minutes=args.max_minutes,
        prediction=args.prediction,
        refine_from=args.refine_from,
        held_out=args.held_out,
        eval_every=args.eval_every,
        allow_missing_masks=args.allow_missing_masks,
        cpu_bf16=args.cpu_bf16,
    )

    def work():
        train(options)
        print(f"checkpoint: {options.out}")

    return _guarded(work, "train")


def run_sample(args: argparse.Namespace) -> int:
    """`sample`: reports in, case folders out."""

    def work():
        prompts = [args.prompt] if args.prompt is not None else _read_reports(args.reports)
        fixed = dict(_read_fixed(spec) for spec in args.fix)
        prompts = [p for p in prompts for _ in range(args.n)]
        seeds = [args.seed + i for i in range(len(prompts))]
        _write(prompts, seeds, args, fixed)

    return _guarded(work)


def run_segment(args: argparse.Namespace) -> int:
    """`segment`: CT in, case folder with generated lobes, airway and vessels out (without a prompt the conditional
    and unconditional predictions are the same, so guidance would only double the cost)."""
    if not args.prompt:
        args.guidance = 1.0
    return _guarded(
        lambda: _write([args.prompt], [args.seed], args, {"ct": _read_volume(args.ct, "ct")}, prefix="segmentation")
    )


def run_prompt_experiment(args: argparse.Namespace) -> int:
    """`prompt-experiment`: pairs of prompts in, measured volumes, t-tests, a table and a plot out."""
    from generator.prompt_experiment import run_experiment
    from generator.prompt_pairs import read_pairs
    from generator.prompt_report import summary_table

    def work():
        if args.n < 1:
            raise CommandError("--n must be at least 1")
        pairs = read_pairs(args.pairs)
        summaries = run_experiment(
            pairs, args.out, n=args.n, seed=args.seed, cases=_sampler(args), keep_volumes=args.keep_volumes
        )
        print(summary_table(summaries), end="")
        print(f"wrote results.csv, summary.json, summary.md and prompt-experiment.png to {args.out}")

    return _guarded(work, "measure")


def run_study_set(args: argparse.Namespace) -> int:
    """`study-set`: PROMPTS.toml in, case folders, study.toml and study-set.json out."""
    from generator.study_set import make_study_set, read_plan

    def work():
        plan = read_plan(args.prompts, args.seed)
        manifest = make_study_set(plan, args.out, _sampler(args), args.device)
        if manifest is not None:
            print(f"wrote {len(plan.volumes)} volumes, {manifest} and {manifest.with_name('study-set.json')}")

    return _guarded(work, "study-set")


def run_describe(args: argparse.Namespace) -> int:
    """`describe`: sizes from the meta device, printed as JSON."""
    from generator.nets.configs import get_config
    from generator.nets.describe import describe

    return _guarded(lambda: print(json.dumps(describe(get_config(args.config)), indent=2)))


class CommandError(Exception):
    """A user mistake on the command line (missing file, malformed option)."""


def _generation_arguments(p: argparse.ArgumentParser, out_help: str) -> None:
    """The checkpoints, output folder and sampler settings every generating command takes."""
    p.add_argument("--base", type=Path, required=True, help="base checkpoint folder")
    p.add_argument("--superres", type=Path, required=True, help="super-resolution checkpoint folder")
    p.add_argument("--text-encoder", type=Path, required=True, help="the base model's report encoder folder")
    p.add_argument("--out", type=Path, required=True, help=out_help)
    p.add_argument(
        "--guidance",
        type=float,
        default=DEFAULT_GUIDANCE,
        help=f"classifier-free guidance scale (1 = conditional only; default: {DEFAULT_GUIDANCE:g})",
    )
    p.add_argument("--steps-base", type=int, default=50, help="sampling steps of the base (low-resolution) stage")
    p.add_argument("--steps-superres", type=int, default=20, help="sampling steps of the super-resolution stage")
    p.add_argument("--sampler", choices=SAMPLER_NAMES, default="ddim", help="ddim or dpmpp-2m (default: ddim)")
    add_superres_start_arguments(p)
    p.add_argument(
        "--threshold",
        choices=THRESHOLDS,
        default="static",
        help="thresholding of the x0 estimate at every step (default: static, clip to [-1, 1])",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the first sample; the next ones use seed + 1, ...")
    p.add_argument("--device", help="torch device (default: cuda when one is present, else cpu)")
    p.add_argument("--tile", type=int, help="run super-resolution on overlapping tiles of this size (memory)")


def add_superres_start_arguments(p: argparse.ArgumentParser) -> None:
    """Where the super-resolution chain starts and how its steps are spaced (generator.sampling.SamplerSettings)."""
    p.add_argument(
        "--superres-start",
        type=float,
        help="start the super-resolution chain at this noise level t (at most the model's trained start_t, the "
        "default): lower keeps more of the up-sampled base volume",
    )
    p.add_argument(
        "--superres-rho",
        type=float,
        default=1.0,
        help="spacing of the super-resolution steps, t_i = start·(1 − i/steps)^rho (default 1: uniform; larger "
        "spends more steps at low noise)",
    )


def _sampler(args: argparse.Namespace) -> Callable[..., Iterator[Case]]:
    """`cases(prompts, seeds, *, fixed=None, device=None)`: the command's checkpoints and sampler settings, loaded
    once per command and device, generating BATCH volumes at a time so that memory holds a batch, not the whole run."""
    from generator.sampling import SamplerSettings, generate, load_pipeline

    settings = SamplerSettings(
        guidance=args.guidance,
        steps_base=args.steps_base,
        steps_superres=args.steps_superres,
        sampler=args.sampler,
        threshold=args.threshold,
        tile=args.tile,
        superres_start=args.superres_start,
        superres_rho=args.superres_rho,
    )
    pipelines = {}

    def cases(
        prompts: list[str], seeds: list[int], *, fixed: dict | None = None, device: str | None = None
    ) -> Iterator[Case]:
        device = device or args.device or _default_device()
        if device not in pipelines:
            pipelines[device] = load_pipeline(args.base, args.superres, args.text_encoder, device)
        for start in range(0, len(prompts), BATCH):
            yield from generate(
                pipelines[device], prompts[start : start + BATCH], seeds[start : start + BATCH], settings, fixed=fixed
            )

    return cases


def _write(prompts: list[str], seeds: list[int], args: argparse.Namespace, fixed: dict, prefix: str = "sample"):
    from generator.sampling import write_samples

    cases = list(_sampler(args)(prompts, seeds, fixed=fixed or None))
    for folder in write_samples(cases, args.out, prefix):
        print(folder)


def _read_reports(path: Path) -> list[str]:
    """Reports of a text file, separated by lines holding only `---`."""
    if not path.is_file():
        raise CommandError(f"{path}: no such reports file")
    blocks, current = [], []
    for line in path.read_text().splitlines():
        if line.strip() == "---":
            blocks.append("\n".join(current).strip())
            current = []
        else:
            current.append(line)
    reports = [block for block in blocks + ["\n".join(current).strip()] if block]
    if not reports:
        raise CommandError(f"{path}: no reports in the file")
    return reports


def _read_fixed(spec: str) -> tuple[str, np.ndarray]:
    """`CHANNEL=PATH` of a --fix option as (channel, array)."""
    name, sep, path = spec.partition("=")
    if not sep or name not in ("ct", "lobes", "airway", "vessels"):
        raise CommandError(f"--fix {spec!r}: expected CHANNEL=PATH with CHANNEL one of ct, lobes, airway, vessels")
    return name, _read_volume(Path(path), name)


def _read_volume(path: Path, name: str) -> np.ndarray:
    import nibabel as nib
    import numpy as np

    if not path.is_file():
        raise CommandError(f"{path}: no such NIfTI file for {name}")
    try:
        return np.asanyarray(nib.load(str(path)).dataobj)
    except Exception as error:  # nibabel raises several unrelated types for unreadable files
        raise CommandError(f"{path}: cannot be read as NIfTI ({error})") from None


def _guarded(work, *extra: str) -> int:
    """Run `work`; print domain errors (those of every command, and of the `extra` groups: "train", "measure",
    "study-set") as `error: ...` on stderr and return 2, else 0."""
    try:
        work()
    except _domain_errors(extra) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _domain_errors(extra: tuple[str, ...]) -> tuple[type[Exception], ...]:
    """The exception types a command reports as a user's mistake (imported only when a command runs)."""
    from generator.checkpoints import CheckpointError
    from generator.data.cases import CaseError
    from generator.nets.configs import ConfigError
    from generator.prompt_files import PromptFileError
    from generator.sampling import SamplingError
    from generator.text.errors import TextError

    errors = [CommandError, CheckpointError, ConfigError, CaseError, TextError, SamplingError, PromptFileError]
    if "train" in extra:
        from generator.train import TrainingError

        errors.append(TrainingError)
    if "measure" in extra:
        from generator.metrics.anatomy import MeasureError

        errors.append(MeasureError)
    if "study-set" in extra:
        from generator.study_set import StudySetError

        errors.append(StudySetError)
    return tuple(errors)


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
