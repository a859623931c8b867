"""Logging for the command line: the library only logs, the CLI decides where to."""

from __future__ import annotations

import logging
import sys

import structlog

__all__ = ["configure_logging"]


def configure_logging(*, verbose: bool = False) -> None:
    """Human-readable lines on stderr: warnings and errors, everything with ``--verbose``.

    A command prints what it did itself; the kit's info lines (a subscription
    started, a batch handled) would only bury it.
    """
    level = logging.DEBUG if verbose else logging.WARNING
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        # No cache_logger_on_first_use: a cached logger keeps this stderr for
        # good, even when main() runs inside another program (or a test) that
        # configures structlog again afterwards.
    )
