"""Training of the base and super-resolution models (paper IV-F), on one device or under `torchrun` (DDP).

AdamW (betas 0.9/0.999; lr and its warm-up from the config), gradient-norm clipping at 1, bf16 autocast on GPUs
(fp16 with loss scaling on GPUs without bf16) and, when asked, on CPUs that compute bf16 natively, gradient
accumulation, EMA weights, condition dropout for classifier-free guidance, atomic checkpoints, the loss weighted
per channel and in the soft-tissue window (`generator.diffusion.denoiser`), a CSV log per step and the held-out
loss per noise level (`generator.train_log`). Every random draw of a step (times, noise, dropped reports, crops)
comes from a generator seeded with (seed, step, rank, micro-batch), and the data order from (seed, epoch), so
`--resume` continues bit-exactly on CPU.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import nibabel as nib
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Sampler

from generator.checkpoints import CheckpointError, load_info, load_training_state, save_checkpoint
from generator.data.dataset import CaseDataset
from generator.data.model_space import HU_MAX, HU_MIN
from generator.diffusion.denoiser import Denoiser, LossWeights, TrainingLoss
from generator.diffusion.schedule import training_times
from generator.nets.configs import Config, TrainConfig, get_config, make_base, make_superres
from generator.precision import native_bf16
from generator.sampling import condition
from generator.text.encoder import ReportEncoder
from generator.train_log import HELD_OUT_COLUMNS, LOG_COLUMNS, CsvLog, Progress, held_out_losses

SOFT_TISSUE_HU = (-160.0, 240.0)  # the soft-tissue window W400/L40: pleural fluid, muscle, heart, blood
HU_PER_UNIT = (HU_MAX - HU_MIN) / 2


class TrainingError(Exception):
    """A training run that cannot start or continue (bad data, mismatched checkpoint, NaN loss)."""


@dataclass(frozen=True)
class TrainOptions:
    """What the `train` command was asked to do."""

    stage: str
    config: str
    data: Path
    out: Path
    steps: int
    text_encoder: Path | None = None
    batch_size: int | None = None
    accumulate: int = 1
    resume: bool = False
    seed: int = 0
    workers: int = 2
    save_every: int | None = None
    max_minutes: float | None = None  # stop, with a checkpoint, at the first step boundary after this wall time
    prediction: str | None = None  # the network's raw output, x0 or v, for a new run (default: the config's)
    refine_from: float | None = None  # super-resolution start time t0 for a new run (default: the config's)
    held_out: int = 0  # cases kept out of training, whose loss per noise level is logged to held-out.csv
    eval_every: int | None = None  # steps between held-out evaluations (default: save_every)
    allow_missing_masks: bool = False  # cases lacking masks train, their missing channels left out of the loss
    cpu_bf16: bool = False  # bf16 autocast on a CPU that computes it natively (2.4x faster for small32; see README)


class ShardSampler(Sampler):
    """Endless data order: a fresh permutation per epoch seeded by (seed, epoch), dealt to ranks, from `start`."""

    def __init__(self, n: int, seed: int, rank: int, world: int, start: int = 0):
        self.n, self.seed, self.rank, self.world, self.start = n, seed, rank, world, start

    def __iter__(self) -> Iterator[int]:
        per_rank = self.n // self.world
        epoch, position = divmod(self.start, per_rank)
        while True:
            order = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed * 100_003 + epoch))
            yield from order[self.rank :: self.world][:per_rank][position:].tolist()
            epoch, position = epoch + 1, 0


def step_generator(seed: int, step: int, rank: int, micro: int) -> torch.Generator:
    """The random generator of one micro-batch of one step on one rank."""
    return torch.Generator().manual_seed(((seed * 1_000_003 + step) * 1_009 + rank) * 101 + micro)


def base_inputs(batch: dict, encoder, dropout: float, gen: torch.Generator, device) -> tuple[torch.Tensor, dict]:
    """Base stage: the low-resolution volume and the report features, with reports dropped to "" at `dropout`."""
    drop = torch.rand(len(batch["report"]), generator=gen) < dropout
    reports = ["" if d else r for d, r in zip(drop.tolist(), batch["report"])]
    context, mask = encoder(reports)
    return batch["x_low"].to(device), {"context": context.to(device), "context_mask": mask.to(device)}


def superres_inputs(
    batch: dict, config: Config, gen: torch.Generator, device, corner: list[int] | None = None
) -> tuple[torch.Tensor, dict]:
    """Super-resolution stage: a crop (random unless `corner` is given) of the full volume and the matching crop of
    the condition, noised as `generator.sampling.condition` noises it (at low resolution for a refiner)."""
    crop, x, low, f = config.superres.crop, batch["x"], batch["x_low"], config.factor
    if corner is None:
        corner = [int(torch.randint(0, (s - crop) // f + 1, (1,), generator=gen)) * f for s in x.shape[2:]]
    x = x[..., corner[0] : corner[0] + crop, corner[1] : corner[1] + crop, corner[2] : corner[2] + crop]
    low = low[..., *(slice(c // f, (c + crop) // f) for c in corner)]
    low_t = torch.rand(x.shape[0], generator=gen) * config.superres.low_noise_max
    cond = condition(config.superres, low, low_t, torch.randn(x.shape, generator=gen), f)
    return x.to(device), {"low": cond.to(device), "low_t": low_t.to(device)}


def loss_weights(config: Config) -> LossWeights:
    """The training loss's weights of a configuration, the soft-tissue window in model units."""
    window = tuple((hu - HU_MIN) / (HU_MAX - HU_MIN) * 2 - 1 for hu in SOFT_TISSUE_HU)
    return LossWeights(
        config.train.loss_channels, config.train.soft_tissue_weight, window, config.train.soft_tissue_until
    )


def train(options: TrainOptions) -> torch.nn.Module:
    """Train one stage for `options.steps` optimiser steps (in total, counting resumed ones); return the network."""
    rank, world, device = setup_distributed()
    try:
        return _train(options, rank, world, device)
    finally:
        if world > 1:
            dist.destroy_process_group()


def _train(options: TrainOptions, rank: int, world: int, device: torch.device) -> torch.nn.Module:
    if options.stage not in ("base", "superres"):
        raise TrainingError(f"--stage must be base or superres, got {options.stage!r}")
    if options.accumulate < 1 or options.steps < 1:
        raise TrainingError("--steps and --accumulate must be at least 1")
    state = load_training_state(options.out) if options.resume else None
    if state is not None and state.stage != options.stage:
        raise TrainingError(f"{options.out} holds a {state.stage} checkpoint, not {options.stage}")
    if not options.resume and (options.out / "checkpoint.json").exists():
        raise TrainingError(f"{options.out} already holds a checkpoint; pass --resume to continue it")
    config = state.config if state else get_config(options.config)
    if options.prediction is not None:
        if state is not None and options.prediction != getattr(config, options.stage).prediction:
            raise TrainingError(
                f"{options.out} was trained to predict {getattr(config, options.stage).prediction}; "
                "--prediction cannot change on --resume"
            )
        config = dataclasses.replace(
            config,
            **{options.stage: dataclasses.replace(getattr(config, options.stage), prediction=options.prediction)},
        )
    if options.refine_from is not None:
        if options.stage != "superres" or state is not None:
            raise TrainingError("--refine-from applies to a new super-resolution run only")
        if not 0 < options.refine_from <= 1:
            raise TrainingError(f"--refine-from must be in (0, 1], got {options.refine_from}")
        config = dataclasses.replace(config, superres=dataclasses.replace(config.superres, start_t=options.refine_from))
    seed = state.info["seed"] if state else options.seed
    batch_size = options.batch_size or config.train.batch_size
    save_every = options.save_every or config.train.save_every

    encoder, info = None, {"seed": seed}
    if options.stage == "base":
        encoder_path = options.text_encoder or (Path(state.info["text_encoder"]["path"]) if state else None)
        if encoder_path is None:
            raise TrainingError("the base stage needs --text-encoder DIR (the output of pretrain-text)")
        encoder = ReportEncoder.load(encoder_path, max_length=config.base.text_length, device=device)
        if state is None:
            config = dataclasses.replace(config, base=dataclasses.replace(config.base, text_dim=encoder.dim))
        elif encoder.dim != config.base.text_dim:
            raise TrainingError(
                f"the text encoder's width {encoder.dim} differs from the checkpoint's {config.base.text_dim}"
            )
        info["text_encoder"] = {"path": str(Path(encoder_path).resolve()), "digest": encoder.digest}

    missing_ok = options.allow_missing_masks
    folders = CaseDataset(options.data, allow_missing_masks=missing_ok).folders
    if not 0 <= options.held_out < len(folders):
        raise TrainingError(f"--held-out {options.held_out}: {options.data} holds {len(folders)} cases")
    training_folders = folders[: len(folders) - options.held_out]
    dataset = CaseDataset(
        training_folders, full=options.stage == "superres", factor=config.factor, allow_missing_masks=missing_ok
    )
    if len(dataset) < world:
        raise TrainingError(f"{options.data}: {len(dataset)} cases for {world} processes")
    held_out = (
        CaseDataset(
            folders[len(training_folders) :],
            full=options.stage == "superres",
            factor=config.factor,
            allow_missing_masks=missing_ok,
        )
        if options.held_out
        else None
    )
    info["grid"] = _grid(dataset, config, options.data)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # the same initial weights for the same seed, without touching the global state
        net = (make_base if options.stage == "base" else make_superres)(config).to(device)
    ema = (make_base if options.stage == "base" else make_superres)(config).to(device).requires_grad_(False)
    ema.load_state_dict(net.state_dict())
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.train.lr, betas=config.train.betas)
    start = 0
    if state is not None:
        net.load_state_dict(state.model)
        ema.load_state_dict(state.ema)
        optimizer.load_state_dict(state.optimizer)
        start = state.step
    objective = TrainingLoss(Denoiser(net, net.config.prediction, loss_weights(config)))
    ema_denoiser = Denoiser(ema, ema.config.prediction, loss_weights(config))
    if world > 1:
        objective = DistributedDataParallel(objective, device_ids=[device.index] if device.type == "cuda" else None)

    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=options.workers,
        drop_last=True,
        sampler=ShardSampler(len(dataset), seed, rank, world, start * options.accumulate * batch_size),
        persistent_workers=options.workers > 0,
    )
    batches = iter(loader)
    amp_dtype = _amp_dtype(device, options.cpu_bf16)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    if rank == 0:
        print(
            f"{options.stage}: config {config.name}, {sum(p.numel() for p in net.parameters()):,} parameters, "
            f"{len(dataset)} cases; effective batch = {world} processes x {batch_size} x {options.accumulate} "
            f"accumulation = {world * batch_size * options.accumulate}; steps {start} -> {options.steps}",
            file=sys.stderr,
        )
    if rank == 0 and start >= options.steps:
        print(f"{options.out} is already at step {start}; raise --steps to train further", file=sys.stderr)
    budget_s = None if options.max_minutes is None else 60 * options.max_minutes
    deadline = None if budget_s is None else time.monotonic() + budget_s
    progress = Progress(options.stage, start, options.steps, budget_s, disable=rank != 0)
    if rank == 0:
        options.out.mkdir(parents=True, exist_ok=True)
    log = CsvLog(options.out / "log.csv", LOG_COLUMNS) if rank == 0 else None
    held_log = CsvLog(options.out / "held-out.csv", HELD_OUT_COLUMNS) if rank == 0 and held_out else None
    held_items = _held_out_items(held_out, options.stage, encoder, config, device) if held_log else []
    eval_every = options.eval_every or save_every
    begun = time.monotonic()
    for step in range(start, options.steps):
        step_begun = time.monotonic()
        net.train()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config.train, step)
        total = torch.zeros((), device=device)
        for micro in range(options.accumulate):
            gen = step_generator(seed, step, rank, micro)
            batch = next(batches)
            if options.stage == "base":
                x0, cond = base_inputs(batch, encoder, config.train.cond_dropout, gen, device)
            else:
                x0, cond = superres_inputs(batch, config, gen, device)
            start_t = config.superres.start_t if options.stage == "superres" else 1.0
            t = training_times(x0.shape[0], gen, start=start_t).to(device)
            noise = torch.randn(x0.shape, generator=gen).to(device)
            sync = contextlib.nullcontext() if world == 1 or micro == options.accumulate - 1 else objective.no_sync()
            with sync:
                with torch.autocast(device.type, dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None):
                    loss = objective(x0, t, noise, present=batch["present"].to(device), **cond) / options.accumulate
                scaler.scale(loss).backward()
            total += loss.detach()
        if world > 1:
            dist.all_reduce(total)
            total /= world
        if not math.isfinite(total.item()):
            raise TrainingError(_nan_message(options.out, step))
        scaler.unscale_(optimizer)
        grad_norm = float(torch.nn.utils.clip_grad_norm_(net.parameters(), config.train.clip))
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        _update_ema(ema, net, config.train.ema_decay)
        done = step + 1
        rate = 1 / max(time.monotonic() - step_begun, 1e-9)
        progress.step(done, total.item(), rate)
        if log is not None:
            row = (done, f"{total.item():.6g}", optimizer.param_groups[0]["lr"], f"{grad_norm:.4g}", f"{rate:.4g}")
            log.write(dict(zip(LOG_COLUMNS, (*row, f"{time.monotonic() - begun:.1f}"))))
        stop = deadline is not None and _past(deadline, world, device)
        if held_log is not None and (done % eval_every == 0 or done == options.steps or stop):
            amp = lambda: torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None)  # noqa: E731
            for row in held_out_losses(ema_denoiser, held_items, HU_PER_UNIT, amp=amp):
                held_log.write({"step": done, **row})
        if rank == 0 and (done % save_every == 0 or done == options.steps or stop):
            save_checkpoint(
                options.out,
                stage=options.stage,
                config=config,
                step=done,
                model=net,
                ema=ema,
                optimizer=optimizer,
                info=info,
            )
        if stop:
            if rank == 0:
                print(
                    f"time limit of {options.max_minutes:g} minutes reached: saved step {done}; --resume continues",
                    file=sys.stderr,
                )
            break
    progress.close()
    for opened in (log, held_log):
        if opened is not None:
            opened.close()
    if world > 1:
        dist.barrier()
    return net


def learning_rate(train: TrainConfig, step: int) -> float:
    """The learning rate of optimiser step `step` (from 0): a linear warm-up over `warmup_steps`, then constant."""
    if train.warmup_steps <= 0:
        return train.lr
    return train.lr * min(1.0, (step + 1) / train.warmup_steps)


def _held_out_items(
    dataset: CaseDataset, stage: str, encoder, config: Config, device: torch.device
) -> list[tuple[torch.Tensor, dict]]:
    """The held-out cases as (x0, condition) pairs fixed once: the base stage with each case's own report, the
    super-resolution stage with a centred crop and its condition noised to the sampling time."""
    items = []
    for index in range(len(dataset)):
        item = dataset[index]
        batch = {k: v[None] if torch.is_tensor(v) else [v] for k, v in item.items()}
        gen = torch.Generator().manual_seed(index)
        if stage == "base":
            x0, cond = base_inputs(batch, encoder, 0.0, gen, device)
        else:
            f, crop = config.factor, config.superres.crop
            corner = [(s - crop) // 2 // f * f for s in batch["x"].shape[2:]]
            x0, cond = superres_inputs(batch, config, gen, device, corner)
            cond["low_t"] = torch.full_like(cond["low_t"], config.superres.low_noise_sample)
        items.append((x0, cond))
    return items


def _past(deadline: float, world: int, device: torch.device) -> bool:
    """Whether any process has passed the deadline (all processes must stop at the same step)."""
    late = torch.tensor(float(time.monotonic() > deadline), device=device)
    if world > 1:
        dist.all_reduce(late, op=dist.ReduceOp.MAX)
    return bool(late.item())


@torch.no_grad()
def _update_ema(ema: torch.nn.Module, net: torch.nn.Module, decay: float) -> None:
    """ema ← decay·ema + (1 − decay)·weights, parameter by parameter."""
    torch._foreach_lerp_(list(ema.parameters()), list(net.parameters()), 1.0 - decay)


def _grid(dataset: CaseDataset, config: Config, root: Path) -> dict:
    """Shape and affine of the training data (written into generated cases); checks them against the config."""
    image = nib.load(str(Path(dataset.folders[0]) / "ct.nii.gz"))
    if tuple(image.shape) != (config.size,) * 3:
        raise TrainingError(
            f"{root}: the cases are {'x'.join(map(str, image.shape))} but config {config.name} "
            f"expects {config.size}^3; make the data at --size {config.size} or pick another config"
        )
    return {"shape": list(image.shape), "affine": image.affine.tolist()}


def _amp_dtype(device: torch.device, cpu_bf16: bool = False) -> torch.dtype | None:
    """bf16 autocast on GPUs that support it, fp16 on older GPUs; on a CPU bf16 only when asked (`cpu_bf16`) and
    native there (`generator.precision`), else none (fp32): the tiny config's base model, 16 channels wide, turns
    NaN at its second bf16 step, while small32 trains in bf16 as well as in fp32."""
    if device.type == "cuda":
        return torch.bfloat16 if native_bf16(device) else torch.float16
    return torch.bfloat16 if cpu_bf16 and native_bf16(device) else None


def setup_distributed() -> tuple[int, int, torch.device]:
    """Rank, world size and device; joins the process group (NCCL on GPUs, gloo on CPUs) under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(f"cuda:{local}") if torch.cuda.is_available() else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return dist.get_rank(), world, device
    return 0, 1, device


def _nan_message(out: Path, step: int) -> str:
    """Explain a NaN stop and point at the checkpoint that is still good."""
    try:
        kept = f"the last good checkpoint (step {load_info(out)['step']}) in {out} is intact"
    except CheckpointError:
        kept = "no checkpoint had been written yet"
    return (
        f"the loss became NaN or infinite at step {step + 1}; training stopped without saving, and {kept}. "
        "Check the data for non-finite values or lower the learning rate, then --resume."
    )
