"""Shared fixtures: a small study whose four sources write volumes in four different ways."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.synthetic import write_chest
from studies.build import build_bundle

GRID = "shape = [32, 32, 32]\nspacing = 10.0"

MANIFEST = """
[study]
title = "Anatomical feasibility of synthetic chest CT"
seed = 2024
{grid}
instructions = "Rank each set."

[[volume]]
id = "real-07"
file = "scans/real-07.nii.gz"
source = "real"
finding = "Pleural effusion"

[[volume]]
id = "gen-eff-1"
file = "scans/gen-eff-1.nii.gz"
source = "medsyn"
finding = "pleural effusion"
intensity = "unit"

[[volume]]
id = "hagan-02"
file = "scans/hagan-02.nii.gz"
source = "ha-gan"

[[volume]]
id = "md-02"
file = "scans/md-02.nii.gz"
source = "medical-diffusion"

[recognition]
volumes = ["gen-eff-1", "real-07"]

[[ranking]]
structure = "lobes and fissures"
volumes = ["real-07", "gen-eff-1", "hagan-02", "md-02"]

[[ranking]]
structure = "airways"
volumes = ["real-07", "gen-eff-1", "hagan-02", "md-02"]

[[ranking]]
structure = "lobes and fissures"
volumes = ["md-02", "hagan-02", "gen-eff-1", "real-07"]
"""


def write_sources(folder: Path) -> None:
    """The four inputs: scanner-like int16 LPS, unit-range float RAS, uint8-with-scaling PIR, float64 on its own
    grid.
    """
    scans = folder / "scans"
    scans.mkdir(parents=True, exist_ok=True)
    write_chest(
        scans / "real-07.nii.gz",
        (64, 64, 40),
        (5.0, 5.0, 8.0),
        "LPS",
        "int16",
        noise_hu=12,
        seed=1,
        origin=(3.0, -150.0, 1200.0),
        header_fields={"descrip": b"SIEMENS real-07 2019-03-04", "db_name": b"PACS"},
    )
    write_chest(
        scans / "gen-eff-1.nii.gz", (32, 32, 32), (10.0, 10.0, 10.0), "RAS", "float32", "unit", noise_hu=12, seed=2
    )
    write_chest(
        scans / "hagan-02.nii.gz",
        (40, 40, 40),
        (8.0, 8.0, 8.0),
        "PIR",
        "uint8",
        noise_hu=12,
        seed=3,
        header_fields={"intent_name": b"HA-GAN", "cal_min": -1024.0, "cal_max": 600.0},
    )
    write_chest(
        scans / "md-02.nii.gz",
        (30, 36, 32),
        (11.0, 9.0, 10.0),
        "RAS",
        "float64",
        noise_hu=12,
        seed=4,
        header_fields={"aux_file": b"md.lut", "xyzt_units": 2},
    )


@pytest.fixture(scope="session")
def source_scans(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four inputs, written once per session (tests get copies)."""
    folder = tmp_path_factory.mktemp("sources")
    write_sources(folder)
    return folder / "scans"


@pytest.fixture
def manifest(tmp_path: Path, source_scans: Path) -> Path:
    """A manifest over the four heterogeneous inputs, on a 32³ grid at 10 mm."""
    shutil.copytree(source_scans, tmp_path / "scans")
    path = tmp_path / "study.toml"
    path.write_text(MANIFEST.format(grid=GRID), encoding="utf-8")
    return path


@pytest.fixture
def bundle(manifest: Path) -> Path:
    """The bundle built from `manifest` (in this process, no progress bar)."""
    return build_bundle(manifest, manifest.parent / "bundle", workers=1, progress=False)
