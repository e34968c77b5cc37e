"""What a training run shows while it runs: a CSV row per step, the held-out loss per noise level at intervals, and a
progress bar against the run's time budget (or its steps when it has none).

log.csv: step, loss, lr, grad_norm (before clipping), steps_per_s (of that step), elapsed_s (of this process).
held-out.csv: step, t, loss (the training objective with fixed noise, no report dropout), ct_rmse_hu (of the EMA
denoiser's x0 estimate's CT channel): how well each noise level is learned, on cases the run never trains on.
"""

from __future__ import annotations

import contextlib
import csv
import time
from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

LOG_COLUMNS = ("step", "loss", "lr", "grad_norm", "steps_per_s", "elapsed_s")
HELD_OUT_COLUMNS = ("step", "t", "loss", "ct_rmse_hu")
HELD_OUT_TIMES = (0.02, 0.05, 0.1, 0.3, 0.9)


class CsvLog:
    """Rows appended to a CSV file (its header written when the file is new), flushed after every row."""

    def __init__(self, path: Path, columns: tuple[str, ...]):
        new = not path.exists()
        self.file = path.open("a", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=columns)
        if new:
            self.writer.writeheader()

    def write(self, row: dict) -> None:
        self.writer.writerow(row)
        self.file.flush()

    def close(self) -> None:
        self.file.close()


class Progress:
    """A progress bar against the time budget (seconds) when there is one, else against the steps."""

    def __init__(self, stage: str, start: int, steps: int, budget_s: float | None, disable: bool):
        self.begun, self.budget_s = time.monotonic(), budget_s
        if budget_s is None:
            self.bar = tqdm(total=steps, initial=start, desc=stage, unit="step", disable=disable)
        else:
            self.bar = tqdm(
                total=round(budget_s),
                desc=f"{stage} (time budget)",
                unit="s",
                disable=disable,
                bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}{postfix}]",
            )

    def step(self, done: int, loss: float, rate: float) -> None:
        """Show step `done` with its loss and the recent steps per second."""
        self.bar.set_postfix_str(f"step {done}, loss {loss:.4f}, {rate:.2f} steps/s", refresh=False)
        if self.budget_s is None:
            self.bar.update(1)
        else:
            self.bar.update(min(time.monotonic() - self.begun, self.budget_s) - self.bar.n)

    def close(self) -> None:
        self.bar.close()


@torch.no_grad()
def held_out_losses(
    denoiser: torch.nn.Module,
    items: list[tuple[torch.Tensor, dict]],
    hu_per_unit: float,
    times: tuple[float, ...] = HELD_OUT_TIMES,
    amp: Callable = contextlib.nullcontext,
) -> list[dict]:
    """Per time in `times`: the mean loss and CT RMSE (HU) of `denoiser` over held-out (x0, cond) items, each
    noised with noise fixed by its index and the time (so every evaluation sees the same noise)."""
    from generator.diffusion.denoiser import add_noise

    rows = []
    for t_value in times:
        losses, errors = [], []
        for index, (x0, cond) in enumerate(items):
            gen = torch.Generator().manual_seed(index * 1_000 + round(t_value * 1_000))
            noise = torch.randn(x0.shape, generator=gen).to(x0.device)
            t = torch.full((x0.shape[0],), t_value, device=x0.device)
            with amp():
                losses.append(float(denoiser.loss(x0, t, noise, **cond)))
                estimate = denoiser(add_noise(x0, t, noise), t, **cond).float()
            errors.append(float((estimate[:, 0] - x0[:, 0].float()).square().mean()))
        rows.append(
            {
                "t": t_value,
                "loss": round(sum(losses) / len(losses), 6),
                "ct_rmse_hu": round((sum(errors) / len(errors)) ** 0.5 * hu_per_unit, 2),
            }
        )
    return rows
