"""The SQL's expected-version rule is the core's: one function, asked by every append path."""

from __future__ import annotations

import pytest

from eventsourcing_kit import ExpectedVersion, NewEvent
from eventsourcing_kit.errors import ConcurrencyError
from eventsourcing_kit.stores.driver import MAX_INT64, expected_version_holds
from eventsourcing_kit.stores.postgres import PostgresEventStore, quote_identifier

# How the SQL takes an expected version (store/postgres/0010's header): the
# exact version itself, or a negative code.
SQL_CODES: dict[int | ExpectedVersion, int] = {
    ExpectedVersion.ANY: -1,
    ExpectedVersion.NO_STREAM: 0,
    ExpectedVersion.STREAM_EXISTS: -2,
}
EXPECTATIONS: list[int | ExpectedVersion] = [*SQL_CODES, 1, 2, 7, MAX_INT64]
ACTUALS = [0, 1, 2, 7, MAX_INT64 - 1, MAX_INT64]


async def test_the_sql_rule_answers_as_the_python_rule_for_every_expectation(
    pg_store: PostgresEventStore,
) -> None:
    holds = f"{quote_identifier(pg_store.schema)}.expected_version_holds($1, $2)"
    for expected in EXPECTATIONS:
        code = SQL_CODES.get(expected, expected)
        for actual in ACTUALS:
            in_sql = await pg_store.pool.fetchval(f"SELECT {holds}", code, actual)
            assert in_sql is expected_version_holds(expected, actual), (expected, actual)


@pytest.mark.parametrize("count", [1, 3], ids=["one event", "a batch"])
@pytest.mark.parametrize(
    "expected",
    [ExpectedVersion.NO_STREAM, 1, 2, ExpectedVersion.STREAM_EXISTS, ExpectedVersion.ANY],
    ids=str,
)
async def test_every_append_path_refuses_what_the_rule_refuses(
    pg_store: PostgresEventStore, expected: int | ExpectedVersion, count: int
) -> None:
    # A stream at version 2: only ANY and STREAM_EXISTS hold; the one-statement
    # paths (NO_STREAM, exact) and the functions (the others) ask the same rule.
    await pg_store.append_events("Rule-1", [NewEvent("Made", {}), NewEvent("Made", {})])
    events = [NewEvent("Next", {"n": n}) for n in range(count)]
    if expected_version_holds(expected, 2):
        result = await pg_store.append_events("Rule-1", events, expected_version=expected)
        assert result.version == 2 + count
    else:
        with pytest.raises(ConcurrencyError):
            await pg_store.append_events("Rule-1", events, expected_version=expected)
        assert await pg_store.stream_version("Rule-1") == 2
