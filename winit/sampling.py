"""Seeded sampling primitives: uniform, normal, truncated normal, constants.

Every function fills ``tensor`` in place (any memory layout) and returns it,
as ``torch.nn.init`` does. Random values come from a counter-based generator
(Philox4x32-10) in C: the value at flat C-order index ``i`` depends only on
(seed, ``offset + i``, distribution, parameters, dtype), so the result is the
same for every thread count, chunking, layout and SIMD path, and a tensor
filled in shards with ``offset`` is bit-identical to one filled whole.
"""

from __future__ import annotations

import functools
import math

import ml_dtypes
import numpy as np
from scipy import special

from . import _random
from ._common import (
    FLOAT_DTYPES,
    SeedLike,
    check_finite_param,
    check_float_array,
    resolve_key,
    resolve_offset,
    resolve_threads,
    warn_empty,
)

__all__ = ["constant_", "normal_", "ones_", "trunc_normal_", "truncated_normal_", "uniform_",
           "zeros_"]

_TN_NORMAL, _TN_UNIFORM, _TN_EXP = "normal", "uniform", "exponential"
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_SQRT_HALF_PI = 0.5 * math.log(0.5 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(12)


def _box_muller_zmax(f64: bool) -> float:
    """Largest |z| of the normal kernels (src/sample_impl.h), as they compute it.

    The radius sqrt(-2 log u) is largest at the smallest uniform they use,
    u = 2^-32 (float32) or 2^-53 (float64), and |cos|, |sin| reach 1 exactly.
    At a power of two the kernels' log (src/wmath.h) is e * ln2_hi + e * ln2_lo
    in the working precision, so this is the exact bound: 6.6604 and 8.5717.
    """
    t = np.float64 if f64 else np.float32
    e = t(-53.0) if f64 else t(-32.0)
    ln2_hi, ln2_lo = ((6.93147180369123816490e-01, 1.90821492927058770002e-10) if f64
                      else (6.9313812256e-01, 9.0580006145e-06))
    return float(np.sqrt(t(-2.0) * (e * t(ln2_hi) + e * t(ln2_lo))))


_Z_MAX = {False: _box_muller_zmax(False), True: _box_muller_zmax(True)}


def _prepare(tensor, func: str, seed: SeedLike, offset, threads):
    """Common checks; returns None for an empty tensor, else (key, offset, threads)."""
    check_float_array(tensor)
    off = resolve_offset(offset)
    nt = resolve_threads(threads)
    if warn_empty(tensor, func):
        return None
    if off + tensor.size > 2**64:
        raise ValueError(f"{func}: offset + tensor.size exceeds 2**64 (offset={off})")
    return resolve_key(seed), off, nt


@functools.cache
def _finfo_max(dt: np.dtype) -> float:
    return float(ml_dtypes.finfo(dt).max)


def _round_up(x: float, dt: np.dtype) -> float:
    """Smallest value of dtype ``dt`` that is >= x (inf above the dtype's range)."""
    with np.errstate(over="ignore"):
        v = np.asarray(x, dtype=np.float64).astype(dt)
        if float(v) < x:
            v = np.nextafter(v, np.asarray(np.inf, dtype=dt))
    return float(v)


def _round_down(x: float, dt: np.dtype, strict: bool = False) -> float:
    """Largest value of ``dt`` that is <= x (< x when ``strict``; -inf below the range)."""
    with np.errstate(over="ignore"):
        v = np.asarray(x, dtype=np.float64).astype(dt)
        if float(v) > x or (strict and float(v) >= x):
            v = np.nextafter(v, np.asarray(-np.inf, dtype=dt))
    return float(v)


def _check_in_range(value: float, name: str, dt: np.dtype, func: str,
                    reach: float | None = None) -> None:
    """ValueError naming ``func`` and parameter ``name`` when its values leave ``dt``'s range.

    ``reach`` is the largest magnitude the parameter puts into the tensor
    (default: ``|value|`` itself, a value written as is).
    """
    if reach is None:
        if math.isfinite(value) and abs(value) > _finfo_max(dt):
            raise ValueError(f"{func}: {name}={value} is outside the range of {dt}")
    elif not reach <= _finfo_max(dt):
        raise ValueError(f"{func}: {name}={value} puts values outside the range of {dt}")


@functools.lru_cache(maxsize=256)  # a checkpoint writer asks again for every block
def _normal_reach(mean: float, std: float, dt: np.dtype, z: float | None = None) -> float:
    """Largest ``|mean + std * z'|`` over ``|z'| <= z`` as the kernels write it into ``dt``.

    Computed in the kernels' working precision (float32 below float64) and
    rounded to ``dt``, so it is not finite exactly when some value would not be
    (nan for an infinite float32 ``std`` times ``z = 0``, as in the kernels).
    ``z`` defaults to Box-Muller's largest |z| (:func:`_box_muller_zmax`).
    """
    f64 = dt == np.float64
    t = np.float64 if f64 else np.float32
    z = _Z_MAX[f64] if z is None else z
    with np.errstate(over="ignore", invalid="ignore"):
        v = abs(t(mean)) + t(std) * t(z)
        return float(np.asarray(v).astype(dt))


def _check_bound(value, name: str) -> float:
    """A bound of :func:`trunc_normal_`: a float parameter (see check_finite_param) or ±inf."""
    if isinstance(value, (float, np.floating, np.ndarray, np.generic)) and np.ndim(value) == 0:
        arr = np.asarray(value)  # bfloat16 (kind "V") too: only the value counts
        if (arr.dtype.kind == "f" or arr.dtype in FLOAT_DTYPES) and math.isinf(float(arr)):
            return float(arr)
    return check_finite_param(value, name)


def uniform_(tensor: np.ndarray, a: float = 0.0, b: float = 1.0, *, seed: SeedLike = None,
             offset: int = 0, threads: int | None = None) -> np.ndarray:
    r"""Fill ``tensor`` with values from the uniform distribution :math:`\mathcal{U}[a, b)`.

    Every value is in ``[a, b)`` after rounding to the tensor's dtype (values
    that would round up to ``b`` are kept just below it; see Notes).

    Parameters
    ----------
    tensor : numpy.ndarray
        float16, bfloat16, float32 or float64 array, any layout; filled in place.
    a, b : float
        Lower and upper bound, ``a <= b``.
    seed : int, SeedSequence, Generator, Key or None
        Keyword-only. The same seed gives the same bits.
    offset : int
        Index of ``tensor``'s first element in a larger logical tensor.
    threads : int or None
        OpenMP threads; ``None`` uses the OpenMP default.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.

    Notes
    -----
    How values are rounded. Each value is :math:`x = a + (b - a)\,u` computed in the
    working precision, float32 for float16, bfloat16 and float32 tensors (``a`` and
    ``b - a`` rounded to float32, :math:`u = k\,2^{-24}` for a random 24-bit
    :math:`k`) and float64 for float64 ones (:math:`u = k\,2^{-52}`, 52-bit
    :math:`k`). It is then clamped to ``[lo, hi]``, ``lo`` the smallest value of the
    dtype ``>= a`` and ``hi`` the largest ``< b``, and rounded to the nearest value of
    the dtype (ties to even; float16/bfloat16 from the float32 value). So a value
    ``v`` of the dtype is drawn with the probability of the part of ``[a, b)`` that
    rounds to it: half the gap below ``v`` plus half the gap above it, over
    ``b - a``. At the ends, ``lo`` gets only ``[a, lo + gap / 2)`` and ``hi`` gets
    everything from ``hi - gap / 2`` up to ``b``: the values that would round up to
    ``b`` are moved to ``hi``. With ``a`` and ``b`` values of the dtype and equal
    gaps, ``lo`` therefore has half and ``hi`` one and a half times the probability
    of any other value (``hi`` three times that of ``lo``). Over a range thousands of
    ulps wide this is immaterial; over a range a few ulps wide it shows: float16
    ``uniform_(w, 1.0, 1.0 + 4 * 2**-10)`` gives 1, 1 + 2**-10, 1 + 2**-9 and
    1 + 3 * 2**-10 with probabilities 1/8, 1/4, 1/4 and 3/8 (the same holds for
    float32 and float64 over a range of 4 of their ulps).

    Examples
    --------
    >>> w = winit.uniform_(np.empty((3, 5), np.float32), -0.1, 0.1, seed=0)
    """
    a = check_finite_param(a, "a")
    b = check_finite_param(b, "b")
    if a > b:
        raise ValueError(f"uniform_: a must be <= b, got a={a}, b={b}")
    prep = _prepare(tensor, "uniform_", seed, offset, threads)
    if prep is None:
        return tensor
    key, off, nt = prep
    dt = tensor.dtype
    for name, v in (("a", a), ("b", b)):
        _check_in_range(v, name, dt, "uniform_")
    if a == b:
        tensor[...] = a
        return tensor
    lo = _round_up(a, dt)
    hi = _round_down(b, dt, strict=True)
    if hi < lo:
        raise ValueError(f"uniform_: no {dt} value lies in [a, b) = [{a}, {b})")
    width = b - a
    if not math.isfinite(width) or (dt != np.float64 and abs(width) > _finfo_max(np.float32)):
        raise ValueError(f"uniform_: b - a = {width} overflows the working precision")
    _random.fill_uniform(tensor, a, width, lo, hi, key, off, nt)
    return tensor


def normal_(tensor: np.ndarray, mean: float = 0.0, std: float = 1.0, *, seed: SeedLike = None,
            offset: int = 0, threads: int | None = None) -> np.ndarray:
    r"""Fill ``tensor`` from the normal distribution :math:`\mathcal{N}(\text{mean}, \text{std}^2)`.

    Box-Muller on 31 random bits (plus half a step, never 0) per radius (float64: 52),
    so float32 values reach ``|z| = 6.66`` and never produce spurious outliers.

    Parameters
    ----------
    tensor : numpy.ndarray
        float16, bfloat16, float32 or float64 array, any layout; filled in place.
    mean : float
        Mean of the distribution.
    std : float
        Standard deviation, ``>= 0``.
    seed, offset, threads
        Keyword-only; see :func:`uniform_`.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.

    Raises
    ------
    ValueError
        A parameter is NaN or infinite, ``std < 0``, ``mean`` is outside the
        dtype's range, or ``std`` is so large that ``|mean| + z_max * std``
        overflows the dtype, ``z_max`` the largest ``|z|`` of the kernels (6.66 in the
        float32 arithmetic of float16, bfloat16 and float32, 8.57 in float64):
        the rule of :func:`constant_` and :func:`uniform_`, so no value is ever
        ±inf (the fan-based schemes built on ``normal_`` inherit it).

    Examples
    --------
    >>> w = winit.normal_(np.empty((768, 768), np.float32), std=0.02, seed=0)
    """
    mean = check_finite_param(mean, "mean")
    std = check_finite_param(std, "std", nonneg=True)
    prep = _prepare(tensor, "normal_", seed, offset, threads)
    if prep is None:
        return tensor
    key, off, nt = prep
    _check_in_range(mean, "mean", tensor.dtype, "normal_")
    _check_in_range(std, "std", tensor.dtype, "normal_",
                    reach=_normal_reach(mean, std, tensor.dtype))
    _random.fill_normal(tensor, mean, std, key, off, nt)
    return tensor


def _log_mills(x: float) -> float:
    """log(Q(x) / phi(x)) for x >= 0, Q the upper tail (Mills' ratio); -inf at x = inf."""
    if x > 1e8:  # Q(x) / phi(x) = (1 - 1/x^2 + ...) / x
        return -math.log(x)
    return _LOG_SQRT_HALF_PI + math.log(special.erfcx(x * _SQRT_HALF))


def _log_mass(alpha: float, beta: float) -> float:
    """log((Phi(beta) - Phi(alpha)) / phi(m)), m the point of [alpha, beta] nearest 0.

    Relative to the density at m, so nothing underflows in a far tail, and
    accurate to about 1e-14 for every alpha < beta however narrow: a central
    interval adds two erf terms (no cancellation); a one-sided one, mirrored
    to 0 <= lo < hi, is the integral of exp(-lo s - s^2 / 2) over [0, hi - lo],
    in closed form R(lo) - exp((lo^2 - hi^2) / 2) R(hi) (R Mills' ratio) unless
    the two terms cancel, and then, as the exponent varies by less than log 2
    over the interval, by 12-point Gauss-Legendre quadrature.
    """
    if alpha < 0 < beta:
        s = special.ndtr(alpha) + special.ndtr(-beta)
        if s < 0.5:
            return math.log1p(-s) + _LOG_SQRT_2PI
        mass = 0.5 * (special.erf(-alpha * _SQRT_HALF) + special.erf(beta * _SQRT_HALF))
        return math.log(mass) + _LOG_SQRT_2PI
    lo, hi = (alpha, beta) if alpha >= 0 else (-beta, -alpha)
    w = hi - lo
    r = math.exp(_log_mills(hi) - _log_mills(lo) - 0.5 * w * (lo + hi))
    if r <= 0.5:
        return _log_mills(lo) + math.log1p(-r)
    s = w * (0.5 + 0.5 * _GL_X)  # not 0.5 * w: that underflows for the smallest w
    return math.log(w) + math.log(0.5 * float(np.dot(_GL_W, np.exp(-lo * s - 0.5 * s * s))))


# Relative time per candidate of each rejection sampler (normal = 1), measured
# on x86-64 with AVX2 (ns per candidate at 1 thread, 1e7 values): a
# normal candidate costs one Philox word in float32 and two in float64, a
# uniform or exponential one four words and a float64 log. Constants, not
# measured at run time, so the choice (and with it the stream) is the same on
# every machine.
_TN_COST = {False: {_TN_NORMAL: 1.0, _TN_UNIFORM: 2.75, _TN_EXP: 3.6},
            True: {_TN_NORMAL: 1.0, _TN_UNIFORM: 1.2, _TN_EXP: 1.55}}


def _trunc_method(alpha: float, beta: float, f64: bool = False, normal: bool = True) -> dict:
    """Choose the rejection sampler with the least expected time for [alpha, beta].

    normal: plain normal candidates; uniform: uniform proposal on [alpha, beta]
    with acceptance exp((m^2 - x^2)/2), m the point nearest 0; exponential:
    Robert (1995) for a one-sided tail (the interval is mirrored when it lies
    below 0). Expected time per value is cost / acceptance, with the costs in
    ``_TN_COST`` for the working precision (``f64``: float64 destinations).
    The choice depends on the standardized bounds and the precision only
    (and on ``normal=False``, which rules the normal sampler out). The
    acceptances are computed relative to phi(m) (:func:`_log_mass`), so they
    stay exact for narrow intervals and far tails.
    """
    cost = _TN_COST[bool(f64)]
    m = 0.0 if alpha < 0 < beta else min(abs(alpha), abs(beta))
    log_rel = _log_mass(alpha, beta)
    acc = math.exp(log_rel - 0.5 * m * m - _LOG_SQRT_2PI) if normal else 0.0
    best = {"method": _TN_NORMAL, "accept": acc, "flip": False,
            "alpha": alpha, "beta": beta, "m2": 0.0, "lam": 0.0}

    def better(method: int, acc: float) -> bool:
        return acc * cost[best["method"]] > best["accept"] * cost[method]

    if math.isfinite(beta - alpha):
        acc = math.exp(log_rel - math.log(beta - alpha))
        if better(_TN_UNIFORM, acc):
            best = dict(best, method=_TN_UNIFORM, accept=acc, m2=m * m)
    if alpha >= 0 or beta <= 0:
        flip = beta <= 0 and not alpha >= 0
        a1, b1 = (-beta, -alpha) if flip else (alpha, beta)
        lam = 0.5 * (a1 + math.sqrt(a1 * a1 + 4.0)) if a1 < 1e150 else a1
        d = 2.0 / (math.sqrt(a1 * a1 + 4.0) + a1)  # lam - a1, without cancellation
        acc = math.exp(log_rel + math.log(lam) - 0.5 * d * d)
        if better(_TN_EXP, acc):
            best = dict(best, method=_TN_EXP, accept=acc, flip=flip, alpha=a1, beta=b1, lam=lam)
    best["accept"] = min(max(best["accept"], 1e-6), 1.0)
    return best


def _resolvable(alpha: float, beta: float) -> bool:
    """Whether float64 resolves the standardized interval [alpha, beta] for sampling.

    True when at least 2^12 doubles lie across the width over which the density
    changes: the interval, at most 1 / max(1, m) (m its point nearest 0).
    False for intervals narrower than that (bounds that collapse in std units
    included) and for tails beyond about 1.5e6 std.
    """
    m = 0.0 if alpha < 0 < beta else min(abs(alpha), abs(beta))
    w = min(beta - alpha, 1.0 / max(1.0, m))
    return w >= 2.0**12 * math.ulp(m + w)


def _recenter(mean: float, std: float, a: float, b: float, alpha: float,
              beta: float) -> tuple[float, float, float, float]:
    """(mean, std, alpha, beta) of a normal the sampler resolves, with the same shape on [a, b].

    Over [a, b] the log-density of N(mean, std^2) changes by about
    v = m (b - a) / std (m the nearest standardized point). For v <= 2^-40 it is
    flat: the new normal is centred on [a, b] with std 2^20 (b - a). Otherwise
    the new normal has the same slope at the bound nearest the mean, placed at
    t = 2^16 min(1, sqrt(v)) < m new stds: the log-density differs by about
    (min(b - a, std_new / t) / std_new)^2 / 2 < 1e-9 where the mass is, and
    [a, b] spans 2^20 doubles in the new std units.
    """
    m = 0.0 if alpha < 0 < beta else min(abs(alpha), abs(beta))
    v = m * ((b - a) / std)
    if not v > 2.0**-40:
        mid, s = 0.5 * a + 0.5 * b, (b - a) * 2.0**20
        return mid, s, (a - mid) / s, (b - mid) / s
    t = 2.0**16 * min(1.0, math.sqrt(v))
    s = std * (t / m)
    if alpha >= 0:
        return a - t * s, s, t, t + v / t
    return b + t * s, s, -t - v / t, -t


def _check_trunc_reach(mean: float, std: float, a: float, b: float) -> None:
    """ValueError when values the sampler reaches lie beyond float64's range from ``mean``.

    The kernels compute ``mean + std * z``; ``std * z`` is the distance of a
    value from the mean, up to that of the far bound or 40 std past the near one.
    """
    near = 0.0 if a <= mean <= b else min(abs(a - mean), abs(b - mean))
    far = max(abs(a - mean), abs(b - mean))
    if math.isinf(min(far, near + 40.0 * std)):
        raise ValueError(f"trunc_normal_: [a, b] - mean overflows the working precision "
                         f"(mean={mean}, a={a}, b={b})")


def _trunc_job(mean: float, std: float, a: float, b: float,
               dt: np.dtype) -> tuple[float, float, dict] | None:
    """(mean, std, sampler) for the kernel on finite ``a < b`` in ``dt``'s range, ``std > 0``.

    None when [a, b] lies more than the float64 range of stds from the mean.
    An interval float64 does not resolve in std units is re-centred
    (:func:`_recenter`); the normal sampler is ruled out where its float32
    arithmetic (float16, bfloat16, float32) would overflow.
    """
    _check_trunc_reach(mean, std, a, b)
    alpha, beta = (a - mean) / std, (b - mean) / std
    if alpha == math.inf or beta == -math.inf:
        return None
    if not _resolvable(alpha, beta):
        mean, std, alpha, beta = _recenter(mean, std, a, b, alpha, beta)
    f64 = dt == np.float64
    z = min(_Z_MAX[False], max(abs(alpha), abs(beta)))
    normal = f64 or math.isfinite(_normal_reach(mean, std, np.dtype(np.float32), z))
    m = _trunc_method(alpha, beta, f64=f64, normal=normal)
    if m["accept"] < 2.0**-10:  # only without the normal sampler
        raise ValueError(f"trunc_normal_: mean={mean} and std={std} overflow the float32 "
                         f"working precision on [a, b] = [{a}, {b}]")
    return mean, std, m


def trunc_normal_(tensor: np.ndarray, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, *, seed: SeedLike = None, offset: int = 0,
                  threads: int | None = None) -> np.ndarray:
    r"""Fill ``tensor`` from :math:`\mathcal{N}(\text{mean}, \text{std}^2)` truncated to ``[a, b]``.

    ``a`` and ``b`` are absolute bounds, as in ``torch.nn.init.trunc_normal_``
    (Keras' ``truncated_normal``, bounds at ±2 std around the mean, is
    ``winit.get("truncated_normal")``). Exact rejection sampling, not
    clipping: normal, uniform or exponential proposals, whichever is expected
    to be fastest for the interval, so narrow intervals like (2, 3) and far tails like (5, 6)
    in std units are as fast as the central case. Every value lies inside
    ``[a, b]`` in the tensor's dtype.

    Every interval holding a value of the dtype is answered, however narrow or
    far in a tail. The sampler works in float64 std units, ``(x - mean) / std``,
    with acceptance rates computed without cancellation; where float64 cannot
    resolve the interval in those units (fewer than 2^12 doubles across the
    width over which the density changes: bounds that coincide in std units,
    tails beyond about 1.5e6 std) it samples a normal with the same
    log-density slope at the bound nearest the mean that it does resolve (the
    densities differ by about 1e-10 wherever the dtype tells values apart),
    and an interval over which the density is flat to 2^-40 falls back to a
    uniform over it. So ``a=1e-17, b=2e-17`` fills the interval, and the far
    tail ``a=1e10`` (std 1) gives ``a`` itself: the tail is 1e-10 wide, below
    the dtype's spacing there. Bounds beyond the dtype's finite range are
    taken at that range; bounds more than the float64 range of stds away from
    the mean give the nearest bound.

    Parameters
    ----------
    tensor : numpy.ndarray
        float16, bfloat16, float32 or float64 array, any layout; filled in place.
    mean, std : float
        Mean and standard deviation (``>= 0``) of the untruncated normal.
    a, b : float
        Absolute bounds, ``a <= b``; may be infinite.
    seed, offset, threads
        Keyword-only; see :func:`uniform_`.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.

    Raises
    ------
    ValueError
        No value of the dtype lies in ``[a, b]``; ``a > b``, ``std < 0`` or a
        parameter NaN (``mean``, ``std`` also infinite); ``std = 0`` with
        ``mean`` outside ``[a, b]`` or the dtype's range; values of the
        distribution farther from ``mean`` than float64's range; or, for
        float16, bfloat16 and float32, a ``mean`` and ``std`` whose float32
        arithmetic would overflow on ``[a, b]`` when no other sampler is viable.

    Examples
    --------
    >>> w = winit.trunc_normal_(np.empty((768, 3072), np.float32), std=0.02, a=-0.04, b=0.04)
    """
    mean = check_finite_param(mean, "mean")
    std = check_finite_param(std, "std", nonneg=True)
    a, b = _check_bound(a, "a"), _check_bound(b, "b")
    if a > b:
        raise ValueError(f"trunc_normal_: a must be <= b, got a={a}, b={b}")
    prep = _prepare(tensor, "trunc_normal_", seed, offset, threads)
    if prep is None:
        return tensor
    key, off, nt = prep
    dt = tensor.dtype
    big = _finfo_max(dt)
    lo = _round_up(max(a, -big), dt)
    hi = _round_down(min(b, big), dt)
    if hi < lo:
        raise ValueError(f"trunc_normal_: no {dt} value lies in [a, b] = [{a}, {b}]")
    if std == 0.0 or lo == hi:
        if std == 0.0:
            _check_in_range(mean, "mean", dt, "trunc_normal_")
            if not a <= mean <= b:
                raise ValueError(
                    f"trunc_normal_: std=0 and mean={mean} outside [a, b] = [{a}, {b}]")
        tensor[...] = min(max(mean, lo), hi)
        return tensor
    job = _trunc_job(mean, std, max(a, -big), min(b, big), dt)  # nothing lies beyond the range
    if job is None:  # more than the float64 range of stds away: the nearest bound
        tensor[...] = lo if lo > mean else hi
        return tensor
    mean, std, m = job
    _random.fill_trunc_normal(tensor, mean, -std if m["flip"] else std, lo, hi, key, off, nt,
                              method=m["method"], alpha=m["alpha"], beta=m["beta"], m2=m["m2"],
                              lam=m["lam"], accept=m["accept"])
    return tensor


def constant_(tensor: np.ndarray, val: float, *, seed: SeedLike = None, offset: int = 0,
              threads: int | None = None) -> np.ndarray:
    r"""Fill ``tensor`` with ``val`` (rounded to its dtype): :math:`W_i = \text{val}`.

    ``torch.nn.init.constant_`` (Keras/JAX ``constant``). No random values are drawn.

    Parameters
    ----------
    tensor : numpy.ndarray
        float16, bfloat16, float32 or float64 array, any layout; filled in place.
    val : float
        The value: a finite real number (Python or numpy scalar, or 0-d array)
        within the dtype's range.
    seed, offset, threads
        Keyword-only, accepted for the signature every fill shares; they do not
        change the result. ``offset`` and ``threads`` are still checked as in
        :func:`uniform_`; ``seed`` is not used.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.

    Raises
    ------
    ValueError
        ``val`` is NaN or infinite, or its magnitude exceeds the largest finite
        value of the tensor's dtype (e.g. 65504 for float16); a read-only
        ``tensor``; an ``offset`` outside ``[0, 2**64)`` or ``threads < 1``.
    TypeError
        ``tensor`` is not a numpy array of a supported dtype, ``val`` is not a
        real number, or ``offset``/``threads`` is not an int.

    Examples
    --------
    >>> w = winit.constant_(np.empty((2, 3), np.float32), 0.5)
    """
    val = check_finite_param(val, "val")
    check_float_array(tensor)
    resolve_offset(offset)
    resolve_threads(threads)
    if warn_empty(tensor, "constant_"):
        return tensor
    _check_in_range(val, "val", tensor.dtype, "constant_")
    tensor[...] = val
    return tensor


def zeros_(tensor: np.ndarray, *, seed: SeedLike = None, offset: int = 0,
           threads: int | None = None) -> np.ndarray:
    """Fill ``tensor`` with zeros (``torch.nn.init.zeros_``).

    Parameters
    ----------
    tensor, seed, offset, threads
        As in :func:`constant_`; the result is ``constant_(tensor, 0.0)``, ``tensor``
        itself.

    Returns
    -------
    numpy.ndarray
    """
    return constant_(tensor, 0.0, seed=seed, offset=offset, threads=threads)


def ones_(tensor: np.ndarray, *, seed: SeedLike = None, offset: int = 0,
          threads: int | None = None) -> np.ndarray:
    """Fill ``tensor`` with ones (``torch.nn.init.ones_``).

    Parameters
    ----------
    tensor, seed, offset, threads
        As in :func:`constant_`; the result is ``constant_(tensor, 1.0)``, ``tensor``
        itself.

    Returns
    -------
    numpy.ndarray
    """
    return constant_(tensor, 1.0, seed=seed, offset=offset, threads=threads)


def truncated_normal_(tensor: np.ndarray, mean: float = 0.0, std: float = 0.05,
                      lower: float = -2.0, upper: float = 2.0, *, seed: SeedLike = None,
                      offset: int = 0, threads: int | None = None) -> np.ndarray:
    r"""Keras/JAX truncated normal: :math:`\mathcal{N}(\text{mean}, \text{std}^2)` cut at ±2 std.

    Bounds are *relative*, in units of ``std`` around ``mean``: this is
    :func:`trunc_normal_` on

    .. math::
        [a, b] = [\text{mean} + \text{lower} \cdot \text{std},\
                  \text{mean} + \text{upper} \cdot \text{std}]

    and ``std`` is the standard deviation *before* truncation (the result's
    is about 0.88 ``std``), as ``keras.initializers.TruncatedNormal`` (default
    ``std=0.05``) and ``jax.nn.initializers.truncated_normal`` (default
    ``stddev=1e-2``: pass ``std=0.01``). torch's ``trunc_normal_`` (absolute
    bounds ``a``, ``b``) is :func:`trunc_normal_`.

    Parameters
    ----------
    tensor : numpy.ndarray
        Filled in place.
    mean, std : float
        Mean and pre-truncation standard deviation (>= 0).
    lower, upper : float
        Truncation bounds in standard deviations, ``lower <= upper``.
    seed, offset, threads
        Keyword-only; see :func:`uniform_`.

    Returns
    -------
    numpy.ndarray
        ``tensor`` itself.

    Raises
    ------
    ValueError
        ``lower > upper``, an infinite bound with ``std = 0`` (``inf * 0``), or as
        :func:`trunc_normal_` for the resulting absolute bounds.
    """
    mean, std = check_finite_param(mean, "mean"), check_finite_param(std, "std", nonneg=True)
    lower, upper = _check_bound(lower, "lower"), _check_bound(upper, "upper")
    if lower > upper:
        raise ValueError(f"truncated_normal_: lower must be <= upper, got lower={lower}, "
                         f"upper={upper}")
    a, b = mean + lower * std, mean + upper * std
    if math.isnan(a) or math.isnan(b):  # an infinite bound times std = 0
        raise ValueError(f"truncated_normal_: lower={lower}, upper={upper} with std={std} give "
                         "no bounds (inf * 0)")
    return trunc_normal_(tensor, mean, std, a, b, seed=seed, offset=offset, threads=threads)
