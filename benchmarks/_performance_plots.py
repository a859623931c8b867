"""The performance page's sections with plots: growth curves and the concurrency curve."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from _performance_common import COLORS, IMAGES, OPS, command, context_line, ratio_cell


def _save(figure: Any, name: str) -> str:
    IMAGES.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    # No creation date or version in the file: a rerun with the same figures
    # leaves it unchanged.
    figure.savefig(IMAGES / name, dpi=90, metadata={"Software": None})
    plt.close(figure)
    return f"images/{name}"


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
                + f" | {ratio_cell(kit_vs_raw)}"
                + f" | {ratio_cell(same_run.get(f'kit.{op}', {}).get(size))}"
                + f" | {ratio_cell(same_run.get(f'raw.{op}', {}).get(size))} |"
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
        context_line(results),
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
        command(script),
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
        context_line(results),
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
    return [*lines, "", "Reproduce:", "", command("concurrency_curve.py"), ""]


# --- catch-up, memory, hot aggregate, takeover --------------------------------------
