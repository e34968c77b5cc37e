"""DistributedDataParallel under torchrun, on this CPU with gloo."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("ddp_worker.py")


@pytest.mark.slow
def test_two_gloo_processes_train_two_steps_and_end_with_identical_weights(phantoms, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path.cwd()), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(WORKER),
            str(phantoms),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "effective batch = 2 processes x 1 x 1 accumulation = 2" in done.stderr
    digests = {(tmp_path / f"rank-{rank}.sha256").read_text() for rank in (0, 1)}
    assert len(digests) == 1
    assert (tmp_path / "checkpoint.json").exists()
