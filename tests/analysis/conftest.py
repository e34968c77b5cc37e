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


def make_ratings(readers: int = 6, scale: int = 5, seed: int = 0) -> pd.DataFrame:
    """ratings.csv rows: every reader scores 4 scans of each of three sources, real rated best on average."""
    rng = np.random.default_rng(seed)
    quality = {"real": 1.0, "medsyn": 0.5, "ha-gan": -0.5}
    rows = []
    for reader in range(1, readers + 1):
        for source, shift in quality.items():
            for number in range(1, 5):
                latent = (scale + 1) / 2 + shift + rng.normal(0, 0.8)
                rows.append(
                    {
                        "study": "demo",
                        "reader": f"reader-{reader:02d}",
                        "volume": f"rate-{source}-{number}",
                        "source": source,
                        "scale": str(scale),
                        "score": str(int(np.clip(round(latent), 1, scale))),
                        "note": "",
                        "seconds": "12.5",
                    }
                )
    return pd.DataFrame(rows)


def make_discrimination(readers: int = 6, seed: int = 0) -> pd.DataFrame:
    """discrimination.csv rows: 6 real and 6 synthetic scans (two sources), readers somewhat better than chance."""
    rng = np.random.default_rng(seed)
    volumes = [(f"tell-real-{i}", "real", "real") for i in range(1, 7)]
    volumes += [(f"tell-{source}-{i}", source, "synthetic") for source in ("medsyn", "ha-gan") for i in range(1, 4)]
    rows = []
    for reader in range(1, readers + 1):
        for volume, source, truth in volumes:
            evidence = (0.6 if truth == "synthetic" else -0.6) + rng.normal(0, 1)
            answer = "synthetic" if evidence > 0 else "real"
            rows.append(
                {
                    "study": "demo",
                    "reader": f"reader-{reader:02d}",
                    "volume": volume,
                    "source": source,
                    "truth": truth,
                    "answer": answer,
                    "confidence": str(int(np.clip(1 + abs(evidence) * 2, 1, 5))),
                    "correct": str(answer == truth),
                    "note": "",
                    "seconds": "20",
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def rankings() -> pd.DataFrame:
    """A complete ranking export: 6 readers × 3 structures × 4 sets × 4 sources."""
    return make_rankings()


@pytest.fixture
def export(tmp_path, rankings):
    """The export CSVs written to a folder; returns their paths."""
    paths = {
        "rankings": tmp_path / "rankings.csv",
        "pathology": tmp_path / "pathology.csv",
        "readers": tmp_path / "readers.csv",
        "ratings": tmp_path / "ratings.csv",
        "discrimination": tmp_path / "discrimination.csv",
    }
    rankings.to_csv(paths["rankings"], index=False)
    make_pathology().to_csv(paths["pathology"], index=False)
    make_readers().to_csv(paths["readers"], index=False)
    make_ratings().to_csv(paths["ratings"], index=False)
    make_discrimination().to_csv(paths["discrimination"], index=False)
    return paths
