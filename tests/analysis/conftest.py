"""Shared fixtures: small export tables shaped like the platform's (docs/architecture.md, Exports)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

SOURCES = ["real", "medsyn", "ha-gan", "medical-diffusion"]
STRUCTURES = ["lobes and fissures", "airway", "vessels"]


def make_rankings(readers: int = 6, sets: int = 4, seed: int = 0) -> pd.DataFrame:
    """rankings.csv rows from a latent-quality model (real best), one row per ranked scan."""
    rng = np.random.default_rng(seed)
    rows = []
    for reader in range(1, readers + 1):
        for structure in STRUCTURES:
            for number in range(1, sets + 1):
                quality = np.array([1.5, 0.8, 0.2, 0.0]) + rng.normal(0, 0.8, len(SOURCES))
                ranks = (-quality).argsort().argsort() + 1
                for source, rank in zip(SOURCES, ranks):
                    rows.append(
                        {
                            "study": "demo",
                            "reader": f"reader-{reader:02d}",
                            "structure": structure,
                            "set": f"{structure.replace(' ', '-')}-{number}",
                            "volume": f"{source}-{structure[:3]}-{number}",
                            "source": source,
                            "rank": str(rank),
                            "seconds": "41.5",
                        }
                    )
    return pd.DataFrame(rows)


def make_pathology(readers: int = 6) -> pd.DataFrame:
    """pathology.csv rows: five generated scans and one real, every reader right except a few."""
    volumes = [
        ("medsyn-1", "medsyn", "Cardiomegaly"),
        ("medsyn-2", "medsyn", "Consolidation"),
        ("medsyn-3", "medsyn", "Pleural effusion"),
        ("medsyn-4", "medsyn", "Pleural effusion"),
        ("medsyn-5", "medsyn", "No abnormalities"),
        ("real-1", "real", "Consolidation"),
    ]
    rows = []
    for reader in range(1, readers + 1):
        for index, (volume, source, truth) in enumerate(volumes):
            wrong = (reader + index) % 5 == 0
            answer = "Consolidation" if wrong and truth != "Consolidation" else truth.lower()
            rows.append(
                {
                    "study": "demo",
                    "reader": f"reader-{reader:02d}",
                    "volume": volume,
                    "source": source,
                    "truth": truth,
                    "answer": answer,
                    "correct": str(answer.lower() == truth.lower()),
                    "note": "small effusion too" if wrong else "",
                    "seconds": "30",
                }
            )
    return pd.DataFrame(rows)


def make_readers(readers: int = 6) -> pd.DataFrame:
    """readers.csv rows; the last reader has not finished."""
    return pd.DataFrame(
        [
            {
                "reader": f"reader-{i:02d}",
                "years_experience": str(4 + 3 * i),
                "level": ["junior", "senior", "resident", "faculty"][i % 4],
                "started": "2026-01-05T10:00:00Z",
                "finished": "" if i == readers else "2026-01-05T10:40:00Z",
                "minutes": str(30 + 2.5 * i),
            }
            for i in range(1, readers + 1)
        ]
    )


@pytest.fixture
def rankings() -> pd.DataFrame:
    """A complete ranking export: 6 readers × 3 structures × 4 sets × 4 sources."""
    return make_rankings()


@pytest.fixture
def export(tmp_path, rankings):
    """The three export CSVs written to a folder; returns their paths."""
    paths = {
        "rankings": tmp_path / "rankings.csv",
        "pathology": tmp_path / "pathology.csv",
        "readers": tmp_path / "readers.csv",
    }
    rankings.to_csv(paths["rankings"], index=False)
    make_pathology().to_csv(paths["pathology"], index=False)
    make_readers().to_csv(paths["readers"], index=False)
    return paths
