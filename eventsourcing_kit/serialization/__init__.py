"""The cattrs converter and the codecs for events and snapshot state."""

from eventsourcing_kit.serialization._codec import (
    SCHEMA_VERSION_KEY,
    EncodedEvent,
    EventCodec,
    StoredEvent,
)
from eventsourcing_kit.serialization._converter import make_converter
from eventsourcing_kit.serialization._json import dumps as encode_json
from eventsourcing_kit.serialization._json import loads as decode_json
from eventsourcing_kit.serialization._json import storable_json, storable_json_all
from eventsourcing_kit.serialization._state import StateCodec

__all__ = [
    "SCHEMA_VERSION_KEY",
    "EncodedEvent",
    "EventCodec",
    "StateCodec",
    "StoredEvent",
    "decode_json",
    "encode_json",
    "make_converter",
    "storable_json",
    "storable_json_all",
]
