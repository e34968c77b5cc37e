"""The CT and mask conventions every part agrees on: channel order, HU window and clip range, low-resolution factor."""

from __future__ import annotations

CHANNELS = ("ct", "lobes", "airway", "vessels")
"""Model-space channel order; also the volume names of a case folder (`<name>.nii.gz`)."""

HU_WINDOW = (-1024.0, 600.0)
"""The HU range the models see, mapped linearly to [-1, 1] (paper, section V-A); generated CT never leaves it."""

HU_CLIP = (-1024, 3071)
"""The range stored CT volumes (case folders, served study volumes) are clipped to: 12-bit CT."""

AIR_HU = HU_CLIP[0]
"""The value of air, and of everything outside a volume's field of view once it is resampled."""

LOW_FACTOR = 4
"""Low resolution is nearest-neighbour down-sampling by this factor per axis (paper: 256³ → 64³)."""

LOBE_LABELS = {1: "left upper", 2: "left lower", 3: "right upper", 4: "right middle", 5: "right lower"}
"""`lobes.nii.gz` labels (lungmask's convention); 0 is background."""
