"""`train-features`: fit the project's feature CNN to classify phantom findings, so FID/MMD work offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from generator.data.cases import read_case
from generator.metrics.features import FeatureConfig, FeatureError, FindingsNet, finding_labels, prepare, save_extractor


def case_folders(root: Path) -> list[Path]:
    """Case folders directly under root (those holding ct.nii.gz), sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise FeatureError(f"{root}: no such folder")
    return sorted(p for p in root.iterdir() if (p / "ct.nii.gz").is_file())


def train_features(
    data: Path,
    out: Path,
    *,
    epochs: int = 20,
    batch_size: int = 4,
    lr: float = 1e-3,
    seed: int = 0,
    config: FeatureConfig = FeatureConfig(),
) -> dict:
    """Train FindingsNet (multi-label BCE over the four findings, Adam, random left-right flips) on the
    phantoms under `data`, save it to `out` and return its summary (digest, cases, epochs, final loss)."""
    folders = case_folders(data)
    if len(folders) < 2:
        raise FeatureError(f"{data}: train-features needs at least 2 case folders, found {len(folders)}")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for folder in tqdm(folders, desc="loading", unit="case"):
        case = read_case(folder)
        try:
            ys.append(finding_labels(case.meta))
        except FeatureError as exc:
            raise FeatureError(f"{folder}: {exc}") from None
        xs.append(prepare(case.ct, config.input_size))
    x, y = torch.stack(xs), torch.stack(ys)
    model = FindingsNet(config)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    loss_value = float("nan")
    for _ in tqdm(range(epochs), desc="training", unit="epoch"):
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), batch_size):
            idx = torch.from_numpy(order[start : start + batch_size])
            batch = x[idx]
            flip = torch.from_numpy(rng.random(len(idx)) < 0.5)
            batch[flip] = batch[flip].flip(dims=(2,))  # (b, 1, S, S, S): dim 2 is x (left-right)
            loss = loss_fn(model(batch), y[idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(idx)
        loss_value = total / len(x)
    model.eval()
    with torch.no_grad():
        accuracy = float(((model(x) > 0).float() == y).float().mean())
    history = {
        "cases": len(x),
        "epochs": epochs,
        "final_loss": round(loss_value, 4),
        "train_accuracy": round(accuracy, 4),
        "seed": seed,
    }
    digest = save_extractor(model, config, out, history)
    return {"digest": digest, **history}
