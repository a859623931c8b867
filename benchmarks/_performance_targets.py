"""Issue 15's targets against the recorded figures: met or missed, computed, never typed."""

from __future__ import annotations

from typing import Any

from _performance_common import OPS


def _mark(met: bool) -> str:
    return "met" if met else "**missed**"


def targets_section(files: dict[str, dict[str, Any] | None]) -> list[str]:
    """Issue 15's targets against this page's figures: met or missed, computed here."""
    rows: list[tuple[str, str, str]] = []
    growth = files["growth_postgres"]
    if growth is not None:
        largest = list(growth["points"])[-1]
        g = growth["ratios"].get("growth_same_run") or growth["ratios"]["growth"]
        for op in ("single", "batch100"):
            value = g[f"kit.{op}"][largest]
            rows.append(
                (
                    f"{OPS[op]} at {int(largest):,} rows within 1.3x of an empty table",
                    f"{value:.2f}x (raw: {g[f'raw.{op}'][largest]:.2f}x)",
                    _mark(value <= 1.3),
                )
            )
        for op in ("read_new", "read_old"):
            # Old streams exist only in the prefilled table: against its first size.
            values = g.get(f"kit.{op}") or growth["ratios"]["growth"].get(f"kit.{op}", {})
            if values:
                worst = max(values, key=lambda size: values[size])
                rows.append(
                    (
                        f"{OPS[op]}: flat (within 1.3x at every size)",
                        f"worst {values[worst]:.2f}x, at {int(worst):,} rows",
                        _mark(values[worst] <= 1.3),
                    )
                )
    catch_up = files["catch_up"]
    if catch_up is not None:
        share = catch_up["catch_up"]["vs_read_all"]["noop"]
        rows.append(
            (
                "catch-up with a no-op handler >= 0.8 of read_all",
                f"{share:.2f}",
                _mark(share >= 0.8),
            )
        )
        live = catch_up["live"]
        for key, r in live.items():
            if key.startswith("other_process"):
                rows.append(
                    (
                        f"live p99 < 20 ms, 16 writers in another process ({key.split('_', 2)[2]})",
                        f"{r['p99_ms']:.1f} ms",
                        _mark(r["p99_ms"] < 20),
                    )
                )
    memory = files["memory"]
    if memory is not None:
        for case in ("read_stream", "read_all", "repository_load"):
            value = memory[case]["peak_over_baseline_mib"]
            rows.append(
                (
                    f"memory of {case} within 50 MB of the baseline",
                    f"{value:.1f} MiB",
                    _mark(value * 1.048576 <= 50),
                )
            )
    curve = files["concurrency_curve"]
    if curve is not None:
        ratios = {int(n): r["kit"] for n, r in curve["vs_raw"].items()}
        first = ratios[min(ratios)]
        low = min(ratios, key=lambda n: ratios[n])
        rows.append(
            (
                "no level below the single-writer ratio",
                f"single {first:.2f}; lowest {ratios[low]:.2f} at {low}",
                _mark(ratios[low] >= first),
            )
        )
        upper = {n: r for n, r in ratios.items() if n >= 8}
        if upper:
            worst = min(upper, key=lambda n: upper[n])
            rows.append(
                (
                    ">= 0.9 of raw at 8 to 64 writers",
                    f"lowest {upper[worst]:.2f} at {worst}",
                    _mark(upper[worst] >= 0.9),
                )
            )
    hot = files["hot_aggregate"]
    if hot is not None:
        for backend, r in hot["results"].items():
            failed = r["hot"]["failed"] + r["distinct"]["failed"]
            rows.append(
                (
                    f"hot aggregate, {backend}: every command completes",
                    f"{failed} failed",
                    _mark(failed == 0),
                )
            )
            rows.append(
                (
                    f"hot aggregate, {backend}: >= 0.5 of the distinct commands/s",
                    f"{r['hot_vs_distinct']:.2f}",
                    _mark(r["hot_vs_distinct"] >= 0.5),
                )
            )
    peers = files["peers"]
    if peers is not None:
        rows += _peer_rows(peers["ratios"])
    if not rows:
        return []
    lines = [
        "## Targets",
        "",
        "Issue 15's targets, checked against the figures below by the script that renders "
        "this page:",
        "",
        "| target | measured | |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {target} | {measured} | {mark} |" for target, measured, mark in rows]
    return [*lines, ""]


_PEER_GROUPS = {
    "store": "PostgreSQL store scenario",
    "load": "aggregate load (PostgreSQL)",
    "sqlite": "SQLite scenario",
}


def _peer_group(scenario: str) -> str:
    if scenario.startswith("sqlite_"):
        return "sqlite"
    return "load" if scenario.startswith("load") else "store"


def _peer_rows(ratios: dict[str, float]) -> list[tuple[str, str, str]]:
    """Ahead of each peer on every shared scenario, one row per group of scenarios.

    The mark is the kit as shipped; on SQLite the measured text also gives
    the kit with ``synchronous=FULL``, pyeventsourcing's durability.
    """
    rows = []
    for other, label in (("peer", "pyeventsourcing"), ("eventsource", "eventsource-py")):
        for group, what in _PEER_GROUPS.items():
            kit_vs = {
                key.split("_kit_vs_")[0]: value
                for key, value in ratios.items()
                if key.endswith(f"_kit_vs_{other}") and _peer_group(key) == group
            }
            if not kit_vs:
                continue
            worst = min(kit_vs, key=lambda k: kit_vs[k])
            measured = f"lowest kit / {label} {kit_vs[worst]:.2f} ({worst})"
            full = {
                key.split("_kit_sync_full_vs_")[0]: value
                for key, value in ratios.items()
                if key.endswith(f"_kit_sync_full_vs_{other}")
            }
            if group == "sqlite" and full:
                low = min(full, key=lambda k: full[k])
                measured += f"; with synchronous=FULL {full[low]:.2f} ({low})"
            rows.append(
                (
                    f"ahead of {label} on every shared {what}",
                    measured,
                    _mark(kit_vs[worst] > 1),
                )
            )
    return rows
