"""One place that turns asyncpg and socket errors into the kit's errors.

asyncpg raises one exception class per SQLSTATE; users of the kit catch
`eventsourcing_kit.errors` only. Unique violations are not handled here: the
store resolves them itself (a retried append, or a ConcurrencyError with the
stream's actual version), because that needs another query.
"""

from __future__ import annotations

import asyncpg

from eventsourcing_kit.errors import (
    EventSourcingError,
    MigrationError,
    SerializationError,
    StoreError,
    StoreUnavailableError,
    TransientStoreError,
)

__all__ = ["DRIVER_ERRORS", "is_unavailable", "translate_error"]

DRIVER_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)
"""What asyncpg and the socket raise: translated by `translate_error`."""

# SQLSTATE classes and codes, from the PostgreSQL manual, appendix A.
_TRANSIENT = {
    "40001": "a serialization failure (a concurrent transaction conflicted)",
    "40P01": "a deadlock was detected",
    "55P03": "a lock could not be obtained",
    "57014": "the statement was cancelled (statement_timeout?)",
}
_UNAVAILABLE_CODES = {"53300", "57P01", "57P02", "57P03"}
_NOT_MIGRATED_CODES = {"3F000", "42P01", "42883"}
_UNTRANSLATABLE = "22P05"


def is_unavailable(error: BaseException) -> bool:
    """True for failures to reach the server or to keep a connection to it."""
    if isinstance(error, OSError | TimeoutError | asyncpg.exceptions.ConnectionDoesNotExistError):
        return True
    if isinstance(error, asyncpg.exceptions.InterfaceError) and "closed" in str(error):
        return True
    if isinstance(error, asyncpg.InternalClientError):
        # The protocol's state broke: seen when a statement is sent on a
        # connection the server ended before the client read its goodbye.
        return True
    sqlstate = getattr(error, "sqlstate", None)
    return isinstance(sqlstate, str) and (
        sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_CODES
    )


def translate_error(error: BaseException, *, schema: str | None = None) -> EventSourcingError:
    """The kit error that stands for `error`, to be raised ``from error``.

    40001/40P01/55P03/57014 become `TransientStoreError` (trying again may
    work); lost or refused connections `StoreUnavailableError`; a missing
    table or function `MigrationError` (the schema was never migrated);
    JSONB's refusal of ``\\u0000`` a `SerializationError`; anything else a
    `StoreError` naming the SQLSTATE.
    """
    if isinstance(error, EventSourcingError):
        return error
    sqlstate = getattr(error, "sqlstate", None)
    if is_unavailable(error):
        return StoreUnavailableError(
            f"the PostgreSQL server is unreachable or dropped the connection ({error!r}); "
            "check that it runs and accepts connections, then retry"
        )
    if sqlstate in _TRANSIENT:
        return TransientStoreError(
            f"PostgreSQL reported {_TRANSIENT[sqlstate]} [{sqlstate}]: {error}; the operation "
            "wrote nothing and may succeed when tried again"
        )
    if sqlstate in _NOT_MIGRATED_CODES:
        where = f"schema {schema!r}" if schema is not None else "the store's schema"
        flag = f" --schema {schema}" if schema is not None else ""
        return MigrationError(
            f"{where} is missing the event store's tables or functions ({error}); run "
            f"`eventsourcing-kit migrate --url postgresql://...{flag}` or open the store "
            "with migrate=True"
        )
    if sqlstate == _UNTRANSLATABLE:
        return SerializationError(
            f"PostgreSQL JSONB cannot store this payload ({error}); JSONB rejects the NUL "
            "character \\u0000 in strings: remove it or encode the value (e.g. base64)"
        )
    if isinstance(error, asyncpg.PostgresError):
        return StoreError(f"PostgreSQL error [{sqlstate}]: {error}")
    return StoreError(f"unexpected error from the PostgreSQL driver: {error!r}")
