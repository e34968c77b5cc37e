"""3D feature extractors for FID/MMD: the project's own small CNN trained on phantom findings, saved
self-describing (config.json + model.safetensors + digest), and the input preparation both extractors share.

Feature layer of the project's extractor: global average pooling after the last convolution stage
(128 values per volume), before the finding-classification head.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from contracts.digests import file_sha256
from contracts.volumes import HU_WINDOW

FINDINGS = ("pleural_effusion", "cardiomegaly", "consolidation", "emphysema")
KIND = "medsyn-phantom-findings-cnn"


class FeatureError(Exception):
    """A feature extractor folder or file that cannot be used, said with the path and what is wrong."""


@dataclass(frozen=True)
class FeatureConfig:
    """Shape of the project's extractor: input grid (voxels per axis) and channels of its four stages."""

    input_size: int = 64
    channels: tuple[int, ...] = (16, 32, 64, 128)


class FindingsNet(nn.Module):
    """Four stride-2 conv stages (GroupNorm, SiLU), global average pooling, a linear head over FINDINGS."""

    def __init__(self, config: FeatureConfig):
        super().__init__()
        layers, width = [], 1
        for out in config.channels:
            layers += [
                nn.Conv3d(width, out, 3, stride=2, padding=1),
                nn.GroupNorm(min(8, out), out),
                nn.SiLU(),
                nn.Conv3d(out, out, 3, padding=1),
                nn.GroupNorm(min(8, out), out),
                nn.SiLU(),
            ]
            width = out
        self.stages = nn.Sequential(*layers)
        self.head = nn.Linear(width, len(FINDINGS))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, S, S, S) prepared CT → (B, C) pooled features of the last stage."""
        return self.stages(x).mean(dim=(2, 3, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, S, S, S) → (B, len(FINDINGS)) finding logits."""
        return self.head(self.features(x))


def prepare(ct: np.ndarray, size: int, standardise: bool = False) -> torch.Tensor:
    """HU volume → (1, size, size, size) float tensor: clipped to [−1024, 600] and scaled to [−1, 1]
    (or z-scored over the body, MedicalNet's convention, when `standardise`), then area-averaged (or
    trilinearly resampled where the volume is smaller) to size³."""
    x = torch.from_numpy(np.clip(np.asarray(ct, np.float32), *HU_WINDOW))
    if standardise:
        body = x > -500
        ref = x[body] if body.any() else x.flatten()
        x = (x - ref.mean()) / (ref.std() + 1e-6)
    else:
        x = (x - HU_WINDOW[0]) / (HU_WINDOW[1] - HU_WINDOW[0]) * 2 - 1
    x = x[None, None]
    if min(x.shape[2:]) >= size:
        x = F.adaptive_avg_pool3d(x, size)
    else:
        x = F.interpolate(x, size=(size,) * 3, mode="trilinear", align_corners=False)
    return x[0]


def finding_labels(meta: dict) -> torch.Tensor:
    """Multi-hot float labels over FINDINGS from a phantom's meta.json (a finding is present if not null)."""
    findings = meta.get("findings")
    if not isinstance(findings, dict):
        raise FeatureError("meta.json has no 'findings' object (train-features needs phantoms)")
    return torch.tensor([1.0 if findings.get(name) else 0.0 for name in FINDINGS])


def save_extractor(model: FindingsNet, config: FeatureConfig, folder: Path, history: dict) -> str:
    """Write model.safetensors and config.json (with the weights' SHA-256 digest) into folder; return it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / "model.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    digest = file_sha256(weights)
    meta = {
        "kind": KIND,
        "config": asdict(config),
        "findings": list(FINDINGS),
        "digest": digest,
        "feature_layer": "global average pooling after the last convolution stage",
        **history,
    }
    (folder / "config.json").write_text(json.dumps(meta, indent=2))
    return digest


def load_extractor(folder: Path) -> tuple[FindingsNet, FeatureConfig, str]:
    """Load a folder written by save_extractor, checking its kind and weights' digest."""
    folder = Path(folder)
    config_path, weights = folder / "config.json", folder / "model.safetensors"
    for path in (config_path, weights):
        if not path.is_file():
            raise FeatureError(f"{folder}: not a feature extractor folder ({path.name} is missing)")
    try:
        meta = json.loads(config_path.read_text())
    except json.JSONDecodeError as exc:
        raise FeatureError(f"{config_path}: not valid JSON ({exc})") from None
    if meta.get("kind") != KIND:
        raise FeatureError(f"{config_path}: kind is {meta.get('kind')!r}, expected {KIND!r}")
    digest = file_sha256(weights)
    if digest != meta.get("digest"):
        raise FeatureError(f"{weights}: SHA-256 {digest[:12]}… differs from config.json's digest")
    config = FeatureConfig(input_size=int(meta["config"]["input_size"]), channels=tuple(meta["config"]["channels"]))
    model = FindingsNet(config)
    model.load_state_dict(load_file(str(weights)))
    return model.eval(), config, digest


def random_extractor(seed: int = 0, config: FeatureConfig = FeatureConfig()) -> FindingsNet:
    """An untrained extractor with PyTorch's default initialisation drawn from a fixed seed (a reproducible
    baseline and the tests' extractor); the global random state is left untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = FindingsNet(config)
    return model.eval()
