"""Training of the base and super-resolution models (paper IV-F), on one device or under `torchrun` (DDP).

AdamW (lr 1e-4, betas 0.9/0.999), gradient-norm clipping at 1, bf16 autocast on GPUs (fp16 with loss scaling where
bf16 is missing), gradient accumulation, EMA weights, condition dropout for classifier-free guidance, atomic
checkpoints. Every random draw of a step (times, noise, dropped reports, crops) comes from a generator seeded with
(seed, step, rank, micro-batch), and the data order from (seed, epoch), so `--resume` continues bit-exactly on CPU.
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
from tqdm import tqdm

from contracts.volumes import LOW_FACTOR
from generator.checkpoints import CheckpointError, load_info, load_training_state, save_checkpoint
from generator.data.dataset import CaseDataset
from generator.data.model_space import upsample
from generator.diffusion.denoiser import Denoiser, add_noise
from generator.diffusion.schedule import training_times
from generator.nets.configs import Config, get_config, make_base, make_superres
from generator.text.encoder import ReportEncoder


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


def superres_inputs(batch: dict, config: Config, gen: torch.Generator, device) -> tuple[torch.Tensor, dict]:
    """Super-resolution stage: a random crop of the full volume and the matching crop of the noised condition."""
    crop, x, low = config.superres.crop, batch["x"], batch["x_low"]
    f = LOW_FACTOR
    corner = [int(torch.randint(0, (s - crop) // f + 1, (1,), generator=gen)) * f for s in x.shape[2:]]
    x = x[..., corner[0] : corner[0] + crop, corner[1] : corner[1] + crop, corner[2] : corner[2] + crop]
    low = upsample(
        low[
            ...,
            corner[0] // f : (corner[0] + crop) // f,
            corner[1] // f : (corner[1] + crop) // f,
            corner[2] // f : (corner[2] + crop) // f,
        ]
    )
    low_t = torch.rand(x.shape[0], generator=gen) * config.superres.low_noise_max
    low = add_noise(low, low_t, torch.randn(low.shape, generator=gen))
    return x.to(device), {"low": low.to(device), "low_t": low_t.to(device)}


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

    dataset = CaseDataset(options.data, full=options.stage == "superres")
    if len(dataset) < world:
        raise TrainingError(f"{options.data}: {len(dataset)} cases for {world} processes")
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
    objective = Denoiser(net, net.config.prediction)
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
    amp_dtype = _amp_dtype(device)
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
    deadline = None if options.max_minutes is None else time.monotonic() + 60 * options.max_minutes
    progress = tqdm(
        range(start, options.steps), initial=start, total=options.steps, disable=rank != 0, desc=options.stage
    )
    for step in progress:
        net.train()
        total = torch.zeros((), device=device)
        for micro in range(options.accumulate):
            gen = step_generator(seed, step, rank, micro)
            batch = next(batches)
            if options.stage == "base":
                x0, cond = base_inputs(batch, encoder, config.train.cond_dropout, gen, device)
            else:
                x0, cond = superres_inputs(batch, config, gen, device)
            t = training_times(x0.shape[0], gen).to(device)
            noise = torch.randn(x0.shape, generator=gen).to(device)
            sync = contextlib.nullcontext() if world == 1 or micro == options.accumulate - 1 else objective.no_sync()
            with sync:
                with torch.autocast(device.type, dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None):
                    loss = objective(x0, t, noise, **cond) / options.accumulate
                scaler.scale(loss).backward()
            total += loss.detach()
        if world > 1:
            dist.all_reduce(total)
            total /= world
        if not math.isfinite(total.item()):
            raise TrainingError(_nan_message(options.out, step))
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(net.parameters(), config.train.clip)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        _update_ema(ema, net, config.train.ema_decay)
        progress.set_postfix(loss=f"{total.item():.4f}")
        done = step + 1
        stop = deadline is not None and _past(deadline, world, device)
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
            progress.close()
            if rank == 0:
                print(
                    f"time limit of {options.max_minutes:g} minutes reached: saved step {done}; --resume continues",
                    file=sys.stderr,
                )
            break
    if world > 1:
        dist.barrier()
    return net


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


def _amp_dtype(device: torch.device) -> torch.dtype | None:
    """bf16 autocast on GPUs that support it, fp16 on older GPUs, none (fp32) on CPU."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


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
