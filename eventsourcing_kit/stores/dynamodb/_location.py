"""`Location`: which table, where; read from a ``dynamodb://table?...`` URL."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import attrs

from eventsourcing_kit.errors import ConfigurationError

__all__ = ["Location", "location_from_url"]

# DynamoDB's own rule for table names.
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_PARAMETERS = ("endpoint_url", "region")


@attrs.frozen(kw_only=True)
class Location:
    """A table, and the endpoint and region of its DynamoDB.

    `endpoint_url` None and `region` None leave both to the standard AWS
    configuration (environment, profile, instance role).
    """

    table: str
    endpoint_url: str | None = None
    region: str | None = None

    def url(self) -> str:
        """The ``dynamodb://`` URL of this location."""
        query = "&".join(
            f"{name}={value}"
            for name, value in (("endpoint_url", self.endpoint_url), ("region", self.region))
            if value is not None
        )
        return f"dynamodb://{self.table}{'?' + query if query else ''}"


def location_from_url(url: str) -> Location:
    """``dynamodb://table?endpoint_url=http://127.0.0.1:8000&region=us-east-1`` as a `Location`."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "dynamodb":
        raise ConfigurationError(f"not a dynamodb:// URL: {url!r}")
    table = parts.netloc
    if parts.path not in ("", "/") or not _TABLE_NAME.fullmatch(table):
        raise ConfigurationError(
            f"invalid DynamoDB store URL {url!r}: write dynamodb://TABLE?endpoint_url=...&"
            "region=..., where TABLE has 3 to 255 letters, digits, '_', '-' or '.'"
        )
    values: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in _PARAMETERS:
            raise ConfigurationError(
                f"unknown parameter {name!r} in DynamoDB store URL {url!r}; it takes "
                f"{', '.join(_PARAMETERS)} (credentials come from the AWS credential chain or "
                "the store's options, never the URL)"
            )
        if not value:
            raise ConfigurationError(f"empty {name} in DynamoDB store URL {url!r}")
        values[name] = value
    return Location(
        table=table, endpoint_url=values.get("endpoint_url"), region=values.get("region")
    )
