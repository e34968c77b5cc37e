"""Time per phantom at 64³, 128³ and 256³: build and write, as ratios to one size³ Gaussian-noise draw.

Run: `.venv/bin/python -m bench.phantoms [--sizes 64 128 256] [--repeats 3]`. The baseline (drawing the
phantom's own noise volume) is measured in the same run, so the ratios compare across machines.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from generator.data.cases import write_case
from generator.data.phantoms import make_phantom


def _best(fn, repeats: int) -> float:
    """Best wall time of `repeats` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    """Print one row per size: baseline, build, write (s) and build/baseline."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256], help="phantom grids to time")
    parser.add_argument("--repeats", type=int, default=3, help="phantoms per size")
    args = parser.parse_args()
    print(f"{'size':>6} {'noise (s)':>10} {'build (s)':>10} {'write (s)':>10} {'build/noise':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            rng = np.random.default_rng(0)
            baseline = _best(lambda: rng.standard_normal((size,) * 3, dtype=np.float32), args.repeats)
            index = iter(range(10**6))
            build = _best(lambda: make_phantom(size, 0, next(index)), args.repeats)
            case = make_phantom(size, 0, 0)
            write = _best(lambda: write_case(case, Path(tmp) / f"case-{size}"), args.repeats)
            print(f"{size:>6} {baseline:>10.3f} {build:>10.3f} {write:>10.3f} {build / baseline:>12.1f}")


if __name__ == "__main__":
    main()
