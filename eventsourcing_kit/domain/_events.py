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

__all__ = ["EventTypeInfo", "Upcaster", "check_event_class", "event_type", "event_type_info"]

Upcaster: TypeAlias = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns the stored data of schema version n into the data of version n + 1."""

T = TypeVar("T", bound=type)

_INFO = "__eventsourcing_event_type__"


@attrs.frozen
class _Frozen:
    pass


# Every frozen attrs class, slotted or not, gets attrs' one refusing
# __setattr__: comparing with it tells a frozen class on every attrs version
# the kit supports (attrs.inspect, which says so directly, is newer and
# experimental).
_FROZEN_SETATTR = _Frozen.__setattr__


def check_event_class(cls: object) -> type:
    """`cls` if it can be an event class, else `ConfigurationError` saying why.

    An event class is a frozen attrs class (``@attrs.frozen``): the codec
    reads its fields, and an event must not change once recorded, or the
    aggregate's state (applied at `record`) and the stored event (encoded at
    save) would tell two stories.
    """
    if not isinstance(cls, type):
        raise ConfigurationError(
            f"{cls!r} is not a class: list event classes (decorated with @attrs.frozen)"
        )
    if not attrs.has(cls):
        raise ConfigurationError(
            f"event class {cls.__qualname__} is not an attrs class: decorate it with "
            "@attrs.frozen so that its fields can be stored and read back"
        )
    if cls.__setattr__ is not _FROZEN_SETATTR:
        raise ConfigurationError(
            f"event class {cls.__qualname__} is mutable: decorate it with @attrs.frozen, so "
            "that an event cannot change after it is recorded (the state applied and the "
            "event stored would differ)"
        )
    return cls


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
            raise ConfigurationError(
                f"@event_type needs an attrs class, got {cls!r}: put it above @attrs.frozen"
            )
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
