"""What every ingest command writes: source case folders (ct.nii.gz in int16 HU, report.txt, meta.json) under
names that identify no one, and ingest-map.csv beside them, for the researcher only, linking each case back.

Names are `case-` and 16 hex digits of HMAC-SHA256(key, source id): stable across reruns (so a rerun resumes),
and no one without the key in `.ingest-key` can test a guessed identifier against them. Share the case folders,
never `.ingest-key` or `ingest-map.csv`.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

import nibabel as nib
import numpy as np

from generator.data.cases import CaseError, save_image, write_folder

KEY_FILE = ".ingest-key"
MAP_FILE = "ingest-map.csv"
MAP_COLUMNS = ("case", "source", "source_id")
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])  # DICOM's patient coordinates (LPS) to NIfTI's world (RAS)


def case_key(out: Path) -> bytes:
    """The folder's naming key, made (32 random bytes, readable by the owner only) on the first run."""
    path = Path(out) / KEY_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    text = path.read_text().strip()
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise CaseError(f"{path}: not a naming key (64 hex digits); restore it or move the cases away") from None


def case_name(key: bytes, source_id: str) -> str:
    """The anonymous, stable name of the case made from the source `source_id` (e.g. a SeriesInstanceUID)."""
    return "case-" + hmac.new(key, source_id.encode(), hashlib.sha256).hexdigest()[:16]


def is_done(folder: Path) -> bool:
    """Whether an earlier run already wrote this case (its ct.nii.gz exists; folders appear whole or not at all)."""
    return (Path(folder) / "ct.nii.gz").is_file()


def update_map(out: Path, rows: list[dict[str, str]]) -> None:
    """Merge rows (case, source, source_id) into out/ingest-map.csv, one row per case, written atomically."""
    path = Path(out) / MAP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    merged: dict[str, dict[str, str]] = {}
    if path.is_file():
        with path.open(newline="") as f:
            merged = {row["case"]: row for row in csv.DictReader(f)}
    merged |= {row["case"]: row for row in rows}
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=MAP_COLUMNS)
        writer.writeheader()
        writer.writerows(merged[name] for name in sorted(merged))
    tmp.replace(path)


def report_text(findings: str, impression: str) -> str:
    """report.txt in the project's layout, or "" when either section is empty (a case without a usable report)."""
    findings, impression = (" ".join(str(s).split()) for s in (findings, impression))
    if not findings or not impression or "nan" in (findings.lower(), impression.lower()):
        return ""
    return f"FINDINGS: {findings}\nIMPRESSION: {impression}\n"


def write_source_case(folder: Path, hu: np.ndarray, affine: np.ndarray, report: str, meta: dict) -> None:
    """Write a source case folder atomically: ct.nii.gz (int16 HU, reoriented to the closest canonical RAS+ by
    axis flips and swaps only, so every value is kept), report.txt when there is one, and meta.json."""
    if hu.dtype != np.int16:
        raise TypeError(f"HU must be int16, got {hu.dtype}")
    canonical = nib.as_closest_canonical(nib.Nifti1Image(hu, affine))

    def fill(tmp: Path) -> None:
        save_image(np.asfortranarray(np.asanyarray(canonical.dataobj)), canonical.affine, tmp / "ct.nii.gz")
        if report:
            (tmp / "report.txt").write_text(report)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")

    write_folder(folder, fill)
