"""Experiment 4 (seed 000): a 10-conv-layer ReLU net, torch's default init vs LSUV.

The article hooks every layer of a CNN and sees torch's default init
(kaiming_uniform_ with a = sqrt(5), i.e. Var(w) = 1/(3 fan_in)) shrink the
activations layer after layer, then fixes them with the LSUV-style loop (bias
shifted to mean 0, weight divided by the std). Here: ten 3x3 Conv2d layers
(stride 2 at layers 4 and 7) with ReLU, then Flatten and a Linear classifier, on a
batch of N(0, 1) images; per parametrized layer the mean and std of its output
(pre-activation, what LSUV controls) under (a) the default init, (b)
``winit.lsuv_`` (orthogonal pre-init, tol 0.1), (c) ``lsuv_(center=True,
tol=1e-3)``, with LSUV's iterations per layer, and the forward/backward
histogram grids of (a) and (b).

    python benchmarks/experiments/exp4_lsuv.py [--fast] [--out DIR]
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _expkit import forward_all, md_table, parse_args, sub_seed, write_markdown  # noqa: E402

import winit  # noqa: E402
from winit import nn  # noqa: E402

N_CONV = 10


def convnet(channels: int, size: int, seed: int) -> nn.Sequential:
    layers = []
    c_in, s = 3, size
    for k in range(N_CONV):
        stride = 2 if k in (3, 6) else 1
        c_out = channels if k < 3 else 2 * channels
        layers += [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, seed=seed * 100 + k),
                   nn.ReLU()]
        c_in = c_out
        s = (s + 2 - 3) // stride + 1
    layers += [nn.Flatten(), nn.Linear(c_in * s * s, 10, seed=seed * 100 + N_CONV)]
    return nn.Sequential(*layers)


def layer_moments(net, x) -> list[tuple[float, float]]:
    out = []
    for layer, y in zip(net, forward_all(net, x), strict=True):
        if hasattr(layer, "weight"):
            s = winit.stats(y)
            out.append((float(s.mean), float(s.std)))
    return out


def main(argv=None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    batch, channels, size = (16, 8, 12) if args.fast else (64, 16, 32)
    x = winit.normal_(np.empty((batch, 3, size, size), np.float32), seed=sub_seed(args.seed, 0))

    default = convnet(channels, size, args.seed)
    lsuv_net = convnet(channels, size, args.seed)
    centered = convnet(channels, size, args.seed)
    m_default = layer_moments(default, x)
    rep = winit.lsuv_(lsuv_net, x, seed=args.seed)
    m_lsuv = layer_moments(lsuv_net, x)
    rep_c = winit.lsuv_(centered, x, tol=1e-3, center=True, max_iter=50, seed=args.seed)
    m_c = layer_moments(centered, x)

    names = [r.layer for r in rep]
    rows = [[names[i], *m_default[i], *m_lsuv[i], rep[i].iterations, *m_c[i], rep_c[i].iterations]
            for i in range(len(names))]
    header = ["layer", "default mean", "default std", "LSUV mean", "LSUV std", "LSUV iters",
              "LSUV-centered mean", "LSUV-centered std", "centered iters"]
    md = (f"## Experiment 4: {N_CONV} Conv2d+ReLU layers and a Linear head, batch "
          f"{batch}x3x{size}x{size} N(0,1)\n\n"
          "Mean / std of each parametrized layer's output (pre-activation). default = torch's "
          "kaiming_uniform_(a=sqrt(5)); LSUV = winit.lsuv_(tol=0.1); LSUV-centered = "
          "lsuv_(center=True, tol=1e-3).\n\n" + md_table(header, rows, digits=3))
    files = [write_markdown(args.out, "exp4_lsuv.md", md)]
    if not args.no_plots:
        for label, net in (("default", default), ("lsuv", lsuv_net)):
            if args.fast and label == "default":
                continue
            d = winit.diagnose(net, x, seed=sub_seed(args.seed, 2))
            p = os.path.join(args.out, f"exp4_diagnose_{label}.png")
            relus = [r.layer for r in d if r.layer.endswith(":ReLU")]
            d.plot(p, layers=relus[::3] if args.fast else relus,
                   title=f"{label}: post-ReLU activations (top), gradients (bottom)")
            files.append(p)
    print(md)
    return dict(default=m_default, lsuv=m_lsuv, centered=m_c, report=rep, report_centered=rep_c,
                markdown=md, files=files)


if __name__ == "__main__":
    main()
