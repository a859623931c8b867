"""Helpers for testing event-sourced code and event store backends with pytest."""

from eventsourcing_kit.testing._store_contract import StoreContract

__all__ = ["StoreContract"]
