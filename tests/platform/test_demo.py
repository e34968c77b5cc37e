"""demo_study: one command makes a bundle ready to try: open study, staff login, a working reader link."""

import io
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from surveys.models import Reader, Study

ROOT = Path(__file__).resolve().parents[2]


def _demo(bundle, *extra):
    out = io.StringIO()
    call_command("demo_study", str(bundle), *extra, stdout=out)
    return out.getvalue()


def test_it_opens_the_study_and_prints_a_working_reader_link_and_staff_login(db, bundle, client):
    out = _demo(bundle, "--password", "demo-pass-1")
    assert Study.objects.get().status == Study.OPEN
    link = re.search(r"Reader link:\s+(\S+)", out).group(1)
    assert client.get(link.replace("https://reader.example.org", "")).status_code == 200
    assert authenticate(username="coordinator", password="demo-pass-1").is_staff


def test_running_it_again_keeps_one_demo_reader_with_a_fresh_link(db, bundle, client):
    first = re.search(r"Reader link:\s+(\S+)", _demo(bundle)).group(1)
    second = re.search(r"Reader link:\s+(\S+)", _demo(bundle)).group(1)
    assert Reader.objects.count() == 1 and first != second
    assert client.get(first.replace("https://reader.example.org", "")).status_code == 404
    assert client.get(second.replace("https://reader.example.org", "")).status_code == 200


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="the demo always runs on its own SQLite file")
def test_make_demo_trains_generates_builds_imports_and_prints_links_with_production_settings(tmp_path):
    """`python -m demo` as `make demo` runs it (a tiny model trained for seconds), on a fresh folder and an
    environment without Django settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PLATFORM_", "DATABASE_", "PYTEST"))}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "demo",
            "--work",
            str(tmp_path / "demo"),
            "--size",
            "32",
            "--config",
            "tiny",
            "--train",
            "--train-minutes",
            "0.05",
            "--no-serve",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"Reader link:\s+http://127\.0\.0\.1:8000/r/\S+", done.stdout)
    assert re.search(r"Staff login:\s+http://127\.0\.0\.1:8000/admin/", done.stdout)
    assert (tmp_path / "demo" / "platform" / "platform.sqlite3").exists()
    manifest = tomllib.loads((tmp_path / "demo" / "study.toml").read_text())
    sources = {volume["source"] for volume in manifest["volume"]}
    assert sources == {"phantom", "medsyn-small", "smoothed", "low-resolution"}
    assert len(manifest["ranking"]) == 6 and all(len(r["volumes"]) == 4 for r in manifest["ranking"])
    assert manifest["rating"]["volumes"] == manifest["recognition"]["volumes"]
    assert len(manifest["discrimination"]["volumes"]) == 8 and manifest["discrimination"]["real_sources"] == ["phantom"]
    invited = subprocess.run(
        [sys.executable, "-m", "demo", "manage", "--work", str(tmp_path / "demo"), "invite_reader", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert invited.returncode == 0 and "Traceback" not in invited.stderr, invited.stderr[-3000:]
    assert re.search(r"http://127\.0\.0\.1:8000/r/\S+", invited.stdout), invited.stdout
