"""Fan-in and fan-out of a weight shape, for every layout winit understands.

The fans are the number of inputs feeding one output unit (``fan_in``) and the
number of outputs one input unit feeds (``fan_out``). Variance-preserving
schemes (Glorot & Bengio 2010, He et al. 2015, LeCun et al. 1998) scale the
weights by ``1 / fan``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

__all__ = ["LAYOUTS", "compute_fans"]

#: Accepted values of the ``layout`` keyword.
LAYOUTS = ("torch", "keras", "jax", "torch_transposed")

# (in_axis, out_axis) of each named layout.
_LAYOUT_AXES = {
    "torch": (1, 0),  # (out, in, *kernel): nn.Linear, nn.ConvNd
    "torch_transposed": (0, 1),  # (in, out, *kernel): nn.ConvTransposeNd
    "keras": (-2, -1),  # (*kernel, in, out): Keras Dense/Conv, flax
    "jax": (-2, -1),
}

AxisLike = int | Sequence[int]


def check_layout(layout: str) -> str:
    """Validate a ``layout`` keyword; ValueError naming the accepted values otherwise."""
    if not isinstance(layout, str) or layout not in _LAYOUT_AXES:
        raise ValueError(f"layout {layout!r} not supported, please use one of {list(LAYOUTS)}")
    return layout


def _normalize_axes(axes: AxisLike | None, ndim: int, name: str) -> tuple[int, ...]:
    if axes is None:
        return ()
    if isinstance(axes, (numbers.Integral, np.integer)) and not isinstance(axes, bool):
        axes = (int(axes),)
    try:
        items = tuple(axes)
    except TypeError:
        raise TypeError(f"{name} must be an int or a tuple of ints, got {axes!r}") from None
    out = []
    for ax in items:
        if isinstance(ax, bool) or not isinstance(ax, (numbers.Integral, np.integer)):
            raise TypeError(f"{name} must be an int or a tuple of ints, got {axes!r}")
        a = int(ax)
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}={a} is out of range for a shape with {ndim} dimensions")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name} has repeated axes: {axes!r}")
    return tuple(out)


def _shape_of(shape) -> tuple[int, ...]:
    if isinstance(shape, np.ndarray):
        return tuple(int(s) for s in shape.shape)
    if isinstance(shape, (numbers.Integral, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"shape must be a tuple of ints or an array, got {shape!r}") from None
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (numbers.Integral, np.integer)) or d < 0:
            raise ValueError(f"shape must contain non-negative ints, got {shape!r}")
    return tuple(int(d) for d in dims)


def compute_fans(
    shape,
    layout: str = "torch",
    *,
    in_axis: AxisLike | None = None,
    out_axis: AxisLike | None = None,
    batch_axis: AxisLike = (),
    groups: int = 1,
) -> tuple[int, int]:
    r"""Return ``(fan_in, fan_out)`` of a weight of the given shape.

    .. math::
        \text{fan\_in} = n_\text{in} \cdot r, \qquad
        \text{fan\_out} = n_\text{out} \cdot r, \qquad
        r = \prod_{\text{other axes}} \text{shape}[k]

    where :math:`r` is the receptive field size (the product of every axis
    that is neither the input, the output nor a batch axis).

    Parameters
    ----------
    shape : tuple of int or numpy.ndarray
        The weight's shape (or the weight itself).
    layout : {"torch", "keras", "jax", "torch_transposed"}
        How the axes are laid out:

        - ``"torch"`` (default): ``(out, in, *kernel)``, as ``nn.Linear`` and
          ``nn.ConvNd`` weights. Fewer than 2 dimensions raise ``ValueError``
          (torch's message).
        - ``"keras"``: ``(*kernel, in, out)``, as Keras ``Dense``/``Conv``.
          Follows ``keras.initializers``: a 0-D shape gives ``(1, 1)`` and a
          1-D shape ``(n,)`` gives ``(n, n)``.
        - ``"jax"``: ``(*kernel, in, out)`` like Keras, but fewer than 2
          dimensions raise ``ValueError``, as ``jax.nn.initializers``.
        - ``"torch_transposed"``: ``(in, out, *kernel)``, as
          ``nn.ConvTransposeNd`` weights (for which torch's own
          ``_calculate_fan_in_and_fan_out`` swaps the two fans).
    in_axis, out_axis : int or tuple of int, optional
        Explicit input/output axes, as in
        ``jax.nn.initializers.variance_scaling``; a tuple multiplies the axes'
        sizes. One given alone keeps the layout's default for the other.
    batch_axis : int or tuple of int, optional
        Axes excluded from the fans (e.g. a stack of independent layers).
    groups : int, optional
        Grouped convolutions. Their weights hold ``in / groups`` input channels
        (torch ``(out, in/groups, *k)``, Keras ``(*k, in/groups, out)``), so
        ``fan_in`` is already right, but each input channel only feeds
        ``out / groups`` outputs: ``groups`` divides ``fan_out`` (``fan_in``
        for ``"torch_transposed"``, whose weights are ``(in, out/groups, *k)``).
        torch and Keras ignore this (``groups=1``, the default, matches them).

    Returns
    -------
    (int, int)
        ``(fan_in, fan_out)``.

    Examples
    --------
    >>> compute_fans((64, 32, 3, 3))          # torch Conv2d(32, 64, 3)
    (288, 576)
    >>> compute_fans((3, 3, 32, 64), "keras")
    (288, 576)
    >>> compute_fans((5, 20, 30), in_axis=-2, out_axis=-1, batch_axis=0)
    (20, 30)
    """
    check_layout(layout)
    dims = _shape_of(shape)
    ndim = len(dims)
    if isinstance(groups, bool) or not isinstance(groups, (numbers.Integral, np.integer)):
        raise TypeError(f"groups must be a positive int, got {groups!r}")
    if groups < 1:
        raise ValueError(f"groups must be >= 1, got {groups}")
    groups = int(groups)
    explicit = in_axis is not None or out_axis is not None
    if ndim < 2:
        if explicit:
            raise ValueError(
                f"in_axis/out_axis need a shape with at least 2 dimensions, got {dims}"
            )
        if layout == "keras":
            return (1, 1) if ndim == 0 else (dims[0], dims[0])
        if layout == "jax":
            raise ValueError(
                f"Can't compute input and output sizes of a {ndim}-dimensional weights "
                "tensor. Must be at least 2D."
            )
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    batch = _normalize_axes(batch_axis, ndim, "batch_axis")
    d_in, d_out = _LAYOUT_AXES[layout]
    ins = _normalize_axes(d_in if in_axis is None else in_axis, ndim, "in_axis")
    outs = _normalize_axes(d_out if out_axis is None else out_axis, ndim, "out_axis")
    if set(ins) & set(outs):
        raise ValueError(f"in_axis {ins} and out_axis {outs} overlap")
    if (set(ins) | set(outs)) & set(batch):
        raise ValueError(f"batch_axis {batch} overlaps in_axis {ins} or out_axis {outs}")
    used = set(ins) | set(outs) | set(batch)
    receptive = math.prod(dims[k] for k in range(ndim) if k not in used)
    fan_in = math.prod(dims[k] for k in ins) * receptive
    fan_out = math.prod(dims[k] for k in outs) * receptive
    if groups != 1:
        which = "fan_in" if layout == "torch_transposed" and not explicit else "fan_out"
        channels = math.prod(dims[k] for k in (ins if which == "fan_in" else outs))
        if channels % groups:
            raise ValueError(
                f"groups={groups} does not divide the {channels} channels that {which} "
                f"counts (shape {dims})"
            )
        if which == "fan_in":
            fan_in //= groups
        else:
            fan_out //= groups
    return fan_in, fan_out


#: Accepted values of the ``mode`` keyword of the fan-based schemes.
FAN_MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")


def check_mode(mode: str, allowed: Sequence[str] = FAN_MODES) -> str:
    """Validate a fan ``mode`` (case-insensitive, as torch); torch's message otherwise."""
    m = mode.lower() if isinstance(mode, str) else mode
    if m not in allowed:
        raise ValueError(f"Mode {mode} not supported, please use one of {list(allowed)}")
    return m


def fan_for_mode(fan_in: int, fan_out: int, mode: str) -> float:
    """The fan a ``mode`` selects: in, out, their mean or their geometric mean."""
    if mode == "fan_in":
        return float(fan_in)
    if mode == "fan_out":
        return float(fan_out)
    if mode == "fan_avg":
        return (fan_in + fan_out) / 2.0
    return math.sqrt(fan_in * fan_out)
