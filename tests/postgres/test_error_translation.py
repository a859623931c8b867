"""Driver errors the store cannot tell apart by SQLSTATE still become kit errors."""

from __future__ import annotations

import asyncpg

from eventsourcing_kit.errors import StoreError, StoreUnavailableError
from eventsourcing_kit.stores.postgres._errors import translate_error


def test_a_broken_protocol_state_is_store_unavailable() -> None:
    # asyncpg raises this when a statement goes out on a connection the
    # server ended before the client read its goodbye.
    error = asyncpg.InternalClientError("cannot switch to state 11; another operation")
    assert isinstance(translate_error(error), StoreUnavailableError)


def test_an_unknown_driver_error_is_a_store_error_naming_it() -> None:
    translated = translate_error(asyncpg.InterfaceError("something new"))
    assert type(translated) is StoreError
    assert "something new" in str(translated)
