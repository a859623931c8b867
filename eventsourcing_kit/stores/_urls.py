"""Store URLs: the parts more than one module reads, with no driver imported.

Here rather than in the PostgreSQL backend so that code which must not
import asyncpg (`connect()` before it picks a backend, the test plugin)
reads URLs by the same rules.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["redact_url", "split_schema"]


def redact_url(url: str) -> str:
    """`url` without its password, fit for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable DSN>"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def split_schema(dsn: str) -> tuple[str, str | None]:
    """Take the kit's own ``?schema=NAME`` out of `dsn` (asyncpg would pass it
    to the server as a setting); return the DSN left and the name, if any."""
    parts = urlsplit(dsn)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in query if key == "schema"]
    if not schemas:
        return dsn, None
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    return urlunsplit(parts._replace(query=rest)), schemas[-1]
