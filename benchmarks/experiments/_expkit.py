"""Shared plumbing of the experiment scripts: CLI, MLP builders, tables, histogram grids.

Every script exposes ``main(argv=None) -> dict`` (the numbers it reports, the
markdown and the files written) and is run as
``python benchmarks/experiments/<script>.py [--fast] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

import numpy as np

try:
    import winit  # noqa: F401
except ImportError:  # run from a source checkout without installing: use the repo's winit
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from winit import nn  # noqa: E402

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def parse_args(description: str, argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--out", default=DEFAULT_OUT,
                   help="results folder (markdown + PNGs); default benchmarks/experiments/results")
    p.add_argument("--fast", action="store_true", help="small sizes (a few seconds; used by tests)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-plots", action="store_true", help="tables only")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    return args


def sub_seed(seed: int, *path: int) -> np.random.SeedSequence:
    """An independent stream for each role: ``sub_seed(s, 0)`` for data, ``(s, 1, k)`` for
    layer k's weights, ``(s, 2)`` for upstream gradients. Reusing one int seed for the data
    and a weight would give them the same (correlated) values."""
    return np.random.SeedSequence(seed, spawn_key=path)


def md_table(header: Sequence[str], rows: Sequence[Sequence[object]], digits: int = 3) -> str:
    def fmt(v: object) -> str:
        if isinstance(v, (float, np.floating)):
            return f"{float(v):.{digits}g}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_markdown(out: str, name: str, text: str) -> str:
    path = os.path.join(out, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.rstrip() + "\n")
    return path


def mlp(widths: Sequence[int], act: Callable[[], object] | None, *, bias: bool = False,
        dtype=np.float64, seed: int = 0, last_act: bool = True) -> nn.Sequential:
    """Linear layers ``widths[0] -> ... -> widths[-1]``, each followed by ``act()``."""
    layers = []
    n = len(widths) - 1
    for k in range(n):
        layers.append(nn.Linear(widths[k], widths[k + 1], bias=bias, dtype=dtype,
                                seed=seed * 1000 + k))
        if act is not None and (last_act or k < n - 1):
            layers.append(act())
    return nn.Sequential(*layers)


def param_layers(net) -> list:
    return [layer for layer in net if hasattr(layer, "weight")]


def forward_all(net, x) -> list[np.ndarray]:
    """The output of every layer of ``net``."""
    outs = []
    h = x
    for layer in net:
        h = layer(h)
        outs.append(h)
    return outs


def hist_grid(rows: Sequence[tuple[str, Sequence[tuple[str, np.ndarray]]]], path: str, *,
              title: str | None = None, bins: int = 50, share_row_x: bool = True,
              xlim: tuple[float, float] | None = None) -> str:
    """A grid of histograms: one row per (label, [(panel title, array), ...])."""
    from matplotlib.figure import Figure

    nrow = len(rows)
    ncol = max(len(panels) for _, panels in rows)
    fig = Figure(figsize=(2.1 * ncol + 0.9, 1.6 * nrow + (0.5 if title else 0.2)))
    axes = fig.subplots(nrow, ncol, squeeze=False)
    for i, (label, panels) in enumerate(rows):
        arrays = [np.asarray(a, dtype=np.float64).ravel() for _, a in panels]
        lo = min(a.min() for a in arrays)
        hi = max(a.max() for a in arrays)
        for j, ((ptitle, _), a) in enumerate(zip(panels, arrays, strict=True)):
            ax = axes[i, j]
            rng = xlim if xlim else ((lo, hi) if share_row_x else (a.min(), a.max()))
            if rng[0] == rng[1]:
                rng = (rng[0] - 0.5, rng[1] + 0.5)
            ax.hist(a, bins=bins, range=rng, histtype="stepfilled", density=True, alpha=0.6)
            ax.set_xlim(*rng)
            ax.set_yticks([])
            ax.tick_params(labelsize=6)
            ax.set_title(f"{ptitle}  std {a.std():.3g}", fontsize=7)
        for j in range(len(panels), ncol):
            axes[i, j].set_axis_off()
        axes[i, 0].set_ylabel(label, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return path
