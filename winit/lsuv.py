"""Layer-sequential unit-variance (LSUV) initialization (Mishkin & Matas, 2016).

The network is any sequence of callables (a :class:`winit.nn.Sequential`, a
list, a tuple, nested ones); the layers to tune are those that expose a
``weight`` numpy array (and optionally a ``bias`` numpy array), such as
:class:`winit.nn.Linear` and :class:`winit.nn.Conv2d`, or your own layer
objects that hold views of a framework's parameters.

The loop itself (:class:`LSUVSettings`, :func:`orthogonal_preinit`,
:func:`tune_layer`) is shared with framework adapters such as
:func:`winit.torch.lsuv_`, which find and feed the layers with hooks.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from ._common import Key, SeedLike, check_finite_param, derive_key, resolve_key
from ._report import LayerReport, Table
from .nn import iter_layers
from .schemes import orthogonal_
from .stats import stats, stats_threads

__all__ = ["LSUVReport", "LSUVRow", "LSUVSettings", "lsuv_", "iter_layers", "orthogonal_preinit",
           "tune_layer"]


def _is_parametrized(name: str, layer) -> bool:
    w = getattr(layer, "weight", None)
    if w is None:
        return False
    if not isinstance(w, np.ndarray):
        raise TypeError(
            f"layer {name}: weight is a {type(w).__name__}, not a numpy array; wrap the layer so "
            "that .weight (and .bias) are numpy arrays sharing its memory "
            "(e.g. tensor.detach().numpy())")
    return True


@dataclass(frozen=True)
class LSUVRow:
    """What LSUV did to one layer.

    Attributes
    ----------
    layer : str
        Name, ``"<index path>:<class name>"``.
    iterations : int
        Number of weight rescalings applied (0 if the layer was already within ``tol``).
    mean, var : float
        Mean and variance (ddof 0, over all elements) of the layer's output
        after the last rescaling.
    scale : float
        Product of all factors the weight was multiplied by (after the
        orthogonal pre-initialization, if any).
    bias_shift : float
        Total amount subtracted from the bias (``center=True`` only, else 0).
    converged : bool
        Whether ``|var - target_var| < tol`` (and ``|mean| < tol`` with ``center=True``).
    """

    layer: str
    iterations: int
    mean: float
    var: float
    scale: float
    bias_shift: float
    converged: bool


class LSUVReport(LayerReport[LSUVRow]):
    """Result of :func:`lsuv_`: one :class:`LSUVRow` per tuned layer.

    Iterable and indexable (by position or layer name); ``str(report)`` is a
    text table under a one-line summary and :meth:`to_markdown` a markdown
    table; :attr:`converged` is True when every layer reached the target.

    Parameters
    ----------
    rows : list of LSUVRow
        One per tuned layer, in call order.
    target_var, tol : float
        The targets :func:`lsuv_` was called with.
    center : bool
        Whether the mean was tuned too.
    """

    def __init__(self, rows: list[LSUVRow], target_var: float, tol: float, center: bool):
        super().__init__(rows)
        self.target_var = target_var
        self.tol = tol
        self.center = center

    @property
    def converged(self) -> bool:
        """True when every tuned layer converged."""
        return all(r.converged for r in self.rows)

    def to_dict(self) -> list[dict]:
        """The rows as plain dicts.

        Returns
        -------
        list of dict
            One ``{"layer", "iterations", "mean", "var", "scale", "converged"}`` per layer.
        """
        return [asdict(r) for r in self.rows]

    def _table(self) -> Table:
        header = ["layer", "iterations", "mean", "var", "scale", "converged"]
        return Table(header, [[r.layer, str(r.iterations), f"{r.mean:.4g}", f"{r.var:.6g}",
                               f"{r.scale:.4g}", "yes" if r.converged else "NO"]
                              for r in self.rows])

    def _title(self) -> str:
        n_ok = sum(r.converged for r in self.rows)
        what = "|var - target| < tol" + (" and |mean| < tol" if self.center else "")
        return (f"LSUV: {n_ok}/{len(self.rows)} layers converged ({what}, "
                f"target_var={self.target_var:g}, tol={self.tol:g})")

    def __str__(self) -> str:
        return self._title() + "\n" + self._table().text()

    def __repr__(self) -> str:
        return f"<LSUVReport {len(self.rows)} layers, converged={self.converged}>"


def _moments(y, name: str) -> tuple[float, float]:
    y = np.asarray(y)
    s = stats(y, threads=stats_threads(y))
    if s.nan_count or s.inf_count:
        raise ValueError(
            f"lsuv_: layer {name} produced {s.nan_count} NaN and {s.inf_count} Inf values "
            "in its output")
    if not s.var > 0:
        raise ValueError(
            f"lsuv_: layer {name} has zero output variance (a dead upstream layer, a constant "
            "input or all-zero weights); LSUV cannot rescale it")
    return float(s.mean), float(s.var)


@dataclass(frozen=True)
class LSUVSettings:
    """The targets and limits of the LSUV loop, validated.

    The arguments of :func:`lsuv_` that every implementation of the loop shares
    (:func:`lsuv_` on numpy layers, :func:`winit.torch.lsuv_` on torch models).

    Parameters
    ----------
    target_var, tol, max_iter, center
        As :func:`lsuv_`.

    Raises
    ------
    TypeError, ValueError
        For a non-positive or non-finite ``target_var`` or ``tol``, or a
        ``max_iter`` that is not an int >= 0.
    """

    target_var: float = 1.0
    tol: float = 0.1
    max_iter: int = 10
    center: bool = False

    def __post_init__(self):
        target_var = check_finite_param(self.target_var, "target_var", nonneg=True)
        if target_var <= 0:
            raise ValueError(f"target_var must be > 0, got {target_var}")
        tol = check_finite_param(self.tol, "tol", nonneg=True)
        if tol <= 0:
            raise ValueError(f"tol must be > 0, got {tol}")
        max_iter = self.max_iter
        if (isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer))
                or max_iter < 0):
            raise ValueError(f"max_iter must be an int >= 0, got {max_iter!r}")
        object.__setattr__(self, "target_var", target_var)
        object.__setattr__(self, "tol", tol)
        object.__setattr__(self, "max_iter", int(max_iter))

    def report(self, rows: list[LSUVRow]) -> LSUVReport:
        """An :class:`LSUVReport` of ``rows`` under these settings."""
        return LSUVReport(rows, self.target_var, self.tol, self.center)


def orthogonal_preinit(weight: np.ndarray, name: str, key: int) -> None:
    """LSUV's orthogonal pre-initialization of one layer's weight, in place.

    :func:`winit.orthogonal_` (gain 1) from the stream ``derive_key(key, "lsuv", name)``;
    weights with fewer than 2 dimensions or no elements are left alone.

    Parameters
    ----------
    weight : numpy.ndarray
        The layer's weight.
    name : str
        The layer's name (``"<path>:<class name>"``), which selects its stream.
    key : int
        The resolved seed of the LSUV call (:func:`winit._common.resolve_key`).
    """
    if weight.ndim >= 2 and weight.size:
        orthogonal_(weight, seed=Key(derive_key(key, "lsuv", name)))


def tune_layer(name: str, weight: np.ndarray, bias: np.ndarray | None, forward,
               settings: LSUVSettings, *, as_array=np.asarray, stacklevel: int = 2):
    r"""Rescale one layer's weight until its output variance reaches the target (LSUV's loop).

    The inner loop of Algorithm 1 of Mishkin & Matas (2016): measure the
    layer's output on a fixed input, multiply the weight by
    :math:`\sqrt{v^\ast / \mathrm{Var}(B_L)}` (and, with ``center``, subtract the
    output mean from the bias), repeat until within the tolerance or
    ``settings.max_iter`` rescalings.

    Parameters
    ----------
    name : str
        The layer's name, for the report and the messages.
    weight : numpy.ndarray
        The layer's weight, modified in place (a view of a framework's parameter works).
    bias : numpy.ndarray or None
        The layer's bias, modified in place with ``settings.center``.
    forward : callable
        ``forward()`` runs the layer on its (fixed) input with the current
        weight and bias and returns the output.
    settings : LSUVSettings
        Target, tolerance, iteration limit, centering.
    as_array : callable, default numpy.asarray
        Turns an output of ``forward`` into a numpy array for the statistics.
    stacklevel : int, default 2
        Where the non-convergence warning points, counted from the caller of
        this function (2: the caller's caller).

    Returns
    -------
    row : LSUVRow
        What was done to the layer.
    output
        The last output of ``forward`` (with the final weight and bias).

    Raises
    ------
    ValueError
        If the output contains NaN or Inf, has zero variance, or does not
        respond to the weight; the message names the layer.
    """
    target_var, tol = settings.target_var, settings.tol
    has_bias = isinstance(bias, np.ndarray) and bias.size > 0
    need_mean = settings.center and has_bias

    def ok(mean, var):
        return abs(var - target_var) < tol and (not need_mean or abs(mean) < tol)

    y = forward()
    mean, var = _moments(as_array(y), name)
    iterations, scale, shift = 0, 1.0, 0.0
    while not ok(mean, var) and iterations < settings.max_iter:
        s = math.sqrt(target_var / var)
        if need_mean:
            # A scalar shift of every bias moves the mean and leaves the variance alone.
            np.subtract(bias, mean, out=bias, casting="unsafe")
            shift += mean
        np.multiply(weight, s, out=weight, casting="unsafe")
        scale *= s
        iterations += 1
        y = forward()
        prev_var = var
        mean, var = _moments(as_array(y), name)
        if abs(s * s - 1.0) > 1e-6 and abs(var - prev_var) <= 1e-12 * prev_var:
            raise ValueError(
                f"lsuv_: the output variance of layer {name} does not change when its weight "
                "is rescaled: its input is constant (a dead upstream layer?)")
    converged = ok(mean, var)
    if not converged:
        warnings.warn(
            f"lsuv_: layer {name} did not converge in {settings.max_iter} iterations "
            f"(output mean {mean:.4g}, var {var:.4g}, target {target_var:g} +/- {tol:g})",
            RuntimeWarning, stacklevel=stacklevel + 1)
    return LSUVRow(name, iterations, mean, var, scale, shift, converged), y


def lsuv_(net, x: np.ndarray, *, target_var: float = 1.0, tol: float = 0.1, max_iter: int = 10,
          orthogonal: bool = True, center: bool = False, seed: SeedLike = None) -> LSUVReport:
    r"""Layer-sequential unit-variance initialization, in place (Mishkin & Matas, 2016).

    Algorithm 1 of *All you need is a good init* (ICLR 2016): optionally
    pre-initialize every weight with an orthogonal matrix, then, layer by layer
    from the input on, rescale the weight by :math:`\sqrt{v^\ast / \mathrm{Var}(B_L)}`
    until :math:`|\mathrm{Var}(B_L) - v^\ast| < \mathrm{tol}` or ``max_iter``
    rescalings, where :math:`B_L` is the layer's output on the batch ``x``.

    Parameters
    ----------
    net : sequence of callables
        A :class:`winit.nn.Sequential`, a list or tuple of layers (nested ones
        are flattened). Layers with a ``weight`` numpy array are tuned (their
        ``weight`` and ``bias`` arrays are modified in place); other layers
        (activations, pooling, ...) are only called.
    x : numpy.ndarray
        One batch of representative input data.
    target_var : float, default 1.0
        Target variance :math:`v^\ast` of every tuned layer's output.
    tol : float, default 0.1
        Tolerance on the variance (and on the mean with ``center=True``).
    max_iter : int, default 10
        Most rescalings per layer. A layer still outside the tolerance is
        reported as not converged and a ``RuntimeWarning`` names it.
    orthogonal : bool, default True
        Re-initialize each weight with :func:`winit.orthogonal_` (gain 1) before
        tuning, as the paper does. Biases are left as they are either way.
    center : bool, default False
        Also subtract the output mean from the bias at each iteration, so the
        output has zero mean (the bias-corrected variant: mean 0, std 1).
        Layers without a bias are only rescaled.
    seed : int, SeedSequence, Generator or None, keyword-only
        Seed of the orthogonal pre-initialization (one derived stream per layer).

    Returns
    -------
    LSUVReport
        One row per tuned layer: iterations, final mean and variance, total
        scale applied, convergence.

    Raises
    ------
    ValueError
        If a tuned layer's output contains NaN or Inf, has zero variance, or
        does not respond to its weight (a dead upstream layer feeding it a
        constant); the message names the layer. Also for bad parameters.

    Notes
    -----
    The variance measured is that of each parametrized layer's **own output**,
    i.e. the pre-activation (the ``Linear``/``Conv2d`` result, before the
    nonlinearity that follows it), over all of its elements, as in the paper.

    Cost: one forward pass overall. Each layer's input is computed once and
    cached; every iteration re-runs only the layer being tuned on that cached
    input (hook-based implementations re-run the whole network at every
    iteration of every layer). Layers after the last parametrized one are not
    run at all.

    For a bias-free layer the output scales exactly with the weight, so one
    rescaling reaches the target (up to rounding); a bias makes the variance an
    affine-quadratic function of the scale and a few more iterations may be needed.

    Examples
    --------
    >>> import numpy as np, winit
    >>> from winit import nn
    >>> net = nn.Sequential(nn.Linear(32, 64, seed=0), nn.ReLU(), nn.Linear(64, 10, seed=1))
    >>> x = np.random.default_rng(0).standard_normal((256, 32)).astype(np.float32)
    >>> report = winit.lsuv_(net, x, seed=0)
    >>> report.converged
    True
    """
    settings = LSUVSettings(target_var, tol, max_iter, center)
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)

    layers = list(iter_layers(net))
    tuned = [i for i, (name, layer) in enumerate(layers) if _is_parametrized(name, layer)]
    if not tuned:
        warnings.warn("lsuv_: the network has no layer with a .weight array; nothing to do",
                      RuntimeWarning, stacklevel=2)
        return settings.report([])

    if orthogonal:
        key = resolve_key(seed)
        for i in tuned:
            name, layer = layers[i]
            orthogonal_preinit(layer.weight, name, key)

    rows: list[LSUVRow] = []
    h = x
    for i, (name, layer) in enumerate(layers[: tuned[-1] + 1]):
        if i not in tuned:
            h = layer(h)
            continue
        row, h = tune_layer(name, layer.weight, getattr(layer, "bias", None),
                            lambda layer=layer, h=h: layer(h), settings, stacklevel=2)
        rows.append(row)
    return settings.report(rows)
