"""Bottom-only attention (ours) against MONAI's DiffusionModelUNet with attention at its default levels, and our
isotropic down-sampling against the authors' in-plane-only layout (same parameters, a 64× longer bottom sequence).

Forward + backward time and peak memory of one training step at 64³, batch 1, on this CPU (2 threads), with
about equal parameter budgets: the paper's claim (IV-E) is that moving all attention to the bottom of the UNet is
what makes a 3D text-conditioned model affordable. Each model runs in its own process so that its peak resident
memory is its own. The paper configuration on a GPU is measured by `bench/gpu_paper.py`.
Run: `.venv/bin/python bench/unet_attention.py [--size 64] [--repeats 2]`.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

TEXT_TOKENS, TEXT_DIM = 128, 256


def build(kind: str, width: int):
    """One of the models with 4 levels of widths (w, 2w, 4w, 8w) and one ResBlock per level."""
    if kind in ("ours", "in-plane"):
        from generator.nets.configs import BaseConfig
        from generator.nets.unet3d import BaseUNet

        model = BaseUNet(
            BaseConfig(
                width=width,
                mults=(1, 2, 4, 8),
                res_blocks=1,
                heads=8,
                depth=1,
                text_dim=TEXT_DIM,
                text_length=TEXT_TOKENS,
                in_plane=kind == "in-plane",
            )
        )
        return model, lambda x, t, c, m: model(x, t, context=c, context_mask=m)
    from monai.networks.nets import DiffusionModelUNet

    model = DiffusionModelUNet(
        spatial_dims=3,
        in_channels=4,
        out_channels=4,
        num_res_blocks=1,
        channels=(width, 2 * width, 4 * width, 8 * width),
        attention_levels=(False, False, True, True),
        num_head_channels=width,
        norm_num_groups=8,
        with_conditioning=True,
        cross_attention_dim=TEXT_DIM,
    )
    return model, lambda x, t, c, m: model(x, (t * 1000).long(), context=c)


def measure(kind: str, width: int, size: int, repeats: int) -> dict:
    """Parameters, seconds per forward+backward (best of `repeats` after one warm-up) and peak RSS growth."""
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(0)
    model, call = build(kind, width)
    x = torch.randn(1, 4, size, size, size)
    t, c, m = torch.tensor([0.5]), torch.randn(1, TEXT_TOKENS, TEXT_DIM), torch.ones(1, TEXT_TOKENS, dtype=torch.bool)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        call(x, t, c, m).square().mean().backward()
        times.append(time.perf_counter() - start)
        model.zero_grad(set_to_none=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    return {
        "model": kind,
        "width": width,
        "parameters": sum(p.numel() for p in model.parameters()),
        "seconds": min(times[1:]),
        "peak_mib": peak / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=64, help="training volume (voxels per axis)")
    parser.add_argument("--repeats", type=int, default=2, help="timed steps per network (the fastest is shown)")
    parser.add_argument("--ours-width", type=int, default=26, help="base width of our UNet")
    parser.add_argument("--monai-width", type=int, default=24, help="base width of MONAI's UNet (equal parameters)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "WIDTH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]), args.size, args.repeats)))
        return
    rows = []
    for kind, width in (("ours", args.ours_width), ("monai", args.monai_width), ("in-plane", args.ours_width)):
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--size",
                str(args.size),
                "--repeats",
                str(args.repeats),
                "--child",
                kind,
                str(width),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            sys.exit(f"{kind} failed:\n{done.stderr[-2000:]}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    ours, monai, in_plane = rows
    print(f"forward+backward at {args.size}^3, batch 1, CPU, 2 threads, best of {args.repeats}")
    print(f"{'model':<34}{'parameters':>12}{'seconds':>10}{'peak MiB':>10}")
    names = {
        "ours": "ours (attention at bottom only)",
        "monai": "MONAI (attention at levels 3, 4)",
        "in-plane": "ours, down-sampling x and y only",
    }
    for row in rows:
        print(f"{names[row['model']]:<34}{row['parameters']:>12,}{row['seconds']:>10.2f}{row['peak_mib']:>10.0f}")
    for name, other in (("ratio MONAI / ours", monai), ("ratio in-plane / ours", in_plane)):
        print(
            f"{name:<34}{other['parameters'] / ours['parameters']:>12.2f}"
            f"{other['seconds'] / ours['seconds']:>10.2f}{other['peak_mib'] / ours['peak_mib']:>10.2f}"
        )


if __name__ == "__main__":
    sys.path.insert(0, __file__.rsplit("/bench/", 1)[0])
    main()
