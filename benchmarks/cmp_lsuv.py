"""LSUV: winit.lsuv_ against the PyPI ``lsuv`` package on a 20-layer 1024-wide ReLU MLP.

    python benchmarks/compare.py --only lsuv [--threads 2] [--quick]

The peer (``lsuv``, Mishkin's hook-based torch implementation) re-runs the whole
model after every correction of every layer; ``winit.lsuv_`` caches each layer's
input and re-runs only the layer being tuned. Both start with an orthogonal
pre-init and zero biases (the peer zeroes them; we zero them in the shared model
beforehand). Rows:

- ``lsuv`` (PyPI) on the torch model;
- ``winit.lsuv_`` on *the same torch model*, through numpy views of its
  parameters (same matmul kernels as the peer: the gain is the algorithm);
- ``winit.lsuv_`` on the equivalent ``winit.nn`` model (numpy BLAS);
- "loop only": both without the orthogonal pre-init (``do_orthonorm=False`` /
  ``orthogonal=False``), from the same orthogonal weights restored before each
  run: the speed-up of the layer loop alone (the pre-init, 20 QR factorizations
  of 1024 x 1024, costs about the same in both and dominates winit's time).

Tolerances: the peer stops at |std - 1| < 0.1, winit at |var - 1| < 0.1 (about
|std - 1| < 0.05, stricter). Read the ratio column; absolute times on a shared
machine are noise. ``n`` (the kernel benchmarks' size) is not used here.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _timing import md_table, median_time, torch_or_none  # noqa: E402

import winit  # noqa: E402
from winit import nn  # noqa: E402


class _TorchView:
    """A torch module as a winit-LSUV layer: ``weight``/``bias`` are numpy views of its tensors."""

    def __init__(self, module, torch):
        self.module = module
        self.torch = torch
        if hasattr(module, "weight"):
            self.weight = module.weight.detach().numpy()
            self.bias = module.bias.detach().numpy() if module.bias is not None else None

    def __call__(self, x):
        with self.torch.inference_mode():
            return self.module(self.torch.from_numpy(x)).numpy()


def _torch_mlp(torch, depth: int, width: int):
    torch.manual_seed(0)
    layers = []
    for _ in range(depth):
        layers += [torch.nn.Linear(width, width), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for m in model:
            if isinstance(m, torch.nn.Linear):
                m.bias.zero_()
    return model


def _winit_mlp(depth: int, width: int) -> nn.Sequential:
    layers = []
    for k in range(depth):
        layers += [nn.Linear(width, width, seed=k), nn.ReLU()]
    net = nn.Sequential(*layers)
    for layer in net:
        if hasattr(layer, "bias"):
            layer.bias[:] = 0
    return net


def _limits(t: int):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=t)


def _loop_only(torch, lsuv_pkg, x, depth, width, t, repeat, quick) -> list[list]:
    model = _torch_mlp(torch, depth, width)
    torch.manual_seed(1)
    with torch.no_grad():
        for m in model:
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.orthogonal_(m.weight)
    saved = [m.weight.detach().clone() for m in model if isinstance(m, torch.nn.Linear)]
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    views = [_TorchView(m, torch) for m in model]
    xt = torch.from_numpy(x)

    def restore():
        with torch.no_grad():
            for m, w in zip(linears, saved, strict=True):
                m.weight.copy_(w)

    def peer():
        restore()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lsuv_pkg.lsuv_with_singlebatch(model, xt, do_orthonorm=False, verbose=False)

    reports = []

    def ours():
        restore()
        reports.append(winit.lsuv_(views, x, orthogonal=False))

    tp = median_time(peer, repeat=max(1, repeat - 1), warmup=0)
    to = median_time(ours, repeat=repeat, warmup=0 if quick else 1)
    return [["lsuv (PyPI), loop only", "torch", t, tp, 1.0, "-"],
            ["winit.lsuv_, loop only", "torch (numpy views)", t, to, tp / to,
             reports[-1].converged]]


def run(n: int, threads: list[int], quick: bool) -> str:
    depth, width, batch = (6, 256, 128) if quick else (20, 1024, 512)
    repeat = 1 if quick else 3
    x = winit.normal_(np.empty((batch, width), np.float32), seed=0)
    torch = torch_or_none()
    try:
        import lsuv as lsuv_pkg
    except ImportError:
        lsuv_pkg = None
    header = ["implementation", "model", "threads", "time (s)", "speed-up vs lsuv (PyPI)",
              "converged"]
    rows = []
    for t in threads:
        peer_time = None
        with _limits(t):
            if torch is not None:
                torch.set_num_threads(t)
            # the peer
            if torch is None or lsuv_pkg is None:
                rows.append(["lsuv (PyPI)", "torch", t, "not installed", "-", "-"])
            else:
                model = _torch_mlp(torch, depth, width)
                xt = torch.from_numpy(x)

                def peer(model=model, xt=xt):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        lsuv_pkg.lsuv_with_singlebatch(model, xt, verbose=False)

                peer_time = median_time(peer, repeat=max(1, repeat - 1), warmup=0)
                rows.append(["lsuv (PyPI)", "torch", t, peer_time, 1.0, "-"])
            # winit on the same torch model
            if torch is None:
                rows.append(["winit.lsuv_", "torch (numpy views)", t, "torch not installed",
                             "-", "-"])
            else:
                model = _torch_mlp(torch, depth, width)
                views = [_TorchView(m, torch) for m in model]
                reports = []

                def ours_torch(views=views, reports=reports):
                    reports.append(winit.lsuv_(views, x, seed=0))

                tt = median_time(ours_torch, repeat=repeat, warmup=0 if quick else 1)
                rows.append(["winit.lsuv_", "torch (numpy views)", t, tt,
                             peer_time / tt if peer_time else "-", reports[-1].converged])
            # the loops alone: both start from the same orthogonal weights (restored before
            # every run, in both timings), without the pre-init
            if torch is not None and lsuv_pkg is not None:
                rows += _loop_only(torch, lsuv_pkg, x, depth, width, t, repeat, quick)
            # winit on winit.nn
            net = _winit_mlp(depth, width)
            reports = []

            def ours(net=net, reports=reports):
                reports.append(winit.lsuv_(net, x, seed=0))

            tw = median_time(ours, repeat=repeat, warmup=0 if quick else 1)
            rows.append(["winit.lsuv_", "winit.nn", t, tw, peer_time / tw if peer_time else "-",
                         reports[-1].converged])
    title = (f"## LSUV: {depth}-layer {width}-wide ReLU MLP, batch {batch}, float32 "
             f"(median of {repeat})\n\n")
    return title + md_table(header, rows)


if __name__ == "__main__":
    print(run(0, [2], "--quick" in sys.argv))
