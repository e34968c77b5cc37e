"""Parameter counts and memory estimates of a configuration, computed on the meta device (nothing is allocated)."""

from __future__ import annotations

import torch
from torch import nn

from generator.nets.configs import Config, make_base, make_superres

GIB = 2**30
TRAIN_BYTES_PER_PARAMETER = 4 + 4 + 8 + 4  # fp32 weights, gradients, AdamW moments, EMA copy
ACTIVATION_BYTES = 2  # bf16 autocast (training, and sampling on GPUs)
# Peak sampling memory ≈ weights + this many copies of the largest activation: calibrated on an H100 with
# bench/gpu_paper.py (paper config, bf16: 38.5 GiB measured for a whole 256³ super-resolution sample, 6.7 GiB for a
# guided base sample: this factor gives 42.2 and 5.6 GiB; cuDNN workspaces and fp32 normalisation add to the tensors
# alive).
LIVE_ACTIVATIONS = 8
GPU_SIZES_GIB = (24, 48, 80)
HEADROOM = 1.2


def parameter_count(model: nn.Module) -> int:
    """Number of parameters of a model (works on the meta device)."""
    return sum(p.numel() for p in model.parameters())


def activation_sizes(model: nn.Module, *inputs, **kwargs) -> list[int]:
    """Element counts of every leaf module's output in one forward pass on meta tensors."""
    sizes: list[int] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: sizes.append(out.numel()))
        for m in model.modules()
        if not list(m.children())
    ]
    try:
        with torch.no_grad():
            model(*inputs, **kwargs)
    finally:
        for hook in hooks:
            hook.remove()
    return sizes


def memory_estimate(parameters: int, sizes: list[int], sampling_batch: int) -> dict:
    """Peak GiB for a training step at batch 1 (weights, optimiser, EMA, bf16 activations kept for backward)
    and for sampling (fp32 weights plus LIVE_ACTIVATIONS copies of the largest activation at `sampling_batch`)."""
    train = parameters * TRAIN_BYTES_PER_PARAMETER + sum(sizes) * ACTIVATION_BYTES
    sample = parameters * 4 + sampling_batch * LIVE_ACTIVATIONS * ACTIVATION_BYTES * max(sizes)
    return {"train_step_batch1_gib": round(train / GIB, 2), "sampling_gib": round(sample / GIB, 2)}


def describe(config: Config) -> dict:
    """Sizes, parameter counts and memory estimates of both networks of a configuration."""
    base, superres = make_base(config, "meta"), make_superres(config, "meta")
    low, full, b = config.low_size, config.size, config.base
    meta = dict(device="meta")
    base_sizes = activation_sizes(
        base,
        torch.empty(1, b.channels, low, low, low, **meta),
        torch.empty(1, **meta),
        context=torch.empty(1, b.text_length, b.text_dim, **meta),
        context_mask=torch.ones(1, b.text_length, dtype=torch.bool, **meta),
    )
    s, crop = config.superres, config.superres.crop
    crop_sizes = activation_sizes(
        superres,
        torch.empty(1, s.channels, crop, crop, crop, **meta),
        torch.empty(1, **meta),
        torch.empty(1, s.channels, crop, crop, crop, **meta),
        torch.empty(1, **meta),
    )
    full_sizes = activation_sizes(
        superres,
        torch.empty(1, s.channels, full, full, full, **meta),
        torch.empty(1, **meta),
        torch.empty(1, s.channels, full, full, full, **meta),
        torch.empty(1, **meta),
    )
    base_n, sr_n = parameter_count(base), parameter_count(superres)
    base_train = memory_estimate(base_n, base_sizes, 2)["train_step_batch1_gib"]
    sr_train = memory_estimate(sr_n, crop_sizes, 1)["train_step_batch1_gib"]
    return {
        "config": config.name,
        "full_grid": [full] * 3,
        "base": {
            "parameters": base_n,
            "grid": [low] * 3,
            "width": b.width,
            "mults": list(b.mults),
            "attention": f"bottom only: {b.depth} x (self + cross to {b.text_length} tokens)",
            **memory_estimate(base_n, base_sizes, sampling_batch=2),
        },
        "superres": {
            "parameters": sr_n,
            "grid": [full] * 3,
            "train_crop": [crop] * 3,
            "width": s.width,
            "mults": list(s.mults),
            "attention": "one axial (z) attention block at the bottom",
            "train_step_batch1_gib": sr_train,
            "sampling_gib": memory_estimate(sr_n, full_sizes, 1)["sampling_gib"],
            f"sampling_tile_{crop}_gib": memory_estimate(sr_n, crop_sizes, 1)["sampling_gib"],
        },
        "fits_gpus_gib": [gib for gib in GPU_SIZES_GIB if max(base_train, sr_train) * HEADROOM <= gib],
        "note": "memory figures are estimates from activation sizes on the meta device, calibrated against one H100 "
        "measurement (bench/gpu_paper.py); fits_gpus_gib lists the GPU sizes that hold a batch-1 training "
        f"step of both stages with 20 % headroom; where sampling_gib does not fit, sample with --tile {crop}",
    }
