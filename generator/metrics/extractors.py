"""The feature extractors `evaluate` can use, behind one interface: the project's phantom-trained CNN, a
fixed-seed random CNN, and MedicalNet/Med3D 3D ResNets (Chen et al. 2019, the paper's ref. [37]) from a
local `.pth` file. MedicalNet features: global average pooling after the last residual stage (layer4)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from generator.metrics.features import FeatureConfig, FeatureError, load_extractor, prepare, random_extractor

MEDICALNET_DEPTHS = (10, 18, 34, 50)
MEDICALNET_INPUT = 128


@dataclass
class Extractor:
    """A model with `features(x)`, (B, 1, S, S, S) → (B, C), its input grid, normalisation and provenance."""

    model: nn.Module
    input_size: int
    standardise: bool
    description: dict


def embed(extractor: Extractor, ct: np.ndarray) -> np.ndarray:
    """Feature vector (C,) float64 of one HU volume."""
    x = prepare(ct, extractor.input_size, extractor.standardise)[None]
    with torch.no_grad():
        return extractor.model.features(x)[0].double().numpy()


def project_extractor(folder: Path) -> Extractor:
    """The CNN written by `train-features` (features: global average pooling after its last stage)."""
    model, config, digest = load_extractor(folder)
    return Extractor(
        model,
        config.input_size,
        False,
        {
            "name": "phantom-findings-cnn",
            "path": str(folder),
            "digest": digest,
            "input": f"{config.input_size}^3",
            "layer": "global average pooling after the last convolution stage",
            "dim": config.channels[-1],
        },
    )


def seeded_extractor(seed: int = 0, config: FeatureConfig = FeatureConfig()) -> Extractor:
    """An untrained CNN with fixed-seed weights: reproducible, but blind to what training would teach."""
    model = random_extractor(seed, config)
    return Extractor(
        model,
        config.input_size,
        False,
        {
            "name": "random-cnn",
            "seed": seed,
            "input": f"{config.input_size}^3",
            "layer": "global average pooling after the last convolution stage",
            "dim": model.head.in_features,
        },
    )


class _PooledResNet(nn.Module):
    """A MONAI 3D ResNet without its classifier: `features` = global average pooling after layer4."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, S, S, S) z-scored CT → (B, 512 or 2048)."""
        return self.net(x)


def medicalnet_extractor(path: Path, depth: int) -> Extractor:
    """A MedicalNet ResNet-`depth` from its released `.pth` (keys under `state_dict`, `module.` prefixes);
    input: CT z-scored over the body and resampled to 128³; features after layer4's global average pool."""
    from monai.networks.nets import resnet

    path = Path(path)
    if depth not in MEDICALNET_DEPTHS:
        raise FeatureError(f"MedicalNet depth must be one of {MEDICALNET_DEPTHS}, got {depth}")
    if not path.is_file():
        raise FeatureError(f"{path}: no such MedicalNet weights file")
    try:
        checkpoint = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for files that are not checkpoints
        raise FeatureError(f"{path}: not a readable PyTorch checkpoint ({exc})") from None
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise FeatureError(f"{path}: holds no state dict")
    state = {
        k.removeprefix("module."): v
        for k, v in state.items()
        if not k.removeprefix("module.").startswith(("fc.", "conv_seg."))
    }
    shortcut = "A" if depth in (10, 18, 34) and not any(".downsample." in k for k in state) else "B"
    net = getattr(resnet, f"resnet{depth}")(
        spatial_dims=3,
        n_input_channels=1,
        feed_forward=False,
        shortcut_type=shortcut,
        conv1_t_size=7,
        conv1_t_stride=2,
        bias_downsample=False,
    )
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise FeatureError(
            f"{path}: does not match MedicalNet ResNet-{depth} "
            f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})"
        )
    return Extractor(
        _PooledResNet(net).eval(),
        MEDICALNET_INPUT,
        True,
        {
            "name": f"medicalnet-resnet{depth}",
            "path": str(path),
            "input": f"{MEDICALNET_INPUT}^3, z-scored",
            "layer": "global average pooling after layer4",
            "dim": 2048 if depth == 50 else 512,
        },
    )
