"""The paper configuration on one CUDA GPU: what a researcher needs to know before renting one.

Rows, each the best of `--repeats` CUDA-synchronised runs after a warm-up, with the peak memory PyTorch allocated:
- the base model's training step at 64³ (AdamW, bf16 autocast) for batch sizes 1, 2, 4, against MONAI's
  `DiffusionModelUNet` of about the same parameter count with attention at its two deepest levels (the paper's claim,
  IV-E, is that bottom-only attention is what makes the 3D text-conditioned model affordable);
- one sample of the base model: 50 DDIM steps with classifier-free guidance (cond + uncond in one batch of 2);
- one sample of the super-resolution model: 20 DDIM steps on a whole 256³ volume, and on 128³ tiles (timed once,
  after a one-step warm-up: a sample takes long enough);
each sampling row in fp32 and in bf16 autocast, with the ratio.
Run: `python bench/gpu_paper.py [--repeats 2] [--skip-monai]`.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Callable


def timed(step: Callable[[], object], repeats: int, warmup: Callable[[], object] | None = None) -> tuple[float, float]:
    """Best seconds of `repeats` synchronised calls after one warm-up call (of `warmup`, default `step`), and the
    peak GiB allocated meanwhile."""
    import torch

    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    (warmup or step)()
    times = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times), torch.cuda.max_memory_allocated() / 2**30


def training_step(net, call, batch: int, text_length: int, text_dim: int):
    """One AdamW step of the x0 loss at 64³ under bf16 autocast, as a closure; call(net, x, t, context, mask)."""
    import torch

    from generator.diffusion.denoiser import add_noise

    device = torch.device("cuda")
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4)
    x0 = torch.randn(batch, 4, 64, 64, 64, device=device)
    t = torch.full((batch,), 0.5, device=device)
    context = torch.randn(batch, text_length, text_dim, device=device)
    mask = torch.ones(batch, text_length, dtype=torch.bool, device=device)

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            prediction = call(net, add_noise(x0, t, torch.randn_like(x0)), t, context, mask)
        torch.mean((prediction.float() - x0) ** 2).backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def monai_unet(width: int, text_dim: int):
    """MONAI's DiffusionModelUNet, widths (w, 2w, 4w, 8w), two ResBlocks a level, attention at levels 3 and 4."""
    from monai.networks.nets import DiffusionModelUNet

    return DiffusionModelUNet(
        spatial_dims=3,
        in_channels=4,
        out_channels=4,
        num_res_blocks=2,
        channels=(width, 2 * width, 4 * width, 8 * width),
        attention_levels=(False, False, True, True),
        num_head_channels=width,
        norm_num_groups=8,
        with_conditioning=True,
        cross_attention_dim=text_dim,
    )


def training_rows(repeats: int, monai_width: int | None) -> list[tuple[str, int, float, float]]:
    """(model, batch, seconds, GiB) for ours at batch 1, 2, 4 and MONAI at batch 1 (and 2 when it fits)."""
    import torch

    from generator.nets.configs import get_config, make_base

    config = get_config("paper").base
    rows = []
    net = make_base(get_config("paper"), "cuda")
    ours = f"ours paper ({_millions(net)} M)"
    for batch in (1, 2, 4):
        step = training_step(
            net, lambda n, x, t, c, m: n(x, t, context=c, context_mask=m), batch, config.text_length, config.text_dim
        )
        rows.append((ours, batch, *timed(step, repeats)))
    del net, step
    if monai_width:
        net = monai_unet(monai_width, config.text_dim).cuda()
        name = f"MONAI, attention at levels 3-4 ({_millions(net)} M)"
        for batch in (1, 2):
            step = training_step(
                net,
                lambda n, x, t, c, m: n(x, (t * 1000).long(), context=c),
                batch,
                config.text_length,
                config.text_dim,
            )
            try:
                rows.append((name, batch, *timed(step, repeats)))
            except torch.OutOfMemoryError:
                rows.append((name, batch, float("nan"), float("inf")))
                break
        del net, step
    torch.cuda.empty_cache()
    return rows


def sampling_rows(repeats: int) -> list[tuple[str, str, float, float]]:
    """(what, precision, seconds, GiB) for a base sample (50 steps, CFG) and a super-resolution sample (20 steps)."""
    import torch

    from generator.diffusion.ddim import sample_ddim
    from generator.diffusion.guidance import guided
    from generator.diffusion.schedule import sampling_times
    from generator.diffusion.tiles import tiled
    from generator.nets.configs import get_config, make_base, make_superres

    config, device = get_config("paper"), torch.device("cuda")
    rows = []
    base = make_base(config, device).eval()
    context = torch.randn(1, config.base.text_length, config.base.text_dim, device=device)
    mask = torch.ones(1, config.base.text_length, dtype=torch.bool, device=device)
    extra = {"context": context, "context_mask": mask, "uncond_context": torch.zeros_like(context), "uncond_mask": mask}
    noise = torch.randn(1, 4, 64, 64, 64, device=device)
    for precision in ("fp32", "bf16"):

        def run():
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
                sample_ddim(guided(base, 3.0), noise, sampling_times(50), extra)

        rows.append(("base 64³, 50 steps, CFG", precision, *timed(run, repeats)))
    base = None  # frees the base model's memory before the super-resolution model is made
    superres = make_superres(config, device).eval()
    full = torch.randn(1, 4, 256, 256, 256, device=device)
    low_t = torch.full((1,), 0.1, device=device)
    for label, model in (
        ("super-resolution 256³, 20 steps, whole", superres),
        ("super-resolution 256³, 20 steps, 128³ tiles", tiled(superres, 128, 32)),
    ):
        for precision in ("fp32", "bf16"):

            def run(steps: int = 20):
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
                    sample_ddim(model, full, sampling_times(steps), {"low": full, "low_t": low_t})

            try:
                rows.append((label, precision, *timed(run, 1, warmup=lambda: run(1))))
            except torch.OutOfMemoryError:
                rows.append((label, precision, float("nan"), float("inf")))
    return rows


def _millions(net) -> int:
    return round(sum(p.numel() for p in net.parameters()) / 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2, help="timed repeats of each step (the fastest is shown)")
    parser.add_argument("--monai-width", type=int, default=120, help="MONAI base width (120: about ours' budget)")
    parser.add_argument("--skip-monai", action="store_true", help="leave out the MONAI UNet comparison")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        sys.exit("no CUDA device: this benchmark measures the paper configuration on a GPU")
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, best of {args.repeats}")
    train = training_rows(args.repeats, None if args.skip_monai else args.monai_width)
    print(f"\ntraining step at 64³ (AdamW, bf16 autocast)\n{'model':<42}{'batch':>6}{'seconds':>9}{'peak GiB':>10}")
    for name, batch, seconds, gib in train:
        print(f"{name:<42}{batch:>6}{seconds:>9.3f}{gib:>10.1f}")
    firsts = {name: (seconds, gib) for name, batch, seconds, gib in train if batch == 1}
    if len(firsts) == 2:
        (s0, g0), (s1, g1) = firsts.values()
        print(f"{'ratio MONAI / ours at batch 1':<48}{s1 / s0:>9.2f}{g1 / g0:>10.2f}")
    sampling = sampling_rows(args.repeats)
    print(f"\nsampling one volume\n{'what':<46}{'precision':>10}{'seconds':>9}{'peak GiB':>10}")
    for what, precision, seconds, gib in sampling:
        print(f"{what:<46}{precision:>10}{seconds:>9.2f}{gib:>10.1f}")
    by_what: dict[str, dict[str, float]] = {}
    for what, precision, seconds, _ in sampling:
        by_what.setdefault(what, {})[precision] = seconds
    for what, seconds in by_what.items():
        print(f"{'speed-up bf16 / fp32, ' + what:<65}{seconds['fp32'] / seconds['bf16']:>6.2f}")


if __name__ == "__main__":
    sys.path.insert(0, __file__.rsplit("/bench/", 1)[0])
    main()
