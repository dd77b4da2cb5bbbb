"""Experiment 5 (He et al. 2015, section 2.2): a 30-layer ReLU MLP, Var(w) = 1/n vs 2/n.

For ReLU layers y_l = W_l relu(y_{l-1}) with zero-mean symmetric weights,
Var(y_l) = n Var(w) Var(y_{l-1}) / 2: the per-layer variance ratio of the
pre-activations is 1/2 with Var(w) = 1/n (Xavier-style: the signal shrinks by
2^-29 over 30 layers) and 1 with He's 2/n. Bias-free layers of width 512 on a
batch of 1000 N(0, 1) inputs; writes the per-layer variance and ratio table and a
variance-vs-depth plot.

    python benchmarks/experiments/exp5_he_depth.py [--fast] [--out DIR]
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _expkit import md_table, mlp, param_layers, parse_args, sub_seed, write_markdown  # noqa: E402

import winit  # noqa: E402
from winit import nn  # noqa: E402

DEPTH = 30


def variances(width: int, batch: int, gain2: float, seed: int) -> list[float]:
    net = mlp([width] * (DEPTH + 1), nn.ReLU, dtype=np.float32, seed=seed)
    for k, layer in enumerate(param_layers(net)):
        winit.normal_(layer.weight, 0.0, math.sqrt(gain2 / width), seed=sub_seed(seed, 1, k))
    h = winit.normal_(np.empty((batch, width), np.float32), seed=sub_seed(seed, 0))
    out = []
    for layer in net:
        h = layer(h)
        if hasattr(layer, "weight"):
            out.append(float(winit.stats(h).var))
    return out


def main(argv=None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    width, batch = (128, 256) if args.fast else (512, 1000)
    v1 = variances(width, batch, 1.0, args.seed)
    v2 = variances(width, batch, 2.0, args.seed)
    r1 = [v1[i] / v1[i - 1] for i in range(1, DEPTH)]
    r2 = [v2[i] / v2[i - 1] for i in range(1, DEPTH)]
    g1 = float(np.exp(np.mean(np.log(r1))))
    g2 = float(np.exp(np.mean(np.log(r2))))
    rows = [[i + 1, v1[i], r1[i - 1] if i else "-", v2[i], r2[i - 1] if i else "-"]
            for i in range(DEPTH)]
    summary = md_table(["init", "mean ratio Var(y_l)/Var(y_l-1)", "Var(y_30)/Var(y_1)"],
                       [["Var(w) = 1/n", g1, v1[-1] / v1[0]], ["Var(w) = 2/n (He)", g2,
                                                                v2[-1] / v2[0]]], digits=4)
    md = (f"## Experiment 5: {DEPTH}-layer ReLU MLP, width {width}, batch {batch}\n\n"
          "Variance of each layer's pre-activation output y_l and its ratio to the previous "
          "layer's (geometric mean over layers 2..30 in the summary).\n\n" + summary + "\n\n"
          + md_table(["layer", "Var y (1/n)", "ratio (1/n)", "Var y (2/n)", "ratio (2/n)"],
                     rows))
    files = [write_markdown(args.out, "exp5_he_depth.md", md)]
    if not args.no_plots:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5, 3.2))
        ax = fig.subplots()
        layers = np.arange(1, DEPTH + 1)
        ax.semilogy(layers, v1, marker=".", label=f"Var(w) = 1/n: ratio {g1:.3f}")
        ax.semilogy(layers, v2, marker=".", label=f"Var(w) = 2/n: ratio {g2:.3f}")
        ax.set(xlabel="layer", ylabel="Var(pre-activation)",
               title=f"{DEPTH}-layer ReLU MLP (He et al. 2015)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        p = os.path.join(args.out, "exp5_he_depth.png")
        fig.savefig(p, dpi=80)
        files.append(p)
    print(summary)
    return dict(var_1n=v1, var_2n=v2, ratio_1n=g1, ratio_2n=g2, markdown=md, files=files)


if __name__ == "__main__":
    main()
