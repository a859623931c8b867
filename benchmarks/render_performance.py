"""Render docs/performance.md and its plots from the scale benchmarks' results files.

    .venv/bin/python benchmarks/render_performance.py

Reads results/growth_postgres.json, growth_sqlite.json, concurrency_curve.json,
catch_up.json, memory.json, hot_aggregate.json, takeover.json and peers.json
(whichever are there) and the hand-written _performance_intro.md and
_performance_findings.md, writes docs/performance.md and the plots under
docs/images/. Never edit those by hand: rerun a benchmark, then
this. Needs matplotlib (the ``bench`` extra).
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = pathlib.Path(__file__).parent
RESULTS = HERE / "results"
DOCS = HERE.parent / "docs"
IMAGES = DOCS / "images"
PAGE = DOCS / "performance.md"
COLORS = {
    "kit": "#1f77b4",
    "raw": "#ff7f0e",
    "floor": "#7f7f7f",
    "kit_no_group_commit": "#2ca02c",
    "kit_notify_off": "#9467bd",
}
OPS = {
    "single": "one-event append",
    "batch100": "100-event append",
    "read_new": "read a new 100-event stream",
    "read_old": "read an old 10-event stream",
}


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def _save(figure: Any, name: str) -> str:
    IMAGES.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    # No creation date or version in the file: a rerun with the same figures
    # leaves it unchanged.
    figure.savefig(IMAGES / name, dpi=90, metadata={"Software": None})
    plt.close(figure)
    return f"images/{name}"


def _context_line(results: dict[str, Any]) -> str:
    git = results.get("git") or {}
    commit = git.get("commit", "unknown") + (
        " plus uncommitted changes" if git.get("dirty") else ""
    )
    before = " ".join(f"{x:.2f}" for x in results["load_average_before"])
    after = " ".join(f"{x:.2f}" for x in results["load_average_after"])
    return (
        f"*Recorded {results['date']}, commit {commit}; load average {before} before, "
        f"{after} after.*"
    )


def _command(script: str) -> str:
    return f"```bash\n.venv/bin/python benchmarks/{script}\n```"


# --- growth ----------------------------------------------------------------------


def _growth_plot(results: dict[str, Any], name: str, title: str) -> str:
    points = results["points"]
    sizes = [int(s) for s in points]
    ops = [op for op in OPS if any(op in points[s]["kit"] for s in points)]
    same_run = results["ratios"].get("growth_same_run") or {}
    rows = 2 if same_run else 1
    figure, axes = plt.subplots(rows, len(ops), figsize=(3.2 * len(ops), 3.0 * rows), squeeze=False)
    for axis, op in zip(axes[0], ops, strict=True):
        for system in points[next(iter(points))]:
            xs = [s for s in sizes if op in points[str(s)][system]]
            ys = [points[str(s)][system][op]["median_ms"] for s in xs]
            axis.plot([x / 1e6 for x in xs], ys, marker="o", label=system, color=COLORS.get(system))
        axis.set_title(OPS[op], fontsize=9)
        axis.set_ylabel("median latency (ms)", fontsize=8)
    if same_run:
        for axis, op in zip(axes[1], ops, strict=True):
            for system in ("kit", "raw"):
                values = same_run.get(f"{system}.{op}", {})
                if values:
                    axis.plot(
                        [int(x) / 1e6 for x in values],
                        list(values.values()),
                        marker="o",
                        label=f"{system} / its empty twin",
                        color=COLORS.get(system),
                    )
            axis.axhline(1.0, color="#999999", linewidth=0.8)
            axis.axhline(1.3, color="#999999", linestyle="--", linewidth=0.8)
            axis.set_ylabel("over the empty twin, same rounds", fontsize=8)
            if not any(same_run.get(f"{system}.{op}") for system in ("kit", "raw")):
                axis.set_visible(False)
        axes[1][0].legend(fontsize=7)
    for axis in axes.flat:
        axis.set_xlabel("rows in the table (millions)", fontsize=8)
        axis.set_ylim(bottom=0)
        axis.tick_params(labelsize=7)
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    figure.suptitle(title, fontsize=10)
    return _save(figure, name)


def _ratio_cell(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _growth_table(results: dict[str, Any]) -> list[str]:
    points = results["points"]
    systems = list(points[next(iter(points))])
    lines = [
        "| rows | operation | "
        + " | ".join(f"{s} median / p99 ms" for s in systems)
        + " | kit / raw | kit vs its empty twin | raw vs its empty twin |",
        "| ---: | --- | " + " | ".join("---:" for _ in systems) + " | ---: | ---: | ---: |",
    ]
    ratios = results["ratios"]
    same_run = ratios.get("growth_same_run", {})
    for size, by_system in points.items():
        for op in OPS:
            if op not in by_system["kit"]:
                continue
            cells = []
            for system in systems:
                summary = by_system[system].get(op)
                cells.append(
                    f"{summary['median_ms']:.2f} / {summary['p99_ms']:.2f}" if summary else ""
                )
            kit_vs_raw = ratios["kit_vs_raw"].get(size, {}).get(op)
            lines.append(
                f"| {int(size):,} | {OPS[op]} | "
                + " | ".join(cells)
                + f" | {_ratio_cell(kit_vs_raw)}"
                + f" | {_ratio_cell(same_run.get(f'kit.{op}', {}).get(size))}"
                + f" | {_ratio_cell(same_run.get(f'raw.{op}', {}).get(size))} |"
            )
    return lines


def growth_section(results: dict[str, Any] | None, backend: str, script: str) -> list[str]:
    title = f"Growth curves: {backend}"
    if results is None:
        return [f"## {title}", "", f"Not measured yet: `{script}`.", ""]
    image = _growth_plot(
        results,
        f"performance-growth-{backend.lower()}.png",
        f"{backend}: latency as the table grows",
    )
    return [
        f"## {title}",
        "",
        _context_line(results),
        "",
        f"![{title}]({image})",
        "",
        *_growth_table(results),
        "",
        "*kit / raw*: the kit's median latency over the raw reference's at the same size "
        "(above 1: the kit is slower). *vs its empty twin*: the median at this size over "
        "the median of a fresh, empty table of the same kind measured in the same rounds "
        "(the growth, free of the load that changes between sizes). The plot's first row "
        "shows the medians as measured (compare the curves at one size, not the sizes: "
        "the machine's load changed between them); its second row, the same-run growth.",
        "",
        "Reproduce:",
        "",
        _command(script),
        "",
    ]


# --- concurrency -----------------------------------------------------------------


def concurrency_section(results: dict[str, Any] | None) -> list[str]:
    title = "Concurrent writers: 1 to 64"
    if results is None:
        return [f"## {title}", "", "Not measured yet: `concurrency_curve.py`.", ""]
    medians = results["medians"]
    levels = [int(n) for n in medians]
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    for system in medians[str(levels[0])]:
        left.plot(
            levels,
            [medians[str(n)][system]["median"] for n in levels],
            marker="o",
            label=system,
            color=COLORS.get(system),
        )
        if system != "raw":
            right.plot(
                levels,
                [results["vs_raw"][str(n)][system] for n in levels],
                marker="o",
                label=f"{system} / raw",
                color=COLORS.get(system),
            )
    for axis in (left, right):
        axis.set_xscale("log", base=2)
        axis.set_xticks(levels, [str(n) for n in levels])
        axis.set_xlabel("concurrent writers", fontsize=8)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
        axis.tick_params(labelsize=7)
    left.set_ylabel("events/s (median)", fontsize=8)
    right.set_ylabel("share of raw, same run", fontsize=8)
    right.axhline(0.9, color="#999999", linestyle="--", linewidth=0.8)
    image = _save(figure, "performance-concurrency.png")
    systems = list(medians[str(levels[0])])
    lines = [
        f"## {title}",
        "",
        _context_line(results),
        "",
        f"![{title}]({image})",
        "",
        "| writers | "
        + " | ".join(f"{s} events/s" for s in systems)
        + " | kit / raw | no group commit / raw | client CPU µs/event, kit / raw "
        "| server CPU µs/event, kit / raw | spread %, kit / raw |",
        "| ---: | " + " | ".join("---:" for _ in systems) + " | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n in levels:
        m = medians[str(n)]
        ratio = results["vs_raw"][str(n)]
        kit, ref = m["kit"], m["raw"]
        client = f"{kit['client_cpu_us_per_event']:.0f} / {ref['client_cpu_us_per_event']:.0f}"
        server = (
            f"{kit.get('server_cpu_us_per_event', 0):.0f} / "
            f"{ref.get('server_cpu_us_per_event', 0):.0f}"
        )
        spread = f"{kit['spread_pct']:.0f} / {ref['spread_pct']:.0f}"
        cpu = f"{client} | {server} | {spread}"
        lines.append(
            f"| {n} | "
            + " | ".join(f"{m[s]['median']:,.0f}" for s in systems)
            + f" | {ratio['kit']:.2f} | {ratio.get('kit_no_group_commit', float('nan')):.2f} "
            f"| {cpu} |"
        )
    return [*lines, "", "Reproduce:", "", _command("concurrency_curve.py"), ""]


# --- catch-up, memory, hot aggregate, takeover --------------------------------------


def catch_up_section(results: dict[str, Any] | None) -> list[str]:
    title = "Catch-up and live latency"
    if results is None:
        return [f"## {title}", "", "Not measured yet: `catch_up.py`.", ""]
    c = results["catch_up"]
    lines = [
        f"## {title}",
        "",
        _context_line(results),
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
    return [*lines, "", "Reproduce:", "", _command("catch_up.py"), ""]


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
        _context_line(results),
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
    return [*lines, "", "Reproduce:", "", _command("memory.py"), ""]


def hot_section(results: dict[str, Any] | None) -> list[str]:
    title = "A hot aggregate"
    if results is None:
        return [f"## {title}", "", "Not measured yet: `hot_aggregate.py`.", ""]
    lines = [
        f"## {title}",
        "",
        _context_line(results),
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
    return [*lines, "", "Reproduce:", "", _command("hot_aggregate.py"), ""]


def takeover_section(results: dict[str, Any] | None) -> list[str]:
    title = "Standby takeover after a crash"
    if results is None:
        return [f"## {title}", "", "Not measured yet: `takeover.py`.", ""]
    lines = [
        f"## {title}",
        "",
        _context_line(results),
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
    return [*lines, "", "Reproduce:", "", _command("takeover.py"), ""]


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
    systems = [s for s in names if any(s in by for by in medians.values())]
    lines = [
        f"## {title}",
        "",
        _context_line(results),
        "",
        "Events per second (median of interleaved repetitions), postgres_bench.py's shared "
        "scenarios; eventsource-py in Python "
        f"{versions.get('python', '3.13')} (a venv of its own), the others in the kit's.",
        "",
        "| scenario | "
        + " | ".join(names[s] for s in systems)
        + " | kit / pyeventsourcing | kit / eventsource-py |",
        "| --- | " + " | ".join("---:" for _ in systems) + " | ---: | ---: |",
    ]
    ratios = results["ratios"]
    for scenario, by in medians.items():
        cells = [f"{by[s]['median']:,.0f}" if s in by else "" for s in systems]
        lines.append(
            f"| {scenario} | "
            + " | ".join(cells)
            + f" | {_ratio_cell(ratios.get(f'{scenario}_kit_vs_peer'))}"
            + f" | {_ratio_cell(ratios.get(f'{scenario}_kit_vs_eventsource'))} |"
        )
    return [*lines, "", "Reproduce:", "", _command("peers_bench.py"), ""]


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
        for other, label in (("peer", "pyeventsourcing"), ("eventsource", "eventsource-py")):
            kit_vs = {
                key.split("_kit_vs_")[0]: value
                for key, value in peers["ratios"].items()
                if key.endswith(f"_kit_vs_{other}")
            }
            if kit_vs:
                worst = min(kit_vs, key=lambda k: kit_vs[k])
                rows.append(
                    (
                        f"ahead of {label} on every shared scenario",
                        f"lowest kit / {label} {kit_vs[worst]:.2f} ({worst})",
                        _mark(kit_vs[worst] > 1),
                    )
                )
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


def render() -> pathlib.Path:
    files = {
        name: _load(f"{name}.json")
        for name in (
            "growth_postgres",
            "growth_sqlite",
            "concurrency_curve",
            "catch_up",
            "memory",
            "hot_aggregate",
            "takeover",
            "peers",
        )
    }
    header = (HERE / "_performance_intro.md").read_text().rstrip("\n").splitlines()
    lines = [
        *header,
        "",
        *machine_section([r for r in files.values() if r is not None]),
        *targets_section(files),
        *(HERE / "_performance_findings.md").read_text().rstrip("\n").splitlines(),
        "",
        *growth_section(files["growth_postgres"], "PostgreSQL", "growth_postgres.py"),
        *growth_section(files["growth_sqlite"], "SQLite", "growth_sqlite.py"),
        *concurrency_section(files["concurrency_curve"]),
        *catch_up_section(files["catch_up"]),
        *memory_section(files["memory"]),
        *hot_section(files["hot_aggregate"]),
        *takeover_section(files["takeover"]),
        *peers_section(files["peers"]),
    ]
    PAGE.write_text("\n".join(lines).rstrip("\n") + "\n")
    return PAGE


if __name__ == "__main__":
    print(f"wrote {render()}")
