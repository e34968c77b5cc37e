"""Distribution plots of the anatomy measures per group (like the paper's Fig. 5), one PNG per measure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from generator.metrics.anatomy import MEASURES

LABELS = {
    "effusion_ml": "Pleural effusion volume (mL)",
    "ctr": "Cardiothoracic ratio",
    "laa950_percent": "%LAA-950",
    "airway_mm3": "Airway volume (mm³)",
    "effusion_ml_robust": "Pleural effusion volume, noise-robust (mL)",
}


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend, chosen here explicitly before pyplot is imported (no
    display is needed, and none is opened on a machine that has one)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_distributions(
    rows: list[dict], out: Path, group: str = "set", measures: tuple[str, ...] = MEASURES
) -> list[Path]:
    """Write `<measure>.png` into out: per group, a histogram with the individual values as a rug."""
    plt = pyplot()
    groups = list(dict.fromkeys(r[group] for r in rows))
    paths = []
    for name in measures:
        values = {g: np.array([r[name] for r in rows if r[group] == g], float) for g in groups}
        pooled = np.concatenate(list(values.values()))
        lo, hi = (float(pooled.min()), float(pooled.max())) if pooled.size else (0.0, 1.0)
        bins = np.linspace(lo, hi if hi > lo else lo + 1e-6, 16)
        fig, ax = plt.subplots(figsize=(5, 3.2), dpi=120)
        for i, g in enumerate(groups):
            colour = f"C{i}"
            spread = values[g].std(ddof=1) if len(values[g]) > 1 else 0
            ax.hist(
                values[g],
                bins=bins,
                alpha=0.45,
                color=colour,
                label=f"{g} (n={len(values[g])}, {values[g].mean():.3g} ± {spread:.2g})",
            )
            ax.plot(
                values[g],
                np.full(len(values[g]), -0.04 * (i + 1)),
                "|",
                color=colour,
                transform=ax.get_xaxis_transform(),
                clip_on=False,
            )
        ax.set_xlabel(LABELS.get(name, name))
        ax.set_ylabel("volumes")
        ax.legend(fontsize=7, frameon=False)
        fig.tight_layout()
        path = Path(out) / f"{name}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths
