"""Parameter counts and memory estimates of a configuration, computed on the meta device (nothing is allocated)."""
from __future__ import annotations

import torch
from torch import nn

from generator.nets.configs import Config, make_base, make_superres

GIB = 2**30
TRAIN_BYTES_PER_PARAMETER = 4 + 4 + 8 + 4  # fp32 weights, gradients, AdamW moments, EMA copy
ACTIVATION_BYTES = 2  # bf16 autocast
GPU_SIZES_GIB = (24, 48, 80)
HEADROOM = 1.2


def parameter_count(model: nn.Module) -> int:
    """Number of parameters of a model (works on the meta device)."""
    return sum(p.numel() for p in model.parameters())


def activation_sizes(model: nn.Module, *inputs, **kwargs) -> list[int]:
    """Element counts of every leaf module's output in one forward pass on meta tensors."""
    sizes: list[int] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: sizes.append(out.numel()))
             for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            model(*inputs, **kwargs)
    finally:
        for hook in hooks:
            hook.remove()
    return sizes


def memory_estimate(parameters: int, sizes: list[int], sampling_batch: int) -> dict:
    """Peak GiB for a training step at batch 1 (weights, optimiser, EMA, bf16 activations kept for backward)
    and for sampling (fp32 weights plus the largest live activations at `sampling_batch`), both rough."""
    train = parameters * TRAIN_BYTES_PER_PARAMETER + sum(sizes) * ACTIVATION_BYTES
    sample = parameters * 4 + sampling_batch * 4 * ACTIVATION_BYTES * max(sizes)
    return {"train_step_batch1_gib": round(train / GIB, 2), "sampling_gib": round(sample / GIB, 2)}


def describe(config: Config) -> dict:
    """Sizes, parameter counts and memory estimates of both networks of a configuration."""
    base, superres = make_base(config, "meta"), make_superres(config, "meta")
    low, full, b = config.low_size, config.size, config.base
    meta = dict(device="meta")
    base_sizes = activation_sizes(
        base, torch.empty(1, b.channels, low, low, low, **meta), torch.empty(1, **meta),
        context=torch.empty(1, b.text_length, b.text_dim, **meta),
        context_mask=torch.ones(1, b.text_length, dtype=torch.bool, **meta))
    s, crop = config.superres, config.superres.crop
    crop_sizes = activation_sizes(superres, torch.empty(1, s.channels, crop, crop, crop, **meta),
                                  torch.empty(1, **meta), torch.empty(1, s.channels, crop, crop, crop, **meta),
                                  torch.empty(1, **meta))
    full_sizes = activation_sizes(superres, torch.empty(1, s.channels, full, full, full, **meta),
                                  torch.empty(1, **meta), torch.empty(1, s.channels, full, full, full, **meta),
                                  torch.empty(1, **meta))
    base_n, sr_n = parameter_count(base), parameter_count(superres)
    base_train = memory_estimate(base_n, base_sizes, 2)["train_step_batch1_gib"]
    sr_train = memory_estimate(sr_n, crop_sizes, 1)["train_step_batch1_gib"]
    return {
        "config": config.name,
        "full_grid": [full] * 3,
        "base": {"parameters": base_n, "grid": [low] * 3, "width": b.width, "mults": list(b.mults),
                 "attention": f"bottom only: {b.depth} x (self + cross to {b.text_length} tokens)",
                 **memory_estimate(base_n, base_sizes, sampling_batch=2)},
        "superres": {"parameters": sr_n, "grid": [full] * 3, "train_crop": [crop] * 3, "width": s.width,
                     "mults": list(s.mults), "attention": "one axial (z) attention block at the bottom",
                     "train_step_batch1_gib": sr_train,
                     "sampling_gib": memory_estimate(sr_n, full_sizes, 1)["sampling_gib"]},
        "fits_gpus_gib": [gib for gib in GPU_SIZES_GIB if max(base_train, sr_train) * HEADROOM <= gib],
        "note": "memory figures are estimates from activation sizes on the meta device, not measurements; "
                "fits_gpus_gib lists the GPU sizes that hold a batch-1 training step of both stages with 20 % headroom",
    }
