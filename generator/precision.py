"""Which reduced precision a device computes natively, for autocast in training and sampling."""

from __future__ import annotations

import torch


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bf16 natively: CUDA GPUs that support it, CPUs with AVX512-BF16 or AMX tiles.

    On such a CPU (this project's 2-core EPYC) a small32 base training step under bf16 autocast takes 0.4× the
    time of fp32 (`python -m bench precision`); on CPUs without these instructions bf16 is emulated and slower.
    Training and sampling use it on a CPU only when asked (`--cpu-bf16`), GPUs always."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(torch.cpu, name, lambda: False)() for name in checks)
    return False
