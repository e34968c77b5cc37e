"""System checks (`manage.py check`, run before every command and by runserver): the serving set-up is coherent."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.checks import Error, register


@register()
def data_folder_is_writable(app_configs, **kwargs) -> list[Error]:
    """Imports write the served copies under PLATFORM_DATA_DIR/studies, and nginx reads them there (X-Accel)."""
    folder = settings.PLATFORM_DATA_DIR
    existing = next((parent for parent in (folder, *folder.parents) if parent.exists()), None)
    if existing is None or not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        return [
            Error(
                f"PLATFORM_DATA_DIR {folder} cannot be written by this user",
                hint="Point PLATFORM_DATA_DIR at the shared bundle store, writable by the app's user.",
                id="surveys.E001",
            )
        ]
    return []
