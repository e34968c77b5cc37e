"""The training dataset: case folders streamed from disk as model-space tensors with their report."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from contracts.volumes import LOW_FACTOR
from generator.data.cases import CaseError, read_case
from generator.data.model_space import downsample, to_model


def find_cases(roots: Path | list[Path]) -> list[Path]:
    """Case folders under the given paths: each path is a case folder or a folder of case folders (hidden
    folders, such as a case still being written, are left out)."""
    folders: list[Path] = []
    for root in [roots] if isinstance(roots, (str, Path)) else roots:
        root = Path(root)
        if (root / "ct.nii.gz").is_file():
            folders.append(root)
        elif root.is_dir():
            folders += sorted(
                p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "ct.nii.gz").is_file()
            )
        else:
            raise CaseError(f"{root}: no such folder of cases")
    return folders


class CaseDataset(Dataset):
    """Items {"x": (4, S, S, S), "x_low": (4, S/4, S/4, S/4), "report": str, "case": str}; reads one case per item.

    With `full=False` items leave out "x": the base stage needs only the low resolution, and a 256³ volume would
    otherwise cross from each loader worker through shared memory as 268 MB of float32 per item.
    """

    def __init__(self, root: Path | list[Path], full: bool = True):
        self.full = full
        self.folders = find_cases(root)
        if not self.folders:
            raise CaseError(f"{root}: holds no case folders (folders with ct.nii.gz)")

    def __len__(self) -> int:
        return len(self.folders)

    def __getitem__(self, i: int) -> dict:
        case = read_case(self.folders[i])
        if any(n % LOW_FACTOR for n in case.ct.shape):
            raise CaseError(f"{self.folders[i]}: shape {case.ct.shape} is not divisible by {LOW_FACTOR}")
        x = torch.from_numpy(to_model(case))
        item = {"x_low": downsample(x, LOW_FACTOR).contiguous(), "report": case.report, "case": self.folders[i].name}
        return {"x": x, **item} if self.full else item
