"""Experiment 1 (seed 001): activations of a 2-200-300-400-300-2 MLP under seven inits.

N(0, 1) inputs (500 x 2) go through five bias-free Linear layers, each followed by
the same activation (tanh, sigmoid, relu or leaky_relu(0.3)), for the inits of the
article: zeros, N(0, 0.01), N(0, 1), Var 1/n_in, Glorot 2/(n_in + n_out), He
2/n_in and He-leaky 2/((1 + a^2) n_in) (torch's kaiming_normal_, fan_in; the
article's "He" cells use the fan average, a detail). Writes the per-layer
activation std table, histogram grids per activation (rows: inits, columns:
layers) and winit.diagnose forward/backward grids for a few cases.

    python benchmarks/experiments/exp1_activations_mlp.py [--fast] [--out DIR]
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _expkit import (  # noqa: E402
    hist_grid,
    md_table,
    mlp,
    param_layers,
    parse_args,
    sub_seed,
    write_markdown,
)

import winit  # noqa: E402
from winit import nn  # noqa: E402

WIDTHS = [2, 200, 300, 400, 300, 2]
LEAK = 0.3
ACTS = {
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(LEAK),
}


def _init(net, name: str, seed: int) -> None:
    for k, layer in enumerate(param_layers(net)):
        w = layer.weight
        s = sub_seed(seed, 1, k)
        n_out, n_in = w.shape
        if name == "zeros":
            winit.zeros_(w)
        elif name == "N(0,0.01)":
            winit.normal_(w, 0.0, 0.01, seed=s)
        elif name == "N(0,1)":
            winit.normal_(w, 0.0, 1.0, seed=s)
        elif name == "Var 1/n_in":
            winit.normal_(w, 0.0, math.sqrt(1.0 / n_in), seed=s)
        elif name == "Glorot":
            winit.xavier_normal_(w, seed=s)
        elif name == "He":
            winit.kaiming_normal_(w, nonlinearity="relu", seed=s)
        elif name == "He-leaky":
            winit.kaiming_normal_(w, a=LEAK, nonlinearity="leaky_relu", seed=s)
        else:  # pragma: no cover
            raise ValueError(name)


INITS = ["zeros", "N(0,0.01)", "N(0,1)", "Var 1/n_in", "Glorot", "He", "He-leaky"]
FAST_GRID = ("N(0,0.01)", "N(0,1)", "Glorot")
DIAG_CASES = [("tanh", "N(0,0.01)"), ("tanh", "N(0,1)"), ("tanh", "Glorot"),
              ("relu", "Glorot"), ("relu", "He")]


def main(argv=None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    n = 100 if args.fast else 500
    x = winit.normal_(np.empty((n, 2)), seed=sub_seed(args.seed, 0))
    acts = ["tanh", "relu"] if args.fast else list(ACTS)
    results: dict[tuple[str, str], dict] = {}
    rows, files = [], []
    for act in acts:
        grid_rows = []
        for init in INITS:
            net = mlp(WIDTHS, ACTS[act], seed=args.seed)
            _init(net, init, args.seed)
            d = winit.diagnose(net, x, seed=sub_seed(args.seed, 2))
            outs = [r for r in d if not r.parametrized]  # the 5 activation outputs
            stds = [r.std for r in outs]
            g_first, g_last = outs[0].grad_std, outs[-1].grad_std
            sat = [r.saturated for r in outs if r.saturated is not None]
            dead = [r.dead for r in outs if r.dead is not None]
            results[(act, init)] = dict(std=stds, grad_first=g_first, grad_last=g_last,
                                        saturated=sat, dead=dead)
            ratio = g_first / g_last if g_last else float("nan")
            extra = (f"{max(sat):.2f}" if sat else "-") + " / " + (
                f"{max(dead):.2f}" if dead else "-")
            rows.append([act, init, *stds, ratio, extra])
            if not args.no_plots and (not args.fast or (act == "tanh" and init in FAST_GRID)):
                h = x
                panels = []
                for layer in net:
                    h = layer(h)
                    if not hasattr(layer, "weight"):
                        panels.append((f"layer {len(panels) + 1}", h))
                grid_rows.append((init, panels))
            if not args.no_plots and (act, init) in DIAG_CASES and (
                    not args.fast or (act, init) == ("tanh", "Glorot")):
                p = os.path.join(args.out, f"exp1_diagnose_{act}_{init}.png".replace("/", "_")
                                 .replace("(", "").replace(")", "").replace(",", "_")
                                 .replace(" ", ""))
                d.plot(p, title=f"{act}, {init}: forward (top) and backward (bottom)")
                files.append(p)
        if grid_rows:
            p = os.path.join(args.out, f"exp1_hist_{act}.png")
            hist_grid(grid_rows, p, title=f"{act}: activations per layer (rows: init)",
                      share_row_x=True)
            files.append(p)
    header = ["activation", "init"] + [f"std L{i}" for i in range(1, 6)] + [
        "grad std L1/L5", "max saturated / dead"]
    md = (f"## Experiment 1: 2-200-300-400-300-2 MLP, N(0,1) inputs ({n} x 2)\n\n"
          "Std of each activation output; gradient std at the first activation output over "
          "that at the last (standard-normal upstream gradient); largest saturated (tanh, "
          "sigmoid) or dead (relu) fraction over the layers.\n\n" + md_table(header, rows))
    files.append(write_markdown(args.out, "exp1_activations_mlp.md", md))
    print(md)
    return dict(results=results, markdown=md, files=files)


if __name__ == "__main__":
    main()
