"""Display window presets (width, level in HU) shared by the bundle, the preview and the reader platform."""

from __future__ import annotations

import numpy as np

WINDOWS: dict[str, tuple[float, float]] = {
    "lung": (1500.0, -600.0),
    "mediastinum": (350.0, 50.0),
    "bone": (2000.0, 500.0),
    "vessels": (800.0, -150.0),  # a narrower lung window that keeps pulmonary vessels bright against parenchyma
}

RECOGNITION_WINDOW = "lung"
"""The preset recognition pages open in when the manifest's [recognition] table names none."""


def default_window(structure: str) -> str:
    """The preset a ranking structure opens in when the manifest names none: `vessels` for vessel structures, else
    `lung`.
    """
    return "vessels" if "vessel" in structure.lower() else "lung"


def window_bounds(name: str) -> tuple[float, float]:
    """The (lowest, highest) HU a preset shows, from its width and level."""
    width, level = WINDOWS[name]
    return level - width / 2, level + width / 2


def apply_window(hu: np.ndarray, name: str) -> np.ndarray:
    """Grey levels 0–255 (uint8) of HU values seen through a window preset."""
    low, high = window_bounds(name)
    return np.round(np.clip((hu.astype(np.float32) - low) / (high - low), 0.0, 1.0) * 255.0).astype(np.uint8)
