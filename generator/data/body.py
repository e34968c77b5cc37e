"""The phantom's torso: body wall, ribs, spine, sternum, mediastinum, heart, diaphragm and the five lobes.

Shapes are implicit functions on the world grid (mm, RAS+: +x patient's right, +y anterior, +z superior):
elliptic cross-sections broadcast along z, domes for the diaphragm and lung apices, planes bent by
low-frequency waves for the fissures. Every size is drawn per case so anatomy varies between phantoms.
"""

from __future__ import annotations

import numpy as np

from generator.data.anatomy import HU, LUNG_GRADIENT_HU, axis_mm, spacing_for


def draw_anatomy(rng: np.random.Generator, ctr: float) -> dict:
    """Draw one patient's body habitus, organ positions and fissure geometry (mm), heart sized to `ctr`."""
    u = rng.uniform
    p = {
        "body_a": u(138, 162),
        "body_b": u(100, 125),
        "body_y": u(-8, 2),
        "fat": u(6, 22),
        "muscle": u(8, 14),
        "rib_shell": u(9, 12),
    }
    wall = p["fat"] + p["muscle"] + p["rib_shell"]
    p["cavity_a"], p["cavity_b"] = p["body_a"] - wall, p["body_b"] - wall
    p["vertebra_r"] = u(16, 21)
    p["vertebra_y"] = p["body_y"] - p["cavity_b"] + 0.6 * p["vertebra_r"]
    p["mid_x"] = u(-5, 5)
    p["mediastinum_w"] = u(18, 26)
    p["apex_z"], p["apex_h"] = u(125, 150), u(60, 90)
    p["dome_right_z"] = u(-95, -60)
    p["dome_left_z"] = p["dome_right_z"] - u(5, 20)
    p["dome_depth"] = u(40, 60)
    p["trachea_x"] = p["mid_x"] + u(-3, 3)
    p["trachea_y"] = p["vertebra_y"] + p["vertebra_r"] + u(16, 22)
    p["trachea_r"] = u(7.0, 9.0)
    p["carina_z"] = u(30, 55)
    p["aorta_r"] = u(11, 15)
    p["rib_period"], p["rib_drop"], p["rib_phase"] = u(23, 28), u(35, 60), u(0, 25)
    p["disc_period"], p["disc_phase"] = u(26, 30), u(0, 26)
    p["oblique_z"] = [u(-5, 25), u(0, 30)]  # left, right
    p["oblique_slope"] = [u(0.8, 1.2), u(0.8, 1.2)]
    p["horizontal_z"] = p["oblique_z"][1] + u(12, 30)
    p["wave_phase"] = u(0, 2 * np.pi, size=4).tolist()
    p["lung_hu"] = u(-858, -832)
    # Heart: an ellipsoid turned in the axial plane; its width across x is ctr times the inner thoracic width.
    turn, ab, cb = np.radians(u(25, 45)), u(0.7, 0.85), u(0.75, 0.95)
    half_width = ctr * p["cavity_a"]
    a = half_width / np.sqrt(np.cos(turn) ** 2 + (ab * np.sin(turn)) ** 2)
    p["heart"] = {
        "ctr": ctr,
        "turn": float(turn),
        "a": float(a),
        "b": float(a * ab),
        "c": float(a * cb),
        "x": -u(0.12, 0.3) * p["cavity_a"] * (1.2 - ctr),
        "y": p["body_y"] + u(0.05, 0.22) * p["cavity_b"],
        "z": p["dome_left_z"] + a * cb * u(0.5, 0.7),
    }
    return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in p.items()}


def build_body(p: dict, size: int) -> dict[str, np.ndarray]:
    """Rasterise the torso on a size³ grid: the base HU volume (no airways, vessels or findings), the lobe
    labels, the heart and the inner thoracic cavity (the two masks the cardiothoracic ratio is measured on)."""
    c = axis_mm(size)
    X, Y, Z = c[:, None, None], c[None, :, None], c[None, None, :]
    x2, y2 = c[:, None], c[None, :]
    yb = y2 - p["body_y"]
    body = np.abs(x2 / p["body_a"]) ** 2.4 + np.abs(yb / p["body_b"]) ** 2.4 <= 1
    muscle = _ellipse(x2, yb, p["body_a"] - p["fat"], p["body_b"] - p["fat"])
    rib_outer = _ellipse(x2, yb, p["cavity_a"] + p["rib_shell"], p["cavity_b"] + p["rib_shell"])
    cavity = _ellipse(x2, yb, p["cavity_a"], p["cavity_b"])

    hu = np.full((size, size, size), HU["air"], np.float32)
    hu[body] = HU["fat"]
    hu[muscle] = HU["muscle"]
    hu[cavity] = HU["fat"]
    _paint_ribs(hu, p, x2, yb, rib_outer & ~cavity, c)

    dome = _diaphragm(p, x2, yb)
    below = cavity[:, :, None] & (Z < dome[:, :, None])
    hu[below & (X > p["mid_x"] - 20)] = HU["liver"]
    hu[below & (X <= p["mid_x"] - 20)] = HU["spleen"]

    h = p["heart"]
    hx, hy = X - h["x"], Y - h["y"]
    ct, st = np.cos(h["turn"]), np.sin(h["turn"])
    u_, v_ = hx * ct + hy * st, -hx * st + hy * ct
    heart_q = (u_ / h["a"]) ** 2 + (v_ / h["b"]) ** 2 + ((Z - h["z"]) / h["c"]) ** 2
    heart = (heart_q <= 1) & cavity[:, :, None]
    pericardium = (heart_q <= (1 + 5 / h["a"]) ** 2) & cavity[:, :, None]

    spine_keepout = ((x2 - p["mid_x"]) ** 2 + (y2 - p["vertebra_y"]) ** 2 <= (p["vertebra_r"] + 6) ** 2) | (
        (np.abs(x2 - p["mid_x"]) < p["vertebra_r"] * 0.9) & (y2 < p["vertebra_y"])
    )
    # The mediastinum narrows to the anterior junction line in front, where the two lungs nearly meet.
    front = np.clip((p["body_y"] + p["cavity_b"] - y2) / p["cavity_b"], 0, 1)
    mediastinum = (np.abs(x2 - p["mid_x"]) < p["mediastinum_w"] * (0.25 + 0.75 * np.sqrt(front))) & (
        y2 > p["vertebra_y"] - p["vertebra_r"]
    )
    aorta_xy = (x2 - _aorta_x(p)) ** 2 + (y2 - _aorta_y(p)) ** 2 <= (p["aorta_r"] + 4) ** 2
    plane_ok = cavity & ~spine_keepout & ~mediastinum & ~aorta_xy
    apex = p["apex_z"] - p["apex_h"] * (
        ((np.abs(x2 - p["mid_x"]) - 0.5 * p["cavity_a"]) / (0.5 * p["cavity_a"])) ** 2
        + ((yb - 0.1 * p["cavity_b"]) / p["cavity_b"]) ** 2
    )
    lung = plane_ok[:, :, None] & (Z > dome[:, :, None] + 2) & (Z < apex[:, :, None]) & ~pericardium

    hu[pericardium & ~lung] = HU["fat"]
    hu[heart] = HU["soft_tissue"]
    gradient = p["lung_hu"] - LUNG_GRADIENT_HU * np.clip((Y - p["body_y"]) / p["cavity_b"], -1, 1)
    hu[lung] = np.broadcast_to(gradient, hu.shape)[lung]
    lobes, fissure = _lobes(p, X, Y, Z, lung, spacing_for(size))
    hu[fissure] += (HU["fissure"] - p["lung_hu"]) * min(1.0, 1.0 / spacing_for(size))
    _paint_spine(hu, p, x2, y2, Z, muscle)
    _paint_sternum(hu, p, x2, yb, Z, muscle)
    return {
        "hu": hu,
        "lobes": lobes,
        "heart": heart,
        "cavity": np.broadcast_to(cavity[:, :, None], hu.shape),
        "lung": lung,
        "body": body,
    }


def great_vessel_path(p: dict) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Centre lines (start, end, radius in mm) of the aorta, pulmonary trunk, superior vena cava and oesophagus."""
    h, ax, ay = p["heart"], _aorta_x(p), _aorta_y(p)
    top = p["carina_z"] + 25
    asc = np.array([h["x"] + 0.35 * h["a"], h["y"] + 5, h["z"] + 0.5 * h["c"]])
    arch = np.array([p["mid_x"], p["trachea_y"] + 12, top])
    return [
        (asc, np.array([asc[0], asc[1], top - 10]), p["aorta_r"]),
        (np.array([asc[0], asc[1], top - 10]), arch, p["aorta_r"]),
        (arch, np.array([ax, ay, top - 5]), p["aorta_r"]),
        (np.array([ax, ay, top - 5]), np.array([ax, ay, -150.0]), p["aorta_r"] * 0.9),
        (
            np.array([h["x"], h["y"] + 15, h["z"]]),
            np.array([p["mid_x"] - 8, p["trachea_y"] + 5, p["carina_z"] - 10]),
            p["aorta_r"] * 1.1,
        ),
        (
            np.array([p["mid_x"] + 18, p["trachea_y"] + 14, 168.0]),
            np.array([p["mid_x"] + 18, h["y"], h["z"]]),
            p["aorta_r"] * 0.7,
        ),
        (
            np.array([p["trachea_x"] - 4, p["trachea_y"] - p["trachea_r"] - 6, 168.0]),
            np.array([ax + 10, ay + 12, -150.0]),
            6.0,
        ),
    ]


def _ellipse(x: np.ndarray, y: np.ndarray, a: float, b: float) -> np.ndarray:
    """Points inside the ellipse with semi-axes a (x) and b (y)."""
    return (x / a) ** 2 + (y / b) ** 2 <= 1


def _aorta_x(p: dict) -> float:
    """x of the descending aorta, left of the spine."""
    return p["mid_x"] - p["vertebra_r"] - 0.4 * p["aorta_r"]


def _aorta_y(p: dict) -> float:
    """y of the descending aorta, beside the front of the vertebral body."""
    return p["vertebra_y"] + 0.6 * p["vertebra_r"]


def _diaphragm(p: dict, x: np.ndarray, yb: np.ndarray) -> np.ndarray:
    """Height (mm) of the diaphragm at each axial point: two domes, the right one higher, deepest at the wall."""
    a = p["cavity_a"]
    q_right = ((x - p["mid_x"] - 0.45 * a) / (0.6 * a)) ** 2 + (yb / p["cavity_b"]) ** 2
    q_left = ((x - p["mid_x"] + 0.45 * a) / (0.6 * a)) ** 2 + (yb / p["cavity_b"]) ** 2
    return np.where(
        x > p["mid_x"],
        p["dome_right_z"] - p["dome_depth"] * np.minimum(q_right, 1.3),
        p["dome_left_z"] - p["dome_depth"] * np.minimum(q_left, 1.3),
    ).astype(np.float32)


def _lobes(p: dict, X, Y, Z, lung: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Lobe labels (lungmask's convention) from the oblique and horizontal fissures, and the fissure voxels;
    computed on the lung voxels only."""
    w = p["wave_phase"]
    ix, iy, iz = np.nonzero(lung)
    x, yb, z = X[ix, 0, 0], Y[0, iy, 0] - p["body_y"], Z[0, 0, iz]
    right = x > p["mid_x"]
    labels = np.zeros(ix.size, np.uint8)
    on_fissure = np.zeros(ix.size, bool)
    for side, (upper, lower) in ((0, (1, 2)), (1, (3, 5))):
        z_f = (
            p["oblique_z"][side]
            - p["oblique_slope"][side] * yb
            + 6 * np.sin(x / 35 + w[side])
            + 4 * np.sin(yb / 50 + w[2])
        )
        this = right if side else ~right
        above = z >= z_f
        labels[this] = np.where(above[this], upper, lower)
        on_fissure |= this & (np.abs(z - z_f) / np.hypot(1, p["oblique_slope"][side]) < spacing / 2)
        if side:
            z_h = p["horizontal_z"] + 0.1 * yb + 4 * np.sin(x / 40 + w[3])
            labels[this & above & (z < z_h)] = 4
            on_fissure |= this & above & (np.abs(z - z_h) < spacing / 2)
    lobes = np.zeros(lung.shape, np.uint8)
    lobes[ix, iy, iz] = labels
    fissure = np.zeros(lung.shape, bool)
    fissure[ix[on_fissure], iy[on_fissure], iz[on_fissure]] = True
    return lobes, fissure


def _paint_ribs(hu: np.ndarray, p: dict, x2, yb, shell: np.ndarray, c: np.ndarray) -> None:
    """Ribs in the chest-wall shell: bands falling from the spine to the front, cartilage near the sternum."""
    ix, iy = np.nonzero(shell)
    phi_sin = (yb / np.hypot(x2 / p["cavity_a"], yb / p["cavity_b"]) / p["cavity_b"])[ix, iy]
    offset = p["rib_drop"] * (1 + np.clip(phi_sin, -1, 1)) / 2
    phase = np.mod(c[None, :] + offset[:, None] + p["rib_phase"], p["rib_period"])
    rib = phase < 9
    rim = rib & ((phase < 1.8) | (phase > 7.2))
    values = hu[ix, iy, :]
    values[rib] = HU["marrow"]
    values[rim] = HU["cortical_bone"]
    values[rib & (phi_sin[:, None] > 0.88)] = HU["cartilage"]
    hu[ix, iy, :] = values


def _paint_spine(hu: np.ndarray, p: dict, x2, y2, Z, muscle: np.ndarray) -> None:
    """Vertebral bodies with cortical rims and discs, the spinal canal and the posterior arch."""
    r = np.hypot(x2 - p["mid_x"], y2 - p["vertebra_y"])
    body = r <= p["vertebra_r"]
    disc = np.mod(Z - p["disc_phase"], p["disc_period"]) < 6
    canal_y = p["vertebra_y"] - p["vertebra_r"] - 8
    rc = np.hypot(x2 - p["mid_x"], y2 - canal_y)
    arch = ((rc > 7) & (rc <= 13) & (y2 < canal_y + 4)) | (
        (np.abs(x2 - p["mid_x"]) < 4) & (y2 < canal_y) & (y2 > canal_y - 35)
    )
    arch &= muscle
    hu[body] = np.where(disc, HU["disc"], HU["marrow"])[0, 0][None, :]
    hu[body & (r > p["vertebra_r"] - 2)] = np.where(disc, HU["disc"], HU["cortical_bone"])[0, 0][None, :]
    hu[rc <= 7] = HU["csf"]
    hu[arch] = HU["cortical_bone"]


def _paint_sternum(hu: np.ndarray, p: dict, x2, yb, Z, muscle: np.ndarray) -> None:
    """The sternum: a midline plate in front of the cavity from the heart's base to above the carina."""
    front = p["cavity_b"]
    plate = (np.abs(x2 - p["mid_x"]) < 14) & (yb > front - 2) & (yb < front + p["rib_shell"]) & muscle
    levels = (Z[0, 0] > p["heart"]["z"] - p["heart"]["c"]) & (Z[0, 0] < p["carina_z"] + 60)
    ix, iy = np.nonzero(plate)
    edge = np.abs(np.abs(x2[ix, 0] - p["mid_x"]) - 12) < 2
    values = hu[ix, iy, :]
    values[:, levels] = np.where(edge, HU["cortical_bone"], HU["marrow"])[:, None]
    hu[ix, iy, :] = values
