"""Leases on SQLite: one row per lease name, taken or renewed inside one write."""

from __future__ import annotations

import sqlite3
import time

from eventsourcing_kit.stores.driver import LeaseGranted, LeaseOutcome, LeaseRefused
from eventsourcing_kit.stores.sqlite._ops import writing

__all__ = ["acquire_lease", "lease_holders", "release_lease"]


def acquire_lease(
    connection: sqlite3.Connection, name: str, owner: str, ttl: float, *, nested: bool
) -> LeaseOutcome:
    """Grant `owner` the lease when free, theirs or expired; else name its holder."""
    with writing(connection, nested=nested):
        now = time.time()
        row = connection.execute(
            "SELECT owner, expires_at FROM subscription_leases WHERE name = ?", (name,)
        ).fetchone()
        if row is not None and row[0] != owner and row[1] > now:
            return LeaseRefused(row[0])
        connection.execute(
            "INSERT INTO subscription_leases (name, owner, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner,"
            " expires_at = excluded.expires_at",
            (name, owner, now + ttl),
        )
        return LeaseGranted()


def release_lease(connection: sqlite3.Connection, name: str, owner: str, *, nested: bool) -> None:
    with writing(connection, nested=nested):
        connection.execute(
            "DELETE FROM subscription_leases WHERE name = ? AND owner = ?", (name, owner)
        )


def lease_holders(connection: sqlite3.Connection, prefix: str) -> dict[str, str]:
    rows = connection.execute(
        "SELECT name, owner FROM subscription_leases"
        " WHERE substr(name, 1, length(?)) = ? AND expires_at > ?",
        (prefix, prefix, time.time()),
    )
    return dict(rows.fetchall())
