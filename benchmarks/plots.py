"""The charts of ``compare.py --plot DIR``, drawn from the measurements that compare.py's
sections record as they run (:class:`Measurements`), not from the markdown they print.

- ``benchmark-throughput.png`` (sections sampling, stats): elements per second of each
  operation for winit and its peers (numpy, torch, scipy), on a log scale;
- ``benchmark-writer.png`` (section writer): ``init_model`` GB/s next to the write
  limits of the same run, per destination (median, the bars span min to max).

Needs matplotlib (``pip install "winit[plot]"``); it is imported by :func:`write_charts`.
"""

from __future__ import annotations

import os
import statistics
import textwrap
from dataclasses import dataclass, field

# series drawn in this order and these colours (anything else after them, in grey)
COLOURS = {"winit": "#1f77b4", "numpy": "#ff7f0e", "torch": "#d62728", "scipy": "#9467bd",
           "winit init_model": "#1f77b4", "os.write": "#7f7f7f", "os.write+fsync": "#2ca02c",
           "dd conv=fsync": "#bcbd22"}
FILES = {"throughput": "benchmark-throughput.png", "writer": "benchmark-writer.png"}


@dataclass
class Point:
    """One bar: ``values`` (one or more runs; the bar is their median) of ``series`` for
    ``group`` (an operation or a destination) in ``chart``, at ``threads`` (None: the
    series does not use threads)."""

    chart: str
    group: str
    series: str
    threads: int | None
    values: list[float]


@dataclass
class Measurements:
    """What the sections measured, for the charts: bars, reference lines, notes under a
    group's label and the caption (machine, SIMD path, sizes)."""

    points: list[Point] = field(default_factory=list)
    lines: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    notes: dict[tuple[str, str, int | None], str] = field(default_factory=dict)
    sizes: dict[str, str] = field(default_factory=dict)  # per chart: what was measured
    caption: str = ""  # the machine and versions

    def add(self, chart: str, group: str, series: str, threads: int | None,
            values: float | list[float] | None) -> None:
        """Record a bar (again: replaces it); ``None`` (a peer that is not installed)
        records nothing."""
        if values is None:
            return
        self.points = [p for p in self.points
                       if (p.chart, p.group, p.series, p.threads) != (chart, group, series,
                                                                      threads)]
        self.points.append(Point(chart, group, series, threads,
                                 list(values) if isinstance(values, list) else [values]))

    def line(self, chart: str, label: str, value: float | None) -> None:
        """Record a horizontal reference line (``None``: nothing)."""
        if value is not None:
            self.lines.setdefault(chart, []).append((label, value))

    def charts(self) -> list[str]:
        """The charts with at least one bar, in :data:`FILES` order."""
        return [c for c in FILES if any(p.chart == c for p in self.points)]


def _bars(ax, points: list[Point], log: bool, fmt) -> None:
    """Grouped bars: one group per ``group``, its series side by side (centred: a series a
    group lacks leaves no gap); min–max whiskers when a bar has several runs; each bar
    labelled with ``fmt(median)``."""
    groups = list(dict.fromkeys(p.group for p in points))
    order = list(COLOURS)
    rank = {p.series: order.index(p.series) if p.series in order else len(order)
            for p in points}
    members = {g: sorted((p for p in points if p.group == g), key=lambda p: rank[p.series])
               for g in groups}
    width = 0.8 / max(len(m) for m in members.values())
    labelled = set()
    for g, group in enumerate(groups):
        for k, p in enumerate(members[group]):
            x = g + width * (k - (len(members[group]) - 1) / 2)
            mid, lo, hi = statistics.median(p.values), min(p.values), max(p.values)
            ax.bar(x, mid, width * 0.92, color=COLOURS.get(p.series, "#c7c7c7"),
                   label=None if p.series in labelled else p.series,
                   yerr=[[mid - lo], [hi - mid]] if hi > lo else None, capsize=2,
                   error_kw={"elinewidth": 0.8})
            labelled.add(p.series)
            ax.annotate(fmt(mid), (x, hi), xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=6.5, rotation=90 if log else 0)
    handles, labels = ax.get_legend_handles_labels()
    by_rank = sorted(zip(labels, handles, strict=True), key=lambda lh: rank[lh[0]])
    ax.legend([h for _, h in by_rank], [lab for lab, _ in by_rank], fontsize=8,
              ncol=len(by_rank), loc="upper right")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, fontsize=8)
    if log:
        ax.set_yscale("log")
    ax.grid(axis="y", which="major", alpha=0.3)
    ax.set_axisbelow(True)


def _si(v: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if v >= scale:
            return f"{v / scale:.3g}{unit}"
    return f"{v:.3g}"


def _throughput(fig, m: Measurements, threads: int) -> None:
    points = [p for p in m.points if p.chart == "throughput" and p.threads in (None, threads)]
    ax = fig.subplots()
    _bars(ax, points, log=True, fmt=_si)
    for label, value in m.lines.get("throughput", []):
        ax.axhline(value, color="black", linestyle="--", linewidth=0.8)
        ax.annotate(label, (ax.get_xlim()[1], value), xytext=(-2, 2), textcoords="offset points",
                    ha="right", va="bottom", fontsize=7)
    ax.set_ylabel("elements per second (log scale)")
    ax.set_title(f"Throughput per operation, measured in one run ({threads} threads; "
                 "higher is better)", fontsize=10)
    ax.set_ylim(top=ax.get_ylim()[1] * 8)  # room for the legend and the labels


def _writer(fig, m: Measurements, threads: int) -> None:
    points = [p for p in m.points if p.chart == "writer" and p.threads in (None, threads)]
    labels = {p.group: "\n".join(filter(None, [p.group, m.notes.get(("writer", p.group,
                                                                      threads))]))
              for p in points}
    points = [Point(p.chart, labels[p.group], p.series, p.threads, p.values) for p in points]
    ax = fig.subplots()
    _bars(ax, points, log=False, fmt=lambda v: f"{v:.2f}")
    ax.set_ylabel("GB/s (median; whiskers: min–max)")
    ax.set_title(f"init_model (bfloat16) against the write limit, same run ({threads} threads)",
                 fontsize=10)
    ax.set_ylim(top=ax.get_ylim()[1] * 1.25)


def write_charts(m: Measurements, directory: str, threads: int, dpi: int = 100) -> list[str]:
    """Write the PNG chart of each chart ``m`` has bars for into ``directory`` (created if
    needed), drawing the bars measured with ``threads`` threads; returns their paths.

    Raises
    ------
    ImportError
        matplotlib is not installed.
    """
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    os.makedirs(directory, exist_ok=True)
    paths = []
    for chart in m.charts():
        fig = Figure(figsize=(9, 4.8), layout="constrained")
        {"throughput": _throughput, "writer": _writer}[chart](fig, m, threads)
        caption = "\n".join(textwrap.fill(c, 160) for c in (m.sizes.get(chart), m.caption)
                            if c)
        if caption:
            fig.supxlabel(caption, fontsize=7, color="#444444")
        path = os.path.join(directory, FILES[chart])
        fig.savefig(path, dpi=dpi, metadata={"Software": None})
        paths.append(path)
    return paths
