"""Event types: a stable stored name, a schema version, and upcasters.

An event is a plain attrs class. `@event_type` is optional: without it, an
event is stored under its class name at schema version 1. Everything is kept
on the class itself, so there is no process-wide registry to fill in before
a stored event can be read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias, TypeVar

import attrs

from eventsourcing_kit.errors import ConfigurationError

__all__ = ["EventTypeInfo", "Upcaster", "event_type", "event_type_info"]

Upcaster: TypeAlias = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns the stored data of schema version n into the data of version n + 1."""

T = TypeVar("T", bound=type)

_INFO = "__eventsourcing_event_type__"


@attrs.frozen(kw_only=True)
class EventTypeInfo:
    """How an event class is stored: its name, schema version and history."""

    name: str
    version: int = 1
    aliases: tuple[str, ...] = ()
    upcasters: Mapping[int, Upcaster] = attrs.field(factory=dict)

    def upcast(self, data: dict[str, Any], from_version: int) -> dict[str, Any]:
        """Upgrade `data` stored at `from_version` to the current version, step by step."""
        for step in range(from_version, self.version):
            data = self.upcasters[step](data)
        return data


def event_type(
    name: str | None = None,
    *,
    version: int = 1,
    aliases: Iterable[str] = (),
    upcasters: Mapping[int, Upcaster] | None = None,
) -> Callable[[T], T]:
    """Give an attrs event class its stored name, schema version and upcasters.

    - `name`: the stable name the event is stored under (default: the class
      name). Keep it when the class is renamed or moved, or list the old name
      in `aliases`, and stored events still load.
    - `version`: the schema version of the current class; bump it when the
      fields change, and add an upcaster for the previous version.
    - `upcasters`: ``{n: function}`` turning stored data of version ``n``
      into data of version ``n + 1``; one for every version below `version`.
    """
    steps = dict(upcasters or {})
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ConfigurationError(f"event schema version must be an int >= 1, got {version!r}")
    missing = [n for n in range(1, version) if n not in steps]
    if missing:
        raise ConfigurationError(
            f"event schema version {version} needs an upcaster for each older version; "
            f"missing: {missing}"
        )
    extra = [n for n in steps if not 1 <= n < version]
    if extra:
        raise ConfigurationError(f"upcasters for versions {extra} fall outside 1..{version - 1}")

    def decorate(cls: T) -> T:
        is_attrs: bool = attrs.has(cls)
        if not is_attrs:
            raise ConfigurationError(f"@event_type needs an attrs class, got {cls!r}")
        info = EventTypeInfo(
            name=cls.__name__ if name is None else name,
            version=version,
            aliases=tuple(aliases),
            upcasters=steps,
        )
        _check_name(info.name, cls)
        setattr(cls, _INFO, info)
        return cls

    return decorate


def event_type_info(cls: type) -> EventTypeInfo:
    """The stored name and schema version of an event class."""
    info = cls.__dict__.get(_INFO)
    if info is None:
        info = EventTypeInfo(name=cls.__name__)
    assert isinstance(info, EventTypeInfo)
    return info


def _check_name(name: object, cls: type) -> None:
    if not isinstance(name, str) or not name or len(name) > 255 or not name.isprintable():
        raise ConfigurationError(
            f"event name {name!r} of {cls.__qualname__} must be a printable string of 1 to "
            "255 characters"
        )
