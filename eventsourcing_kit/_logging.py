"""The kit's loggers: quiet until the application asks for its log lines.

A library must not configure logging (hynek/structlog#179), but structlog's
unconfigured default prints every line, debug included, to stdout: a kit
that logged through it as is would pollute every application's output. So
each logger asks at every line (or `bind`) whether the application has
configured structlog:

- configured (`structlog.is_configured()`): the line goes through structlog,
  as the application set it up (its processors, levels and output);
- not configured: the line becomes a record of the standard library's
  ``logging.getLogger(<module name>)``, and Python's own defaults apply:
  without a handler only warnings and errors are shown, on stderr (the
  "last resort" handler), and ``logging.basicConfig(level=logging.INFO)``
  turns the kit's lines on.

Nothing is configured here, at import or later: no handler, no level, no
structlog setting; the choice is read from structlog each time, so an
application may configure logging after importing the kit.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import structlog

__all__ = ["Logger", "get_logger"]


class Logger(Protocol):
    """The methods the kit logs with (a subset of structlog's bound loggers)."""

    def bind(self, **values: Any) -> Logger: ...
    def is_enabled_for(self, level: int) -> bool: ...
    def debug(self, event: str, **kw: Any) -> Any: ...
    def info(self, event: str, **kw: Any) -> Any: ...
    def warning(self, event: str, **kw: Any) -> Any: ...
    def error(self, event: str, **kw: Any) -> Any: ...
    def exception(self, event: str, **kw: Any) -> Any: ...


def get_logger(name: str) -> Logger:
    """The logger of module `name`; lazy, like ``structlog.get_logger(__name__)``."""
    return _KitLogger(name, {})


class _KitLogger:
    # The choice between structlog and the standard library is made at each
    # line: a logger made before the application configured structlog (at
    # import, or bound by a store) follows the configuration made afterwards.
    __slots__ = ("_bound", "_context", "_name", "_stdlib", "_structlog")

    def __init__(self, name: str, context: dict[str, Any], *, bound: bool = False) -> None:
        self._name = name
        self._context = context
        self._bound = bound
        self._stdlib = logging.getLogger(name)
        self._structlog: Any = None

    def bind(self, **values: Any) -> Logger:
        return _KitLogger(self._name, {**self._context, **values}, bound=True)

    def debug(self, event: str, **kw: Any) -> None:
        self._emit(logging.DEBUG, "debug", event, kw)

    def info(self, event: str, **kw: Any) -> None:
        self._emit(logging.INFO, "info", event, kw)

    def warning(self, event: str, **kw: Any) -> None:
        self._emit(logging.WARNING, "warning", event, kw)

    def error(self, event: str, **kw: Any) -> None:
        self._emit(logging.ERROR, "error", event, kw)

    def exception(self, event: str, **kw: Any) -> None:
        kw.setdefault("exc_info", True)
        self._emit(logging.ERROR, "error", event, kw)

    def is_enabled_for(self, level: int) -> bool:
        """Whether a line at `level` would go anywhere.

        For lines on a hot path (one per append), whose fields cost more to
        build than the check: structlog's filtering loggers and the standard
        library both know; a structlog configuration that does not say is
        taken to want every line.
        """
        if structlog.is_configured():
            target = self._target()
            check = getattr(target, "is_enabled_for", None) or getattr(target, "isEnabledFor", None)
            return True if check is None else bool(check(level))
        return self._stdlib.isEnabledFor(level)

    def _target(self) -> Any:
        target = self._structlog
        if target is None:
            # A module's logger keeps structlog's lazy proxy, which reads the
            # configuration at every line. A bound one (a store's, a
            # subscription's) keeps the logger structlog binds, as
            # ``structlog.get_logger().bind()`` would: the configuration of
            # its first line, without paying for a new logger at each line.
            target = structlog.get_logger(self._name)
            if self._bound:
                target = target.bind(**self._context)
            self._structlog = target
        return target

    def _emit(self, level: int, method: str, event: str, kw: dict[str, Any]) -> None:
        if structlog.is_configured():
            getattr(self._target(), method)(event, **kw)
            return
        stdlib = self._stdlib
        if not stdlib.isEnabledFor(level):
            return  # the common case: unconfigured, below warning
        exc_info = kw.pop("exc_info", None)
        fields = {**self._context, **kw}
        message = " ".join([event, *(f"{key}={value!r}" for key, value in fields.items())])
        # stacklevel: the record names the kit's module that logged, not this one.
        stdlib.log(level, message, exc_info=exc_info, stacklevel=3)
