"""`python -m generator evaluate` on 32 volumes of 256³ (16 'real' + 16 'generated' phantoms).

The baseline is reading the same 32 CTs once in this process (decompression dominates), measured in the same run, so
the ratios say how much the anatomy measures and the features cost on top of I/O. The phantoms are made once and kept
in --work. Run: `python -m bench evaluate [--n 32] [--size 256] [--workers 2 [1]] [--work DIR]`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.data.cases import read_case  # noqa: E402


def phantoms(work: Path, name: str, n: int, size: int, seed: int) -> Path:
    """n phantoms at size³ in work/name, made unless present."""
    folder = work / name
    if not (folder / f"case-{n - 1:04d}" / "meta.json").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "generator",
                "phantoms",
                "--out",
                str(folder),
                "--n",
                str(n),
                "--size",
                str(size),
                "--seed",
                str(seed),
            ],
            cwd=ROOT,
            check=True,
            stderr=subprocess.DEVNULL,
        )
    return folder


def timed(command: list[str]) -> float:
    """Wall seconds of one command run from the repository root (it must succeed)."""
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=32, help="volumes in all, half of them per set (default 32)")
    parser.add_argument("--size", type=int, default=256, help="phantom grid (voxels per axis)")
    parser.add_argument("--workers", type=int, nargs="+", default=[2], help="worker counts to time (default: 2)")
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(tempfile.gettempdir()) / "bench-evaluate",
        help="folder for the phantoms and results",
    )
    args = parser.parse_args()
    half = args.n // 2
    print(f"making {args.n} phantoms at {args.size}³ in {args.work} (kept for later runs) …", flush=True)
    sets = [phantoms(args.work, name, half, args.size, seed) for name, seed in (("real", 1), ("generated", 2))]
    start = time.perf_counter()
    for folder in sets:
        for case in sorted(folder.iterdir()):
            read_case(case)
    baseline = time.perf_counter() - start
    rows = [("read the case folders once (baseline)", baseline)]
    for workers in args.workers:
        out = args.work / f"out-{workers}"
        rows.append(
            (
                f"evaluate, random features, {workers} worker{'s' * (workers > 1)}",
                timed(
                    [
                        sys.executable,
                        "-m",
                        "generator",
                        "evaluate",
                        "--real",
                        str(sets[0]),
                        "--generated",
                        str(sets[1]),
                        "--out",
                        str(out),
                        "--random-features",
                        "0",
                        "--workers",
                        str(workers),
                    ]
                ),
            )
        )
    print(f"\n{args.n} volumes of {args.size}³\n{'step':<44}{'seconds':>9}{'s/volume':>10}{'vs baseline':>13}")
    for name, seconds in rows:
        print(f"{name:<44}{seconds:>9.1f}{seconds / args.n:>10.2f}{seconds / baseline:>12.1f}×")


if __name__ == "__main__":
    main()
