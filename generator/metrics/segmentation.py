"""Rule-based segmentation of a chest CT in Hounsfield units: body, airway, lungs, pleural effusion and heart.

Every rule uses standard HU ranges, smoothing, connected components and hole filling, so CT volumes without
masks (real scans, baselines' outputs) can be measured. Arrays are (X, Y, Z) in canonical RAS+ order:
+x patient's right, +y anterior (so the dependent, posterior side is low y), +z superior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull

AIR_HU = -950  # below this: airway lumen (and emphysema, hence the two-threshold growth)
CORE_HU = -990  # airway core: lumen voxels percolate at this level, emphysema (−975 ± noise) does not
RIM_STEPS = 4  # geodesic steps from the core through voxels below −950 HU
EMPHYSEMA_SHARE = 0.01  # share of lung voxels below −950 HU above which airway growth must be leak-safe
LUNG_HU = -400  # below this inside the body: aerated lung
BODY_HU = -500  # above this: the patient (outside air and lungs are below)
FLUID_HU = (-40, 25)  # pleural fluid (water-like, 0–20 HU) after smoothing; soft tissue and blood are above 25
RIM_HU = -30  # heart rim: midway between pericardial fat (−100) and myocardium/blood (≈ 40)
SOFT_HU = (25, 150)  # heart, great vessels, muscle after smoothing; bone marrow and cortex are above 150
TISSUE_HU = (-50, 150)  # voxels that take part in the tissue-only smoothing (no lung air, fat or bone)
SEED_AREA_MM2 = (40.0, 1200.0)  # trachea cross-section accepted as the airway seed
HEART_OPENING_MM = 20.0  # opening radius that detaches the aorta (≤ 30 mm wide), oesophagus and discs from the heart
HEART_FLOOR = 0.25  # share of the lungs' height below which soft tissue is taken for liver or spleen
MIN_EFFUSION_ML = 5.0


@dataclass
class Segmentation:
    """Boolean masks of one CT, all of its shape."""

    body: np.ndarray
    airway: np.ndarray
    lung: np.ndarray
    effusion: np.ndarray
    heart: np.ndarray


def segment(ct: np.ndarray, spacing: float) -> Segmentation:
    """Segment body, airway, lungs (vessels inside filled), pleural effusion and heart from HU alone."""
    ct = np.asarray(ct, np.float32)
    body = body_mask(ct)
    smooth = ndimage.gaussian_filter(ct, 1.0)
    airway = airway_mask(ct, body, spacing)
    lung = lung_mask(smooth, body, airway)
    tissue = tissue_smooth(ct)
    effusion = effusion_mask(ct, tissue, body, lung, spacing)
    heart = heart_mask(ct, tissue, lung | effusion, spacing)
    return Segmentation(body=body, airway=airway, lung=lung, effusion=effusion, heart=heart)


def body_mask(ct: np.ndarray) -> np.ndarray:
    """The patient: the largest connected component above −500 HU with each axial slice's holes filled."""
    dense = largest_component(ct > BODY_HU)
    return fill_slices(dense)


def airway_mask(ct: np.ndarray, body: np.ndarray, spacing: float) -> np.ndarray:
    """Airway lumen grown from a trachea seed (the highest axial slice with an air component of tracheal
    size near the midline) through 26-connected voxels below −950 HU (thin oblique tubes touch only at
    edges and corners). Healthy lung lies far above −950 HU, so that growth cannot leak; when the lung
    outside it holds more than 1 % emphysema-range voxels, a wall thinner than a voxel could let it leak, and
    the leak-safe tree is kept instead: the seed and the voxels below −990 HU 6-connected to it (lumen
    percolates at that level, emphysema at ≈ −975 HU stays in isolated specks), widened by four geodesic
    steps through voxels below −950 HU."""
    seed = trachea_seed(ct, body, spacing)
    if seed is None:
        return np.zeros(ct.shape, bool)
    candidates = ct < AIR_HU
    full = _grow(candidates, seed, full_connectivity=True)
    rest = (ndimage.gaussian_filter(ct, 1.0) < LUNG_HU) & body & ~full
    if not rest.any() or candidates[rest].mean() <= EMPHYSEMA_SHARE:
        return full
    safe = _grow((ct < CORE_HU) | seed, seed)
    for _ in range(RIM_STEPS):
        safe |= ndimage.binary_dilation(safe) & candidates
    return safe


def trachea_seed(ct: np.ndarray, body: np.ndarray, spacing: float) -> np.ndarray | None:
    """A 2D mask (on one axial slice, returned in 3D) of the trachea, or None when no slice shows one."""
    lo, hi = (a / spacing**2 for a in SEED_AREA_MM2)
    nx = ct.shape[0]
    for z in range(ct.shape[2] - 1, -1, -1):
        air = (ct[:, :, z] < AIR_HU) & body[:, :, z]
        if not air.any():
            continue
        labels, n = ndimage.label(air)
        areas = np.bincount(labels.ravel(), minlength=n + 1)
        for label in np.argsort(areas)[::-1]:
            if label == 0 or not lo <= areas[label] <= hi:
                continue
            cx = ndimage.center_of_mass(labels == label)[0]
            if abs(cx - nx / 2) < nx / 6:
                seed = np.zeros(ct.shape, bool)
                seed[:, :, z] = labels == label
                return seed
    return None


def lung_mask(smooth: np.ndarray, body: np.ndarray, airway: np.ndarray) -> np.ndarray:
    """Aerated lung: below −400 HU inside the body, not airway, components of at least 5 % of the largest,
    with each axial slice's holes (vessels, nodules) filled as clinical lung masks do."""
    air = (smooth < LUNG_HU) & body & ~airway
    labels, n = ndimage.label(air)
    if n == 0:
        return air
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    sizes[0] = 0
    keep = sizes >= 0.05 * sizes.max()
    return fill_slices(keep[labels]) & ~airway


def tissue_smooth(ct: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Gaussian smoothing over water-to-soft-tissue voxels only (−50..150 HU), so fluid or myocardium beside
    lung, fat or bone keeps its own density instead of a partial-volume blend; voxels without such tissue
    nearby get −1000."""
    weight = ((ct > TISSUE_HU[0]) & (ct < TISSUE_HU[1])).astype(np.float32)
    num = ndimage.gaussian_filter(ct * weight, sigma)
    den = ndimage.gaussian_filter(weight, sigma)
    return np.where(den > 0.05, num / np.maximum(den, 1e-6), -1000.0).astype(np.float32)


def effusion_mask(ct: np.ndarray, tissue: np.ndarray, body: np.ndarray, lung: np.ndarray, spacing: float) -> np.ndarray:
    """Pleural effusion: fluid-density voxels (−40..25 HU smoothed over tissue) that form a component of at
    least 5 mL touching the lung on its dependent (posterior) half; thin partial-volume shells are removed
    by a one-voxel opening and the component's rim is restored from the fluid voxels."""
    fluid = (tissue > FLUID_HU[0]) & (tissue < FLUID_HU[1]) & (ct > TISSUE_HU[0]) & body & ~lung
    core = ndimage.binary_opening(fluid)
    labels, n = ndimage.label(core)
    if n == 0 or not lung.any():
        return np.zeros(ct.shape, bool)
    min_voxels = MIN_EFFUSION_ML * 1000 / spacing**3
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    touching = np.bincount(labels[ndimage.binary_dilation(lung) & core], minlength=n + 1) > 0
    lung_y = np.nonzero(lung.any(axis=(0, 2)))[0]
    centre_y = ndimage.center_of_mass(core, labels, range(1, n + 1))
    keep = np.zeros(n + 1, bool)
    for label in range(1, n + 1):
        dependent = centre_y[label - 1][1] < lung_y.mean()
        keep[label] = sizes[label] >= min_voxels and touching[label] and dependent
    kept = keep[labels]
    return kept | (ndimage.binary_dilation(kept) & fluid)


def heart_mask(ct: np.ndarray, tissue: np.ndarray, thorax: np.ndarray, spacing: float) -> np.ndarray:
    """The heart: soft tissue (25..150 HU) inside the convex hull of the lungs on its axial slice, opened by a
    20 mm ball (which detaches the aorta, oesophagus and discs), the component with the most voxels above
    the lowest quarter of the lungs' height (where a liver dome between the lung bases lies), its rim (two
    voxels) restored from the raw CT above −30 HU (midway between pericardial fat and myocardium)."""
    between = hull_slices(thorax) & ~thorax
    soft = (tissue > SOFT_HU[0]) & (tissue < SOFT_HU[1]) & (ct > TISSUE_HU[0]) & between
    if not soft.any():
        return soft
    radius = HEART_OPENING_MM / spacing
    core = ndimage.distance_transform_edt(soft) > radius
    core = ndimage.distance_transform_edt(~core) <= radius
    labels, n = ndimage.label(core & soft)
    if n == 0:
        return np.zeros(soft.shape, bool)
    zs = np.nonzero(thorax.any(axis=(0, 1)))[0]
    floor = int(np.ceil(zs.min() + HEART_FLOOR * (zs.max() - zs.min())))
    upper = np.bincount(labels[:, :, floor:].ravel(), minlength=n + 1)
    upper[0] = 0
    if upper.max() == 0:
        return np.zeros(soft.shape, bool)
    heart = labels == int(np.argmax(upper))
    rim = (ct > RIM_HU) & (ct < SOFT_HU[1]) & between
    for _ in range(2):
        heart |= ndimage.binary_dilation(heart) & rim
    return heart


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 6-connected component of a mask (empty if the mask is)."""
    labels, n = ndimage.label(mask)
    if n == 0:
        return mask.copy()
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    sizes[0] = 0
    return labels == int(np.argmax(sizes))


def fill_slices(mask: np.ndarray) -> np.ndarray:
    """Fill the holes of every axial (last-axis) slice."""
    out = np.empty_like(mask, dtype=bool)
    for z in range(mask.shape[2]):
        out[:, :, z] = ndimage.binary_fill_holes(mask[:, :, z])
    return out


def _grow(candidates: np.ndarray, seed: np.ndarray, full_connectivity: bool = False) -> np.ndarray:
    """The union of the candidate components holding a seed voxel (6-connected, or 26-connected)."""
    labels, _ = ndimage.label(candidates, structure=np.ones((3, 3, 3)) if full_connectivity else None)
    hit = np.unique(labels[seed & candidates])
    hit = hit[hit > 0]
    return np.isin(labels, hit) if hit.size else np.zeros(candidates.shape, bool)


def hull_slices(mask: np.ndarray) -> np.ndarray:
    """The 2D convex hull of the mask on every axial slice (voxel centres inside or on the hull)."""
    out = np.zeros(mask.shape, bool)
    for z in range(mask.shape[2]):
        points = np.argwhere(mask[:, :, z])
        if len(points) < 3 or np.linalg.matrix_rank(points - points[0]) < 2:
            out[points[:, 0], points[:, 1], z] = True
            continue
        hull = ConvexHull(points)
        lo, hi = points.min(axis=0), points.max(axis=0)
        gx, gy = np.mgrid[lo[0] : hi[0] + 1, lo[1] : hi[1] + 1]
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
        inside = np.all(grid @ hull.equations[:, :2].T + hull.equations[:, 2] <= 1e-9, axis=1)
        out[gx.ravel()[inside], gy.ravel()[inside], z] = True
    return out
