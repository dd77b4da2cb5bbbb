"""Seeded sampling primitives: uniform, normal, truncated normal, constants.

Every function fills ``tensor`` in place (any memory layout) and returns it,
as ``torch.nn.init`` does. Random values come from a counter-based generator
(Philox4x32-10) in C: the value at flat C-order index ``i`` depends only on
(seed, ``offset + i``, distribution, parameters, dtype), so the result is the
same for every thread count, chunking, layout and SIMD path, and a tensor
filled in shards with ``offset`` is bit-identical to one filled whole.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
from scipy import special

from . import _random
from ._common import (
    SeedLike,
    check_finite_param,
    check_float_array,
    resolve_key,
    resolve_offset,
    resolve_threads,
    warn_empty,
)

__all__ = ["constant_", "normal_", "ones_", "trunc_normal_", "uniform_", "zeros_"]

_TN_NORMAL, _TN_UNIFORM, _TN_EXP = "normal", "uniform", "exponential"
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


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


def _finfo_max(dt: np.dtype) -> float:
    return float(ml_dtypes.finfo(dt).max)


def _round_up(x: float, dt: np.dtype) -> float:
    """Smallest value of dtype ``dt`` that is >= x (x within the dtype's range)."""
    v = np.asarray(x, dtype=np.float64).astype(dt)
    if float(v) < x:
        v = np.nextafter(v, np.asarray(np.inf, dtype=dt))
    return float(v)


def _round_down(x: float, dt: np.dtype, strict: bool = False) -> float:
    """Largest value of ``dt`` that is <= x (< x when ``strict``)."""
    v = np.asarray(x, dtype=np.float64).astype(dt)
    if float(v) > x or (strict and float(v) >= x):
        v = np.nextafter(v, np.asarray(-np.inf, dtype=dt))
    return float(v)


def _check_in_range(value: float, name: str, dt: np.dtype, func: str) -> None:
    if math.isfinite(value) and abs(value) > _finfo_max(dt):
        raise ValueError(f"{func}: {name}={value} is outside the range of {dt}")


def uniform_(tensor: np.ndarray, a: float = 0.0, b: float = 1.0, *, seed: SeedLike = None,
             offset: int = 0, threads: int | None = None) -> np.ndarray:
    r"""Fill ``tensor`` with values from the uniform distribution :math:`\mathcal{U}[a, b)`.

    Every value is in ``[a, b)`` after rounding to the tensor's dtype (values
    that would round up to ``b`` are kept just below it).

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

    Box-Muller on 32 random bits per radius (float64: 52), so float32 values
    reach |z| = 6.66 and never produce spurious outliers.

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
    _random.fill_normal(tensor, mean, std, key, off, nt)
    return tensor


def _log_mass(alpha: float, beta: float) -> float:
    """log(Phi(beta) - Phi(alpha)) without cancellation in either tail."""
    if alpha >= 0:
        hi, lo = special.log_ndtr(-alpha), special.log_ndtr(-beta)
    elif beta <= 0:
        hi, lo = special.log_ndtr(beta), special.log_ndtr(alpha)
    else:
        return math.log1p(-(special.ndtr(alpha) + special.ndtr(-beta)))
    return float(hi + math.log1p(-math.exp(lo - hi))) if lo < hi else -math.inf


# Relative time per candidate of each rejection sampler (normal = 1), measured
# on x86-64 with AVX2 (ns per candidate at 1 thread, 1e7 values): a
# normal candidate costs one Philox word in float32 and two in float64, a
# uniform or exponential one four words and a float64 log. Constants, not
# measured at run time, so the choice (and with it the stream) is the same on
# every machine.
_TN_COST = {False: {_TN_NORMAL: 1.0, _TN_UNIFORM: 2.75, _TN_EXP: 3.6},
            True: {_TN_NORMAL: 1.0, _TN_UNIFORM: 1.2, _TN_EXP: 1.55}}


def _trunc_method(alpha: float, beta: float, f64: bool = False) -> dict:
    """Choose the rejection sampler with the least expected time for [alpha, beta].

    normal: plain normal candidates; uniform: uniform proposal on [alpha, beta]
    with acceptance exp((m^2 - x^2)/2), m the point nearest 0; exponential:
    Robert (1995) for a one-sided tail (the interval is mirrored when it lies
    below 0). Expected time per value is cost / acceptance, with the costs in
    ``_TN_COST`` for the working precision (``f64``: float64 destinations).
    The choice depends on the standardized bounds and the precision only.
    """
    cost = _TN_COST[bool(f64)]
    log_mass = _log_mass(alpha, beta)
    best = {"method": _TN_NORMAL, "accept": math.exp(log_mass), "flip": False,
            "alpha": alpha, "beta": beta, "m2": 0.0, "lam": 0.0}

    def better(method: int, acc: float) -> bool:
        return acc * cost[best["method"]] > best["accept"] * cost[method]

    m = 0.0 if alpha < 0 < beta else min(abs(alpha), abs(beta))
    if math.isfinite(beta - alpha):
        acc = math.exp(log_mass - math.log(beta - alpha) + 0.5 * m * m + _LOG_SQRT_2PI)
        if better(_TN_UNIFORM, acc):
            best = dict(best, method=_TN_UNIFORM, accept=acc, m2=m * m)
    if alpha >= 0 or beta <= 0:
        flip = beta <= 0 and not alpha >= 0
        a1, b1 = (-beta, -alpha) if flip else (alpha, beta)
        lam = 0.5 * (a1 + math.sqrt(a1 * a1 + 4.0))
        acc = math.exp(log_mass + math.log(lam) + _LOG_SQRT_2PI + lam * a1 - 0.5 * lam * lam)
        if better(_TN_EXP, acc):
            best = dict(best, method=_TN_EXP, accept=acc, flip=flip, alpha=a1, beta=b1, lam=lam)
    best["accept"] = min(max(best["accept"], 1e-6), 1.0)
    return best


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

    Examples
    --------
    >>> w = winit.trunc_normal_(np.empty((768, 3072), np.float32), std=0.02, a=-0.04, b=0.04)
    """
    mean = check_finite_param(mean, "mean")
    std = check_finite_param(std, "std", nonneg=True)
    for name, v in (("a", a), ("b", b)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
            raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
        if math.isnan(float(v)):
            raise ValueError(f"{name} must not be NaN")
    a, b = float(a), float(b)
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
    _check_in_range(mean, "mean", dt, "trunc_normal_")
    if std == 0.0 or lo == hi:
        if std == 0.0 and not a <= mean <= b:
            raise ValueError(f"trunc_normal_: std=0 and mean={mean} outside [a, b] = [{a}, {b}]")
        tensor[...] = min(max(mean, lo), hi)
        return tensor
    alpha, beta = (a - mean) / std, (b - mean) / std
    if not alpha < beta:  # bounds so close that they coincide in std units
        tensor[...] = min(max(mean + std * alpha, lo), hi)
        return tensor
    m = _trunc_method(alpha, beta, f64=dt == np.float64)
    _random.fill_trunc_normal(tensor, mean, -std if m["flip"] else std, lo, hi, key, off, nt,
                              method=m["method"], alpha=m["alpha"], beta=m["beta"], m2=m["m2"],
                              lam=m["lam"], accept=m["accept"])
    return tensor


def constant_(tensor: np.ndarray, val: float, *, seed: SeedLike = None, offset: int = 0,
              threads: int | None = None) -> np.ndarray:
    """Fill ``tensor`` with ``val`` (rounded to its dtype).

    ``seed``, ``offset`` and ``threads`` are accepted for a uniform signature
    and do not change the result.

    Raises
    ------
    ValueError
        ``val`` is NaN or overflows the tensor's dtype.
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
    """Fill ``tensor`` with zeros; see :func:`constant_`."""
    return constant_(tensor, 0.0, seed=seed, offset=offset, threads=threads)


def ones_(tensor: np.ndarray, *, seed: SeedLike = None, offset: int = 0,
          threads: int | None = None) -> np.ndarray:
    """Fill ``tensor`` with ones; see :func:`constant_`."""
    return constant_(tensor, 1.0, seed=seed, offset=offset, threads=threads)
