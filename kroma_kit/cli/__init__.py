"""The ``kroma`` command."""

from kroma_kit.cli.main import main

__all__ = ["main"]
