"""Named configurations (`tiny`, `small`, `paper`) of the two networks, their grids and their training.

`tiny` is for tests (CPU seconds), `small` for the demo (CPU minutes on 64³ phantoms; its base grid is 16³, 21 mm
voxels, too coarse to hold a pleural effusion), `small32` the same networks with a 2× low-resolution factor (base
grid 32³, 10.5 mm voxels) for the text-control experiment, `paper` matches the paper's
sizes: ≈700 M parameters in the base model at 64³ and a ≈50 M super-resolution model at 256³. The authors' code
uses base width 160 with multipliers (1, 2, 4, 8); with this module's decoder (res_blocks + 1 blocks per level,
as in Dhariwal & Nichol's UNet) that layout has 1.1 B parameters, so `paper` keeps the multipliers and narrows the
width to 128 (707 M); the super-resolution model keeps width 56 with multipliers (1, 2, 4, 4) (52 M).
The authors' code down-samples in-plane only (`in_plane=True`, kept as an option); for isotropic 64³ volumes we
down-sample all three axes: with the same parameters that makes a training step 1.8× faster and 1.3× smaller in
memory on the CPU (bench/unet_attention.py), because the bottom attention sees 8³ = 512 positions instead of
8 × 8 × 64 = 4,096.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch

from contracts.volumes import LOW_FACTOR
from generator.nets.superres import SuperResUNet
from generator.nets.unet3d import BaseUNet

PREDICTIONS = ("x0", "v")  # the raw outputs generator.diffusion.denoiser understands
NOISE_SPACES = ("low", "full")
# What a configuration saved before a field existed meant by it: these give old checkpoints their old behaviour.
LEGACY = {
    "config": {"factor": LOW_FACTOR},
    "base": {"prediction": "x0", "time_features": None, "pooled_text": False},
    "superres": {"prediction": "x0", "time_features": None, "low_noise_space": "full", "start_t": 1.0},
    "train": {
        "loss_channels": (1.0, 1.0, 1.0, 1.0),
        "soft_tissue_weight": 0.0,
        "warmup_steps": 0,
        "soft_tissue_until": 1.0,
    },
}


class ConfigError(ValueError):
    """An unknown configuration name or a malformed configuration dictionary."""


@dataclass(frozen=True)
class BaseConfig:
    """Base UNet: channel width, per-level multipliers, ResBlocks per level, bottom attention heads and depth."""

    width: int
    mults: tuple[int, ...]
    res_blocks: int
    heads: int
    depth: int
    text_dim: int = 768  # replaced by the report encoder's width when training starts
    text_length: int = 128  # report tokens; the authors' code uses 192
    channels: int = 4
    in_plane: bool = False  # down-sample x and y only (the authors' layout); see bench/unet_layout.py for the cost
    prediction: str = "v"  # the network's raw output, "x0" or "v" (generator.diffusion.denoiser)
    time_features: int | None = 64  # sinusoidal time features (None: the width, as before; 4 for a width of 8)
    pooled_text: bool = True  # the report's mean token feature joins the time embedding of every block


@dataclass(frozen=True)
class SuperResConfig:
    """Super-resolution UNet, its training crop, its condition noise (a diffusion time in [0, 1]) and its start.

    A refiner (Ho et al. 2022, "Cascaded diffusion models", section 3.2): the condition's augmentation noise is
    added to the low-resolution volume and then up-sampled (`low_noise_space` "low"; "full" noises every
    up-sampled voxel, as before), and sampling starts from the up-sampled condition noised to `start_t` rather than
    from pure noise at t = 1 (1.0 is the paper's full chain); training then draws times t ≤ start_t only.
    """

    width: int
    mults: tuple[int, ...]
    res_blocks: int
    heads: int
    crop: int
    low_noise_max: float = 0.1  # training: the condition is noised to a time drawn from [0, low_noise_max]
    low_noise_sample: float = 0.02  # sampling: the base model's output is noised to this time
    channels: int = 4
    prediction: str = "v"
    time_features: int | None = 64
    low_noise_space: str = "low"
    start_t: float = 0.3


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings shared by both stages (paper IV-F)."""

    lr: float = 1e-4
    warmup_steps: int = 0  # the learning rate rises linearly from lr / warmup_steps to lr over these first steps
    betas: tuple[float, float] = (0.9, 0.999)
    clip: float = 1.0
    ema_decay: float = 0.999
    cond_dropout: float = 0.1  # fraction of reports replaced by the empty report, for classifier-free guidance
    batch_size: int = 1
    save_every: int = 500
    loss_channels: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)  # squared-error weight of ct, lobes, airway, vessels
    soft_tissue_weight: float = 1.0  # extra CT error in the soft-tissue window (generator.diffusion.denoiser)
    soft_tissue_until: float = 0.1  # ... at noise levels t ≤ this only, where it does not bias the estimate


@dataclass(frozen=True)
class Config:
    """A named configuration: full grid size (the base model runs at size / factor), both networks and training."""

    name: str
    size: int
    base: BaseConfig
    superres: SuperResConfig
    train: TrainConfig = field(default_factory=TrainConfig)
    factor: int = LOW_FACTOR  # the low-resolution factor: nearest-neighbour down-sampling of the base model's volumes

    @property
    def low_size(self) -> int:
        return self.size // self.factor


CONFIGS = {
    "tiny": Config(
        "tiny",
        32,
        BaseConfig(width=16, mults=(1, 2, 2), res_blocks=1, heads=2, depth=1, text_length=64),
        SuperResConfig(width=8, mults=(1, 2, 2), res_blocks=1, heads=2, crop=16),
        TrainConfig(ema_decay=0.9, save_every=50),
    ),
    "small": Config(
        "small",
        64,
        BaseConfig(width=32, mults=(1, 2, 4), res_blocks=1, heads=4, depth=1),
        SuperResConfig(width=16, mults=(1, 2, 2), res_blocks=1, heads=2, crop=32),
        TrainConfig(ema_decay=0.99, batch_size=4, save_every=100),
    ),
    "small32": Config(
        "small32",
        64,
        BaseConfig(width=32, mults=(1, 2, 4), res_blocks=1, heads=4, depth=1),
        SuperResConfig(width=16, mults=(1, 2, 2), res_blocks=1, heads=2, crop=32),
        TrainConfig(lr=5e-4, warmup_steps=200, ema_decay=0.995, batch_size=4, save_every=100),
        factor=2,
    ),
    "paper": Config(
        "paper",
        256,
        BaseConfig(width=128, mults=(1, 2, 4, 8), res_blocks=2, heads=16, depth=4, text_length=192),
        SuperResConfig(width=56, mults=(1, 2, 4, 4), res_blocks=2, heads=8, crop=128),
        TrainConfig(batch_size=1, save_every=1000),
    ),
}


def get_config(name: str) -> Config:
    """The named configuration; ConfigError lists the known names."""
    if name not in CONFIGS:
        raise ConfigError(f"unknown config {name!r}; choose one of {', '.join(CONFIGS)}")
    return CONFIGS[name]


def config_to_dict(config: Config) -> dict:
    """Plain JSON-ready dictionary of a configuration."""
    return dataclasses.asdict(config)


def config_from_dict(data: dict) -> Config:
    """Inverse of `config_to_dict`; ConfigError names the missing or unknown key or a bad value.

    A key missing from a dictionary saved before its field existed takes its LEGACY value (the old behaviour: for
    example a network without `prediction` predicts x0, a super-resolution model without `start_t` runs the full
    chain from t = 1)."""
    try:
        config = Config(
            name=data["name"],
            size=int(data["size"]),
            base=_build(BaseConfig, {**LEGACY["base"], **data["base"]}),
            superres=_build(SuperResConfig, {**LEGACY["superres"], **data["superres"]}),
            train=_build(TrainConfig, {**LEGACY["train"], **data["train"]}),
            factor=int(data.get("factor", LEGACY["config"]["factor"])),
        )
    except (KeyError, TypeError) as error:
        raise ConfigError(f"malformed configuration: {error}") from None
    for net in (config.base, config.superres):
        if net.prediction not in PREDICTIONS:
            raise ConfigError(f"malformed configuration: prediction {net.prediction!r} is not one of {PREDICTIONS}")
    if config.superres.low_noise_space not in NOISE_SPACES:
        raise ConfigError(f"malformed configuration: low_noise_space must be one of {NOISE_SPACES}")
    if not 0 < config.superres.start_t <= 1:
        raise ConfigError(f"malformed configuration: start_t {config.superres.start_t} is not in (0, 1]")
    return config


def _build(cls, values: dict):
    """A config dataclass from a dictionary, turning JSON lists back into tuples."""
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def make_base(config: Config, device: str | torch.device = "cpu") -> BaseUNet:
    """The base UNet of a configuration (pass device="meta" to count parameters without allocating them)."""
    with torch.device(device):
        return BaseUNet(config.base)


def make_superres(config: Config, device: str | torch.device = "cpu") -> SuperResUNet:
    """The super-resolution UNet of a configuration."""
    with torch.device(device):
        return SuperResUNet(config.superres)
