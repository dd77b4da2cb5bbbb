"""Recommended gains for nonlinearities: torch's table, plus a numeric rule for the rest."""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable

import numpy as np
from scipy import special

from ._common import FLOAT_DTYPES

__all__ = ["NONLINEARITIES", "NONLINEARITY_PARAMS", "calculate_gain", "second_moment"]

_LINEAR = (
    "linear",
    "identity",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)


def _gelu(x, approximate=None):
    if approximate in (None, "none"):
        return 0.5 * x * (1.0 + special.erf(x / math.sqrt(2.0)))
    if approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    raise ValueError(f"gelu approximation {approximate!r} not supported, use None or 'tanh'")


def _silu(x, _=None):
    return x * special.expit(x)


def _elu(x, alpha=None):
    alpha = 1.0 if alpha is None else alpha
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def _celu(x, alpha=None):
    alpha = 1.0 if alpha is None else alpha
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0) / alpha))


def _softplus(x, beta=None):
    beta = 1.0 if beta is None else beta
    return np.logaddexp(0.0, beta * x) / beta


def _mish(x, _=None):
    return x * np.tanh(np.logaddexp(0.0, x))


# Numeric nonlinearities: name -> (function(x, param), param name or None, param default)
_NUMERIC: dict[str, tuple[Callable, str | None]] = {
    "gelu": (_gelu, "approximate"),
    "silu": (_silu, None),
    "swish": (_silu, None),
    "elu": (_elu, "alpha"),
    "celu": (_celu, "alpha"),
    "softplus": (_softplus, "beta"),
    "mish": (_mish, None),
    "relu6": (lambda x, _=None: np.clip(x, 0.0, 6.0), None),
    "hardtanh": (lambda x, _=None: np.clip(x, -1.0, 1.0), None),
    "hardswish": (lambda x, _=None: x * np.clip(x + 3.0, 0.0, 6.0) / 6.0, None),
    "softsign": (lambda x, _=None: x / (1.0 + np.abs(x)), None),
}

#: Every nonlinearity name :func:`calculate_gain` accepts.
NONLINEARITIES = tuple(
    sorted(set(_LINEAR) | {"sigmoid", "tanh", "relu", "leaky_relu", "selu"} | set(_NUMERIC))
)


#: What ``param`` of :func:`calculate_gain` means for the names that take one; the other
#: names ignore it (as torch does for its own).
NONLINEARITY_PARAMS = {"leaky_relu": "negative_slope",
                       **{name: p for name, (_, p) in _NUMERIC.items() if p is not None}}


def _unwrap(param):
    """A numpy scalar or 0-d array of a real dtype as a Python float; anything else as is."""
    if isinstance(param, (np.ndarray, np.generic)) and np.ndim(param) == 0:
        if param.dtype.kind in "fiu" or param.dtype in FLOAT_DTYPES:
            return float(param)
    return param


def _as_float(x: numbers.Real) -> float:
    """``float(x)``; an int (or Fraction) beyond float64's range is +-inf."""
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


@functools.lru_cache(maxsize=1)
def _nodes() -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre rule for ``int f(z) phi(z) dz`` over [-16, 16].

    Panels of width 1/2, 24 nodes each: kinks at multiples of 1/2 (relu at 0,
    hardtanh at +-1, hardswish at +-3, relu6 at 6) fall on panel edges, so
    piecewise-smooth integrands are integrated to ~1e-15. The Gaussian mass
    beyond |z| = 16 is below 1e-56.
    """
    t, w = np.polynomial.legendre.leggauss(24)
    edges = np.arange(-16.0, 16.0, 0.5)
    half = 0.25
    z = (edges[:, None] + half + half * t[None, :]).ravel()
    wz = np.broadcast_to(half * w, (edges.size, t.size)).ravel()
    phi = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return z, wz * phi


def second_moment(f: Callable, param=None) -> float:
    r"""Return :math:`E[f(z)^2]` for :math:`z \sim \mathcal{N}(0, 1)`.

    Computed by a composite Gauss-Legendre rule (24 nodes on each panel of
    width 1/2 over [-16, 16]); ``f`` is called once on a float64 array
    (``f(z)`` or ``f(z, param)``) and falls back to element-wise calls when
    it is not vectorized.
    """
    z, w = _nodes()
    args = (z,) if param is None else (z, param)
    # overflow to inf or nan is answered by the caller's check of the moment, not warned
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        try:
            y = np.asarray(f(*args))
            if y.shape != z.shape or np.iscomplexobj(y):
                raise ValueError("not vectorized")
            y = y.astype(np.float64)
        except Exception:
            y = [f(zi) if param is None else f(zi, param) for zi in z]
            if any(np.iscomplexobj(v) for v in y):  # float() would drop the imaginary part
                raise TypeError(f"{getattr(f, '__name__', f)} returned complex values: "
                                "the gain needs a real function") from None
            y = np.array([float(v) for v in y])
        return float(np.dot(w, y * y))


def _numeric_gain(f: Callable, param, label: str) -> float:
    m2 = second_moment(f, param)
    if not math.isfinite(m2) or m2 <= 0.0:
        raise ValueError(
            f"nonlinearity {label}: E[f(z)^2] = {m2} for z ~ N(0, 1); the gain "
            "1/sqrt(E[f(z)^2]) needs a finite, positive second moment"
        )
    return 1.0 / math.sqrt(m2)


@functools.lru_cache(maxsize=256)
def _named_numeric_gain(name: str, param) -> float:
    f, pname = _NUMERIC[name]
    return _numeric_gain(f, param, repr(name) if param is None else f"{name!r} ({pname}={param})")


def calculate_gain(nonlinearity: str | Callable, param: float | str | None = None) -> float:
    r"""Return the recommended gain for a nonlinearity.

    For torch's names the values are torch's (``torch.nn.init.calculate_gain``),
    bit for bit:

    ================= ==============================================
    nonlinearity      gain
    ================= ==============================================
    linear / conv*    :math:`1`
    sigmoid           :math:`1`
    tanh              :math:`5/3`
    relu              :math:`\sqrt{2}`
    leaky_relu        :math:`\sqrt{2 / (1 + \text{negative\_slope}^2)}`
                      (``param`` = slope, default 0.01)
    selu              :math:`3/4` (torch's empirical value)
    ================= ==============================================

    Every other nonlinearity (``gelu``, ``silu``/``swish``, ``elu``, ``celu``,
    ``softplus``, ``mish``, ``relu6``, ``hardtanh``, ``hardswish``,
    ``softsign``, or **any callable** ``f``) gets the second-moment-preserving
    gain

    .. math::
        \text{gain} = \frac{1}{\sqrt{E[f(z)^2]}}, \qquad z \sim \mathcal{N}(0, 1),

    the factor that makes ``Var(W x) = 1`` after ``f`` when ``W`` has
    variance ``gain^2 / fan_in`` (He et al. 2015, "Delving deep into
    rectifiers"). It reproduces torch's ``relu`` (:math:`\sqrt{2}`) and
    ``leaky_relu`` values; ``tanh`` and ``selu`` keep torch's conventions
    instead. The expectation is computed by Gauss-Legendre quadrature (see
    :func:`second_moment`), accurate to about 1e-14.

    Parameters
    ----------
    nonlinearity : str or callable
        A name (case-insensitive) or a function of a float64 numpy array.
    param : float or str, optional
        ``leaky_relu``: the negative slope (default 0.01); ``elu``/``celu``:
        alpha (1.0); ``softplus``: beta (1.0); ``gelu``: ``"tanh"`` for the
        tanh approximation (see :data:`NONLINEARITY_PARAMS`); a callable is called
        as ``f(z, param)`` when given. Ignored by the other names, as in torch.
        Numbers may be numpy scalars or 0-d arrays.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Unknown name (``"Unsupported nonlinearity ..."``), or a slope that is
        not a number (``"negative_slope ... not a valid number"``), NaN or
        infinite.

    Examples
    --------
    >>> calculate_gain("leaky_relu", 0.2)
    1.3867504905630728
    >>> round(calculate_gain("gelu"), 4)
    1.5335
    """
    param = _unwrap(param)
    if callable(nonlinearity) and not isinstance(nonlinearity, str):
        label = getattr(nonlinearity, "__name__", repr(nonlinearity))
        return _numeric_gain(nonlinearity, param, label)
    if not isinstance(nonlinearity, str):
        raise ValueError(
            f"Unsupported nonlinearity {nonlinearity}: expected a name or a callable"
        )
    name = nonlinearity.lower()
    if name in _LINEAR or name == "sigmoid":
        return 1.0
    if name == "tanh":
        return 5.0 / 3
    if name == "relu":
        return math.sqrt(2.0)
    if name == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, numbers.Real):
            negative_slope = _as_float(param)
            if not math.isfinite(negative_slope):
                raise ValueError(f"negative_slope {param} not a valid number: must be finite")
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        try:
            return math.sqrt(2.0 / (1 + negative_slope**2))
        except OverflowError:  # |slope| > 1.3e154: the square overflows, the gain does not
            return math.sqrt(2.0) / abs(negative_slope)
    if name == "selu":
        return 3.0 / 4
    if name in _NUMERIC:
        _, pname = _NUMERIC[name]
        if pname is None:
            param = None
        elif pname == "approximate" and not (param is None or isinstance(param, str)):
            raise ValueError(f"gelu approximation {param!r} not supported, use None or 'tanh'")
        elif param is not None and pname != "approximate":
            if isinstance(param, bool) or not isinstance(param, numbers.Real):
                raise ValueError(f"{pname} {param!r} for {name} not a valid number")
            param = _as_float(param)
            if not math.isfinite(param) or param == 0.0 and name in ("celu", "softplus"):
                raise ValueError(f"{pname} {param} for {name} not a valid value")
        return _named_numeric_gain(name, param)
    raise ValueError(
        f"Unsupported nonlinearity {nonlinearity}, please use one of "
        f"{list(NONLINEARITIES)} or a callable"
    )
