"""Operating subscriptions: ``subscriptions``, ``reset NAME`` and ``replay-parked NAME``.

The command line sees what the store keeps, not the processes that run the
subscriptions: a subscription is known by its stored checkpoint (or by its
stream of parked events), its lag is counted from that checkpoint, and its
state says where the stored checkpoint stands.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any
from uuid import UUID

import attrs
import click

from eventsourcing_kit.cli._common import (
    CommandError,
    Output,
    open_store,
    run,
    store_options,
)
from eventsourcing_kit.errors import ConfigurationError
from eventsourcing_kit.stores import EventStore, Position
from eventsourcing_kit.subscriptions import ParkedEvent, list_parked, parked_stream_id, subscribe

__all__ = ["replay_parked", "reset", "subscriptions"]

DEFAULT_LAG_LIMIT = 10_000
# Where subscriptions park events: the category of their `$parked-<id>` streams.
_PARKED_CATEGORY = parked_stream_id("x").partition("-")[0]


@attrs.frozen(kw_only=True)
class SubscriptionRow:
    """What ``subscriptions`` reports about one subscription.

    `lease_holder` names the runner that holds its lease now (host, process
    id and a random part), or is None: no runner, or a store that keeps no
    leases.
    """

    name: str
    state: str
    checkpoint: Position | None
    lag: int
    lag_exact: bool
    parked: int
    lease_holder: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "checkpoint": None if self.checkpoint is None else str(self.checkpoint),
            "lag": self.lag,
            "lag_exact": self.lag_exact,
            "parked": self.parked,
            "lease_holder": self.lease_holder,
        }

    def cells(self) -> tuple[object, ...]:
        lag = f"{self.lag}" if self.lag_exact else f"{self.lag}+"
        checkpoint = "-" if self.checkpoint is None else str(self.checkpoint)
        holder = "-" if self.lease_holder is None else self.lease_holder
        return (self.name, self.state, checkpoint, lag, self.parked, holder)


_COLUMNS = ("subscription", "state", "checkpoint", "lag", "parked", "lease holder")


# --- subscriptions ---------------------------------------------------------------------


@click.command()
@store_options()
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option(
    "--lag-limit",
    type=click.IntRange(min=1),
    default=DEFAULT_LAG_LIMIT,
    show_default=True,
    metavar="N",
    help="Count at most N events of lag per subscription (more shows as N+).",
)
def subscriptions(url: str | None, as_json: bool, names: tuple[str, ...], lag_limit: int) -> None:
    """List the subscriptions: state, checkpoint, lag and parked events.

    A subscription is listed once it has stored a checkpoint or parked an
    event. Its lag is the number of events after its checkpoint (its own
    category or type filter is not stored, so this is an upper bound). Its
    state: "caught up" (no lag), "behind", "reset" (its checkpoint is before
    the first event: it rebuilds on its next run) or "no checkpoint".
    """
    output = Output(as_json=as_json)
    rows = run(_rows(url, names, lag_limit))
    if output.as_json:
        for row in rows:
            output.json(row.as_json())
        return
    output.table(
        _COLUMNS,
        [row.cells() for row in rows],
        caption=f"{len(rows)} subscription{'s' if len(rows) != 1 else ''}",
        right=("lag", "parked"),
    )


async def _rows(url: str | None, names: tuple[str, ...], lag_limit: int) -> list[SubscriptionRow]:
    async with open_store(url) as store:
        checkpoints = await store.list_checkpoints()
        parking = {
            stream.stream_id.partition("-")[2]
            async for stream in store.list_streams(category=_PARKED_CATEGORY)
        }
        known = sorted(set(checkpoints) | parking)
        if names:
            _check_known(names, known)
            known = [name for name in known if name in names]
        head = await store.head_position()
        rows = []
        for name in known:
            checkpoint = checkpoints.get(name)
            lag, exact = await _lag(store, checkpoint, head, lag_limit)
            parked = len(await list_parked(store, name)) if name in parking else 0
            holders = await store.lease_holders(name) if store.supports_leases else {}
            rows.append(
                SubscriptionRow(
                    name=name,
                    state=_state(store, checkpoint, lag),
                    checkpoint=checkpoint,
                    lag=lag,
                    lag_exact=exact,
                    parked=parked,
                    lease_holder=holders.get(name),
                )
            )
        return rows


def _check_known(names: tuple[str, ...] | list[str], known: list[str]) -> None:
    unknown = [name for name in names if name not in known]
    if unknown:
        listed = ", ".join(repr(name) for name in known) or "none"
        raise CommandError(
            f"no subscription named {unknown[0]!r}: it has no stored checkpoint and no parked "
            f"events (known: {listed})"
        )


def _state(store: EventStore, checkpoint: Position | None, lag: int) -> str:
    if checkpoint is None:
        return "no checkpoint"
    if checkpoint == store.start_position:
        return "reset"
    return "caught up" if lag == 0 else "behind"


async def _lag(
    store: EventStore, checkpoint: Position | None, head: Position | None, limit: int
) -> tuple[int, bool]:
    """Events after `checkpoint` up to `head`, at most `limit` counted: (count, exact)."""
    if checkpoint is None or head is None:
        return 0, True
    count = 0
    reader = store.read_all(from_position=checkpoint, batch_size=min(limit, 1000))
    try:
        async for event in reader:
            if event.position > head:
                break
            if event.category == _PARKED_CATEGORY:
                continue  # the kit's own parking records: subscriptions skip them
            if count >= limit:
                return count, False
            count += 1
    finally:
        aclose = getattr(reader, "aclose", None)  # an async generator's: end its page reads
        if aclose is not None:
            await aclose()
    return count, True


# --- reset -------------------------------------------------------------------------------


@click.command()
@store_options()
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def reset(url: str | None, as_json: bool, name: str, yes: bool) -> None:
    """Move subscription NAME's checkpoint before the first event, to rebuild it.

    Its next run starts from the first event, in any process. Stop the
    subscription first: a running one stores its own position at its next
    batch. The read model is the application's to clear (Subscription.reset()
    runs its on_reset; the command line cannot).
    """
    output = Output(as_json=as_json)
    previous = run(_reset(url, name, confirm=None if yes else _confirm))
    if output.as_json:
        output.json({"name": name, "previous_checkpoint": previous, "checkpoint": "start"})
    else:
        output.line(
            f"subscription {name!r} reset: its checkpoint moved from {previous} to the start; "
            "it rebuilds from the first event on its next run"
        )


def _confirm(name: str, checkpoint: Position) -> None:
    if not sys.stdin.isatty():
        raise CommandError(
            f"reset moves subscription {name!r} back to the first event: pass --yes to confirm"
        )
    click.confirm(
        f"Reset subscription {name!r} (now at {checkpoint}) to the first event?", abort=True
    )


async def _reset(
    url: str | None, name: str, *, confirm: Callable[[str, Position], None] | None
) -> str:
    async with open_store(url) as store:
        checkpoints = await store.list_checkpoints()
        if name not in checkpoints:
            listed = ", ".join(repr(known) for known in checkpoints) or "none"
            raise CommandError(
                f"subscription {name!r} has no stored checkpoint: nothing to reset "
                f"(subscriptions with one: {listed})"
            )
        previous = checkpoints[name]
        if confirm is not None:
            confirm(name, previous)
        await store.save_checkpoint(name, store.start_position)
        return str(previous)


# --- replay-parked -----------------------------------------------------------------------


@click.command("replay-parked")
@store_options()
@click.argument("name")
@click.option(
    "--handler",
    metavar="MODULE:NAME",
    help=(
        "The subscription's handler, imported from the current folder or the installed "
        "packages: an async callable, or a class (a Projection) built with no arguments."
    ),
)
@click.option(
    "--transactional", is_flag=True, help="The handler takes a HandlerContext, as it runs."
)
@click.option("--batched", is_flag=True, help="The handler takes a list of events, as it runs.")
@click.option(
    "--event-id",
    "event_ids",
    multiple=True,
    type=click.UUID,
    metavar="UUID",
    help="Replay only this parked event (repeat it for several).",
)
@click.option("--dry-run", is_flag=True, help="List the parked events; replay nothing.")
def replay_parked(
    url: str | None,
    as_json: bool,
    name: str,
    handler: str | None,
    transactional: bool,
    batched: bool,
    event_ids: tuple[UUID, ...],
    dry_run: bool,
) -> None:
    """Hand subscription NAME's parked events to its handler once more.

    Each event the handler now handles is marked replayed; one that fails
    again stays parked, and the command exits with status 1. --dry-run lists
    them instead.
    """
    if not dry_run and handler is None:
        raise click.UsageError("give --handler MODULE:NAME (or --dry-run to list the events)")
    output = Output(as_json=as_json)
    wanted = set(event_ids) or None
    if dry_run:
        _show_parked(output, run(_parked(url, name, wanted)))
        return
    assert handler is not None
    target = _import_handler(handler)
    replayed, failed = run(_replay(url, name, target, transactional, batched, wanted))
    if output.as_json:
        output.json(
            {
                "name": name,
                "replayed": [str(parked.event_id) for parked in replayed],
                "failed": [
                    {"event_id": str(parked.event_id), "error": error} for parked, error in failed
                ],
            }
        )
    else:
        for parked, error in failed:
            output.note(f"still failing: {parked.stream_id} v{parked.version}: {error}")
        output.line(f"subscription {name!r}: {len(replayed)} replayed, {len(failed)} still parked")
    if failed:
        raise click.exceptions.Exit(1)


def _show_parked(output: Output, parked: list[ParkedEvent]) -> None:
    if output.as_json:
        for event in parked:
            output.json(
                {
                    "event_id": str(event.event_id),
                    "stream_id": event.stream_id,
                    "version": event.version,
                    "event_type": event.event_type,
                    "attempts": event.attempts,
                    "parked_at": event.parked_at.isoformat(),
                    "error": event.error,
                }
            )
        return
    output.table(
        ("event id", "stream", "version", "type", "attempts", "error"),
        [(e.event_id, e.stream_id, e.version, e.event_type, e.attempts, e.error) for e in parked],
        caption=f"{len(parked)} parked",
        right=("version", "attempts"),
    )


async def _parked(url: str | None, name: str, wanted: set[UUID] | None) -> list[ParkedEvent]:
    async with open_store(url) as store:
        await _check_subscription(store, name)
        parked = await list_parked(store, name)
    return [event for event in parked if wanted is None or event.event_id in wanted]


async def _replay(
    url: str | None,
    name: str,
    handler: Callable[..., Any],
    transactional: bool,
    batched: bool,
    wanted: set[UUID] | None,
) -> tuple[tuple[ParkedEvent, ...], tuple[tuple[ParkedEvent, str], ...]]:
    async with open_store(url) as store:
        await _check_subscription(store, name)
        subscription = subscribe(
            store, name, handler, transactional=transactional, batched=batched, on_error="park"
        )
        result = await subscription.replay_parked(event_ids=wanted)
    return result.replayed, result.failed


async def _check_subscription(store: EventStore, name: str) -> None:
    checkpoints = await store.list_checkpoints()
    if name in checkpoints:
        return
    parking = parked_stream_id(name)
    if await store.stream_version(parking) == 0:
        _check_known([name], sorted(checkpoints))


def _import_handler(path: str) -> Callable[..., Any]:
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"--handler {path!r}: give MODULE:NAME, e.g. myapp.read:Balances")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as python -m does: the application's own modules
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigurationError(
            f"--handler {path!r}: cannot import {module_name}: {error}"
        ) from error
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ConfigurationError(
                f"--handler {path!r}: {module_name} has no {attribute}"
            ) from None
    if inspect.isclass(target):
        target = target()
    if not callable(target):
        raise ConfigurationError(f"--handler {path!r} is not callable: {target!r}")
    handler: Callable[..., Any] = target
    return handler
