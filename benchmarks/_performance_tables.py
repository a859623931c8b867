"""The performance page's table sections: catch-up, memory, hot aggregate, takeover, peers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from _performance_common import command, context_line, ratio_cell


def catch_up_section(results: dict[str, Any] | None) -> list[str]:
    title = "Catch-up and live latency"
    if results is None:
        return [f"## {title}", "", "Not measured yet: `catch_up.py`.", ""]
    c = results["catch_up"]
    lines = [
        f"## {title}",
        "",
        context_line(results),
        "",
        f"Catching up over {c['events']:,} events (median of {c['repetitions']} interleaved runs):",
        "",
        "| reader | events/s | share of read_all |",
        "| --- | ---: | ---: |",
    ]
    labels = {
        "read_all": "`read_all()`, decoded (the reference)",
        "noop": "subscription, no-op handler (batch of 100, the default)",
        "noop_batch_500": "subscription, no-op handler, `batch_size=500`",
        "noop_batch_5000": "subscription, no-op handler, `batch_size=5000`",
        "projection": "transactional projection, one INSERT per event (over the first "
        f"{c.get('projection_events', c['events']):,} events)",
    }
    for name, rate in c["events_per_s_median"].items():
        share = "1.00" if name == "read_all" else f"{c['vs_read_all'][name]:.2f}"
        lines.append(f"| {labels.get(name, name)} | {rate:,.0f} | {share} |")
    lines += [
        "",
        f"Live latency, from `append_events` returning to the handler call, while "
        f"{results['writers']} writers append (paced: one event each every "
        f"{results['writer_pause_s'] * 1000:.0f} ms; flat out: no pause):",
        "",
        "| writers | appends/s | median ms | p99 ms | max ms | other sessions' oldest "
        "transaction, p99 / max ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, live in results["live"].items():
        foreign = live.get("foreign_xid_holder_age_ms")
        held = "" if foreign is None else f"{foreign['p99_ms']:.0f} / {foreign['max_ms']:.0f}"
        lines.append(
            f"| {key.replace('_', ' ')} | {live['appends_per_s']:,.0f} | {live['median_ms']:.1f} "
            f"| {live['p99_ms']:.1f} | {live['max_ms']:.1f} | {held} |"
        )
    return [*lines, "", "Reproduce:", "", command("catch_up.py"), ""]


def memory_section(results: dict[str, Any] | None) -> list[str]:
    title = "Memory of long reads"
    if results is None:
        return [f"## {title}", "", "Not measured yet: `memory.py`.", ""]
    labels = {
        "read_stream": f"`read_stream` of a {results['stream_events']:,}-event stream",
        "read_all": f"`read_all` over the whole global order ({results['global_order_events']:,} "
        "events)",
        "repository_load": f"`Repository.load` of a {results['load_events']:,}-event aggregate "
        "(no snapshot)",
    }
    lines = [
        f"## {title}",
        "",
        context_line(results),
        "",
        "Each read in a fresh process; the worst of its runs:",
        "",
        "| read | events | seconds | baseline MiB | peak MiB | peak - baseline MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for case, label in labels.items():
        r = results[case]
        lines.append(
            f"| {label} | {r['events']:,} | {r['seconds']:.1f} | {r['baseline_mib']:.1f} | "
            f"{r['peak_mib']:.1f} | {r['peak_over_baseline_mib']:.1f} |"
        )
    return [*lines, "", "Reproduce:", "", command("memory.py"), ""]


def hot_section(results: dict[str, Any] | None) -> list[str]:
    title = "A hot aggregate"
    if results is None:
        return [f"## {title}", "", "Not measured yet: `hot_aggregate.py`.", ""]
    lines = [
        f"## {title}",
        "",
        context_line(results),
        "",
        f"{results['writers']} writers, {results['commands_per_writer']} `Repository.update` "
        f"commands each, {results['repetitions']} interleaved repetitions per mode. "
        "*hot*: all on one aggregate; *distinct*: one aggregate each; *serial*: one writer "
        "running all the commands on one aggregate, one after the other (what one "
        "aggregate allows without contention):",
        "",
        "| backend | mode | commands/s | retries per command | completed | failed "
        "| hot / distinct |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for backend, r in results["results"].items():
        for mode in ("hot", "distinct", "serial"):
            if mode not in r:
                continue
            m = r[mode]
            ratio = f"{r['hot_vs_distinct']:.2f}" if mode == "hot" else ""
            lines.append(
                f"| {backend} | {mode} | {m['commands_per_s_median']:,.0f} | "
                f"{m['retries_per_command_median']:.2f} | {m['completed']:,} | {m['failed']} | "
                f"{ratio} |"
            )
    return [*lines, "", "Reproduce:", "", command("hot_aggregate.py"), ""]


def takeover_section(results: dict[str, Any] | None) -> list[str]:
    title = "Standby takeover after a crash"
    if results is None:
        return [f"## {title}", "", "Not measured yet: `takeover.py`.", ""]
    lines = [
        f"## {title}",
        "",
        context_line(results),
        "",
        "Seconds from SIGKILL of the active runner's process to the standby delivering:",
        "",
        "| backend | lease ttl s | median s | min s | max s | documented bound s | runs |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for backend, by_ttl in results["results"].items():
        for r in by_ttl.values():
            lines.append(
                f"| {backend} | {r['ttl_s']:g} | {r['median_s']:.2f} | {r['min_s']:.2f} | "
                f"{r['max_s']:.2f} | {r['documented_bound_s']:.2f} | {len(r['runs_s'])} |"
            )
    return [*lines, "", "Reproduce:", "", command("takeover.py"), ""]


def peers_section(results: dict[str, Any] | None) -> list[str]:
    title = "The kit against its peers"
    if results is None:
        return [f"## {title}", "", "Not measured yet: `peers_bench.py`.", ""]
    medians = results["medians"]
    versions = results.get("eventsource_versions") or {}
    names = {
        "raw": "raw asyncpg",
        "kit": "the kit",
        "peer": "pyeventsourcing",
        "eventsource": f"eventsource-py {versions.get('eventsource-py', '')}".strip(),
    }
    store = {s: by for s, by in medians.items() if s in STORE_SCENARIOS}
    systems = [s for s in names if any(s in by for by in store.values())]
    lines = [
        f"## {title}",
        "",
        context_line(results),
        "",
        "Events per second (median of interleaved repetitions), postgres_bench.py's shared "
        "scenarios; eventsource-py in Python "
        f"{versions.get('python', '3.13')} (a venv of its own), the others in the kit's.",
        "",
        *_vs_peers_table(
            "scenario",
            {s: names[s] for s in systems},
            [(scenario, scenario, by) for scenario, by in store.items()],
            lambda median: f"{median:,.0f}",
            results["ratios"],
        ),
    ]
    lines += _peers_load_table(results, names)
    lines += _peers_sqlite_table(results)
    return [*lines, "", "Reproduce:", "", command("peers_bench.py"), ""]


STORE_SCENARIOS = ("single", "batch100", "concurrent16", "read")
"""peers_bench.py's store-level PostgreSQL scenarios, in events per second."""


def _peers_load_table(results: dict[str, Any], names: dict[str, str]) -> list[str]:
    """Loading one aggregate through each library's repository: milliseconds per load."""
    medians = results["medians"]
    loads = {s: medians[s] for s in ("load", "load_snapshots") if s in medians}
    if not loads:
        return []
    sizes = results["load_sizes"]
    labels = {
        "load": f"{sizes['events']:,} events, no snapshot",
        "load_snapshots": f"snapshot at {sizes['events']:,} + {sizes['tail']} events "
        f"(snapshots every {sizes['snapshot_every']})",
    }
    systems = [s for s in names if any(s in by for by in loads.values())]
    return [
        "",
        "Loading one aggregate through each library's repository, typed events: "
        "milliseconds per load (median of interleaved repetitions; raw: one SELECT of the "
        "stream, orjson, a fold of dicts). The ratios are of loads per second:",
        "",
        *_vs_peers_table(
            "aggregate",
            {s: names[s] for s in systems},
            [(labels[scenario], scenario, by) for scenario, by in loads.items()],
            lambda median: f"{1000 / median:,.1f}",
            results["ratios"],
        ),
    ]


def _vs_peers_table(
    first: str,
    columns: dict[str, str],
    rows: list[tuple[str, str, dict[str, Any]]],
    cell: Callable[[float], str],
    ratios: dict[str, Any],
) -> list[str]:
    """A table of each system's median (`columns`: system -> heading), then the
    kit's ratios to both peers; `rows` are (label, scenario, system -> summary)."""
    lines = [
        f"| {first} | "
        + " | ".join(columns.values())
        + " | kit / pyeventsourcing | kit / eventsource-py |",
        "| --- | " + " | ".join("---:" for _ in columns) + " | ---: | ---: |",
    ]
    for label, scenario, by in rows:
        cells = [cell(by[s]["median"]) if s in by else "" for s in columns]
        lines.append(
            f"| {label} | "
            + " | ".join(cells)
            + f" | {ratio_cell(ratios.get(f'{scenario}_kit_vs_peer'))}"
            + f" | {ratio_cell(ratios.get(f'{scenario}_kit_vs_eventsource'))} |"
        )
    return lines


def _peers_sqlite_table(results: dict[str, Any]) -> list[str]:
    """The kit's SQLite store against pyeventsourcing's sqlite module, on a file."""
    rows = {s: by for s, by in results["medians"].items() if s.startswith("sqlite_")}
    if not rows:
        return []
    lines = [
        "",
        f"SQLite {results.get('sqlite_version', '')} on a file, events per second (the kit "
        "with its defaults, WAL and `synchronous=NORMAL`; with `synchronous=FULL`, the "
        "durability pyeventsourcing runs with; pyeventsourcing as shipped):",
        "",
        "| scenario | the kit | the kit, FULL | pyeventsourcing | kit / pyeventsourcing "
        "| kit FULL / pyeventsourcing |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    ratios = results["ratios"]
    for scenario, by in rows.items():
        cells = [
            f"{by[s]['median']:,.0f}" if s in by else "" for s in ("kit", "kit_sync_full", "peer")
        ]
        lines.append(
            f"| {scenario.removeprefix('sqlite_')} | "
            + " | ".join(cells)
            + f" | {ratio_cell(ratios.get(f'{scenario}_kit_vs_peer'))}"
            + f" | {ratio_cell(ratios.get(f'{scenario}_kit_sync_full_vs_peer'))} |"
        )
    return lines


def machine_section(all_results: list[dict[str, Any]]) -> list[str]:
    first = next((r for r in all_results if "server" in r), all_results[0] if all_results else None)
    if first is None:
        return []
    m = first["machine"]
    lines = [
        "## The machine",
        "",
        f"- {m['cpu_model']}, {m['cpus']} CPUs, shared with other work (the load average "
        "of each run is given with it), {platform}.".format(platform=m["platform"]),
        f"- Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v),
        "",
    ]
    if "server" in first:
        s = first["server"]
        settings = ", ".join(f"{k} {v}" for k, v in s["settings"].items())
        lines.insert(-1, f"- PostgreSQL {s['version']} on the same machine ({settings}).")
    return lines
