"""The researcher's TOML files (study manifests, prompt files), read with errors naming the file, table and key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


class TomlFile:
    """One parsed TOML file and typed look-ups into its tables; every problem raises `error` naming the file."""

    def __init__(self, path: Path, *, error: type[Exception], what: str):
        self.path = Path(path)
        self.error = error
        try:
            self.raw: dict[str, Any] = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise error(f"{self.path}: {what} not found") from None
        except (OSError, UnicodeDecodeError) as problem:
            raise error(f"{self.path}: cannot read the {what} ({problem})") from None
        except tomllib.TOMLDecodeError as problem:
            raise error(f"{self.path}: invalid TOML: {problem}") from None

    def fail(self, where: str, problem: str) -> Exception:
        """The error for `problem` at `where` (a table or key) in this file."""
        return self.error(f"{self.path}: {where}: {problem}")

    def known_keys(self, table: dict[str, Any], allowed: set[str], where: str) -> None:
        """Refuse keys outside `allowed` (most often a typo)."""
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise self.fail(where, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")

    def tables(self, key: str) -> list[dict[str, Any]]:
        """The `[[key]]` array of tables at the top level (empty when absent)."""
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.fail(f"[[{key}]]", f"must be an array of tables ([[{key}]], not [{key}] or {key} = ...)")
        return value

    def table(self, key: str) -> dict[str, Any]:
        """The `[key]` table at the top level (empty when absent)."""
        value = self.raw.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(f"[{key}]", "must be a table")
        return value

    def text(
        self, table: dict[str, Any], key: str, where: str, default: str | None = None, *, required: bool = True
    ) -> str | None:
        """A non-empty string value, stripped. When the key is absent: `default` if given, else an error if
        `required`, else None."""
        if key not in table:
            if default is not None:
                return default
            if required:
                raise self.fail(where, f"missing key {key!r}")
            return None
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"{key!r} must be a non-empty string, not {value!r}")
        return value.strip()

    def integer(self, table: dict[str, Any], key: str, where: str, default: int, minimum: int | None = None) -> int:
        """An integer value (at least `minimum` when given); `default` when the key is absent."""
        value = table.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or (minimum is not None and value < minimum):
            bound = f" of at least {minimum}" if minimum is not None else ""
            raise self.fail(where, f"{key!r} must be an integer{bound}, not {value!r}")
        return value
