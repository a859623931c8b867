"""JSON text that survives a round trip through JSONB with its types intact.

JSONB stores numbers as ``numeric`` and prints them back in positional
notation: the float ``1e+16`` (orjson's spelling) comes back as
``10000000000000000``, which decodes as an int. The kit promises payloads
come back as written, so floats written with a positive exponent are sent as
positional digits with a ``.0`` (exact: an integral double is an integer),
which JSONB keeps and prints back as a float. Only payloads whose JSON holds
``e+`` take the slow path; a string holding ``e+`` takes it for nothing.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["jsonb_text"]


def jsonb_text(encoded: bytes, value: Any) -> str:
    """The text to send as JSONB for `value`, whose orjson bytes are `encoded`."""
    if b"e+" not in encoded:
        return encoded.decode()
    return orjson.dumps(_positional(value)).decode()


def _positional(value: Any) -> Any:
    if isinstance(value, float):
        return orjson.Fragment(f"{int(value)}.0") if value.is_integer() else value
    if isinstance(value, dict):
        return {key: _positional(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_positional(item) for item in value]
    return value
