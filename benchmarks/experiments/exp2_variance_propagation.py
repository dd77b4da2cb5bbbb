"""Experiment 2 (seed 003): variance through five hidden layers of 100 units.

Linear activations with weights N(0, sigma^2), sigma = 0.05 / 0.1 / 0.2: the
activations vanish, keep their spread, explode (Var(x_{i+1}) = n sigma^2 Var(x_i),
n = 100); ReLU at sigma = 0.14 ~ sqrt(2/100) keeps the second moment (and at 0.1
it halves per layer). Inputs: 1000 x 100 standard normal (the article used MNIST
batches; any unit-variance input shows the same propagation). Writes the table
of per-layer std and the per-layer ratio of E[x^2] against n sigma^2 (x 1/2 for
ReLU), and the histogram grid (each row on its own scale, as the article).

    python benchmarks/experiments/exp2_variance_propagation.py [--fast] [--out DIR]
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _expkit import (  # noqa: E402
    forward_all,
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

WIDTH = 100
CASES = [("linear", 0.05), ("linear", 0.1), ("linear", 0.2), ("relu", 0.14), ("relu", 0.1)]


def main(argv=None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    n = 300 if args.fast else 1000
    x = winit.normal_(np.empty((n, WIDTH)), seed=sub_seed(args.seed, 0))
    rows, grid, results = [], [], {}
    for act, sigma in CASES:
        net = mlp([WIDTH] * 6, nn.Identity if act == "linear" else nn.ReLU, seed=args.seed)
        for k, layer in enumerate(param_layers(net)):
            winit.normal_(layer.weight, 0.0, sigma, seed=sub_seed(args.seed, 1, k))
        outs = [o for o, layer in zip(forward_all(net, x), net, strict=True)
                if not hasattr(layer, "weight")]
        m2 = [float(np.mean(x * x))] + [float(np.mean(o * o)) for o in outs]
        ratios = [m2[i + 1] / m2[i] for i in range(len(outs))]
        theory = WIDTH * sigma**2 * (0.5 if act == "relu" else 1.0)
        stds = [float(o.std()) for o in outs]
        results[(act, sigma)] = dict(std=stds, ratios=ratios, theory=theory)
        geo = float(np.exp(np.mean(np.log(ratios))))
        rows.append([act, sigma, *stds, geo, theory])
        grid.append((f"{act} sigma={sigma}", [(f"hidden {i + 1}", o) for i, o in enumerate(outs)]))
    header = ["activation", "sigma"] + [f"std h{i}" for i in range(1, 6)] + [
        "E[x^2] ratio / layer (geo. mean)", "theory n sigma^2 (x1/2 ReLU)"]
    md = (f"## Experiment 2: five hidden layers of {WIDTH}, N(0,1) inputs ({n} x {WIDTH})\n\n"
          + md_table(header, rows))
    files = [write_markdown(args.out, "exp2_variance_propagation.md", md)]
    if not args.no_plots:
        p = os.path.join(args.out, "exp2_hist.png")
        hist_grid(grid if not args.fast else grid[:3], p,
                  title="Hidden-layer activations (each row on its own scale)")
        files.append(p)
    print(md)
    return dict(results=results, markdown=md, files=files)


if __name__ == "__main__":
    main()
