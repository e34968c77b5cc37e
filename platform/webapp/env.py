"""Tiny typed readers of environment variables that fail loudly (ImproperlyConfigured) on a bad value."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    """A yes/no setting: 1/true/yes/on or 0/false/no/off (case-insensitive)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/true/yes/on or 0/false/no/off, not {raw!r}")


def env_int(name: str, default: int) -> int:
    """A whole-number setting."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_str(name: str, default: str | None = None) -> str:
    """A text setting; required (ImproperlyConfigured when missing) if no default is given."""
    raw = os.environ.get(name)
    if raw is not None and raw.strip():
        return raw.strip()
    if default is None:
        raise ImproperlyConfigured(f"{name} must be set")
    return default


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list setting; blanks are dropped."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    """A directory setting, made absolute."""
    return Path(env_str(name, str(default))).expanduser().resolve()
