"""Shared fixtures of the platform tests: a small blinded bundle (built by studies.build), an open study, named
readers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.urls import reverse

from bench.synthetic import write_chest
from studies.build import build_bundle
from surveys.bundles import import_bundle
from surveys.invitations import invite_reader
from surveys.models import Reader, Study
from tests.platform.nginx_site import collected_static, nginx_site  # noqa: F401 - fixtures

SOURCES = ["real", "medsyn", "ha-gan", "medical-diffusion"]

MANIFEST = """
[study]
title = "Anatomical feasibility of synthetic chest CT (test)"
slug = "test-study"
seed = 7
shape = [32, 32, 32]
spacing = 8.0
instructions = "Rank each set: **1 = best**."
closing_message = "Thanks for your time, Dr Reader."

{volumes}

[recognition]
volumes = ["real-1", "medsyn-1"]

[[ranking]]
structure = "lobes and fissures"
volumes = ["real-1", "medsyn-1", "ha-gan-1", "medical-diffusion-1"]

[[ranking]]
structure = "vessels"
volumes = ["real-2", "medsyn-2", "ha-gan-2", "medical-diffusion-2"]
"""

FINDINGS = {"real-1": "Pleural effusion", "medsyn-1": "Cardiomegaly"}

MIXED_TASKS = """
[rating]
volumes = ["real-2", "medsyn-2", "ha-gan-2"]
scale = 4
labels = ["Obviously wrong", "", "", "Indistinguishable from clinical scans"]

[discrimination]
volumes = ["real-1", "medsyn-1", "ha-gan-1", "real-2"]
"""


@pytest.fixture(scope="session")
def bundle(tmp_path_factory) -> Path:
    """A 32³ eight-volume bundle: two recognition scans, two ranking sets of four (built once per test session)."""
    return build_test_bundle(tmp_path_factory.mktemp("study-source"), MANIFEST)


@pytest.fixture(scope="session")
def mixed_bundle(tmp_path_factory) -> Path:
    """The same volumes with every task kind: the recognition and ranking tasks, 3 ratings on a 4-point scale and 4
    real-or-synthetic judgements (2 real, 2 synthetic)."""
    manifest = MANIFEST.replace('slug = "test-study"', 'slug = "mixed-study"') + MIXED_TASKS
    return build_test_bundle(tmp_path_factory.mktemp("mixed-source"), manifest)


def build_test_bundle(folder: Path, manifest_text: str) -> Path:
    """Write the eight test volumes and build `manifest_text` over them (its {volumes} filled in)."""
    (folder / "scans").mkdir()
    tables = []
    for number in (1, 2):
        for i, source in enumerate(SOURCES):
            volume_id = f"{source}-{number}"
            write_chest(
                folder / f"scans/{volume_id}.nii.gz",
                (32, 32, 32),
                spacing=(8.0, 8.0, 8.0),
                noise_hu=20.0,
                seed=10 * number + i,
            )
            finding = f'\nfinding = "{FINDINGS[volume_id]}"' if volume_id in FINDINGS else ""
            tables.append(
                f'[[volume]]\nid = "{volume_id}"\nfile = "scans/{volume_id}.nii.gz"\nsource = "{source}"{finding}'
            )
    manifest = folder / "study.toml"
    manifest.write_text(manifest_text.format(volumes="\n\n".join(tables)))
    return build_bundle(manifest, folder / "bundle", workers=1, progress=False)


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path) -> Path:
    """Every test stores its volumes in its own folder."""
    settings.PLATFORM_DATA_DIR = tmp_path / "data"
    settings.PLATFORM_BASE_URL = "https://reader.example.org"
    return settings.PLATFORM_DATA_DIR


@pytest.fixture
def study(db, bundle) -> Study:
    """The test bundle, imported and open to readers."""
    imported, _ = import_bundle(bundle)
    imported.status = Study.OPEN
    imported.save()
    return imported


@pytest.fixture
def mixed_study(db, mixed_bundle) -> Study:
    """The bundle with every task kind, imported and open."""
    imported, _ = import_bundle(mixed_bundle)
    imported.status = Study.OPEN
    imported.save()
    return imported


@dataclass
class Invited:
    """A reader together with the token of their link (which the database never stores)."""

    reader: Reader
    token: str
    url: str

    def path(self, name: str, *args) -> str:
        """The reader's URL of view `name`."""
        return reverse(f"surveys:{name}", args=[self.token, *args])

    def refresh(self) -> Reader:
        """The reader as now stored."""
        self.reader.refresh_from_db()
        return self.reader


def invite(study: Study, name: str | None = None) -> Invited:
    """Invite a reader and keep the token from the link."""
    reader, url = invite_reader(study, name)
    return Invited(reader, url.rstrip("/").rsplit("/", 1)[1], url)


@pytest.fixture
def alice(study) -> Invited:
    """Dr Alice, invited by name."""
    return invite(study, "alice")


@pytest.fixture
def bob(study) -> Invited:
    """Dr Bob, the second reader."""
    return invite(study, "bob")


@pytest.fixture
def coordinator(django_user_model):
    """Carol, the study coordinator (staff)."""
    return django_user_model.objects.create_user("carol", password="carol-password", is_staff=True, is_superuser=True)


def start(client, invited: Invited, **demographics):
    """Open the link and start the study (demographics optional)."""
    return client.post(invited.path("start"), demographics)


def post_answer(client, invited: Invited, **payload):
    """Autosave one answer as the page does (JSON POST)."""
    return client.post(invited.path("answer"), json.dumps(payload), content_type="application/json")


def task_payload(invited: Invited, position: int) -> dict:
    """The fields that address task `position` of the reader's plan."""
    task = invited.refresh().plan[position]
    key = "set" if task["kind"] == "ranking" else "volume"
    return {"position": position, "kind": task["kind"], key: task[key]}


def valid_answer(study: Study, task: dict) -> dict:
    """A complete answer to `task`: the first option, the display order as ranks, the top score, "synthetic" at
    confidence 4."""
    return {
        "recognition": lambda: {"option": study.options[0]},
        "ranking": lambda: {"ranks": {n: i + 1 for i, n in enumerate(task["volumes"])}},
        "rating": lambda: {"score": study.rating["scale"]},
        "discrimination": lambda: {"answer": "synthetic", "confidence": 4},
    }[task["kind"]]()


def answer_everything(client, invited: Invited) -> None:
    """Answer every task of the plan validly (`valid_answer`)."""
    study = invited.reader.study
    for position, task in enumerate(invited.refresh().plan):
        extra = valid_answer(study, task)
        response = post_answer(client, invited, **task_payload(invited, position), seconds=3.0, **extra)
        assert response.status_code == 200, response.content


def finish(client, invited: Invited) -> None:
    """Start, answer every task and finish: the reader's answers are locked."""
    start(client, invited)
    answer_everything(client, invited)
    assert client.post(invited.path("finish")).status_code == 302
    assert invited.refresh().is_locked
