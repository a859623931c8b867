"""`AggregateStateMachine`: a Hypothesis stateful test that checks the kit's rules itself."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

import attrs
import cattrs
from hypothesis.stateful import RuleBasedStateMachine, initialize

from eventsourcing_kit.domain import Aggregate, EventRegistry
from eventsourcing_kit.repository import Repository
from eventsourcing_kit.serialization import EventCodec, StateCodec, make_converter
from eventsourcing_kit.serialization import decode_json as loads
from eventsourcing_kit.serialization import encode_json as dumps
from eventsourcing_kit.stores import RecordedEvent
from eventsourcing_kit.stores.memory import MemoryEventStore

__all__ = ["AggregateStateMachine"]

A = TypeVar("A", bound=Aggregate)


class AggregateStateMachine(RuleBasedStateMachine, Generic[A]):
    """Base class of stateful property tests for one aggregate type.

    Subclass it, set `aggregate_type` (and `domain_errors`), write your
    commands as ``@rule`` methods that call `run`, and your own rules of the
    domain as ``@invariant`` methods reading `aggregate`::

        class AccountMachine(AggregateStateMachine[Account]):
            aggregate_type = Account
            domain_errors = (BankError,)

            @rule(amount=st.integers(-10, 1_000))
            def withdraw(self, amount: int) -> None:
                self.run(lambda account: account.withdraw(amount))

            @invariant()
            def balance_is_never_negative(self) -> None:
                assert self.aggregate.balance >= 0

        TestAccount = AccountMachine.TestCase

    After every command it also checks by itself that

    - (a) replaying every recorded event on a new aggregate gives the same state;
    - (b) versions go 1..n with no gap, in the aggregate and in the stored stream;
    - (c) every recorded event survives `EventCodec` and JSON exactly;
    - (d) loading through a `Repository` that snapshots every `snapshot_every`
      events gives the same state as loading without snapshots;
    - (e) a command that raised one of `domain_errors` recorded nothing and
      changed no state. Other exceptions fail the test.

    Each successful command's events are saved to an in-memory store, so
    `aggregate.pending_events` is empty between steps.
    """

    aggregate_type: type[A]
    """The aggregate class under test (required)."""

    domain_errors: ClassVar[tuple[type[BaseException], ...]] = ()
    """Exceptions your commands raise to refuse a command: tolerated, not failures."""

    snapshot_every: ClassVar[int] = 3
    """How often the snapshotting repository of check (d) takes a snapshot."""

    aggregate: A
    """The aggregate the commands run on."""

    recorded: list[object]
    """Every event the aggregate recorded so far, oldest first."""

    last_error: BaseException | None
    """The domain error the last command raised, or None."""

    def __init__(self) -> None:
        super().__init__()
        if not isinstance(getattr(type(self), "aggregate_type", None), type):
            raise TypeError(
                f"{type(self).__qualname__} must set `aggregate_type` to the aggregate class"
            )
        self._runner: asyncio.Runner | None = None
        self._store: MemoryEventStore | None = None
        converter = self.new_converter()
        self._codec = EventCodec(
            EventRegistry(self.aggregate_type.event_types), converter=converter
        )
        self._state_codec = StateCodec(self.aggregate_type, converter)
        self._converter = converter
        self.aggregate = self.new_aggregate()
        self.recorded = []
        self.last_error = None

    def new_converter(self) -> cattrs.Converter:
        """The converter of the codecs and repositories; override to register your hooks."""
        return make_converter()

    def new_aggregate(self) -> A:
        """The aggregate the test starts from; override to pass constructor arguments."""
        return self.aggregate_type()

    @initialize()
    def _start_kit(self) -> None:
        # Hypothesis has no async state machine: one event loop per test case
        # drives the async store and repositories, and teardown() closes it.
        self._ensure_started()

    def _ensure_started(self) -> tuple[asyncio.Runner, MemoryEventStore]:
        if self._runner is None:
            self._runner = asyncio.Runner()
            self._store = MemoryEventStore()
        assert self._store is not None
        return self._runner, self._store

    def teardown(self) -> None:
        if self._runner is not None:
            if self._store is not None:
                self._runner.run(self._store.close())
            self._runner.close()
            self._runner = None
        super().teardown()

    # --- running commands ------------------------------------------------------

    def run(self, command: Callable[[A], object]) -> BaseException | None:
        """Run `command` on `aggregate`, check it, and save what it recorded.

        Returns the domain error it raised (one of `domain_errors`), or None.
        """
        runner, _ = self._ensure_started()
        aggregate = self.aggregate
        assert not aggregate.pending_events, "pending events left over from an earlier step"
        version_before = aggregate.version
        state_before = self._state_of(aggregate)
        try:
            command(aggregate)
        except self.domain_errors as error:
            self.last_error = error
            self._check_refusal(error, version_before, state_before)
            return error
        self.last_error = None
        pending = list(aggregate.pending_events)
        assert aggregate.version == version_before + len(pending), (
            f"the command recorded {len(pending)} events but moved the version from "
            f"{version_before} to {aggregate.version}: versions must grow by one per event"
        )
        for event in pending:
            self._check_round_trip(event, len(self.recorded) + 1)
            self.recorded.append(event)
        if pending:
            runner.run(self._repository(snapshots=True).save(aggregate))
        self.check_kit_guarantees()
        return None

    def _check_refusal(
        self, error: BaseException, version_before: int, state_before: dict[str, Any]
    ) -> None:
        aggregate = self.aggregate
        assert not aggregate.pending_events, (
            f"the command raised {error!r} but left pending events "
            f"{aggregate.pending_events!r}: check the rules before calling record()"
        )
        assert aggregate.version == version_before, (
            f"the command raised {error!r} but moved the version from {version_before} "
            f"to {aggregate.version}"
        )
        state_after = self._state_of(aggregate)
        assert state_after == state_before, (
            f"the command raised {error!r} but changed the state:\n"
            f"  before: {state_before!r}\n  after:  {state_after!r}"
        )

    def _check_round_trip(self, event: object, version: int) -> None:
        encoded = self._codec.encode(event)
        stored = _Stored(
            stream_id=self.aggregate.stream_id,
            version=version,
            event_type=encoded.event_type,
            data=loads(dumps(encoded.data, what="event data")),
            metadata=encoded.metadata(),
        )
        decoded = self._codec.decode(stored)
        assert decoded == event, (
            f"event {version} does not survive serialization:\n"
            f"  recorded:  {event!r}\n  stored as: {encoded.data!r}\n  read back: {decoded!r}"
        )

    # --- the checks after every step --------------------------------------------

    def check_kit_guarantees(self) -> None:
        """Checks (a) to (d); `run` calls it after every command that succeeds.

        Call it yourself after changing `aggregate` some other way.
        """
        self._check_replay()
        self._check_state_round_trip()
        if self.recorded:
            self._check_stored_versions()
            self._check_snapshot_loads()

    def _check_replay(self) -> None:
        fresh = self.aggregate_type(id=self.aggregate.id)
        fresh.replay(list(self.recorded))
        assert fresh.version == len(self.recorded) == self.aggregate.version, (
            f"after {len(self.recorded)} events the aggregate is at version "
            f"{self.aggregate.version} and its replay at {fresh.version}"
        )
        replayed, current = self._state_of(fresh), self._state_of(self.aggregate)
        assert replayed == current, (
            "replaying the recorded events gives another state (does apply() read a clock, "
            "a counter, randomness or shared state?):\n"
            f"  state:    {current!r}\n  replayed: {replayed!r}\n"
            f"  events:   {self.recorded!r}"
        )

    def _check_state_round_trip(self) -> None:
        # The repository quietly ignores a snapshot it cannot decode, so (d)
        # alone would not notice state that snapshots lose: check it here.
        data = loads(dumps(self._state_codec.encode(self.aggregate), what="snapshot data"))
        restored = self._state_codec.decode(
            data, aggregate_id=self.aggregate.id, version=self.aggregate.version
        )
        state, read_back = self._state_of(self.aggregate), self._state_of(restored)  # type: ignore[arg-type]
        assert read_back == state, (
            "the state does not survive a snapshot (check the state fields' types):\n"
            f"  state:     {state!r}\n  stored as: {data!r}\n  read back: {read_back!r}"
        )

    def _check_stored_versions(self) -> None:
        runner, store = self._ensure_started()
        records = runner.run(_read_all(store.read_stream(self.aggregate.stream_id)))
        versions = [record.version for record in records]
        assert versions == list(range(1, len(self.recorded) + 1)), (
            f"the stored stream has versions {versions}, expected 1..{len(self.recorded)}"
        )

    def _check_snapshot_loads(self) -> None:
        runner, _ = self._ensure_started()
        plain = runner.run(self._repository(snapshots=False).load(self.aggregate.id))
        snapped = runner.run(self._repository(snapshots=True).load(self.aggregate.id))
        current = self._state_of(self.aggregate)
        for how, loaded in (("without snapshots", plain), ("from a snapshot", snapped)):
            assert loaded.version == self.aggregate.version, (
                f"loaded {how}, the aggregate is at version {loaded.version}, "
                f"expected {self.aggregate.version}"
            )
            state = self._state_of(loaded)
            assert state == current, (
                f"loading {how} gives another state (snapshot every {self.snapshot_every}):\n"
                f"  state:  {current!r}\n  loaded: {state!r}"
            )

    # --- helpers ------------------------------------------------------------------

    def _repository(self, *, snapshots: bool) -> Repository[A]:
        _, store = self._ensure_started()
        return Repository(
            self.aggregate_type,
            store,
            snapshot_every=self.snapshot_every if snapshots else None,
            converter=self._converter,
        )

    def _state_of(self, aggregate: A) -> dict[str, Any]:
        # Compared field by field (the class may not define eq) and deep-copied,
        # so that later in-place changes to the aggregate cannot alter it.
        return {
            f.name: self._copy(getattr(aggregate, f.name))
            for f in attrs.fields(type(aggregate))
            if f.name != "pending_events"
        }

    @staticmethod
    def _copy(value: object) -> object:
        try:
            return copy.deepcopy(value)
        except Exception:
            return value


@attrs.frozen(kw_only=True)
class _Stored:
    stream_id: str
    version: int
    event_type: str
    data: dict[str, Any]
    metadata: dict[str, Any]


async def _read_all(records: Any) -> list[RecordedEvent]:
    return [record async for record in records]
