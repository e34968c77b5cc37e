"""Sampling pipeline: report → base model (low resolution, guided) → up-sample → super-resolution → case folders.

Python API for the evaluation: `generate(...)` returns `Case`s; `write_samples(...)` also writes case folders.
Fixed channels (paper IV-D, V-D) are held at both stages: the base model gets their 4× down-sampled values, the
super-resolution model their full-resolution values; the written case holds the given arrays unchanged.
On GPUs with bf16 both networks run under bf16 autocast (measured with bench/gpu_paper.py on an H100 for the paper
config: a base sample 1.25× faster, a whole-volume 256³ super-resolution sample in 38.5 instead of 54.3 GiB);
the sampler's own arithmetic (DDIM update, guidance mix, fixed channels) stays in fp32.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from contracts.volumes import CHANNELS, LOW_FACTOR
from generator.checkpoints import load_checkpoint, load_info
from generator.data.cases import Case, write_case
from generator.data.model_space import downsample, from_model, to_model, upsample
from generator.diffusion.ddim import sample_ddim
from generator.diffusion.denoiser import add_noise
from generator.diffusion.fixed import with_fixed_channels
from generator.diffusion.guidance import guided
from generator.diffusion.schedule import sampling_times
from generator.diffusion.tiles import tiled
from generator.text.encoder import ReportEncoder


class SamplingError(Exception):
    """Checkpoints that do not fit together, or fixed volumes that do not fit the model's grid."""


@dataclass
class Pipeline:
    """The two loaded models, the report encoder and what meta.json records about them."""

    base: torch.nn.Module
    superres: torch.nn.Module
    encoder: ReportEncoder
    low_noise: float
    grid_shape: tuple[int, int, int]
    affine: np.ndarray
    provenance: dict
    device: torch.device


def load_pipeline(
    base_dir: Path, superres_dir: Path, text_encoder_dir: Path, device: str | torch.device = "cpu"
) -> Pipeline:
    """Load both checkpoints and the text encoder, and check that they belong together."""
    device = torch.device(device)
    base, base_config, base_step, base_digest = load_checkpoint(base_dir, device)
    superres, sr_config, sr_step, sr_digest = load_checkpoint(superres_dir, device)
    base_info, sr_info = load_info(base_dir), load_info(superres_dir)
    if base_info["stage"] != "base" or sr_info["stage"] != "superres":
        raise SamplingError(
            f"--base must be a base checkpoint and --superres a superres one; got "
            f"{base_info['stage']} and {sr_info['stage']}"
        )
    if base_info["grid"]["shape"] != sr_info["grid"]["shape"]:
        raise SamplingError(
            f"the base model was trained on {base_info['grid']['shape']} volumes and the "
            f"super-resolution model on {sr_info['grid']['shape']}"
        )
    encoder = ReportEncoder.load(text_encoder_dir, max_length=base_config.base.text_length, device=device)
    if encoder.digest != base_info["text_encoder"]["digest"]:
        raise SamplingError(
            f"{text_encoder_dir}: these are not the text-encoder weights the base model was trained "
            f"with ({base_info['text_encoder']['path']})"
        )
    provenance = {
        "base": {
            "path": str(Path(base_dir).resolve()),
            "config": base_config.name,
            "step": base_step,
            "digest": base_digest,
        },
        "superres": {
            "path": str(Path(superres_dir).resolve()),
            "config": sr_config.name,
            "step": sr_step,
            "digest": sr_digest,
        },
        "text_encoder": {"path": str(Path(text_encoder_dir).resolve()), "digest": encoder.digest},
    }
    return Pipeline(
        base,
        superres,
        encoder,
        sr_config.superres.low_noise_sample,
        tuple(base_info["grid"]["shape"]),
        np.array(base_info["grid"]["affine"]),
        provenance,
        device,
    )


def sampling_precision(device: torch.device) -> torch.dtype | None:
    """The autocast dtype for sampling on `device`: bf16 on CUDA GPUs that support it, else None (fp32)."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def autocast(model: Callable[..., torch.Tensor], dtype: torch.dtype | None) -> Callable[..., torch.Tensor]:
    """Wrap a denoiser so that it runs under autocast to `dtype` (unchanged when None) and returns fp32."""
    if dtype is None:
        return model

    def model_fn(x: torch.Tensor, t: torch.Tensor, **extra) -> torch.Tensor:
        with torch.autocast(x.device.type, dtype=dtype):
            return model(x, t, **extra).float()

    return model_fn


def encode_fixed(fixed: dict[str, np.ndarray], shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """Known channels in model space (1, 4, X, Y, Z) and the (4,) bool mask of which channels are known."""
    unknown = set(fixed) - set(CHANNELS)
    if unknown:
        raise SamplingError(f"cannot fix {sorted(unknown)}; fixable channels are {', '.join(CHANNELS)}")
    for name, array in fixed.items():
        if tuple(array.shape) != tuple(shape):
            raise SamplingError(f"fixed {name} has shape {tuple(array.shape)}, the model's grid is {tuple(shape)}")
    arrays = {
        name: np.zeros(shape, dtype=dtype) for name, dtype in zip(CHANNELS, (np.int16, np.uint8, np.uint8, np.uint8))
    }
    arrays.update({name: np.asarray(array).astype(arrays[name].dtype) for name, array in fixed.items()})
    known = to_model(Case(**arrays, affine=np.eye(4)))
    mask = torch.tensor([name in fixed for name in CHANNELS])
    return torch.from_numpy(known)[None], mask


def sample_one(
    pipeline: Pipeline,
    prompt: str,
    seed: int,
    *,
    guidance: float,
    steps_base: int,
    steps_superres: int,
    fixed: dict[str, np.ndarray] | None = None,
    tile: int | None = None,
    progress=None,
) -> np.ndarray:
    """One full-resolution model-space sample (4, X, Y, Z); the same seed and settings give the same sample.

    `tile` (voxels) runs the super-resolution model on overlapping tiles (a quarter of a tile overlaps) when the
    whole volume does not fit in memory.
    """
    shape = pipeline.grid_shape
    noise_low, noise_full, noise_condition = seed_noise(seed, shape)
    known = encode_fixed(fixed, shape) if fixed else None
    low = sample_low(pipeline, prompt, noise_low, guidance=guidance, steps=steps_base, known=known, progress=progress)
    return super_resolve(
        pipeline, low, noise_full, noise_condition, steps=steps_superres, known=known, tile=tile, progress=progress
    )


def seed_noise(seed: int, shape: tuple[int, int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The noise of one seed, drawn on the CPU in a fixed order (so any device gives the same sample): the base
    stage's start (1, 4, shape / 4), the super-resolution stage's start and its condition's noise (1, 4, shape)."""
    gen = torch.Generator().manual_seed(seed)
    noise_low = torch.randn((1, 4, *(s // LOW_FACTOR for s in shape)), generator=gen)
    return noise_low, torch.randn((1, 4, *shape), generator=gen), torch.randn((1, 4, *shape), generator=gen)


def sample_low(
    pipeline: Pipeline,
    prompt: str,
    noise: torch.Tensor,
    *,
    guidance: float,
    steps: int,
    known: tuple[torch.Tensor, torch.Tensor] | None = None,
    progress=None,
) -> torch.Tensor:
    """The base stage: a guided low-resolution model-space sample (1, 4, x, y, z) in [-1, 1] from `noise`;
    `known` = (full-resolution model-space values, channel mask) from `encode_fixed`."""
    device = pipeline.device
    context, mask = pipeline.encoder([prompt])
    uncond, uncond_mask = pipeline.encoder([""])
    base_fn = guided(autocast(pipeline.base, sampling_precision(device)), guidance)
    if known is not None:
        base_fn = with_fixed_channels(base_fn, downsample(known[0]).to(device), known[1])
    extra = {
        "context": context.to(device),
        "context_mask": mask.to(device),
        "uncond_context": uncond.to(device),
        "uncond_mask": uncond_mask.to(device),
    }
    return sample_ddim(base_fn, noise.to(device), sampling_times(steps), extra, _ticker(progress)).clamp(-1, 1)


def super_resolve(
    pipeline: Pipeline,
    low: torch.Tensor,
    noise: torch.Tensor,
    noise_condition: torch.Tensor,
    *,
    steps: int,
    known: tuple[torch.Tensor, torch.Tensor] | None = None,
    tile: int | None = None,
    progress=None,
) -> np.ndarray:
    """The super-resolution stage: a full-resolution model-space sample (4, X, Y, Z) of a low-resolution one
    (1, 4, x, y, z), whose up-sampled copy is noised to the model's sampling time as in training."""
    device = pipeline.device
    low_t = torch.full((1,), pipeline.low_noise, device=device)
    condition = add_noise(upsample(low.to(device)), low_t, noise_condition.to(device))
    superres = autocast(pipeline.superres, sampling_precision(device))
    superres_fn = superres if tile is None else tiled(superres, tile, tile // 4)
    if known is not None:
        superres_fn = with_fixed_channels(superres_fn, known[0].to(device), known[1])
    full = sample_ddim(
        superres_fn, noise.to(device), sampling_times(steps), {"low": condition, "low_t": low_t}, _ticker(progress)
    )
    return full[0].clamp(-1, 1).float().cpu().numpy()


def _ticker(progress):
    return (lambda _: progress.update(1)) if progress is not None else None


def generate(
    base_dir: Path,
    superres_dir: Path,
    text_encoder_dir: Path,
    prompts: list[str],
    seeds: list[int],
    *,
    guidance: float = 1.0,
    steps_base: int = 50,
    steps_superres: int = 20,
    fixed: dict[str, np.ndarray] | None = None,
    device: str | torch.device = "cpu",
    tile: int | None = None,
    show_progress: bool = True,
) -> list[Case]:
    """Generate one case per (prompt, seed) pair at the training data's grid and affine, with meta.json fields."""
    if len(prompts) != len(seeds):
        raise SamplingError(f"{len(prompts)} prompts but {len(seeds)} seeds")
    pipeline = load_pipeline(base_dir, superres_dir, text_encoder_dir, device)
    factor = 2 ** (len(pipeline.superres.config.mults) - 1)
    if tile is not None and (tile < factor or tile % factor):
        raise SamplingError(f"--tile must be a positive multiple of {factor} for this super-resolution model")
    precision = sampling_precision(pipeline.device)
    settings = {
        "sampler": "ddim",
        "precision": "bf16" if precision else "fp32",
        "guidance": guidance,
        "steps_base": steps_base,
        "steps_superres": steps_superres,
        "fixed": sorted(fixed or {}),
        "tile": tile,
    }
    cases = []
    with tqdm(total=len(prompts) * (steps_base + steps_superres), desc="sampling", disable=not show_progress) as bar:
        for prompt, seed in zip(prompts, seeds):
            x = sample_one(
                pipeline,
                prompt,
                seed,
                guidance=guidance,
                steps_base=steps_base,
                steps_superres=steps_superres,
                fixed=fixed,
                tile=tile,
                progress=bar,
            )
            meta = {"prompt": prompt, "seed": seed, **settings, "checkpoints": pipeline.provenance}
            case = from_model(x, pipeline.affine, report=prompt, meta=meta)
            for name, array in (fixed or {}).items():
                setattr(case, name, np.asarray(array).astype(getattr(case, name).dtype))
            cases.append(case)
    return cases


def write_samples(cases: list[Case], out: Path, prefix: str = "sample") -> list[Path]:
    """Write each case to out/<prefix>-<index>-seed<seed>/ and return the folders."""
    folders = []
    for index, case in enumerate(cases):
        folder = Path(out) / f"{prefix}-{index:03d}-seed{case.meta['seed']}"
        write_case(case, folder)
        folders.append(folder)
    return folders
