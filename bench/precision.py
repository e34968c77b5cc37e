"""fp32 against bf16 autocast on this machine's CPU: one base training step and one guided sampling evaluation.

`python -m bench precision [--config small32] [--repeats 5]` times, on random data of the config's grids, a
training step of the base model (batch of the config, forward, v-loss, backward, AdamW) and a guided evaluation
of the base and the super-resolution models (batch 2, as classifier-free guidance runs them), each in fp32 and under
bf16 autocast, and prints the median seconds and the bf16/fp32 ratio measured in the same run. Whether training and
sampling use bf16 on a CPU is `generator.precision.native_bf16` (CPUs with AVX512-BF16 or AMX).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script: `python bench/precision.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generator.diffusion.denoiser import Denoiser
from generator.nets.configs import get_config, make_base, make_superres
from generator.precision import native_bf16

TEXT_DIM = 192  # the small report encoder's width


def timed(run, repeats: int) -> float:
    """Median seconds of `run()` after one warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        begun = time.perf_counter()
        run()
        times.append(time.perf_counter() - begun)
    return statistics.median(times)


def cases(config_name: str):
    """(label, callable taking an autocast flag) for each timed operation."""
    config = get_config(config_name)
    config = dataclasses.replace(config, base=dataclasses.replace(config.base, text_dim=TEXT_DIM))
    low, full, batch = config.low_size, config.size, config.train.batch_size
    context = torch.randn(batch, config.base.text_length, TEXT_DIM)
    mask = torch.ones(batch, config.base.text_length, dtype=torch.bool)
    base = make_base(config)
    optimizer = torch.optim.AdamW(base.parameters(), lr=1e-4)
    denoiser = Denoiser(base, config.base.prediction)
    x = torch.randn(batch, 4, low, low, low)

    def train_step(bf16: bool) -> None:
        with _autocast(bf16):
            loss = denoiser.loss(x, torch.rand(batch), torch.randn_like(x), context=context, context_mask=mask)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def base_eval(bf16: bool) -> None:
        with torch.no_grad(), _autocast(bf16):
            denoiser(x[:1].expand(2, -1, -1, -1, -1), torch.full((2,), 0.5), context=context[:2], context_mask=mask[:2])

    superres = Denoiser(make_superres(config).eval(), config.superres.prediction)
    y = torch.randn(2, 4, full, full, full)

    def superres_eval(bf16: bool) -> None:
        with torch.no_grad(), _autocast(bf16):
            superres(y, torch.full((2,), 0.2), low=y, low_t=torch.full((2,), 0.02))

    return [
        (f"base training step, batch {batch}, {low}³", train_step),
        (f"base guided evaluation, {low}³", base_eval),
        (f"super-resolution evaluation, {full}³", superres_eval),
    ]


def _autocast(bf16: bool):
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench precision", description=__doc__)
    parser.add_argument("--config", default="small32", help="network config (default small32)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats after a warm-up (default 5)")
    args = parser.parse_args(argv)
    print(f"{torch.get_num_threads()} threads; native bf16 on this CPU: {native_bf16(torch.device('cpu'))}")
    print(f"{'operation':<40} {'fp32 s':>8} {'bf16 s':>8} {'bf16/fp32':>10}")
    for label, run in cases(args.config):
        fp32 = timed(lambda: run(False), args.repeats)
        bf16 = timed(lambda: run(True), args.repeats)
        print(f"{label:<40} {fp32:>8.3f} {bf16:>8.3f} {bf16 / fp32:>10.2f}")


if __name__ == "__main__":
    main()
