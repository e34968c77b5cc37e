"""Procedural chest-CT phantoms: torso, lobes, airway and vessel trees, findings, report and measured truth.

Each phantom is drawn from `np.random.default_rng([seed, index])`, so a case depends only on the seed and its
index (not on how many are written) and the same seed gives the same output. Sizes are in mm on a fixed
336 mm field of view; the grid size only changes the sampling. Airway lumen and pleural fluid carry lobe
label 0; lung vessels keep their lobe's label, as lungmask's lobes do. The airway mask is the lumen.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from contracts.volumes import HU_CLIP
from generator.data.anatomy import FOV_MM, HU, NOISE_SD_HU, axis_mm, phantom_affine, spacing_for
from generator.data.body import build_body, draw_anatomy, great_vessel_path
from generator.data.cases import Case, write_case
from generator.data.findings import (
    apply_hu,
    consolidation_mask,
    draw_findings,
    effusion_mask,
    emphysema_masks,
    heart_ctr,
    smooth_field,
)
from generator.data.reports import report_for
from generator.data.trees import Tube, attractors_in, colonize, paint_tubes
from generator.data.truth import measure_truth

AIRWAY_ATTRACTORS_PER_MM3 = 1 / 8000  # terminal airways per mm³ of lobe (about 100 per lobe)
AIRWAY_EXPONENT = 2.7  # airway diameters follow r_parent^2.7 = Σ r_child^2.7 (between area-preserving and Murray)
VESSEL_ATTRACTORS_PER_MM3 = 1 / 1500  # terminal arteries (and veins) per mm³ of lobe


def make_phantom(size: int = 256, seed: int = 0, index: int = 0) -> Case:
    """Build one phantom case on a size³ grid (spacing 336 mm / size)."""
    if size < 16:
        raise ValueError(f"phantom size must be at least 16 voxels, got {size}")
    rng = np.random.default_rng([seed, index])
    findings = draw_findings(rng)
    p = draw_anatomy(rng, heart_ctr(findings, rng))
    parts = build_body(p, size)
    hu, lobes, cavity = parts["hu"], parts["lobes"], parts["cavity"]
    c = axis_mm(size)
    X, Y, Z = c[:, None, None], c[None, :, None], c[None, None, :]

    effusion = effusion_mask(findings["pleural_effusion"], lobes, Y, X)
    lobes[effusion] = 0
    airway_tubes, roots = _airway_tubes(rng, p, lobes)
    vessel_tubes = _vessel_tubes(rng, p, lobes, roots)

    great = np.zeros(hu.shape, bool)
    paint_tubes(great, [Tube(a, b, r, r) for a, b, r in great_vessel_path(p)])
    hu[great & (lobes == 0) & cavity & ~parts["heart"]] = HU["blood"]
    vessels = np.zeros(hu.shape, bool)
    paint_tubes(vessels, vessel_tubes)
    vessels &= cavity & ~effusion & ~parts["heart"]
    hu[vessels] = HU["blood"]
    wall, lumen = np.zeros(hu.shape, bool), np.zeros(hu.shape, bool)
    paint_tubes(wall, airway_tubes, grow_mm=0.6, scale=1.3)
    paint_tubes(lumen, airway_tubes)
    wall &= ~effusion
    lumen &= ~effusion
    hu[wall] = HU["soft_tissue"]
    vessels &= ~wall

    border = smooth_field(rng, size, cell_mm=8.0) if findings["consolidation"] else None
    consolidation = consolidation_mask(findings["consolidation"], lobes, border, rng, X, Y, Z)
    parenchyma = (lobes > 0) & ~vessels & ~wall & ~consolidation
    holes = smooth_field(rng, size, cell_mm=3.0) if findings["emphysema"] else None
    laa, bullae = emphysema_masks(findings["emphysema"], parenchyma, holes, rng, Z)
    vessels &= ~bullae
    apply_hu(hu, {"laa": laa, "bullae": bullae, "consolidation": consolidation, "effusion": effusion})
    hu[lumen] = HU["air"]
    lobes[lumen] = 0

    noise_sd = float(rng.uniform(*NOISE_SD_HU))
    hu += rng.standard_normal(hu.shape, dtype=np.float32) * noise_sd
    ct = np.rint(np.clip(hu, *HU_CLIP)).astype(np.int16)
    airway = lumen.astype(np.uint8)
    truth = measure_truth(ct, lobes, airway, effusion, parts["heart"], cavity, spacing_for(size))
    meta = {
        "kind": "phantom",
        "seed": seed,
        "index": index,
        "size": size,
        "fov_mm": FOV_MM,
        "spacing_mm": spacing_for(size),
        "noise_sd_hu": round(noise_sd, 2),
        "anatomy": p,
        "findings": findings,
        "truth": truth,
    }
    return Case(
        ct=ct,
        lobes=lobes,
        airway=airway,
        vessels=vessels.astype(np.uint8),
        affine=phantom_affine(size),
        report=report_for(findings, rng),
        meta=meta,
    )


def write_phantoms(out: Path, n: int, size: int = 256, seed: int = 0, workers: int = 1) -> list[Path]:
    """Write n phantom case folders `case-0000`, ... under `out` (in `workers` processes) and return their paths."""
    jobs = [(Path(out) / f"case-{index:04d}", size, seed, index) for index in range(n)]
    if workers <= 1:
        return [_write_phantom(job) for job in tqdm(jobs, desc="phantoms", unit="case")]
    with ProcessPoolExecutor(workers) as pool:
        return list(tqdm(pool.map(_write_phantom, jobs), total=n, desc="phantoms", unit="case"))


def _write_phantom(job: tuple[Path, int, int, int]) -> Path:
    """Build and write one phantom (a worker's unit of work)."""
    folder, size, seed, index = job
    write_case(make_phantom(size, seed, index), folder)
    return folder


def _airway_tubes(rng: np.random.Generator, p: dict, lobes: np.ndarray) -> tuple[list[Tube], dict[int, np.ndarray]]:
    """Trachea, main bronchi and a lobar bronchus aimed into each lobe, which then fills the lobe with a
    space-colonising tree; also returns where each lobar bronchus enters its lobe (where its vessels start)."""
    r = p["trachea_r"]
    carina = np.array([p["trachea_x"], p["trachea_y"], p["carina_z"]])
    right = carina + _unit([1.0, -0.1, -1.4]) * rng.uniform(20, 28)
    left = carina + _unit([-1.0, -0.15, -0.8]) * rng.uniform(40, 50)
    tubes = [
        Tube(np.array([carina[0], carina[1], FOV_MM / 2]), carina, r, r * 0.95),
        Tube(carina, right, 0.75 * r, 0.7 * r),
        Tube(carina, left, 0.68 * r, 0.62 * r),
    ]
    origins = {1: left, 2: left, 3: carina + 0.4 * (right - carina), 4: right, 5: right}
    roots = {}
    for label, origin in origins.items():
        points = attractors_in(lobes, label, AIRWAY_ATTRACTORS_PER_MM3, rng)
        if len(points) < 2:
            continue
        towards = points.mean(axis=0) - origin
        lobar_end = origin + _unit(towards) * min(0.35 * np.linalg.norm(towards), 25.0)
        branch = colonize(rng, lobar_end, towards, points, leaf_radius=0.6, step=5.0, exponent=AIRWAY_EXPONENT)
        radius = _root_radius(branch, lobar_end, AIRWAY_EXPONENT)
        tubes += [Tube(origin, lobar_end, radius, radius), *branch]
        roots[label] = lobar_end
    return tubes, roots


def _vessel_tubes(rng: np.random.Generator, p: dict, lobes: np.ndarray, roots: dict[int, np.ndarray]) -> list[Tube]:
    """A pulmonary artery and vein per lobe: from the hilum to beside the lobar bronchus, then a
    space-colonising tree of their own through the lobe."""
    tubes = []
    for label, root in roots.items():
        hilum = np.array(
            [
                p["mid_x"] + (p["mediastinum_w"] if label > 2 else -p["mediastinum_w"]),
                p["trachea_y"] - 5,
                p["carina_z"] - 15,
            ]
        )
        for _ in ("artery", "vein"):
            start = root + rng.normal(scale=8.0, size=3)
            points = attractors_in(lobes, label, VESSEL_ATTRACTORS_PER_MM3, rng)
            if len(points) < 2:
                continue
            branch = colonize(rng, start, points.mean(axis=0) - start, points, leaf_radius=0.6, step=5.0)
            radius = _root_radius(branch, start)
            tubes += [Tube(hilum, start, radius, radius), *branch]
    return tubes


def _root_radius(branch: list[Tube], root: np.ndarray, exponent: float = 3.0) -> float:
    """Radius of the tube feeding a tree: the tree's own branching law over the tubes leaving its root."""
    return float(sum(t.r0**exponent for t in branch if np.array_equal(t.start, root)) ** (1 / exponent))


def _unit(v) -> np.ndarray:
    """The vector scaled to length 1."""
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)
