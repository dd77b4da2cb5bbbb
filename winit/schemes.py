"""Fan-based initialization schemes (torch.nn.init names and defaults, Keras/JAX semantics).

Xavier/Glorot (Glorot & Bengio 2010), Kaiming/He (He et al. 2015), LeCun
(LeCun et al. 1998) and Keras/JAX ``VarianceScaling``: zero-mean values whose
scale comes from the fans of the full shape. On a given shape each scheme is
exactly one call of a sampling primitive (:mod:`winit.sampling`) with fixed
parameters, its *plan*: the private ``_*_plan`` functions below are the one
definition of each scheme's formula, every public function fills through its
plan, and :func:`primitive_plan` returns it (so a tensor can be generated in
flat pieces through ``offset``). The values written follow the
reproducibility guarantee of the primitives: they depend only on
``(seed, offset + flat index, parameters, dtype)``.

The structured schemes (``orthogonal_``, ``delta_orthogonal_``, ``eye_``,
``dirac_``, ``sparse_``) live in :mod:`winit.structured`; they are re-exported
here for compatibility.
"""

from __future__ import annotations

import inspect
import math
import numbers
import operator
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from ._common import (
    check_finite_param,
    check_float_array,
    resolve_offset,
    resolve_threads,
    warn_empty,
)
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
    "plan_error",
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


def _zero_mean_plan(std: float, distribution: str) -> PrimitivePlan:
    """Zero-mean primitive whose *result* has standard deviation ``std``.

    ``"uniform"``: U(-sqrt(3) std, sqrt(3) std); ``"truncated_normal"``: N(0, s^2) cut at
    +-2 s, s = std / TRUNCATED_NORMAL_STD; ``"normal"``, ``"untruncated_normal"``: N(0, std^2).
    """
    if distribution == "uniform":
        bound = math.sqrt(3.0) * std
        return "uniform", {"a": -bound, "b": bound}
    if distribution == "truncated_normal":
        s = std / TRUNCATED_NORMAL_STD
        return "trunc_normal", {"mean": 0.0, "std": s, "a": -2.0 * s, "b": 2.0 * s}
    return "normal", {"mean": 0.0, "std": std}


class _Fans(NamedTuple):
    """A full shape and the keywords saying how to read its fans (:func:`winit.compute_fans`)."""

    shape: tuple[int, ...]
    layout: str
    in_axis: Any
    out_axis: Any
    batch_axis: Any

    def plan(self, std_of: Callable[[int, int], float],
             distribution: str) -> PrimitivePlan | None:
        """Zero-mean ``distribution`` with std ``std_of(fan_in, fan_out)``; None when empty.

        The layout is checked first; the fans are read (and may fail) only for a
        non-empty shape.
        """
        check_layout(self.layout)
        if math.prod(self.shape) == 0:
            return None
        fan_in, fan_out = compute_fans(self.shape, self.layout, in_axis=self.in_axis,
                                       out_axis=self.out_axis, batch_axis=self.batch_axis)
        return _zero_mean_plan(std_of(fan_in, fan_out), distribution)


#: Arguments of a scheme call that say how to read the fans, and those of the fill itself.
_FAN_KEYWORDS = _Fans._fields[1:]
_fan_arguments = operator.itemgetter(*_FAN_KEYWORDS)
_FILL_ARGUMENTS = ("tensor", "seed", "offset", "threads")
#: Arguments of a scheme call that are not parameters of its plan function.
_NOT_PLAN_PARAMS = frozenset(_FILL_ARGUMENTS + _FAN_KEYWORDS)


def _plan(planner: Callable, shape: tuple[int, ...],
          args: dict[str, Any]) -> PrimitivePlan | None:
    """Run ``planner`` on ``shape`` with ``args``, every argument of a scheme call."""
    fans = _Fans(shape, *_fan_arguments(args))
    return planner(fans, **{k: v for k, v in args.items() if k not in _NOT_PLAN_PARAMS})


def _fill(scheme: Callable, args: dict[str, Any]) -> np.ndarray:
    """The body of every fan-based scheme: fill ``args["tensor"]`` through the scheme's plan.

    ``args`` is the call's ``locals()``, i.e. every argument of the public signature.
    The array is checked, then the parameters and the fans (the plan); an empty
    tensor warns and is returned as is, any other gets the plan's one primitive call.
    """
    tensor = args["tensor"]
    check_float_array(tensor)
    plan = _plan(_PLANNERS[scheme], tensor.shape, args)
    resolve_offset(args["offset"])
    resolve_threads(args["threads"])
    if warn_empty(tensor, scheme.__name__):
        return tensor
    primitive, params = plan
    try:
        return _PRIMITIVES[primitive](tensor, **params, seed=args["seed"],
                                      offset=args["offset"], threads=args["threads"])
    except ValueError as exc:
        raise plan_error(scheme, tensor.shape, args, exc) from exc


def plan_error(scheme: Callable, shape, args: dict[str, Any], exc: Exception) -> ValueError:
    """``exc``, raised by the primitive of ``scheme``'s plan, naming the scheme's parameters.

    A plan's primitive rejects values the scheme's parameters put beyond the dtype's range
    (e.g. a large ``gain`` on float16): the message says which call led there.
    """
    given = ", ".join(f"{k}={v!r}" for k, v in args.items() if k not in _NOT_PLAN_PARAMS)
    return ValueError(f"{scheme.__name__}({given}) on shape {tuple(shape)}: {exc}")


# --------------------------------------------------------------------------- Xavier / Glorot


def _xavier_plan(fans: _Fans, gain, *, distribution: str) -> PrimitivePlan | None:
    """Glorot & Bengio (2010): std = gain * sqrt(2 / (fan_in + fan_out)), gain >= 0."""
    gain = check_finite_param(gain, "gain", nonneg=True)
    return fans.plan(lambda fan_in, fan_out: gain * math.sqrt(2.0 / float(fan_in + fan_out)),
                     distribution)


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

    Raises
    ------
    TypeError
        ``tensor`` is not a float16/bfloat16/float32/float64 array, or a
        parameter is not a real number.
    ValueError
        A read-only ``tensor``; ``gain`` < 0 or NaN; an unknown ``layout``;
        fans that cannot be read from the shape (fewer than 2 dimensions in
        torch layout, bad axes).

    Examples
    --------
    >>> w = np.empty((3, 5), np.float32)
    >>> winit.xavier_uniform_(w, gain=winit.calculate_gain("relu"), seed=0) is w
    True
    """
    return _fill(xavier_uniform_, locals())


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

    Raises
    ------
    TypeError, ValueError
        As :func:`xavier_uniform_`.
    """
    return _fill(xavier_normal_, locals())


# --------------------------------------------------------------------------- Kaiming / He


def _kaiming_gain(a, nonlinearity) -> float:
    """torch's gain for ``kaiming_*``: ``a`` is leaky_relu's slope, else a non-zero parameter."""
    if isinstance(nonlinearity, str) and nonlinearity.lower() == "leaky_relu":
        return calculate_gain(nonlinearity, a)
    # torch ignores `a` for other names; parametrized numeric ones get it unless 0
    is_zero = (isinstance(a, (numbers.Real, np.ndarray, np.generic))
               and not isinstance(a, (bool, np.bool_)) and np.ndim(a) == 0 and a == 0)
    return calculate_gain(nonlinearity, None if a is None or is_zero else a)


def _kaiming_plan(fans: _Fans, a, mode, nonlinearity, *,
                  distribution: str) -> PrimitivePlan | None:
    """He et al. (2015): std = gain / sqrt(fan_mode), gain from ``nonlinearity`` and ``a``."""
    m = check_mode(mode, FAN_MODES)
    check_layout(fans.layout)  # order of the checks: mode, layout, nonlinearity
    gain = _kaiming_gain(a, nonlinearity)
    return fans.plan(lambda fan_in, fan_out: gain / math.sqrt(fan_for_mode(fan_in, fan_out, m)),
                     distribution)


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

    Raises
    ------
    TypeError, ValueError
        As :func:`xavier_uniform_` for ``tensor`` and the fans; ValueError for an
        unknown ``mode`` or ``nonlinearity`` or a bad parameter of it (as
        :func:`winit.calculate_gain`).

    Examples
    --------
    >>> w = np.empty((256, 128), np.float32)
    >>> _ = winit.kaiming_uniform_(w, mode="fan_in", nonlinearity="relu", seed=1)
    """
    return _fill(kaiming_uniform_, locals())


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

    Raises
    ------
    TypeError, ValueError
        As :func:`kaiming_uniform_`.
    """
    return _fill(kaiming_normal_, locals())


# --------------------------------------------------------------------------- variance scaling


def _variance_scaling_plan(fans: _Fans, scale, mode, distribution) -> PrimitivePlan | None:
    """Keras/JAX ``VarianceScaling``: result variance scale / max(1, fan_mode), scale > 0."""
    scale = check_finite_param(scale, "scale")
    if scale <= 0.0:
        raise ValueError(f"scale must be a positive float, got {scale}")
    m = check_mode(mode, FAN_MODES)
    dist = distribution.lower() if isinstance(distribution, str) else distribution
    if dist not in DISTRIBUTIONS:
        raise ValueError(
            f"distribution {distribution!r} not supported, please use one of {list(DISTRIBUTIONS)}"
        )
    return fans.plan(
        lambda fan_in, fan_out: math.sqrt(scale / max(1.0, fan_for_mode(fan_in, fan_out, m))),
        dist)


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

    Raises
    ------
    TypeError, ValueError
        As :func:`xavier_uniform_` for ``tensor`` and the fans; ValueError for
        ``scale`` <= 0 or NaN, an unknown ``mode`` or ``distribution``.

    Examples
    --------
    >>> w = np.empty((3, 3, 64, 128), np.float32)   # Keras Conv2D kernel
    >>> _ = winit.variance_scaling_(w, 2.0, "fan_in", layout="keras", seed=0)  # he_normal
    """
    return _fill(variance_scaling_, locals())


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
    (``variance_scaling_(tensor, 1.0, "fan_in", "uniform")``). Values are drawn
    from :math:`\mathcal{U}(-l, l)` with

    .. math::
        l = \sqrt{\frac{3}{\text{fan\_in}}}

    so the variance is :math:`1 / \text{fan\_in}`.

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

    Raises
    ------
    TypeError, ValueError
        As :func:`xavier_uniform_`.
    """
    return _fill(lecun_uniform_, locals())


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

    Raises
    ------
    TypeError, ValueError
        As :func:`xavier_uniform_`.
    """
    return _fill(lecun_normal_, locals())


# --------------------------------------------------------------------------- primitive plans

#: Fan-based scheme -> its plan ``(fans, *scheme parameters) -> PrimitivePlan | None``,
#: the single definition of the scheme: the public function fills through it and
#: :func:`primitive_plan` returns it.
_PLANNERS: dict[Callable, Callable[..., PrimitivePlan | None]] = {
    xavier_uniform_: partial(_xavier_plan, distribution="uniform"),
    xavier_normal_: partial(_xavier_plan, distribution="normal"),
    kaiming_uniform_: partial(_kaiming_plan, distribution="uniform"),
    kaiming_normal_: partial(_kaiming_plan, distribution="normal"),
    variance_scaling_: _variance_scaling_plan,
    lecun_uniform_: partial(_variance_scaling_plan, scale=1.0, mode="fan_in",
                            distribution="uniform"),
    lecun_normal_: partial(_variance_scaling_plan, scale=1.0, mode="fan_in",
                           distribution="truncated_normal"),
}

#: Parameters of each fan-based scheme with their defaults (every one has a default, as in
#: torch), read from its signature.
_DEFAULTS = {
    scheme: {name: p.default for name, p in inspect.signature(scheme).parameters.items()
             if name not in _FILL_ARGUMENTS}
    for scheme in _PLANNERS
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
        The scheme's parameters by name (``seed``, ``offset``, ``threads`` excluded);
        omitted ones take the defaults of the scheme's signature.

    Returns
    -------
    tuple of (str, dict) or None
        None when ``shape`` has no elements (nothing to generate).

    Raises
    ------
    KeyError
        ``scheme`` is not a fan-based scheme (it has no plan).
    TypeError
        A parameter the scheme does not take, or one of ``seed``, ``offset``, ``threads``.
    ValueError
        The scheme's own errors for bad parameters or shapes.
    """
    planner = _PLANNERS[scheme]
    defaults = _DEFAULTS[scheme]
    for name in params:
        if name not in defaults:
            raise TypeError(f"primitive_plan() got an unexpected keyword argument {name!r}")
    return _plan(planner, tuple(int(d) for d in shape), {**defaults, **params})
