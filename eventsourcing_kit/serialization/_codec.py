"""Typed events to stored (name, data) pairs and back, upcasting on the way in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import attrs
import cattrs

from eventsourcing_kit.domain import EventRegistry
from eventsourcing_kit.errors import SerializationError, UpcastError
from eventsourcing_kit.serialization._converter import make_converter

__all__ = ["SCHEMA_VERSION_KEY", "EncodedEvent", "EventCodec", "StoredEvent"]

SCHEMA_VERSION_KEY = "schema_version"
"""The metadata key holding an event's schema version; absent means 1."""


class StoredEvent(Protocol):
    """What the codec reads from a stored event (a `RecordedEvent` fits)."""

    @property
    def stream_id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def event_type(self) -> str: ...
    @property
    def data(self) -> Mapping[str, Any]: ...
    @property
    def metadata(self) -> Mapping[str, Any]: ...


@attrs.frozen(kw_only=True)
class EncodedEvent:
    """A typed event turned into its stored name, JSON data and schema version."""

    event_type: str
    data: dict[str, Any]
    schema_version: int

    def metadata(self) -> dict[str, Any]:
        """The metadata entries that let a reader decode it again."""
        return {} if self.schema_version == 1 else {SCHEMA_VERSION_KEY: self.schema_version}


class EventCodec:
    """Encodes and decodes the event classes of one `EventRegistry`."""

    def __init__(self, registry: EventRegistry, *, converter: cattrs.Converter | None = None):
        self.registry = registry
        self.converter = make_converter() if converter is None else converter
        for cls in registry:
            attrs.resolve_types(cls)

    def encode(self, event: object) -> EncodedEvent:
        """The stored form of `event`; `SerializationError` if a field cannot be stored."""
        info = self.registry.info(type(event))
        try:
            data = self.converter.unstructure(event)
        except SerializationError:
            raise
        except Exception as error:
            raise SerializationError(
                f"cannot serialize {type(event).__qualname__}: {error}; register a hook on "
                "the converter for that field type"
            ) from error
        return EncodedEvent(event_type=info.name, data=data, schema_version=info.version)

    def decode(self, stored: StoredEvent) -> object:
        """The typed event of a stored one, upcast to its class's current schema."""
        cls = self.registry.resolve(
            stored.event_type, stream_id=stored.stream_id, version=stored.version
        )
        info = self.registry.info(cls)
        schema_version = stored.metadata.get(SCHEMA_VERSION_KEY, 1)
        where = f"{stored.event_type!r} at version {stored.version} of stream {stored.stream_id!r}"
        if not isinstance(schema_version, int) or schema_version < 1:
            raise UpcastError(f"event {where} has an invalid schema version {schema_version!r}")
        if schema_version > info.version:
            raise UpcastError(
                f"event {where} was stored at schema version {schema_version}, newer than "
                f"{cls.__qualname__}'s {info.version}: deploy the newer code to read it"
            )
        data = stored.data
        if schema_version < info.version:
            try:
                # A copy: upcasters may change the dict they are given.
                data = info.upcast(dict(data), schema_version)
            except Exception as error:
                raise UpcastError(
                    f"upcasting event {where} from schema version {schema_version} to "
                    f"{info.version} failed: {error!r}"
                ) from error
        try:
            return self.converter.structure(data, cls)
        except Exception as error:
            raise SerializationError(
                f"stored event {where} does not fit {cls.__qualname__}: {error!r}; if the class "
                "changed shape, bump its @event_type version and add an upcaster"
            ) from error
