"""Fan-based initialization schemes (torch.nn.init names and defaults, Keras/JAX semantics).

Every scheme validates its arguments, computes the scale from the fans and
makes one call to a sampling kernel (:mod:`winit.sampling`), so the values
written follow the reproducibility guarantee of the primitives: they depend
only on ``(seed, offset + flat index, parameters, dtype)``.

The structured schemes (``orthogonal_``, ``delta_orthogonal_``, ``eye_``,
``dirac_``, ``sparse_``) live in :mod:`winit.structured`; they are re-exported
here for compatibility.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._common import check_finite_param, check_float_array, warn_empty
from .fans import FAN_MODES, check_layout, check_mode, compute_fans, fan_for_mode
from .gains import calculate_gain
from .sampling import normal_, trunc_normal_, uniform_
from .structured import delta_orthogonal_, dirac_, eye_, orthogonal_, sparse_

__all__ = [
    "TRUNCATED_NORMAL_STD",
    "kaiming_normal_",
    "kaiming_uniform_",
    "lecun_normal_",
    "lecun_uniform_",
    "primitive_plan",
    "variance_scaling_",
    "xavier_normal_",
    "xavier_uniform_",
    # re-exported from winit.structured
    "delta_orthogonal_",
    "dirac_",
    "eye_",
    "orthogonal_",
    "sparse_",
]

#: Standard deviation of a standard normal truncated to [-2, 2] (Keras/JAX's constant).
TRUNCATED_NORMAL_STD = 0.87962566103423978

DISTRIBUTIONS = ("truncated_normal", "normal", "untruncated_normal", "uniform")

#: A fan-based scheme on a given full shape is exactly one sampling primitive with
#: fixed parameters: ``(primitive registry name, its parameters)``.
PrimitivePlan = tuple[str, dict]

#: Sampling primitive of each plan name (also the registry names of the primitives).
_PRIMITIVES = {"uniform": uniform_, "normal": normal_, "trunc_normal": trunc_normal_}


def _fans(shape, layout, in_axis, out_axis, batch_axis) -> tuple[int, int]:
    return compute_fans(
        tuple(shape), layout, in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis
    )


def _run_plan(tensor, plan: PrimitivePlan, *, seed, offset, threads):
    """Fill ``tensor`` with the primitive of ``plan`` (the only fill of a fan-based scheme)."""
    name, params = plan
    return _PRIMITIVES[name](tensor, **params, seed=seed, offset=offset, threads=threads)


def _variance_plan(std: float, distribution: str) -> PrimitivePlan:
    """Zero-mean primitive with *result* standard deviation ``std``."""
    if distribution == "uniform":
        bound = math.sqrt(3.0) * std
        return "uniform", {"a": -bound, "b": bound}
    if distribution == "truncated_normal":
        s = std / TRUNCATED_NORMAL_STD
        return "trunc_normal", {"mean": 0.0, "std": s, "a": -2.0 * s, "b": 2.0 * s}
    return "normal", {"mean": 0.0, "std": std}


# --------------------------------------------------------------------------- Xavier / Glorot


def _xavier_std(shape, gain, layout, in_axis, out_axis, batch_axis) -> float | None:
    """Validate; None for an empty shape, else std = gain * sqrt(2 / (fan_in + fan_out))."""
    gain = check_finite_param(gain, "gain", nonneg=True)
    check_layout(layout)
    if math.prod(shape) == 0:
        return None
    fan_in, fan_out = _fans(shape, layout, in_axis, out_axis, batch_axis)
    return gain * math.sqrt(2.0 / float(fan_in + fan_out))


def _xavier_uniform_plan(shape, gain: float = 1.0, *, layout: str = "torch", in_axis=None,
                         out_axis=None, batch_axis=()) -> PrimitivePlan | None:
    std = _xavier_std(shape, gain, layout, in_axis, out_axis, batch_axis)
    if std is None:
        return None
    a = math.sqrt(3.0) * std
    return "uniform", {"a": -a, "b": a}


def _xavier_normal_plan(shape, gain: float = 1.0, *, layout: str = "torch", in_axis=None,
                        out_axis=None, batch_axis=()) -> PrimitivePlan | None:
    std = _xavier_std(shape, gain, layout, in_axis, out_axis, batch_axis)
    if std is None:
        return None
    return "normal", {"mean": 0.0, "std": std}


def xavier_uniform_(
    tensor: np.ndarray,
    gain: float = 1.0,
    *,
    seed=None,
    offset: int = 0,
    threads: int | None = None,
    layout: str = "torch",
    in_axis=None,
    out_axis=None,
    batch_axis=(),
) -> np.ndarray:
    r"""Fill ``tensor`` with the Xavier (Glorot) uniform distribution.

    Glorot, X. & Bengio, Y. (2010), "Understanding the difficulty of training
    deep feedforward neural networks". Values are drawn from
    :math:`\mathcal{U}(-a, a)` with

    .. math::
        a = \text{gain} \times \sqrt{\frac{6}{\text{fan\_in} + \text{fan\_out}}}

    so the variance is :math:`\text{gain}^2 \cdot 2 / (\text{fan\_in} + \text{fan\_out})`.
    Same bounds, to the bit, as ``torch.nn.init.xavier_uniform_``; also
    Keras/JAX ``glorot_uniform`` (with ``layout="keras"``).

    Parameters
    ----------
    tensor : numpy.ndarray
        At least 2-D (float16, bfloat16, float32 or float64), filled in place.
    gain : float, optional
        Scaling factor (see :func:`winit.calculate_gain`), >= 0.
    seed : int, SeedSequence, Generator, Key or None, optional
        Keyword-only; see the reproducibility guarantee.
    offset : int, optional
        Flat index of the first element in a larger logical tensor.
    threads : int, optional
        Thread count (``None``: all usable cores).
    layout : {"torch", "keras", "jax", "torch_transposed"}, optional
        How the fans are read from the shape (:func:`winit.compute_fans`).
    in_axis, out_axis, batch_axis : int or tuple of int, optional
        Explicit axes, as ``jax.nn.initializers.variance_scaling``.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.

    Examples
    --------
    >>> w = np.empty((3, 5), np.float32)
    >>> winit.xavier_uniform_(w, gain=winit.calculate_gain("relu"), seed=0) is w
    True
    """
    check_float_array(tensor)
    plan = _xavier_uniform_plan(tensor.shape, gain, layout=layout, in_axis=in_axis,
                                out_axis=out_axis, batch_axis=batch_axis)
    if warn_empty(tensor, "xavier_uniform_"):
        return tensor
    return _run_plan(tensor, plan, seed=seed, offset=offset, threads=threads)


def xavier_normal_(
    tensor: np.ndarray,
    gain: float = 1.0,
    *,
    seed=None,
    offset: int = 0,
    threads: int | None = None,
    layout: str = "torch",
    in_axis=None,
    out_axis=None,
    batch_axis=(),
) -> np.ndarray:
    r"""Fill ``tensor`` with the Xavier (Glorot) normal distribution (untruncated, as torch).

    Glorot, X. & Bengio, Y. (2010). Values are drawn from
    :math:`\mathcal{N}(0, \text{std}^2)` with

    .. math::
        \text{std} = \text{gain} \times \sqrt{\frac{2}{\text{fan\_in} + \text{fan\_out}}}

    This is ``torch.nn.init.xavier_normal_``. Keras/JAX ``glorot_normal`` is
    a *truncated* normal with the same variance: ``winit.get("glorot_normal")``
    or ``variance_scaling_(t, 1.0, "fan_avg", "truncated_normal")``.

    Parameters
    ----------
    tensor : numpy.ndarray
        At least 2-D, filled in place.
    gain : float, optional
        Scaling factor, >= 0.
    seed, offset, threads, layout, in_axis, out_axis, batch_axis
        As in :func:`xavier_uniform_`.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.
    """
    check_float_array(tensor)
    plan = _xavier_normal_plan(tensor.shape, gain, layout=layout, in_axis=in_axis,
                               out_axis=out_axis, batch_axis=batch_axis)
    if warn_empty(tensor, "xavier_normal_"):
        return tensor
    return _run_plan(tensor, plan, seed=seed, offset=offset, threads=threads)


# --------------------------------------------------------------------------- Kaiming / He


def _kaiming_std(shape, a, mode, nonlinearity, layout, in_axis, out_axis, batch_axis):
    m = check_mode(mode, FAN_MODES)
    check_layout(layout)
    is_leaky = isinstance(nonlinearity, str) and nonlinearity.lower() == "leaky_relu"
    if is_leaky:
        gain = calculate_gain(nonlinearity, a)
    else:
        # torch ignores `a` for other names; parametrized numeric ones get it unless 0
        is_zero = isinstance(a, numbers.Real) and not isinstance(a, bool) and a == 0
        gain = calculate_gain(nonlinearity, None if a is None or is_zero else a)
    if math.prod(shape) == 0:
        return None
    fan_in, fan_out = _fans(shape, layout, in_axis, out_axis, batch_axis)
    return gain / math.sqrt(fan_for_mode(fan_in, fan_out, m))


def _kaiming_uniform_plan(shape, a: float = 0, mode: str = "fan_in",
                          nonlinearity="leaky_relu", *, layout: str = "torch", in_axis=None,
                          out_axis=None, batch_axis=()) -> PrimitivePlan | None:
    std = _kaiming_std(shape, a, mode, nonlinearity, layout, in_axis, out_axis, batch_axis)
    if std is None:
        return None
    bound = math.sqrt(3.0) * std
    return "uniform", {"a": -bound, "b": bound}


def _kaiming_normal_plan(shape, a: float = 0, mode: str = "fan_in",
                         nonlinearity="leaky_relu", *, layout: str = "torch", in_axis=None,
                         out_axis=None, batch_axis=()) -> PrimitivePlan | None:
    std = _kaiming_std(shape, a, mode, nonlinearity, layout, in_axis, out_axis, batch_axis)
    if std is None:
        return None
    return "normal", {"mean": 0.0, "std": std}


def kaiming_uniform_(
    tensor: np.ndarray,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity="leaky_relu",
    *,
    seed=None,
    offset: int = 0,
    threads: int | None = None,
    layout: str = "torch",
    in_axis=None,
    out_axis=None,
    batch_axis=(),
) -> np.ndarray:
    r"""Fill ``tensor`` with the Kaiming (He) uniform distribution.

    He, K. et al. (2015), "Delving deep into rectifiers: Surpassing
    human-level performance on ImageNet classification". Values are drawn from
    :math:`\mathcal{U}(-\text{bound}, \text{bound})` with

    .. math::
        \text{bound} = \text{gain} \times \sqrt{\frac{3}{\text{fan\_mode}}}

    i.e. variance :math:`\text{gain}^2 / \text{fan\_mode}`. Same bounds, to the
    bit, as ``torch.nn.init.kaiming_uniform_``.

    Parameters
    ----------
    tensor : numpy.ndarray
        At least 2-D, filled in place.
    a : float, optional
        Negative slope of the rectifier (``nonlinearity="leaky_relu"``). For
        the parametrized numeric nonlinearities (``elu``/``celu`` alpha,
        ``softplus`` beta, a callable's ``param``) a non-zero ``a`` is passed
        as their parameter; other names ignore it, as torch.
    mode : {"fan_in", "fan_out", "fan_avg", "fan_geo_avg"}, optional
        ``"fan_in"`` (default) preserves the variance of the activations in
        the forward pass, ``"fan_out"`` that of the gradients in the backward
        pass (torch accepts only these two).
    nonlinearity : str or callable, optional
        Anything :func:`winit.calculate_gain` accepts; default ``"leaky_relu"``
        (with ``a=0`` that is ReLU's :math:`\sqrt{2}`).
    seed, offset, threads, layout, in_axis, out_axis, batch_axis
        As in :func:`xavier_uniform_`.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.

    Examples
    --------
    >>> w = np.empty((256, 128), np.float32)
    >>> _ = winit.kaiming_uniform_(w, mode="fan_in", nonlinearity="relu", seed=1)
    """
    check_float_array(tensor)
    plan = _kaiming_uniform_plan(tensor.shape, a, mode, nonlinearity, layout=layout,
                                 in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
    if warn_empty(tensor, "kaiming_uniform_"):
        return tensor
    return _run_plan(tensor, plan, seed=seed, offset=offset, threads=threads)


def kaiming_normal_(
    tensor: np.ndarray,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity="leaky_relu",
    *,
    seed=None,
    offset: int = 0,
    threads: int | None = None,
    layout: str = "torch",
    in_axis=None,
    out_axis=None,
    batch_axis=(),
) -> np.ndarray:
    r"""Fill ``tensor`` with the Kaiming (He) normal distribution (untruncated, as torch).

    He, K. et al. (2015). Values are drawn from :math:`\mathcal{N}(0, \text{std}^2)` with

    .. math::
        \text{std} = \frac{\text{gain}}{\sqrt{\text{fan\_mode}}}

    This is ``torch.nn.init.kaiming_normal_``. Keras/JAX ``he_normal`` (and
    JAX's ``kaiming_normal``) is a *truncated* normal with variance
    :math:`2 / \text{fan\_in}`: ``winit.get("he_normal")``.

    Parameters
    ----------
    tensor : numpy.ndarray
        At least 2-D, filled in place.
    a, mode, nonlinearity
        As in :func:`kaiming_uniform_`.
    seed, offset, threads, layout, in_axis, out_axis, batch_axis
        As in :func:`xavier_uniform_`.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.
    """
    check_float_array(tensor)
    plan = _kaiming_normal_plan(tensor.shape, a, mode, nonlinearity, layout=layout,
                                in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
    if warn_empty(tensor, "kaiming_normal_"):
        return tensor
    return _run_plan(tensor, plan, seed=seed, offset=offset, threads=threads)


# --------------------------------------------------------------------------- variance scaling


def variance_scaling_(
    tensor: np.ndarray,
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "truncated_normal",
    *,
    seed=None,
    offset: int = 0,
    threads: int | None = None,
    layout: str = "torch",
    in_axis=None,
    out_axis=None,
    batch_axis=(),
) -> np.ndarray:
    r"""Fill ``tensor`` so that its variance is ``scale / fan`` (Keras/JAX ``VarianceScaling``).

    .. math::
        \operatorname{Var}(W) = \frac{\text{scale}}{n}, \qquad
        n = \text{fan\_in},\ \text{fan\_out},\ \frac{\text{fan\_in} + \text{fan\_out}}{2}
        \text{ or } \sqrt{\text{fan\_in} \cdot \text{fan\_out}}

    - ``"truncated_normal"``: :math:`\mathcal{N}(0, \sigma^2)` truncated to
      :math:`[-2\sigma, 2\sigma]` with
      :math:`\sigma = \sqrt{\text{scale}/n} / 0.87962566103423978`, so the
      *result* has variance scale/n (Keras, JAX);
    - ``"normal"`` (or ``"untruncated_normal"``): :math:`\mathcal{N}(0, \text{scale}/n)`;
    - ``"uniform"``: :math:`\mathcal{U}(-l, l)`, :math:`l = \sqrt{3\,\text{scale}/n}`.

    Glorot & Bengio (2010) is ``scale=1, mode="fan_avg"``; He et al. (2015)
    ``scale=2, mode="fan_in"``; LeCun et al. (1998, "Efficient BackProp")
    ``scale=1, mode="fan_in"``.

    Parameters
    ----------
    tensor : numpy.ndarray
        At least 2-D (or any shape with ``layout="keras"``), filled in place.
    scale : float, optional
        Positive scaling factor (Keras' definition: a variance factor, the
        square of a gain).
    mode : {"fan_in", "fan_out", "fan_avg", "fan_geo_avg"}, optional
    distribution : {"truncated_normal", "normal", "untruncated_normal", "uniform"}, optional
    seed, offset, threads, layout, in_axis, out_axis, batch_axis
        As in :func:`xavier_uniform_`. Keras itself reads fans as
        ``layout="keras"``; the default here is torch's layout.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.

    Examples
    --------
    >>> w = np.empty((3, 3, 64, 128), np.float32)   # Keras Conv2D kernel
    >>> _ = winit.variance_scaling_(w, 2.0, "fan_in", layout="keras", seed=0)  # he_normal
    """
    check_float_array(tensor)
    plan = _variance_scaling_plan(tensor.shape, scale, mode, distribution, layout=layout,
                                  in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
    if warn_empty(tensor, "variance_scaling_"):
        return tensor
    return _run_plan(tensor, plan, seed=seed, offset=offset, threads=threads)


def _variance_scaling_plan(shape, scale: float = 1.0, mode: str = "fan_in",
                           distribution: str = "truncated_normal", *, layout: str = "torch",
                           in_axis=None, out_axis=None, batch_axis=()) -> PrimitivePlan | None:
    scale = check_finite_param(scale, "scale")
    if scale <= 0.0:
        raise ValueError(f"scale must be a positive float, got {scale}")
    m = check_mode(mode, FAN_MODES)
    dist = distribution.lower() if isinstance(distribution, str) else distribution
    if dist not in DISTRIBUTIONS:
        raise ValueError(
            f"distribution {distribution!r} not supported, please use one of {list(DISTRIBUTIONS)}"
        )
    check_layout(layout)
    if math.prod(shape) == 0:
        return None
    fan_in, fan_out = _fans(shape, layout, in_axis, out_axis, batch_axis)
    fan = max(1.0, fan_for_mode(fan_in, fan_out, m))
    return _variance_plan(math.sqrt(scale / fan), dist)


def _lecun_uniform_plan(shape, *, layout: str = "torch", in_axis=None, out_axis=None,
                        batch_axis=()) -> PrimitivePlan | None:
    return _variance_scaling_plan(shape, 1.0, "fan_in", "uniform", layout=layout,
                                  in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)


def _lecun_normal_plan(shape, *, layout: str = "torch", in_axis=None, out_axis=None,
                       batch_axis=()) -> PrimitivePlan | None:
    return _variance_scaling_plan(shape, 1.0, "fan_in", "truncated_normal", layout=layout,
                                  in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)


def lecun_uniform_(
    tensor: np.ndarray,
    *,
    seed=None,
    offset: int = 0,
    threads: int | None = None,
    layout: str = "torch",
    in_axis=None,
    out_axis=None,
    batch_axis=(),
) -> np.ndarray:
    r"""Fill ``tensor`` with LeCun uniform: U(-l, l), l = sqrt(3 / fan_in).

    LeCun, Y. et al. (1998), "Efficient BackProp"; Keras/JAX ``lecun_uniform``
    (``variance_scaling_(tensor, 1.0, "fan_in", "uniform")``).

    Parameters
    ----------
    tensor : numpy.ndarray
        Filled in place.
    seed, offset, threads, layout, in_axis, out_axis, batch_axis
        As in :func:`xavier_uniform_`.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.
    """
    return variance_scaling_(tensor, 1.0, "fan_in", "uniform", seed=seed, offset=offset,
                             threads=threads, layout=layout, in_axis=in_axis,
                             out_axis=out_axis, batch_axis=batch_axis)


def lecun_normal_(
    tensor: np.ndarray,
    *,
    seed=None,
    offset: int = 0,
    threads: int | None = None,
    layout: str = "torch",
    in_axis=None,
    out_axis=None,
    batch_axis=(),
) -> np.ndarray:
    r"""Fill ``tensor`` with LeCun normal as Keras/JAX: truncated, variance 1 / fan_in.

    LeCun, Y. et al. (1998), "Efficient BackProp"; the initialization of
    self-normalizing networks (Klambauer et al. 2017, SELU). Values are
    :math:`\mathcal{N}(0, \sigma^2)` truncated to :math:`[-2\sigma, 2\sigma]`,
    :math:`\sigma = \sqrt{1/\text{fan\_in}} / 0.87962566103423978`
    (``variance_scaling_(tensor, 1.0, "fan_in", "truncated_normal")``).

    Parameters
    ----------
    tensor : numpy.ndarray
        Filled in place.
    seed, offset, threads, layout, in_axis, out_axis, batch_axis
        As in :func:`xavier_uniform_`.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.
    """
    return variance_scaling_(tensor, 1.0, "fan_in", "truncated_normal", seed=seed,
                             offset=offset, threads=threads, layout=layout, in_axis=in_axis,
                             out_axis=out_axis, batch_axis=batch_axis)


# --------------------------------------------------------------------------- primitive plans

#: Fan-based scheme -> its planner ``(shape, **params) -> (primitive, params) | None``.
#: Each in-place function above fills through its planner, so the plan *is* the scheme.
_PLANNERS = {
    xavier_uniform_: _xavier_uniform_plan,
    xavier_normal_: _xavier_normal_plan,
    kaiming_uniform_: _kaiming_uniform_plan,
    kaiming_normal_: _kaiming_normal_plan,
    variance_scaling_: _variance_scaling_plan,
    lecun_uniform_: _lecun_uniform_plan,
    lecun_normal_: _lecun_normal_plan,
}


def primitive_plan(scheme, shape, **params) -> PrimitivePlan | None:
    """The sampling primitive a fan-based ``scheme`` amounts to on a full ``shape``.

    ``scheme(tensor, **params, seed=s, offset=o)`` on a tensor of ``shape`` is exactly
    ``primitive(tensor, **prim_params, seed=s, offset=o)`` for the returned
    ``(primitive, prim_params)`` (``primitive`` is ``"uniform"``, ``"normal"`` or
    ``"trunc_normal"``; see :mod:`winit.sampling`), bit for bit: the scheme function
    computes its fill through this very plan. Since the primitives are elementwise,
    the tensor can then be generated in any flat pieces through ``offset``.

    Parameters
    ----------
    scheme : callable
        One of ``xavier_uniform_``, ``xavier_normal_``, ``kaiming_uniform_``,
        ``kaiming_normal_``, ``variance_scaling_``, ``lecun_uniform_``, ``lecun_normal_``.
    shape : tuple of int
        The full tensor's shape (the fans are read from it).
    **params
        The scheme's parameters (``seed``, ``offset``, ``threads`` excluded).

    Returns
    -------
    tuple of (str, dict) or None
        None when ``shape`` has no elements (nothing to generate). Raises the scheme's
        own errors for bad parameters or shapes; ``KeyError`` for a scheme without a plan.
    """
    return _PLANNERS[scheme](tuple(int(d) for d in shape), **params)
