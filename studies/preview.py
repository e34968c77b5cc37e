"""Contact sheet of a bundle: mid axial, coronal and sagittal slices of every served volume in the lung window.

Volumes are labelled by opaque name only and laid out in name order (random), so the sheet can be shown
to anyone without revealing sources. Slices use radiological convention: patient right on screen left,
anterior up in axial, superior up in coronal and sagittal, anterior left in sagittal.
"""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from contracts.windows import apply_window
from studies.blinding import served_voxels
from studies.bundle import load_study
from studies.errors import StudyError

TILE = 160  # pixels per view
LABEL_HEIGHT = 18
GAP = 6
BACKGROUND = 32


def mid_slices(hu: np.ndarray) -> list[np.ndarray]:
    """Mid axial, coronal and sagittal slices of a RAS+ array, turned for radiological display."""
    x, y, z = (n // 2 for n in hu.shape)
    axial = hu[::-1, ::-1, z].T  # rows anterior to posterior, columns patient right to left
    coronal = hu[::-1, y, ::-1].T  # rows superior to inferior, columns patient right to left
    sagittal = hu[x, ::-1, ::-1].T  # rows superior to inferior, columns anterior to posterior
    return [axial, coronal, sagittal]


def _fit(image: np.ndarray) -> Image.Image:
    """A grey view scaled to fit a TILE×TILE square, keeping its aspect ratio."""
    picture = Image.fromarray(image)
    scale = TILE / max(image.shape)
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return picture.resize(size, Image.Resampling.BILINEAR)


def contact_sheet(bundle: Path, out: Path) -> Path:
    """Draw the contact sheet PNG of `bundle` to `out` and return `out`."""
    study = load_study(bundle)
    shape = tuple(study["grid"]["shape"])
    volumes = sorted(study["volumes"], key=lambda volume: volume["name"])
    columns = max(1, math.ceil(math.sqrt(len(volumes) / 3)))
    rows = math.ceil(len(volumes) / columns)
    cell_width, cell_height = 3 * TILE + 2 * GAP, TILE + LABEL_HEIGHT
    sheet = Image.new("L", (columns * (cell_width + 2 * GAP) + GAP, rows * (cell_height + GAP) + GAP), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for index, volume in enumerate(volumes):
        row, column = divmod(index, columns)
        left, top = GAP + column * (cell_width + 2 * GAP), GAP + row * (cell_height + GAP)
        draw.text((left, top + 2), volume["name"], fill=235, font=font)
        hu = served_voxels(gzip.decompress((Path(bundle) / volume["file"]).read_bytes()), shape)
        for view, image in enumerate(mid_slices(hu)):
            tile = _fit(apply_window(image, "lung"))
            sheet.paste(
                tile,
                (left + view * (TILE + GAP) + (TILE - tile.width) // 2, top + LABEL_HEIGHT + (TILE - tile.height) // 2),
            )
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        sheet.save(out, format="PNG")
    except OSError as error:
        raise StudyError(f"{out}: cannot write the contact sheet ({error})") from None
    return out
