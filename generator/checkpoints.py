"""Self-describing checkpoints: one folder that loads with one call.

Layout of a checkpoint folder (the `--out` of `train`):
    checkpoint.json                  stage, configuration, step, digest, data grid, text encoder, file names
    model-<step>.safetensors         training weights
    ema-<step>.safetensors           EMA weights (used for sampling; `digest` is their sha256)
    training-<step>.pt               optimiser state (for an exact `--resume`; all other randomness derives from
                                     the seed and the step)
An exported, sampling-only copy (demo/ship.py) has checkpoint.json and its EMA weights alone, matrices and kernels
in int8 with per-output-channel scales (`quantise`); it loads like any other and cannot be resumed.
Writes are atomic: the step's files are written first, then `checkpoint.json` is replaced in one `os.replace`,
then the previous step's files are removed, so an interruption always leaves the last good checkpoint loadable.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from contracts.digests import file_sha256
from generator.nets.configs import Config, ConfigError, config_from_dict, config_to_dict, make_base, make_superres

FORMAT = 1
SCALE_SUFFIX = ".int8-scale"  # per-output-channel scale of an int8 weight in an exported checkpoint
STAGES = {"base": make_base, "superres": make_superres}


class CheckpointError(Exception):
    """A checkpoint folder that is missing, incomplete or inconsistent."""


@dataclass
class TrainingState:
    """Everything `--resume` needs to continue exactly."""

    stage: str
    config: Config
    step: int
    model: dict
    ema: dict
    optimizer: dict
    info: dict


def save_checkpoint(
    folder: Path,
    *,
    stage: str,
    config: Config,
    step: int,
    model: nn.Module,
    ema: nn.Module,
    optimizer: torch.optim.Optimizer,
    info: dict,
) -> str:
    """Write the step's checkpoint atomically into `folder` and return the EMA weights' digest."""
    folder.mkdir(parents=True, exist_ok=True)
    previous = _read_index(folder) if (folder / "checkpoint.json").exists() else None
    names = {"model": f"model-{step}.safetensors", "ema": f"ema-{step}.safetensors", "training": f"training-{step}.pt"}
    save_file(_contiguous(model.state_dict()), str(folder / names["model"]))
    save_file(_contiguous(ema.state_dict()), str(folder / names["ema"]))
    torch.save({"optimizer": optimizer.state_dict()}, folder / names["training"])
    digest = file_sha256(folder / names["ema"])
    index = {
        "format": FORMAT,
        "stage": stage,
        "step": step,
        "digest": digest,
        "files": names,
        "config": config_to_dict(config),
        **info,
    }
    temporary = folder / f"checkpoint.json.tmp-{os.getpid()}"
    temporary.write_text(json.dumps(index, indent=2))
    os.replace(temporary, folder / "checkpoint.json")
    if previous is not None:
        for name in set(previous["files"].values()) - set(names.values()):
            (folder / name).unlink(missing_ok=True)
    return digest


def load_checkpoint(folder: Path, device: str | torch.device = "cpu") -> tuple[nn.Module, Config, int, str]:
    """The EMA model (eval mode) of a checkpoint folder with its configuration, step and digest."""
    index = _read_index(folder)
    config = _config(index, folder)
    model = STAGES[index["stage"]](config)
    model.load_state_dict(_load_weights(folder, index["files"]["ema"]))
    return model.to(device).eval(), config, int(index["step"]), index["digest"]


def load_info(folder: Path) -> dict:
    """The checkpoint's index (stage, step, digest, data grid, text encoder) without loading weights."""
    return _read_index(folder)


def load_training_state(folder: Path) -> TrainingState:
    """Model, EMA and optimiser states of a checkpoint, to continue training exactly."""
    index = _read_index(folder)
    if "training" not in index["files"]:
        raise CheckpointError(f"{folder}: an exported checkpoint (EMA weights only, for sampling) cannot be resumed")
    training = folder / index["files"]["training"]
    if not training.exists():
        raise CheckpointError(f"{folder}: {training.name} is missing; the checkpoint cannot be resumed")
    extra = torch.load(training, map_location="cpu", weights_only=True)
    info = {k: v for k, v in index.items() if k not in ("format", "stage", "step", "digest", "files", "config")}
    return TrainingState(
        index["stage"],
        _config(index, folder),
        int(index["step"]),
        _load_weights(folder, index["files"]["model"]),
        _load_weights(folder, index["files"]["ema"]),
        extra["optimizer"],
        info,
    )


def _read_index(folder: Path) -> dict:
    path = Path(folder) / "checkpoint.json"
    if not path.exists():
        raise CheckpointError(f"{folder}: no checkpoint.json; is this the --out folder of `train`?")
    try:
        index = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: not valid JSON ({error})") from None
    missing = {"format", "stage", "step", "digest", "files", "config"} - set(index)
    if missing:
        raise CheckpointError(f"{path}: missing keys {sorted(missing)}")
    if index["format"] != FORMAT or index["stage"] not in STAGES:
        raise CheckpointError(f"{path}: unsupported format {index['format']} or stage {index['stage']!r}")
    return index


def _config(index: dict, folder: Path) -> Config:
    try:
        return config_from_dict(index["config"])
    except ConfigError as error:
        raise CheckpointError(f"{folder}/checkpoint.json: {error}") from None


def quantise(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Weights for a sampling-only copy at about half the float16 size: every matrix or convolution kernel in int8
    with one float32 scale per output channel (`<name>.int8-scale`), everything else in float16."""
    stored = {}
    for name, value in weights.items():
        if not value.is_floating_point():
            stored[name] = value
        elif value.ndim < 2:
            stored[name] = value.half()
        else:
            scale = value.abs().amax(dim=tuple(range(1, value.ndim)), keepdim=True).clamp_min(1e-12) / 127
            stored[name] = (value / scale).round().clamp(-127, 127).to(torch.int8)
            stored[f"{name}{SCALE_SUFFIX}"] = scale.flatten().float()
    return stored


def dequantise(stored: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Inverse of `quantise`: float32 weights (integer tensors, such as step counters, unchanged)."""
    weights = {}
    for name, value in stored.items():
        if name.endswith(SCALE_SUFFIX):
            continue
        scale = stored.get(f"{name}{SCALE_SUFFIX}")
        if scale is None:
            weights[name] = value.float() if value.is_floating_point() else value
        else:
            weights[name] = value.float() * scale.float().view(-1, *[1] * (value.ndim - 1))
    return weights


def _load_weights(folder: Path, name: str) -> dict:
    path = Path(folder) / name
    if not path.exists():
        raise CheckpointError(f"{folder}: weights file {name} is missing")
    return dequantise(load_file(str(path)))


def _contiguous(state: dict) -> dict:
    return {k: v.detach().contiguous() for k, v in state.items()}
