"""Run under `torchrun`: train the tiny super-resolution model for two steps and write this rank's weight digest."""

import hashlib
import os
import sys
from pathlib import Path

import torch.distributed as dist

from generator.train import TrainOptions, train


def main(data: str, out: str) -> None:
    """Train, then write out/rank-<rank>.sha256 with the sha256 of every parameter's bytes in order."""
    net = train(TrainOptions(stage="superres", config="tiny", data=Path(data), out=Path(out), steps=2, workers=0))
    digest = hashlib.sha256()
    for value in net.state_dict().values():
        digest.update(value.detach().cpu().numpy().tobytes())
    rank = int(os.environ["RANK"])
    (Path(out) / f"rank-{rank}.sha256").write_text(digest.hexdigest())
    assert not dist.is_initialized()


if __name__ == "__main__":
    main(*sys.argv[1:])
