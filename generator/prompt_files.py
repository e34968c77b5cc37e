"""The researcher's TOML files of prompts (prompt-experiment's pairs, study-set's prompts)."""

from __future__ import annotations

from pathlib import Path

from contracts.toml_file import TomlFile


class PromptFileError(Exception):
    """A prompts file that cannot be used: the message names the file, the table or key and what is wrong."""


def read_prompt_file(path: Path) -> TomlFile:
    """Parse a prompts file; its look-ups raise PromptFileError naming the file, the table and the key."""
    return TomlFile(path, error=PromptFileError, what="prompts file")
