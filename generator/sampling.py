"""Sampling pipeline: report → base model (low resolution, guided) → up-sample → super-resolution → case folders.

Python API for the evaluation: `load_pipeline(...)` once, then `generate(pipeline, ...)` returns `Case`s;
`write_samples(...)` also writes case folders. Fixed channels (paper IV-D, V-D) are held at both stages: the base
model gets their down-sampled values, the super-resolution model their full-resolution values; the written case
holds the given arrays unchanged. The super-resolution model refines: its condition is noised at low resolution
and up-sampled, and (for models trained so, `start_t` < 1) sampling starts from that up-sampled condition noised to
`start_t` instead of from pure noise. On GPUs with bf16 both networks run under bf16 autocast (measured with
bench/gpu_paper.py on an H100 for the paper config: a base sample 1.25× faster, a whole-volume 256³
super-resolution sample in 38.5 instead of 54.3 GiB); the sampler's own arithmetic (update, guidance mix,
thresholding, fixed channels) stays in fp32.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from contracts.volumes import CHANNELS
from generator.checkpoints import load_checkpoint, load_info
from generator.data.cases import Case, write_case
from generator.data.model_space import downsample, from_model, to_model, upsample
from generator.diffusion.ddim import sample_ddim
from generator.diffusion.denoiser import Denoiser, add_noise
from generator.diffusion.dpm_solver import sample_dpmpp_2m
from generator.diffusion.fixed import with_fixed_channels
from generator.diffusion.guidance import guided
from generator.diffusion.schedule import sampling_times
from generator.diffusion.thresholding import thresholded
from generator.diffusion.tiles import tiled
from generator.nets.configs import SuperResConfig
from generator.precision import native_bf16
from generator.text.encoder import ReportEncoder

DEFAULT_GUIDANCE = 3.0  # classifier-free guidance scale of every generating command and of generate()
DEFAULT_THRESHOLD = "static"
SAMPLERS = {"ddim": sample_ddim, "dpmpp-2m": sample_dpmpp_2m}


@dataclass(frozen=True)
class SamplerSettings:
    """How to sample: guidance scale, sampler and its steps per stage, thresholding of x̂0, tiles of the
    super-resolution stage (None: the whole volume in one pass), and where the super-resolution chain starts
    (None: the model's trained `start_t`; a refiner may start lower, never above the times it was trained on) and
    how its steps are spaced (`superres_rho`, `schedule.sampling_times`)."""

    guidance: float = DEFAULT_GUIDANCE
    steps_base: int = 50
    steps_superres: int = 20
    sampler: str = "ddim"
    threshold: str = DEFAULT_THRESHOLD
    tile: int | None = None
    cpu_bf16: bool = False  # bf16 autocast on a CPU that computes it natively (meta.json records the precision)
    superres_start: float | None = None
    superres_rho: float = 1.0

    def describe(self) -> dict:
        """The settings as meta.json records them."""
        return {
            "sampler": self.sampler,
            "guidance": self.guidance,
            "steps_base": self.steps_base,
            "steps_superres": self.steps_superres,
            "threshold": self.threshold,
            "tile": self.tile,
            "superres_start": self.superres_start,
            "superres_rho": self.superres_rho,
        }


class SamplingError(Exception):
    """Checkpoints that do not fit together, or fixed volumes that do not fit the model's grid."""


@dataclass
class Pipeline:
    """The two loaded denoisers, the report encoder and what meta.json records about them."""

    base: Denoiser
    superres: Denoiser | None  # None: a pipeline of the base stage alone
    encoder: ReportEncoder
    refiner: SuperResConfig | None  # the super-resolution model's condition noise and start
    factor: int  # the low-resolution factor
    grid_shape: tuple[int, int, int]
    affine: np.ndarray
    provenance: dict
    device: torch.device


def load_pipeline(
    base_dir: Path, superres_dir: Path | None, text_encoder_dir: Path, device: str | torch.device = "cpu"
) -> Pipeline:
    """Load both checkpoints and the text encoder, and check that they belong together; with `superres_dir` None
    a pipeline of the base stage alone (`sample_low` only), as the base-stage experiments need."""
    device = torch.device(device)
    base, base_config, base_step, base_digest = load_checkpoint(base_dir, device)
    base_info = load_info(base_dir)
    if base_info["stage"] != "base":
        raise SamplingError(f"--base must be a base checkpoint; got {base_info['stage']}")
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
        "text_encoder": {"path": str(Path(text_encoder_dir).resolve()), "digest": encoder.digest},
    }
    superres = refiner = None
    if superres_dir is not None:
        superres_net, sr_config, sr_step, sr_digest = load_checkpoint(superres_dir, device)
        sr_info = load_info(superres_dir)
        if sr_info["stage"] != "superres":
            raise SamplingError(f"--superres must be a superres checkpoint; got {sr_info['stage']}")
        if base_info["grid"]["shape"] != sr_info["grid"]["shape"]:
            raise SamplingError(
                f"the base model was trained on {base_info['grid']['shape']} volumes and the "
                f"super-resolution model on {sr_info['grid']['shape']}"
            )
        if base_config.factor != sr_config.factor:
            raise SamplingError(
                f"the base model down-samples by {base_config.factor} and the super-resolution model by "
                f"{sr_config.factor}"
            )
        provenance["superres"] = {
            "path": str(Path(superres_dir).resolve()),
            "config": sr_config.name,
            "step": sr_step,
            "digest": sr_digest,
        }
        superres, refiner = Denoiser(superres_net, sr_config.superres.prediction), sr_config.superres
    order = ("base", "superres", "text_encoder")  # as meta.json has always listed them
    provenance = {key: provenance[key] for key in order if key in provenance}
    return Pipeline(
        Denoiser(base, base_config.base.prediction),
        superres,
        encoder,
        refiner,
        base_config.factor,
        tuple(base_info["grid"]["shape"]),
        np.array(base_info["grid"]["affine"]),
        provenance,
        device,
    )


def sampling_precision(device: torch.device, cpu_bf16: bool = False) -> torch.dtype | None:
    """The autocast dtype for sampling on `device`: bf16 on GPUs that support it, and on CPUs that compute it
    natively when `cpu_bf16` asks for it (`generator.precision`), else None (fp32)."""
    if device.type == "cpu" and not cpu_bf16:
        return None
    return torch.bfloat16 if native_bf16(device) else None


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
    settings: SamplerSettings,
    *,
    fixed: dict[str, np.ndarray] | None = None,
    progress=None,
) -> np.ndarray:
    """One full-resolution model-space sample (4, X, Y, Z); the same seed and settings give the same sample."""
    shape = pipeline.grid_shape
    noise_low, noise_full, noise_condition = seed_noise(seed, shape, pipeline.factor)
    known = encode_fixed(fixed, shape) if fixed else None
    low = sample_low(pipeline, prompt, noise_low, settings, known=known, progress=progress)
    return super_resolve(pipeline, low, noise_full, noise_condition, settings, known=known, progress=progress)


def seed_noise(seed: int, shape: tuple[int, int, int], factor: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The noise of one seed, drawn on the CPU in a fixed order (so any device gives the same sample): the base
    stage's start (1, 4, shape / factor), the super-resolution stage's start and its condition's noise (1, 4, shape)."""
    gen = torch.Generator().manual_seed(seed)
    noise_low = torch.randn((1, 4, *(s // factor for s in shape)), generator=gen)
    return noise_low, torch.randn((1, 4, *shape), generator=gen), torch.randn((1, 4, *shape), generator=gen)


def sample_low(
    pipeline: Pipeline,
    prompt: str,
    noise: torch.Tensor,
    settings: SamplerSettings,
    *,
    known: tuple[torch.Tensor, torch.Tensor] | None = None,
    progress=None,
) -> torch.Tensor:
    """The base stage: a guided low-resolution model-space sample (1, 4, x, y, z) in [-1, 1] from `noise`;
    `known` = (full-resolution model-space values, channel mask) from `encode_fixed`."""
    device = pipeline.device
    context, mask = pipeline.encoder([prompt])
    uncond, uncond_mask = pipeline.encoder([""])
    base_fn = thresholded(
        guided(autocast(pipeline.base, sampling_precision(device, settings.cpu_bf16)), settings.guidance),
        settings.threshold,
    )
    if known is not None:
        base_fn = with_fixed_channels(base_fn, downsample(known[0], pipeline.factor).to(device), known[1])
    extra = {
        "context": context.to(device),
        "context_mask": mask.to(device),
        "uncond_context": uncond.to(device),
        "uncond_mask": uncond_mask.to(device),
    }
    sampler = SAMPLERS[settings.sampler]
    return sampler(base_fn, noise.to(device), sampling_times(settings.steps_base), extra, _ticker(progress)).clamp(
        -1, 1
    )


def condition(
    refiner: SuperResConfig, low: torch.Tensor, low_t: torch.Tensor, noise: torch.Tensor, factor: int
) -> torch.Tensor:
    """The super-resolution condition of a low-resolution volume (B, 4, x, y, z): noised to times low_t (B,) and
    up-sampled; `noise` has the full-resolution shape (its down-sampled voxels noise the low resolution)."""
    if refiner.low_noise_space == "low":
        return upsample(add_noise(low, low_t, downsample(noise, factor)), factor)
    return add_noise(upsample(low, factor), low_t, noise)


def super_resolve(
    pipeline: Pipeline,
    low: torch.Tensor,
    noise: torch.Tensor,
    noise_condition: torch.Tensor,
    settings: SamplerSettings,
    *,
    known: tuple[torch.Tensor, torch.Tensor] | None = None,
    progress=None,
) -> np.ndarray:
    """The super-resolution stage: a full-resolution model-space sample (4, X, Y, Z) of a low-resolution one
    (1, 4, x, y, z), conditioned on it noised to the model's sampling time as in training, and started from its
    up-sampled copy noised to `settings.superres_start` or the model's `start_t` (pure noise when that is 1)."""
    device, refiner = pipeline.device, pipeline.refiner
    low = low.to(device)
    low_t = torch.full((1,), refiner.low_noise_sample, device=device)
    cond = condition(refiner, low, low_t, noise_condition.to(device), pipeline.factor)
    superres = autocast(pipeline.superres, sampling_precision(device, settings.cpu_bf16))
    superres_fn = superres if settings.tile is None else tiled(superres, settings.tile, settings.tile // 4)
    superres_fn = thresholded(superres_fn, settings.threshold)
    start = upsample(low, pipeline.factor)
    if known is not None:
        superres_fn = with_fixed_channels(superres_fn, known[0].to(device), known[1])
        start = torch.where(known[1].to(device).view(1, -1, 1, 1, 1), known[0].to(device), start)
    start_t = superres_start_t(refiner, settings)
    schedule = sampling_times(settings.steps_superres, start_t, settings.superres_rho)
    x = noise.to(device) if start_t >= 1 else add_noise(start, schedule[:1], noise.to(device))
    full = SAMPLERS[settings.sampler](superres_fn, x, schedule, {"low": cond, "low_t": low_t}, _ticker(progress))
    return full[0].clamp(-1, 1).float().cpu().numpy()


def superres_start_t(refiner: SuperResConfig, settings: SamplerSettings) -> float:
    """Where the super-resolution chain starts: the settings' start, or the model's trained `start_t`."""
    return refiner.start_t if settings.superres_start is None else settings.superres_start


def _ticker(progress):
    return (lambda _: progress.update(1)) if progress is not None else None


def check_settings(pipeline: Pipeline, settings: SamplerSettings) -> None:
    """SamplingError for settings this pipeline cannot run."""
    if settings.sampler not in SAMPLERS:
        raise SamplingError(f"unknown sampler {settings.sampler!r}; choose one of {', '.join(SAMPLERS)}")
    refiner = pipeline.refiner
    if refiner is not None:
        start = superres_start_t(refiner, settings)
        if not 0 < start <= refiner.start_t:
            raise SamplingError(
                f"--superres-start must be in (0, {refiner.start_t:g}]: this super-resolution model was trained "
                f"on noise levels up to t = {refiner.start_t:g}, got {start:g}"
            )
        try:
            sampling_times(settings.steps_superres, start, settings.superres_rho)
        except ValueError as exc:
            raise SamplingError(f"super-resolution steps: {exc}") from None
    factor = 2 ** (len(pipeline.superres.net.config.mults) - 1)
    if settings.tile is not None and (settings.tile < factor or settings.tile % factor):
        raise SamplingError(f"--tile must be a positive multiple of {factor} for this super-resolution model")


def generate(
    pipeline: Pipeline,
    prompts: list[str],
    seeds: list[int],
    settings: SamplerSettings | None = None,
    *,
    fixed: dict[str, np.ndarray] | None = None,
    show_progress: bool = True,
) -> list[Case]:
    """Generate one case per (prompt, seed) pair at the training data's grid and affine, with meta.json fields."""
    settings = settings or SamplerSettings()
    if len(prompts) != len(seeds):
        raise SamplingError(f"{len(prompts)} prompts but {len(seeds)} seeds")
    check_settings(pipeline, settings)
    precision = sampling_precision(pipeline.device, settings.cpu_bf16)
    recorded = {**settings.describe(), "precision": "bf16" if precision else "fp32", "fixed": sorted(fixed or {})}
    cases = []
    total = len(prompts) * (settings.steps_base + settings.steps_superres)
    with tqdm(total=total, desc="sampling", disable=not show_progress) as bar:
        for prompt, seed in zip(prompts, seeds):
            x = sample_one(pipeline, prompt, seed, settings, fixed=fixed, progress=bar)
            meta = {"prompt": prompt, "seed": seed, **recorded, "checkpoints": pipeline.provenance}
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
