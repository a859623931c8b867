"""The ``eventsourcing-kit`` command line; the only code that configures logging.

It needs the ``cli`` extra (click and rich): ``pip install 'eventsourcing-kit[cli]'``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

_EXTRA = ("click", "rich")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv); return the exit status."""
    try:
        from eventsourcing_kit.cli._main import run
    except ModuleNotFoundError as error:
        if error.name not in _EXTRA:
            raise
        print(
            f"eventsourcing-kit: error: the command line needs {error.name}, from the cli "
            "extra: pip install 'eventsourcing-kit[cli]'",
            file=sys.stderr,
        )
        return 1
    return run(argv)
