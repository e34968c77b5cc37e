"""Benchmark `studies build` and `studies audit` on a paper-sized study: 20 volumes served at 256³, 1 mm.

Inputs mimic the paper's four sources: real CT (512² × 256 at 0.7 × 0.7 × 1.25 mm, int16, LPS, scanner
header), MedSyn (256³ float32 in [-1, 1], RAS), HA-GAN (256³ uint8 with scaling, PIR) and Medical Diffusion
(128³ float32 in [-1, 1] at 2 mm); the real CT's 358 × 358 × 320 mm is cropped to the 256 mm box
(`allow_crop = true`), and the build dithers (the default). Writing the inputs is not timed. The table gives
wall-clock seconds, the ratio against the serial build measured in the same run, and CPU seconds (this process
and its workers), which stay meaningful on a machine shared with other jobs: CPU seconds / 2 is the wall time on
an idle 2-core machine.

    .venv/bin/python bench/studies_build.py [--volumes 20] [--size 256]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.synthetic import chest_volume, oriented_affine  # noqa: E402
from contracts.volumes import HU_WINDOW  # noqa: E402
from studies.audit import audit_bundle  # noqa: E402
from studies.build import build_bundle  # noqa: E402

# source: (shape at --size 256, spacing mm, axis codes, stored dtype, intensity convention)
SOURCES = {
    "real": ((512, 512, 256), (0.7, 0.7, 1.25), "LPS", "int16", "hu"),
    "medsyn": ((256, 256, 256), (1.0, 1.0, 1.0), "RAS", "float32", "unit"),
    "ha-gan": ((256, 256, 256), (1.0, 1.0, 1.0), "PIR", "uint8", "hu"),
    "medical-diffusion": ((128, 128, 128), (2.0, 2.0, 2.0), "RAS", "float32", "unit"),
}


def write_inputs(folder: Path, volumes: int, size: int) -> Path:
    """Write `volumes` inputs cycling through the sources (each with its own noise) and a manifest; return the
    manifest.
    """
    scale = size / 256
    bases = {}
    for source, (shape, spacing, axcodes, _, _) in SOURCES.items():
        shape = tuple(max(8, round(n * scale)) for n in shape)
        spacing = tuple(s / scale for s in spacing)
        affine = oriented_affine(shape, spacing, axcodes)
        bases[source] = (chest_volume(shape, affine), affine)
    entries = []
    for index in range(volumes):
        source = list(SOURCES)[index % len(SOURCES)]
        _, _, _, dtype, intensity = SOURCES[source]
        base, affine = bases[source]
        hu = base + np.random.default_rng(index).normal(0, 15, base.shape).astype(np.float32)
        if intensity == "unit":
            low, high = HU_WINDOW
            hu = (np.clip(hu, low, high) - low) / (high - low) * 2 - 1
        image = nib.Nifti1Image(hu if dtype != "int16" else np.rint(hu).astype(np.int16), affine)
        image.set_data_dtype(dtype)
        nib.save(image, str(folder / f"{source}-{index}.nii.gz"))
        entries.append(
            f'[[volume]]\nid = "{source}-{index}"\nfile = "{source}-{index}.nii.gz"\n'
            f'source = "{source}"\nintensity = "{intensity}"\n'
        )
    manifest = folder / "study.toml"
    manifest.write_text(
        f'[study]\ntitle = "benchmark"\nseed = 1\nshape = [{size}, {size}, {size}]\n'
        f"spacing = {256 / size}\nallow_crop = true\n\n" + "\n".join(entries)
    )
    return manifest


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished workers."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volumes", type=int, default=20, help="volumes in the study (default 20)")
    parser.add_argument("--size", type=int, default=256, help="served grid edge (voxels); inputs scale with it")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="studies-bench-"))
    try:
        started = time.perf_counter()
        manifest = write_inputs(folder, args.volumes, args.size)
        print(f"wrote {args.volumes} inputs in {time.perf_counter() - started:.0f} s (not timed)", file=sys.stderr)
        rows = []
        for label, run in (
            ("build, 1 process (baseline)", lambda: build_bundle(manifest, folder / "b1", workers=1, progress=False)),
            ("build, 2 processes", lambda: build_bundle(manifest, folder / "b2", workers=2, progress=False)),
            ("audit, 2 processes", lambda: audit_bundle(folder / "b2", workers=2)),
        ):
            started, cpu = time.perf_counter(), cpu_seconds()
            run()
            rows.append((label, time.perf_counter() - started, cpu_seconds() - cpu))
        baseline = rows[0][1]
        print(f"\n{args.volumes} volumes served at {args.size}³ (inputs: {', '.join(SOURCES)})\n")
        print(f"| {'step':<28} | {'seconds':>8} | {'s/volume':>8} | {'time ratio':>11} | {'CPU s':>7} |")
        print(f"|{'-' * 30}|{'-' * 10}|{'-' * 10}|{'-' * 13}|{'-' * 9}|")
        for label, seconds, cpu in rows:
            print(
                f"| {label:<28} | {seconds:8.1f} | {seconds / args.volumes:8.2f} | "
                f"{seconds / baseline:10.2f}x | {cpu:7.1f} |"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
