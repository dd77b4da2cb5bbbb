"""LSUV: winit against the PyPI ``lsuv`` package on a 20-layer 1024-wide ReLU MLP and a conv net.

    python benchmarks/compare.py --only lsuv [--threads 2] [--quick]

The peer (``lsuv``, Mishkin's hook-based torch implementation) re-runs the whole
model after every correction of every layer; ``winit.lsuv_`` caches each layer's
input and re-runs only the layer being tuned. Both start with an orthogonal
pre-init and zero biases (the peer zeroes them; we zero them in the shared model
beforehand). Rows:

- ``lsuv`` (PyPI) on the torch model;
- ``winit.lsuv_`` on *the same torch model*, through numpy views of its
  parameters (same matmul kernels as the peer: the gain is the algorithm);
- ``winit.torch.lsuv_`` on the same torch model: layers found and measured with hooks,
  the whole model run about once (an ``nn.Sequential``: every child's input is cached);
- ``winit.lsuv_`` on the equivalent ``winit.nn`` model (numpy BLAS);
- "loop only": both without the orthogonal pre-init (``do_orthonorm=False`` /
  ``orthogonal=False``), from the same orthogonal weights restored before each
  run: the speed-up of the layer loop alone (the pre-init, 20 QR factorizations
  of 1024 x 1024, costs about the same in both and dominates winit's time).

A second table does the same on a small conv net (6 convs, 2 pools, 2 Linear), written
as a module with its own ``forward`` (functional ReLUs and pools) and as an
``nn.Sequential`` with the same weights. In the first, ``winit.torch.lsuv_`` runs the
model up to the layer being tuned and stops it there with a hook, then re-runs only that
layer; in later passes the tuned layers answer from their recorded outputs, but the
functional operations between them run again. The Sequential is walked child by child.

Tolerances: the peer stops at |std - 1| < 0.1, winit at |var - 1| < 0.1 (about
|std - 1| < 0.05, stricter). Read the ratio column; absolute times on a shared
machine are noise. ``n`` (the kernel benchmarks' size) is not used here.
"""

from __future__ import annotations

import contextlib
import copy
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _timing import md_table, median_time, torch_or_none  # noqa: E402

import winit  # noqa: E402
from winit import nn  # noqa: E402

with contextlib.suppress(ImportError):  # winit.torch needs torch, an optional peer here
    import winit.torch  # noqa: E402


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

    def ours_hooks():
        restore()
        reports.append(winit.torch.lsuv_(model, xt, orthogonal=False))

    tp = median_time(peer, repeat=max(1, repeat - 1), warmup=0)
    to = median_time(ours, repeat=repeat, warmup=0 if quick else 1)
    rows = [["lsuv (PyPI), loop only", "torch", t, tp, 1.0, "-"],
            ["winit.lsuv_, loop only", "torch (numpy views)", t, to, tp / to,
             reports[-1].converged]]
    th = median_time(ours_hooks, repeat=repeat, warmup=0 if quick else 1)
    return rows + [["winit.torch.lsuv_, loop only", "torch (hooks)", t, th, tp / th,
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
                rows.append(_hooks_row(torch, _torch_mlp(torch, depth, width),
                                       torch.from_numpy(x), t, repeat, quick, peer_time))
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
    text = title + md_table(header, rows)
    if torch is not None:
        text += "\n\n" + _conv_table(torch, lsuv_pkg, threads, quick, header)
    return text


def _hooks_row(torch, model, xt, t, repeat, quick, peer_time) -> list:
    """``winit.torch.lsuv_`` on ``model`` (re-run from the same starting weights each time)."""
    start = copy.deepcopy(model.state_dict())
    reports = []

    def run():
        model.load_state_dict(start)
        reports.append(winit.torch.lsuv_(model, xt, seed=0))

    th = median_time(run, repeat=repeat, warmup=0 if quick else 1)
    return ["winit.torch.lsuv_", "torch (hooks)", t, th, peer_time / th if peer_time else "-",
            reports[-1].converged]


def _conv_net(torch, width: int, sequential: bool):
    """A small VGG-style ReLU conv net: an nn.Sequential, or a module with its own forward."""
    tnn, F = torch.nn, torch.nn.functional
    w = width
    convs = [tnn.Conv2d(3, w, 3, padding=1), tnn.Conv2d(w, w, 3, padding=1),
             tnn.Conv2d(w, 2 * w, 3, padding=1), tnn.Conv2d(2 * w, 2 * w, 3, padding=1),
             tnn.Conv2d(2 * w, 4 * w, 3, padding=1), tnn.Conv2d(4 * w, 4 * w, 3, padding=1)]
    fc1, fc2 = tnn.Linear(4 * w * 8 * 8, 256), tnn.Linear(256, 10)

    class ConvNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.convs, self.fc1, self.fc2 = tnn.ModuleList(convs), fc1, fc2

        def forward(self, x):
            for i, conv in enumerate(self.convs):
                x = F.relu(conv(x))
                if i in (1, 3):
                    x = F.max_pool2d(x, 2)
            return self.fc2(F.relu(self.fc1(x.flatten(1))))

    torch.manual_seed(0)
    model = ConvNet()  # the same weights either way
    if not sequential:
        return model
    layers = []
    for i, conv in enumerate(model.convs):
        layers += [conv, tnn.ReLU()] + ([tnn.MaxPool2d(2)] if i in (1, 3) else [])
    return tnn.Sequential(*layers, tnn.Flatten(), model.fc1, tnn.ReLU(), model.fc2)


def _conv_rows(torch, lsuv_pkg, xt, width, sequential, t, repeat, quick) -> list[list]:
    """Peer and winit.torch.lsuv_ on one conv net: full, then loop only (no pre-init, from the
    same orthogonal weights, restored before each run)."""
    label = "torch nn.Sequential" if sequential else "torch (own forward)"
    model = _conv_net(torch, width, sequential)
    start = copy.deepcopy(model.state_dict())
    torch.manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
                torch.nn.init.orthogonal_(m.weight)
    orthogonal = copy.deepcopy(model.state_dict())
    reports = []

    def peer(state, orthonorm):
        model.load_state_dict(state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lsuv_pkg.lsuv_with_singlebatch(model, xt, do_orthonorm=orthonorm, verbose=False)

    def ours(state, orthonorm):
        model.load_state_dict(state)
        reports.append(winit.torch.lsuv_(model, xt, orthogonal=orthonorm, seed=0))

    rows = []
    for state, orthonorm, suffix in ((start, True, ""), (orthogonal, False, ", loop only")):
        tp = median_time(lambda s=state, o=orthonorm: peer(s, o), repeat=max(1, repeat - 1),
                         warmup=0)
        to = median_time(lambda s=state, o=orthonorm: ours(s, o), repeat=repeat,
                         warmup=0 if quick else 1)
        rows += [[f"lsuv (PyPI){suffix}", label, t, tp, 1.0, "-"],
                 [f"winit.torch.lsuv_{suffix}", label, t, to, tp / to, reports[-1].converged]]
    return rows


def _conv_table(torch, lsuv_pkg, threads: list[int], quick: bool, header: list[str]) -> str:
    width, batch, size = (8, 32, 32) if quick else (32, 128, 32)
    repeat = 1 if quick else 3
    x = winit.normal_(np.empty((batch, 3, size, size), np.float32), seed=1)
    xt = torch.from_numpy(x)
    rows = []
    for t in threads:
        with _limits(t):
            torch.set_num_threads(t)
            for sequential in (False, True):
                if lsuv_pkg is None:
                    rows.append(_hooks_row(torch, _conv_net(torch, width, sequential), xt, t,
                                           repeat, quick, None))
                else:
                    rows += _conv_rows(torch, lsuv_pkg, xt, width, sequential, t, repeat, quick)
    title = (f"## LSUV: conv net (6 conv, widths {width}-{4 * width}, 2 pools, 2 Linear), batch "
             f"{batch}x3x{size}x{size}, float32 (median of {repeat})\n\n")
    return title + md_table(header, rows)


if __name__ == "__main__":
    print(run(0, [2], "--quick" in sys.argv))
