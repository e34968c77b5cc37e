"""Branching tubes for the phantoms: space-filling trees (airways, vessels) and their rasterisation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from generator.data.anatomy import FOV_MM


@dataclass(frozen=True)
class Tube:
    """A straight tapered tube from `start` to `end` (world mm, RAS+) with radii `r0` → `r1` in mm."""

    start: np.ndarray
    end: np.ndarray
    r0: float
    r1: float


def colonize(
    rng: np.random.Generator,
    root: np.ndarray,
    direction: np.ndarray,
    attractors: np.ndarray,
    leaf_radius: float,
    step: float = 4.0,
    influence: float = 45.0,
    exponent: float = 3.0,
    max_steps: int = 150,
) -> list[Tube]:
    """Grow a space-filling tree by space colonisation (Runions et al., 2007): every attractor pulls its
    nearest node, pulled nodes grow one `step` towards their attractors, attractors are consumed once a node
    comes within 1.5 steps. Radii follow the pipe model r_parent^γ = Σ r_child^γ from `leaf_radius` (γ = 3 is
    Murray's law), so the tree thickens towards its root."""
    nodes = [np.asarray(root, float), np.asarray(root, float) + _unit(direction) * step]
    parents = [-1, 0]
    points = np.asarray(attractors, float)
    for _ in range(max_steps):
        if not len(points):
            break
        grid = np.asarray(nodes)
        tree = cKDTree(grid)
        dist, near = tree.query(points, distance_upper_bound=influence)
        pulled = np.isfinite(dist)
        if not pulled.any():
            break
        pull = points[pulled] - grid[near[pulled]]
        pull /= np.linalg.norm(pull, axis=1, keepdims=True) + 1e-9
        total = np.zeros_like(grid)
        np.add.at(total, near[pulled], pull)
        growing = np.nonzero(np.linalg.norm(total, axis=1) > 1e-6)[0]
        heading = total[growing] / np.linalg.norm(total[growing], axis=1, keepdims=True)
        heading += rng.normal(scale=0.15, size=heading.shape)
        new = grid[growing] + heading / np.linalg.norm(heading, axis=1, keepdims=True) * step
        fresh = tree.query(new)[0] > 0.5 * step
        if not fresh.any():
            break
        new, growing = new[fresh], growing[fresh]
        nodes.extend(new)
        parents.extend(growing.tolist())
        points = points[~np.isfinite(cKDTree(new).query(points, distance_upper_bound=1.5 * step)[0])]
    radius, flow = np.zeros(len(nodes)), np.zeros(len(nodes))
    for i in range(len(nodes) - 1, 0, -1):  # children are always created after their parents
        radius[i] = leaf_radius if flow[i] == 0 else flow[i] ** (1 / exponent)
        flow[parents[i]] += radius[i] ** exponent
    return [Tube(nodes[parents[i]], nodes[i], radius[i], radius[i]) for i in range(1, len(nodes))]


def attractors_in(volume: np.ndarray, label: int, per_mm3: float, rng: np.random.Generator) -> np.ndarray:
    """Random world points (mm) inside the voxels of `volume` equal to `label`, `per_mm3` points per mm³ on
    average (rejection sampling in the label's bounding box, so independent of the grid size)."""
    size = volume.shape[0]
    s = FOV_MM / size
    idx = np.nonzero(volume[::2, ::2, ::2] == label) if size >= 64 else np.nonzero(volume == label)
    if not idx[0].size:
        return np.zeros((0, 3))
    step = 2 if size >= 64 else 1
    lo = np.array([i.min() for i in idx]) * step * s - FOV_MM / 2
    hi = (np.array([i.max() for i in idx]) * step + step) * s - FOV_MM / 2
    count = rng.poisson(per_mm3 * float(np.prod(hi - lo)))
    points = rng.uniform(lo, hi, size=(count, 3))
    vox = np.clip(np.floor((points + FOV_MM / 2) / s).astype(int), 0, size - 1)
    return points[volume[vox[:, 0], vox[:, 1], vox[:, 2]] == label]


def paint_tubes(mask: np.ndarray, tubes: list[Tube], grow_mm: float = 0.0, scale: float = 1.0) -> None:
    """Set `mask` (a size³ phantom grid) inside each tube of radius r·scale + grow_mm; thinner than a third
    of a voxel is skipped because it cannot show at that grid. Each tube is drawn in its bounding box only."""
    size = mask.shape[0]
    s = FOV_MM / size
    axis = (np.arange(size, dtype=np.float32) + 0.5) * s - FOV_MM / 2
    for tube in tubes:
        r0, r1 = tube.r0 * scale + grow_mm, tube.r1 * scale + grow_mm
        r_max = max(r0, r1)
        if r_max < s / 3:
            continue
        start, end = tube.start.tolist(), tube.end.tolist()
        lo = [max(0, int((min(a, b) - r_max) / s + size / 2)) for a, b in zip(start, end)]
        hi = [min(size, int((max(a, b) + r_max) / s + size / 2) + 2) for a, b in zip(start, end)]
        if any(h <= l_ for l_, h in zip(lo, hi)):
            continue
        px = axis[lo[0] : hi[0], None, None] - start[0]
        py = axis[None, lo[1] : hi[1], None] - start[1]
        pz = axis[None, None, lo[2] : hi[2]] - start[2]
        vx, vy, vz = (b - a for a, b in zip(start, end))
        t = (px * vx + py * vy + pz * vz) * (1.0 / max(vx * vx + vy * vy + vz * vz, 1e-9))
        np.clip(t, 0.0, 1.0, out=t)
        dist2 = (px - t * vx) ** 2 + (py - t * vy) ** 2 + (pz - t * vz) ** 2
        radius2 = r0 * r0 if r0 == r1 else (r0 + (r1 - r0) * t) ** 2
        mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] |= dist2 <= radius2


def _unit(v: np.ndarray) -> np.ndarray:
    """The vector scaled to length 1."""
    v = np.asarray(v, float)
    return v / max(np.linalg.norm(v), 1e-12)
