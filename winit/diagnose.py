"""Per-layer activation and gradient diagnostics of a freshly initialized network.

:func:`diagnose` pushes one batch forward through a network, and optionally a
random (seeded) or given upstream gradient backward, and records per layer the
statistics the weight-initialization literature looks at: the spread of the
activations, how many units saturate (tanh, sigmoid) or are dead (ReLU), and
whether gradients vanish or explode on the way back. The numbers come from the
one-pass :func:`winit.stats` kernel; :meth:`Diagnosis.plot` draws the forward /
backward histogram grid.

The row builders (:func:`forward_stats`, :func:`gradient_stats`,
:func:`weight_gradient_std`, :func:`upstream_gradient`) are shared with
framework adapters such as :func:`winit.torch.diagnose`, which measure the same
quantities with hooks and autograd.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from ._common import SeedLike
from ._report import LayerReport, Table, cell
from .nn import iter_layers
from .sampling import normal_
from .stats import stats, stats_threads

__all__ = ["Diagnosis", "LayerDiagnosis", "check_bins", "diagnose", "forward_stats",
           "gradient_stats", "upstream_gradient", "weight_gradient_std"]


@dataclass(frozen=True)
class LayerDiagnosis:
    """Statistics of one layer's output and of the gradient arriving at it.

    Attributes
    ----------
    layer : str
        Name, ``"<index path>:<class name>"``.
    shape : tuple of int
        Shape of the layer's output.
    mean, std, min, max : float
        Of the layer's output, over all elements (std with ddof 0).
    saturated : float or None
        Fraction of outputs in the flat tails: ``|y| > 0.99`` after a tanh,
        ``y`` outside ``(0.01, 0.99)`` after a sigmoid; None for other layers.
    dead : float or None
        After a ReLU: fraction of units (elements of one sample's output, i.e.
        all axes but the first) that are zero for every sample of the batch;
        None for other layers.
    grad_mean, grad_std : float or None
        Of the gradient of the loss with respect to this layer's output (for
        the last layer: the upstream gradient itself); None without backward.
    grad_weight_std : float or None
        Std of the layer's weight gradient, for parametrized layers.
    parametrized : bool
        Whether the layer has a ``weight`` array.
    hist, grad_hist : (counts, edges) or None
        Histograms (``bins`` bins over each array's own [min, max]).
    """

    layer: str
    shape: tuple
    mean: float
    std: float
    min: float
    max: float
    saturated: float | None
    dead: float | None
    grad_mean: float | None = None
    grad_std: float | None = None
    grad_weight_std: float | None = None
    parametrized: bool = False
    hist: tuple | None = field(default=None, repr=False)
    grad_hist: tuple | None = field(default=None, repr=False)


class Diagnosis(LayerReport[LayerDiagnosis]):
    """Result of :func:`diagnose`: one :class:`LayerDiagnosis` per layer, in call order.

    Iterable, indexable by position or layer name; :meth:`table` (also
    ``str()``), :meth:`to_markdown` and :meth:`plot`.

    Parameters
    ----------
    rows : list of LayerDiagnosis
        One per layer, in call order.
    backward : bool
        Whether the rows have gradient statistics (the gradient columns are
        shown only then).
    """

    _COLS = [("layer", "layer"), ("mean", "mean"), ("std", "std"), ("min", "min"),
             ("max", "max"), ("saturated", "saturated"), ("dead", "dead"),
             ("grad_mean", "grad mean"), ("grad_std", "grad std"),
             ("grad_weight_std", "grad W std")]

    def __init__(self, rows: list[LayerDiagnosis], backward: bool):
        super().__init__(rows)
        self.backward = backward

    def _table(self) -> Table:
        cols = self._COLS if self.backward else self._COLS[:7]
        return Table([h for _, h in cols], [[cell(getattr(r, a), 4) for a, _ in cols]
                                            for r in self.rows])

    def table(self) -> str:
        """A fixed-width text table, one line per layer.

        Returns
        -------
        str
            The aligned table (``str(diagnosis)`` is the same).
        """
        return self._table().text()

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return f"<Diagnosis {len(self.rows)} layers, backward={self.backward}>"

    def _default_panels(self) -> list[LayerDiagnosis]:
        skip = ("flatten", "identity")
        acts = [r for r in self.rows
                if not r.parametrized and not r.layer.split(":")[-1].lower().startswith(skip)]
        return acts or self.rows

    def plot(self, path, *, layers=None, title: str | None = None, dpi: int = 100):
        """Save a PNG grid of per-layer histograms: forward row, backward row.

        Parameters
        ----------
        path : str or os.PathLike
            Output file (the format follows the suffix; PNG for ``.png``).
        layers : list of int or str, optional
            Layers to draw (positions or names). Default: the activation
            layers' outputs if the network has any (as the seed articles draw
            them), else every layer.
        title : str, optional
            Figure title.
        dpi : int, default 100

        Returns
        -------
        str
            ``path``.

        Notes
        -----
        Needs matplotlib (``pip install winit[plot]``); it is imported here only.
        """
        try:
            from matplotlib.figure import Figure
        except ImportError as exc:  # pragma: no cover - exercised with a blocked import
            raise ImportError(
                "Diagnosis.plot needs matplotlib, an optional dependency: "
                "pip install winit[plot]") from exc
        panels = self._default_panels() if layers is None else [self[i] for i in layers]
        if not panels:
            raise ValueError("Diagnosis.plot: no layers to draw")
        nrow = 2 if self.backward else 1
        ncol = len(panels)
        fig = Figure(figsize=(2.2 * ncol + 0.6, 2.0 * nrow + (0.5 if title else 0.2)))
        axes = fig.subplots(nrow, ncol, squeeze=False)
        for j, r in enumerate(panels):
            specs = [(r.hist, f"{r.layer}\nstd {r.std:.3g}", "C0")]
            if self.backward:
                specs.append((r.grad_hist, f"grad std {cell(r.grad_std, 4)}", "C3"))
            for i, (hist, label, color) in enumerate(specs):
                ax = axes[i, j]
                if hist is not None:
                    counts, edges = hist
                    counts = np.asarray(counts, dtype=np.float64)
                    widths = np.diff(edges)
                    total = counts.sum()
                    dens = counts / (total * widths) if total > 0 else counts
                    ax.stairs(dens, edges, fill=True, alpha=0.6, color=color)
                ax.set_title(label, fontsize=8)
                ax.tick_params(labelsize=6)
                ax.set_yticks([])
            axes[0, 0].set_ylabel("forward", fontsize=8)
            if self.backward:
                axes[1, 0].set_ylabel("backward", fontsize=8)
        if title:
            fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        fig.savefig(os.fspath(path), dpi=dpi)
        return path


def _summary(a: np.ndarray, bins: int):
    th = stats_threads(a)
    s = stats(a, threads=th)
    lo, hi = float(s.min), float(s.max)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return s, None
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    h = stats(a, bins=bins, range=(lo, hi), threads=th).hist
    return s, h


def check_bins(bins) -> int:
    """The ``bins`` argument of :func:`diagnose`, checked.

    Parameters
    ----------
    bins : int
        Histogram bins per layer.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If ``bins`` is not an int >= 1 (bools are refused).
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be a positive int, got {bins!r}")
    return int(bins)


def forward_stats(name: str, y: np.ndarray, bins: int, parametrized: bool) -> dict:
    """The forward fields of one layer's :class:`LayerDiagnosis`, from its output.

    Parameters
    ----------
    name : str
        ``"<path>:<class name>"``; the class name (lower-cased) selects the
        saturation measure (``tanh``, ``sigmoid``/``expit``) or the dead-unit
        measure (``relu``).
    y : numpy.ndarray
        The layer's output.
    bins : int
        Histogram bins.
    parametrized : bool
        Whether the layer has a weight.

    Returns
    -------
    dict
        ``layer``, ``shape``, ``mean``, ``std``, ``min``, ``max``, ``saturated``,
        ``dead``, ``parametrized`` and ``hist``, as :class:`LayerDiagnosis` names them.
    """
    y = np.asarray(y)
    s, hist = _summary(y, bins)
    kind = name.split(":", 1)[1].lower()  # the class name, or a function's __name__
    saturated = dead = None
    if kind == "tanh":
        saturated = float(np.count_nonzero(np.abs(y) > 0.99)) / y.size
    elif kind in ("sigmoid", "expit"):
        saturated = float(np.count_nonzero((y <= 0.01) | (y >= 0.99))) / y.size
    elif kind == "relu":
        units = y.reshape(y.shape[0], -1) if y.ndim > 1 else y.reshape(-1, 1)
        dead = float(np.count_nonzero(~np.any(units != 0, axis=0))) / units.shape[1]
    return dict(layer=name, shape=tuple(y.shape), mean=float(s.mean), std=float(s.std),
                min=float(s.min), max=float(s.max), saturated=saturated, dead=dead,
                parametrized=parametrized, hist=hist)


def gradient_stats(g: np.ndarray, bins: int) -> dict:
    """The gradient fields of one layer's :class:`LayerDiagnosis`.

    Parameters
    ----------
    g : numpy.ndarray
        The gradient of the loss with respect to the layer's output.
    bins : int
        Histogram bins.

    Returns
    -------
    dict
        ``grad_mean``, ``grad_std`` (ddof 0) and ``grad_hist``.
    """
    gs, ghist = _summary(g, bins)
    return dict(grad_mean=float(gs.mean), grad_std=float(gs.std), grad_hist=ghist)


def weight_gradient_std(gw: np.ndarray) -> float:
    """The ``grad_weight_std`` field of a :class:`LayerDiagnosis`.

    Parameters
    ----------
    gw : numpy.ndarray
        The gradient of the loss with respect to the layer's weight.

    Returns
    -------
    float
        Its standard deviation (ddof 0).
    """
    return float(stats(gw, threads=stats_threads(gw)).std)


def upstream_gradient(shape: tuple, dtype, seed: SeedLike,
                      grad_output: np.ndarray | None) -> np.ndarray:
    """The gradient fed to the network's output: ``grad_output``, or seeded standard normal.

    Parameters
    ----------
    shape, dtype
        Of the network's output.
    seed : int, SeedSequence, Generator or None
        Seed of :func:`winit.normal_` (used without ``grad_output``).
    grad_output : numpy.ndarray or None
        The gradient to use; it must have ``shape``.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        If ``grad_output`` has another shape.
    """
    shape = tuple(shape)
    if grad_output is None:
        return normal_(np.empty(shape, dtype=dtype), seed=seed)
    g = np.asarray(grad_output)
    if g.shape != shape:
        raise ValueError(f"grad_output has shape {g.shape}, the network's output {shape}")
    return g


def diagnose(net, x: np.ndarray, *, backward: bool = True, seed: SeedLike = None,
             grad_output: np.ndarray | None = None, bins: int = 50) -> Diagnosis:
    """Forward (and backward) statistics of every layer of ``net`` on the batch ``x``.

    Parameters
    ----------
    net : sequence of callables
        A :class:`winit.nn.Sequential` or list/tuple of layers (nested ones are
        flattened), as for :func:`winit.lsuv_`.
    x : numpy.ndarray
        A batch of input data.
    backward : bool, default True
        Also backpropagate an upstream gradient (every layer then needs a
        ``backward(grad_out)`` method, as :mod:`winit.nn` layers have).
    seed : int, SeedSequence, Generator or None, keyword-only
        Seed of the standard-normal upstream gradient (ignored with ``grad_output``).
    grad_output : numpy.ndarray, optional
        The upstream gradient (shape of the network's output) to use instead.
    bins : int, default 50
        Histogram bins per layer (for :meth:`Diagnosis.plot`).

    Returns
    -------
    Diagnosis
        One row per layer: output mean, std, min, max, saturated and dead
        fractions, gradient mean and std at the layer's output, weight-gradient std.

    Examples
    --------
    >>> import numpy as np, winit
    >>> from winit import nn
    >>> net = nn.Sequential(nn.Linear(2, 200, seed=0), nn.Tanh(), nn.Linear(200, 2, seed=1))
    >>> d = winit.diagnose(net, np.ones((100, 2), np.float32), seed=0)
    >>> d[1].saturated is not None and d[0].saturated is None
    True
    """
    bins = check_bins(bins)
    x = np.asarray(x)
    layers = list(iter_layers(net))
    if not layers:
        raise ValueError("diagnose: the network has no layers")
    if backward:
        for name, layer in layers:
            if not callable(getattr(layer, "backward", None)):
                raise TypeError(
                    f"diagnose: layer {name} has no backward(grad_out) method; "
                    "pass backward=False for forward statistics only")

    outputs = []
    h = x
    for _, layer in layers:
        h = layer(h)
        outputs.append(h)

    fwd = [forward_stats(name, y, bins, isinstance(getattr(layer, "weight", None), np.ndarray))
           for (name, layer), y in zip(layers, outputs, strict=True)]

    if backward:
        out = outputs[-1]
        g = upstream_gradient(out.shape, out.dtype, seed, grad_output)
        for k in range(len(layers) - 1, -1, -1):
            _, layer = layers[k]
            fwd[k].update(gradient_stats(g, bins))
            g = layer.backward(g)
            gw = getattr(layer, "grad_weight", None)
            if isinstance(gw, np.ndarray):
                fwd[k]["grad_weight_std"] = weight_gradient_std(gw)
    return Diagnosis([LayerDiagnosis(**row) for row in fwd], backward)
