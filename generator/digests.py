"""The SHA-256 digest of a file, read in 1 MiB blocks: how checkpoints, report encoders and feature extractors are
identified in meta.json and checked when loaded."""
from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
