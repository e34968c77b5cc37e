#!/usr/bin/env python
"""Django's command-line entry point; puts platform/ (a folder, not a package) on sys.path."""

import os
import sys
from pathlib import Path


def main() -> None:
    """Run a Django management command with the project's settings."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "platform"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as error:  # a setting from the environment: one line saying what to set
        sys.exit(f"manage.py: {error}")


if __name__ == "__main__":
    main()
