"""Shared helpers of the property tests (imported as `property_support`)."""

from __future__ import annotations

from typing import Any

from hypothesis import settings


def budget(share: float, *, steps: int = 30, **changes: Any) -> settings:
    """The loaded profile's settings with `share` of its examples (at least 5).

    Database-backed tests take a share of the profile so that `ci` stays fast
    while `thorough` still scales them up; none of them has a deadline.
    """
    current = settings()
    return settings(
        current,
        max_examples=max(5, int(current.max_examples * share)),
        stateful_step_count=steps,
        deadline=None,
        **changes,
    )
