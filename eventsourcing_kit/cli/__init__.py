"""The ``eventsourcing-kit`` command line; the only code that configures logging."""

from eventsourcing_kit.cli._main import main

__all__ = ["main"]
