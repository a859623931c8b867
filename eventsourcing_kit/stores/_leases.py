"""Leases: which one of several runners of a subscription is the active one.

A lease is a named row with an owner and an expiry. A runner takes it (or
renews it) with `acquire_lease`; while it holds it, others are refused and
wait as standbys; once it expires (its runner died, or stopped renewing), the
next `acquire_lease` of another owner takes it. A lease only decides who
works: the fenced checkpoints (`_checkpoints`) are what keep the work
exactly-once when a paused runner wakes with a lease that expired meanwhile.
"""

from __future__ import annotations

from typing import TypeAlias

import attrs

__all__ = ["LeaseGranted", "LeaseOutcome", "LeaseRefused"]


@attrs.frozen(slots=True)
class LeaseGranted:
    """The caller holds the lease, for `ttl` seconds from the call."""


@attrs.frozen(slots=True)
class LeaseRefused:
    """Another owner holds the lease: `holder`."""

    holder: str


LeaseOutcome: TypeAlias = LeaseGranted | LeaseRefused
"""What `Driver.acquire_lease` reports: another holder is an outcome, not an error."""
