"""Which server-side form of the append is cheapest: the data behind migrations 0007-0008.

    .venv/bin/python benchmarks/append_forms.py [--quick]

Each form takes the kit's append arguments (stream, expected version, ids,
types, data, metadata) and checks the expected version; they run on raw
asyncpg connections (no pool, no kit client code) in one migrated scratch
schema, interleaved, 1 writer (single-event appends round-robin over 200
streams) and 16 writers (one stream each), and report events/s and the
server CPU per event (the backends' /proc times). Forms:

- ``plpgsql_migrated``: the kit's migrated ``append_events()`` (0007: lock;
  SELECT; first-id probe; RETURN QUERY of the INSERT). The runs quoted in
  docs/postgres.md as "with SET search_path FROM CURRENT" measured this form
  before the append functions were squashed, when it still had that clause;
- ``plpgsql_no_set``: the same without ``SET search_path FROM CURRENT``;
- ``plpgsql_one_insert``: lock, then ONE statement that reads the version
  and inserts only when it matches (the mismatch path reads it again);
- ``sql_function``: ``LANGUAGE sql``, lock and check+insert as two statements;
- ``one_statement``: no function and no lock: one INSERT ... SELECT with the
  check, relying on UNIQUE (stream_id, version) under a true race;
- ``plpgsql_scalar_one``: one event with scalar parameters (no arrays), OUT
  parameters and ``INSERT ... RETURNING INTO``, no SET clause;
- ``streams_statement``: what the store sends for one event with an exact
  expected version since migration 0007 gained the ``streams`` table: one
  statement that updates (or creates) the stream's row only if it holds the
  expected version and inserts the event from what that returned;
- ``probe_statement``: no ``streams`` row: one INSERT of the event at
  version $2 + 1 only if the stream holds version $2 (an index probe on
  UNIQUE (stream_id, version); none for $2 = 0), ON CONFLICT DO NOTHING. A
  writer that loses a true race draws a ``global_position`` before the
  conflict stops it, which issue 3 rules out: measured to show what the
  ``streams`` row costs;
- ``plain_insert``: the kit's table without any check (a floor).

Prints a table; with ``--output FILE`` also writes the medians as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pathlib
import statistics
import uuid
from collections.abc import Sequence
from typing import Any

import _pg_common as common
import asyncpg
import attrs
import orjson

from eventsourcing_kit.stores.postgres import Queries, migrate

_VARIANTS_SQL = pathlib.Path(__file__).with_name("_pg_append_forms.sql")
_ARGS = "$1, $2, $3, $4, $5, $6"
_ONE_STATEMENT = """
WITH cur AS (
    SELECT coalesce((SELECT version FROM events WHERE stream_id = $1
                     ORDER BY version DESC LIMIT 1), 0) AS v
), ok AS (
    SELECT v FROM cur WHERE NOT (($2 >= 0 AND v <> $2) OR ($2 = -2 AND v = 0))
), ins AS (
    INSERT INTO events (event_id, stream_id, version, event_type, data, metadata)
    SELECT u.event_id, $1, ok.v + u.n::integer, u.event_type, u.data::jsonb, u.metadata::jsonb
    FROM ok, unnest($3::uuid[], $4::text[], $5::text[], $6::text[])
         WITH ORDINALITY AS u(event_id, event_type, data, metadata, n)
    ORDER BY u.n
    RETURNING global_position
)
SELECT NOT EXISTS (SELECT 1 FROM ok), (SELECT v FROM cur) + cardinality($3::uuid[]),
       pg_current_xact_id(), (SELECT max(global_position) FROM ins)
"""
FORMS: dict[str, str] = {
    "plpgsql_migrated": f"SELECT * FROM append_events({_ARGS})",
    "plpgsql_no_set": f"SELECT * FROM append_e({_ARGS})",
    "plpgsql_one_insert": f"SELECT * FROM append_b({_ARGS})",
    "sql_function": f"SELECT * FROM append_c({_ARGS})",
    "one_statement": _ONE_STATEMENT,
    "plpgsql_scalar_one": f"SELECT * FROM append_f({_ARGS})",
    "streams_statement": "",  # chosen per call in _run: the kit's append_next / append_new
    "probe_statement": (
        "INSERT INTO events (event_id, stream_id, version, event_type, data, metadata) "
        "SELECT $3, $1, $2 + 1, $4, $5::jsonb, $6::jsonb "
        "WHERE $2 = 0 OR EXISTS (SELECT 1 FROM events WHERE stream_id = $1 AND version = $2) "
        "ON CONFLICT DO NOTHING RETURNING transaction_id, global_position"
    ),
    "plain_insert": (
        "INSERT INTO events (event_id, stream_id, version, event_type, data, metadata) "
        "SELECT ($3::uuid[])[1], $1, $2 + 1, ($4::text[])[1], ($5::text[])[1]::jsonb, "
        "($6::text[])[1]::jsonb"
    ),
}


_SCALAR_FORMS = {"plpgsql_scalar_one", "streams_statement", "probe_statement"}


def _scalar_args(e: common.Event) -> tuple[Any, ...]:
    return (
        e.stream_id,
        e.version - 1,
        e.event_id,
        e.event_type,
        orjson.dumps(e.data).decode(),
        orjson.dumps(e.metadata).decode(),
    )


def _args(e: common.Event) -> tuple[Any, ...]:
    return (
        e.stream_id,
        e.version - 1,
        [e.event_id],
        [e.event_type],
        [orjson.dumps(e.data).decode()],
        [orjson.dumps(e.metadata).decode()],
    )


async def _connections(schema: str, name: str, count: int) -> list[asyncpg.Connection]:
    return [
        await asyncpg.connect(
            common.dsn(), server_settings={"search_path": schema, "application_name": name}
        )
        for _ in range(count)
    ]


async def _run(
    schema: str, form: str, plans: Sequence[Sequence[common.Event]], tag: str
) -> common.Timing:
    name = f"{schema}_{tag}"[:63]
    conns = await _connections(schema, name, len(plans))
    queries = Queries.for_schema(schema)

    def query_for(args: tuple[Any, ...]) -> str:
        if form != "streams_statement":
            return FORMS[form]
        return queries.append_next if args[1] else queries.append_new

    # The kit's statements take the channel to NOTIFY as $7: none here.
    extra: tuple[Any, ...] = (None,) if form == "streams_statement" else ()

    try:
        args = _scalar_args if form in _SCALAR_FORMS else _args
        for conn in conns:  # prepare, untimed
            warm = args(_warm(conn))
            await conn.fetchrow(query_for(warm), *warm, *extra)
        work = [[args(e) for e in plan] for plan in plans]

        async def write(conn: asyncpg.Connection, calls: list[tuple[Any, ...]]) -> None:
            for args in calls:
                row = await conn.fetchrow(query_for(args), *args, *extra)
                if form in ("streams_statement", "probe_statement"):
                    assert row is not None, (form, args)  # no row: a conflict
                else:
                    assert form == "plain_insert" or not row[0], (form, row)

        watch = common.Stopwatch(name)
        await asyncio.gather(*(write(c, w) for c, w in zip(conns, work, strict=True)))
        return watch.stop()
    finally:
        for conn in conns:
            await conn.close()


def _warm(conn: asyncpg.Connection) -> common.Event:
    return common.Event(
        event_id=uuid.uuid4(),
        stream_id=f"Warm-{uuid.uuid4()}",
        version=1,
        event_type="Warmed",
        data={},
        metadata={},
    )


async def main(quick: bool) -> dict[str, dict[str, dict[str, float]]]:
    reps = 2 if quick else 5
    single_n, per_writer = (400, 40) if quick else (2000, 200)
    results: dict[tuple[str, str], list[common.Timing]] = {}
    for rep in range(reps):
        for scenario in ("single", "concurrent16"):
            forms = list(FORMS)
            forms = forms[rep % len(forms) :] + forms[: rep % len(forms)]
            for form in forms:
                async with common.fresh_schema("forms", create=False) as schema:
                    await migrate(common.dsn(), schema=schema)
                    conn = await asyncpg.connect(
                        common.dsn(), server_settings={"search_path": schema}
                    )
                    try:
                        await conn.execute(_VARIANTS_SQL.read_text())
                    finally:
                        await conn.close()
                    prefix = uuid.uuid4().hex[:6]
                    if scenario == "single":
                        plans = [common.single_event_plan(single_n, 200, prefix=prefix)]
                    else:
                        plans = [
                            [
                                attrs.evolve(e, stream_id=f"W{w}-{prefix}")
                                for e in common.single_event_plan(per_writer, 1, prefix=prefix)
                            ]
                            for w in range(16)
                        ]
                    timing = await _run(schema, form, plans, f"{form}_{rep}")
                    results.setdefault((scenario, form), []).append(timing)
        print(f"repetition {rep + 1}/{reps} done", flush=True)
    print(f"{'scenario':14s} {'form':20s} {'ev/s':>9s} {'server µs/ev':>12s} {'client µs/ev':>12s}")
    medians: dict[str, dict[str, dict[str, float]]] = {}
    for (scenario, form), timings in results.items():
        events = single_n if scenario == "single" else 16 * per_writer
        rate = statistics.median(events / t.seconds for t in timings)
        server = statistics.median((t.server_cpu or 0) for t in timings) / events * 1e6
        client = statistics.median(t.client_cpu for t in timings) / events * 1e6
        print(f"{scenario:14s} {form:20s} {rate:9.0f} {server:12.0f} {client:12.0f}")
        medians.setdefault(scenario, {})[form] = {
            "events_per_s": round(rate, 1),
            "server_cpu_us_per_event": round(server, 1),
            "client_cpu_us_per_event": round(client, 1),
        }
    return medians


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--output", type=pathlib.Path, help="also write the medians as JSON (e.g. results/...)"
    )
    arguments = parser.parse_args()
    load_before = os.getloadavg()[0]
    found = asyncio.run(main(arguments.quick))
    if arguments.output is not None:
        common.write_medians(
            arguments.output,
            benchmark="append_forms",
            quick=arguments.quick,
            unit="medians over interleaved repetitions (5; 2 with --quick); CPU per event",
            medians=found,
            load_before=load_before,
        )
