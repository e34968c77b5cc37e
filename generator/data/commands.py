import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's sub-commands (each sets `run`, which returns the exit status)."""
