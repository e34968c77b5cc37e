"""The phantoms' fixed anatomy table: field of view, grid, lobe labels and the HU of every tissue.

The evaluation metrics segment phantoms from the CT alone with rules, so these values are the contract:
healthy parenchyma stays well above −950 HU with its noise (healthy %LAA-950 ≈ 0), emphysema and bullae
lie below −950, effusion is fluid (0–20 HU) in the dependent pleural space, lung vessels are dense.
"""

from __future__ import annotations

import numpy as np

FOV_MM = 336.0  # field of view of every phantom, whatever the grid size (spacing = FOV_MM / size)

LOBES = {1: "left upper", 2: "left lower", 3: "right upper", 4: "right middle", 5: "right lower"}
LEFT_LOBES, RIGHT_LOBES = (1, 2), (3, 4, 5)

# Hounsfield units (mean); noise with a per-case standard deviation in NOISE_SD_HU is added on top.
HU = {
    "air": -1000.0,  # outside the body and airway lumen
    "lung": -845.0,  # healthy parenchyma, mid-lung; ± LUNG_GRADIENT_HU from anterior to posterior
    "fissure": -600.0,  # a fissure at 1 mm; coarser grids see it diluted by partial volume
    "emphysema": -975.0,  # centrilobular low-attenuation areas (below −950)
    "bulla": -995.0,  # bullae: thin-walled air spaces
    "fat": -100.0,  # subcutaneous, mediastinal and pericardial fat
    "muscle": 50.0,  # chest wall and paraspinal muscle
    "soft_tissue": 40.0,  # heart, great vessels, oesophagus, airway wall
    "blood": 40.0,  # non-contrast blood: heart chambers, aorta, lung vessels
    "liver": 60.0,
    "spleen": 45.0,
    "fluid": 8.0,  # pleural effusion (0–20 HU), darker than muscle and liver
    "consolidation": 35.0,  # airless lung, air bronchograms kept
    "cartilage": 120.0,  # costal cartilage
    "marrow": 250.0,  # trabecular bone of vertebrae, ribs and sternum
    "cortical_bone": 800.0,  # cortical rims
    "disc": 80.0,  # intervertebral discs
    "csf": 15.0,  # spinal canal
}
LUNG_GRADIENT_HU = 15.0  # dependent (posterior) lung is denser: −860 anterior to −830 posterior
NOISE_SD_HU = (10.0, 18.0)  # per-case Gaussian noise; healthy lung stays > 4 SD above −950


def spacing_for(size: int) -> float:
    """Isotropic voxel size in mm for a phantom of `size`³ voxels."""
    return FOV_MM / size


def phantom_affine(size: int) -> np.ndarray:
    """RAS+ affine of a phantom grid centred on the world origin."""
    s = spacing_for(size)
    affine = np.diag([s, s, s, 1.0])
    affine[:3, 3] = -FOV_MM / 2 + s / 2
    return affine


def axis_mm(size: int) -> np.ndarray:
    """World coordinate (mm) of the voxel centres along one axis (the same for x, y and z)."""
    s = spacing_for(size)
    return (np.arange(size, dtype=np.float32) + 0.5) * s - FOV_MM / 2
