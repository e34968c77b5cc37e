"""The training dataset: case folders streamed from disk as model-space tensors with their report."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from contracts.volumes import CHANNELS, LOW_FACTOR
from generator.data.cases import MASKS, MISSING_HINT, CaseError, read_case
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


def missing_masks(folders: list[Path]) -> dict[Path, list[str]]:
    """The masks each case folder has no file for (only the folders that lack some)."""
    absent = {folder: [name for name in MASKS if not (folder / f"{name}.nii.gz").is_file()] for folder in folders}
    return {folder: names for folder, names in absent.items() if names}


class CaseDataset(Dataset):
    """Items {"x": (4, S, S, S), "x_low": (4, S/f, S/f, S/f), "present": (4,) bool, "report": str, "case": str}
    for the low-resolution factor f; reads one case per item. `present` says which channels (ct, lobes, airway,
    vessels) the case has: a missing mask reads as zeros and is to be left out of the loss.

    With `full=False` items leave out "x": the base stage needs only the low resolution, and a 256³ volume would
    otherwise cross from each loader worker through shared memory as 268 MB of float32 per item. Cases that lack
    masks are refused up front, naming them, unless `allow_missing_masks`.
    """

    def __init__(
        self, root: Path | list[Path], full: bool = True, factor: int = LOW_FACTOR, allow_missing_masks: bool = False
    ):
        self.full, self.factor, self.allow_missing_masks = full, factor, allow_missing_masks
        self.folders = find_cases(root)
        if not self.folders:
            raise CaseError(f"{root}: holds no case folders (folders with ct.nii.gz)")
        lacking = missing_masks(self.folders)
        if lacking and not allow_missing_masks:
            listed = "; ".join(f"{folder.name} ({', '.join(names)})" for folder, names in list(lacking.items())[:10])
            more = f" and {len(lacking) - 10} more" if len(lacking) > 10 else ""
            raise CaseError(f"{len(lacking)} cases lack masks: {listed}{more} ({MISSING_HINT})", "no masks")

    def __len__(self) -> int:
        return len(self.folders)

    def __getitem__(self, i: int) -> dict:
        case = read_case(self.folders[i], self.allow_missing_masks)
        if any(n % self.factor for n in case.ct.shape):
            raise CaseError(f"{self.folders[i]}: shape {case.ct.shape} is not divisible by {self.factor}")
        x = torch.from_numpy(to_model(case))
        present = torch.tensor([name not in case.missing for name in CHANNELS])
        item = {
            "x_low": downsample(x, self.factor).contiguous(),
            "present": present,
            "report": case.report,
            "case": self.folders[i].name,
        }
        return {"x": x, **item} if self.full else item
