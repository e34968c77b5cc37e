"""Settings from the environment: typed helpers fail loudly; production settings pass `check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from webapp.env import env_bool, env_int, env_list

REPO = Path(__file__).resolve().parents[2]


def _production_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_", "DATABASE_URL"))}
    env.update(
        DJANGO_SECRET_KEY="k" * 20 + "-production-secret-key-for-the-check-" + "z" * 20,
        DJANGO_ALLOWED_HOSTS="reader.example.org",
        PLATFORM_DATA_DIR=str(tmp_path),
        **extra,
    )
    return env


def test_a_yes_no_setting_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("DJANGO_DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG must be one of"):
        env_bool("DJANGO_DEBUG", False)


def test_a_number_setting_refuses_text(monkeypatch):
    monkeypatch.setenv("DJANGO_HSTS_SECONDS", "a year")
    with pytest.raises(ImproperlyConfigured, match="DJANGO_HSTS_SECONDS must be a whole number"):
        env_int("DJANGO_HSTS_SECONDS", 0)


def test_a_list_setting_splits_on_commas(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", "a.example.org, b.example.org,")
    assert env_list("DJANGO_ALLOWED_HOSTS", []) == ["a.example.org", "b.example.org"]


@pytest.mark.slow
def test_production_settings_pass_the_deployment_check(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("key, says", [(None, "is not set"), ("short", "is shorter than 50 characters")])
def test_production_refuses_to_start_without_a_secret_key_in_one_line_saying_what_to_set(tmp_path, key, says):
    env = _production_env(tmp_path)
    del env["DJANGO_SECRET_KEY"]
    if key:
        env["DJANGO_SECRET_KEY"] = key
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert f"DJANGO_SECRET_KEY {says}" in line and "token_urlsafe(50)" in line and "python -m demo manage" in line


@pytest.mark.slow
def test_the_site_starts_without_collected_static_files_and_creates_no_folder_for_them(tmp_path):
    static_root = tmp_path / "read-only" / "staticfiles"
    env = _production_env(
        tmp_path, DJANGO_STATIC_ROOT=str(static_root), DATABASE_URL="postgres://nobody@127.0.0.1/none"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, 'platform'); import webapp.wsgi"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert not static_root.exists() and not (tmp_path / "read-only").exists()


def _example_environment(tmp_path) -> dict[str, str]:
    """deploy/platform.env.example as an app host reads it, with this test's data folder and static root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_", "DATABASE_", "PLATFORM_"))}
    for line in (REPO / "deploy" / "platform.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    env.update(PLATFORM_DATA_DIR=str(tmp_path / "data"), DJANGO_STATIC_ROOT=str(tmp_path / "static"))
    return env


@pytest.mark.slow
def test_the_deployment_environment_passes_the_deployment_check(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=_example_environment(tmp_path),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
