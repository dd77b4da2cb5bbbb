"""The stream definition of winit's sampling kernels, executable: a pure-numpy reference.

This module re-derives, without the C code, the value that ``winit.uniform_``,
``winit.normal_`` and ``winit.trunc_normal_`` write at every stream index, so that the tests in
``test_reference.py`` can compare the kernels with it bit for bit and say at
which element, block, group and word they first disagree.

The stream (``src/sample.h``, ``src/sample.c``, ``src/sample_impl.h``, ``src/wmath.h``):

* **Key.** A seed becomes a 64-bit key (:func:`seed_key`; ``winit.Key(k)`` is
  used as is). Philox4x32-10 is keyed by the key's low word, then its high word.
* **Blocks and groups.** The element at absolute index ``i`` (``offset`` plus the
  flat C-order index) lies in block ``b = i // 4096`` at position
  ``p = i % 4096``. A distribution that takes ``per`` values from one Philox
  call (4 for float32, 2 for float64) uses group ``g = (4096 / per) b + p % (4096 / per)``
  and lane ``p // (4096 / per)`` of that group (:func:`locate`).
* **Counter.** Group ``g`` is the Philox counter ``(g mod 2**32, g >> 32, 0, tag)``,
  with one tag per distribution and precision (:data:`TAGS`).
* **Uniform, float32** (float16 and bfloat16 round this value with
  round-to-nearest-even): lane ``k`` uses word ``k``; ``u = (w >> 8) 2**-24``;
  ``x = float32(a) + float32(b - a) * u`` in float32, clamped to
  ``[lo, hi]``, the smallest value of the destination dtype ``>= a`` and the
  largest one ``< b``.
* **Uniform, float64**: lane 0 uses words (0, 1), lane 1 words (2, 3), high word
  first; ``u`` is the top 52 bits of the 64 as a double in ``[0, 1)``;
  ``x = a + (b - a) u`` in double, clamped the same way.
* **Normal, float32**: Box-Muller on the word pairs (0, 1) and (2, 3); the
  first word of a pair gives the radius ``sqrt(-2 log u)`` with ``u`` in
  ``(0, 1]`` from 31 bits, the second the angle; lanes 0..3 take
  ``r cos, r sin, r' cos', r' sin'``. ``x = float32(mean) + float32(std) * (r cos)``.
* **Normal, float64**: words (0, 1) give the radius (52 bits, high word first),
  words (2, 3) the angle; lane 0 takes ``r cos``, lane 1 ``r sin``.
* **Truncated normal**: each block has its own stream of candidate groups
  ``j = 0, 1, ...``, counter ``(j, b mod 2**32, 0, tag | b >> 32)``; the
  candidates (standard normals, or the uniform or exponential rejection
  proposals) are taken in group order and the first 4096 inside the
  standardized interval make the block (:func:`trunc_normal`).

The logarithm and sine/cosine are the kernels' own branch-free approximations
(``wm_logf``, ``wm_log``, ``wm_sincos_bits_f32``, ``wm_sincos_bits_f64``). They
use only correctly rounded IEEE operations in a fixed order and the build turns
FMA contraction off, so the same operations in numpy, in the same precision and
order, give the same bits: every function here is exact, normals included.

Everything is vectorised over elements (uint32/uint64 arithmetic for Philox's
32x32->64 products); nothing here imports winit.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np

__all__ = [
    "BLOCK",
    "box_muller_f32",
    "box_muller_f64",
    "PHILOX_KNOWN_ANSWERS",
    "TAGS",
    "TRUNC_TAGS",
    "describe",
    "locate",
    "log_f32",
    "log_f64",
    "normal",
    "philox4x32_10",
    "seed_key",
    "sincos_bits_f32",
    "sincos_bits_f64",
    "trunc_normal",
    "trunc_params",
    "u01_f32",
    "u01_f64",
    "u01_open_f32",
    "u01_open_f64",
    "uniform",
    "uniform_bounds",
    "words",
]

BLOCK = 4096
BFLOAT16 = np.dtype(ml_dtypes.bfloat16)

_M0, _M1 = 0xD2511F53, 0xCD9E8D57  # round multipliers
_W0, _W1 = 0x9E3779B9, 0xBB67AE85  # key bumps (Weyl sequence)
_MASK32 = 0xFFFFFFFF

# Counter word 3 of each stream (ASCII "UF32", "UF64", "NF32", "NF64").
TAGS = {
    ("uniform", 4): 0x55463332,
    ("uniform", 2): 0x55463634,
    ("normal", 4): 0x4E463332,
    ("normal", 2): 0x4E463634,
}
# Truncated normal: the tag is the top byte of word 3 ("T" for float32 and the
# half types, "t" for float64), the block's high bits the rest.
TRUNC_TAGS = {False: 0x54000000, True: 0x74000000}

# Random123's known-answer vectors for Philox4x32-10: (counter, key, output).
PHILOX_KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((_MASK32,) * 4, (_MASK32,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]

_F32 = np.float32
_U32 = np.uint32


# ---- generator ---------------------------------------------------------------


def _mulhilo(m: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """High and low 32 bits of the 64-bit product ``m * x``, elementwise."""
    p = np.uint64(m) * x.astype(np.uint64)
    return (p >> np.uint64(32)).astype(_U32), p.astype(_U32)


def philox4x32_10(ctr, key) -> tuple[np.ndarray, ...]:
    """Philox4x32-10 (Salmon et al., SC'11) on counters ``ctr`` with key ``key``.

    Each round maps ``(x0, x1, x2, x3)`` to
    ``(hi(M1 x2) ^ x1 ^ k0, lo(M1 x2), hi(M0 x0) ^ x3 ^ k1, lo(M0 x0))``, and the
    key is bumped by ``(W0, W1)`` (mod 2**32) between rounds.

    Parameters
    ----------
    ctr : sequence of 4 uint32 array-likes
        Counter words x0..x3 (broadcast together).
    key : (int, int)
        Key words k0, k1.

    Returns
    -------
    tuple of 4 numpy.ndarray
        The output words, uint32.
    """
    x0, x1, x2, x3 = (np.asarray(c, dtype=_U32) for c in np.broadcast_arrays(*ctr))
    k0, k1 = int(key[0]), int(key[1])
    for r in range(10):
        hi0, lo0 = _mulhilo(_M0, x0)
        hi1, lo1 = _mulhilo(_M1, x2)
        x0, x1, x2, x3 = hi1 ^ x1 ^ _U32(k0), lo1, hi0 ^ x3 ^ _U32(k1), lo0
        if r < 9:
            k0, k1 = (k0 + _W0) & _MASK32, (k1 + _W1) & _MASK32
    return x0, x1, x2, x3


def seed_key(seed) -> int:
    """The 64-bit key of an int seed >= 0: ``SeedSequence(seed).generate_state(1, uint64)[0]``."""
    return int(np.random.SeedSequence(int(seed)).generate_state(1, np.uint64)[0])


def locate(index: np.ndarray, per: int) -> tuple[np.ndarray, np.ndarray]:
    """Group and lane of the stream indices ``index`` when one group gives ``per`` values.

    Returns
    -------
    group : numpy.ndarray of uint64
        ``(4096 / per) * (i // 4096) + (i % 4096) % (4096 / per)``.
    lane : numpy.ndarray of int64
        ``(i % 4096) // (4096 / per)``, in ``[0, per)``.
    """
    i = np.asarray(index, dtype=np.uint64)
    n = np.uint64(BLOCK // per)
    b, p = i // np.uint64(BLOCK), i % np.uint64(BLOCK)
    return n * b + p % n, (p // n).astype(np.int64)


def words(key: int, tag: int, group: np.ndarray) -> np.ndarray:
    """Philox words of the groups ``group``: shape ``(4, len(group))``, uint32.

    The counter of group ``g`` is ``(g mod 2**32, g >> 32, 0, tag)``; the key is
    ``(key mod 2**32, key >> 32)``.
    """
    g = np.asarray(group, dtype=np.uint64)
    ctr = (g.astype(_U32), (g >> np.uint64(32)).astype(_U32), _U32(0), _U32(tag))
    return np.stack(philox4x32_10(ctr, (key & _MASK32, key >> 32)))


# ---- bits to floats (wmath.h) ----------------------------------------------


def _f32_bits(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=_F32).view(_U32)


def _bits_f32(u: np.ndarray) -> np.ndarray:
    return np.asarray(u, dtype=_U32).view(_F32)


def _hilo(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    return (hi.astype(np.uint64) << np.uint64(32)) | lo.astype(np.uint64)


def _unit_f64(bits52: np.ndarray) -> np.ndarray:
    """The double ``1.bits52 - 1`` (52 bits as a fraction in [0, 1)), exact."""
    return (np.uint64(0x3FF0000000000000) | bits52).view(np.float64) - 1.0


def u01_f32(w: np.ndarray) -> np.ndarray:
    """``(w >> 8) 2**-24``: float32 in [0, 1) from the top 24 bits (``wm_u01_f32``)."""
    return (w >> _U32(8)).astype(np.int32).astype(_F32) * _F32(2.0**-24)


def u01_open_f32(w: np.ndarray) -> np.ndarray:
    """``float32(w >> 1) 2**-31 + 2**-32``: in (0, 1], for logs (``wm_u01_open_f32``)."""
    return (w >> _U32(1)).astype(np.int32).astype(_F32) * _F32(2.0**-31) + _F32(2.0**-32)


def u01_f64(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Double in [0, 1) from the top 52 bits of ``hi:lo`` (``wm_u01_f64``)."""
    return _unit_f64(_hilo(hi, lo) >> np.uint64(12))


def u01_open_f64(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """``u01_f64(hi, lo) + 2**-53``: in (0, 1), for logs (``wm_u01_open_f64``)."""
    return u01_f64(hi, lo) + 2.0**-53


def log_f32(x: np.ndarray) -> np.ndarray:
    """``wm_logf``: fdlibm's log in float32 (reduction to [sqrt(1/2), sqrt(2)), minimax R).

    ``log(x) = e ln2_hi + (e ln2_lo + (f - (f^2/2 - s (f^2/2 + R(s^2)))))``,
    ``x = 2^e (1 + f)``, ``s = f / (2 + f)``; valid for positive normal ``x``.
    """
    ix = _f32_bits(x) - _U32(0x3F3504F3)
    e = ix.view(np.int32) >> 23
    f = _bits_f32((ix & _U32(0x007FFFFF)) + _U32(0x3F3504F3)) - _F32(1.0)
    s = f / (_F32(2.0) + f)
    z = s * s
    w = z * z
    t1 = w * (_F32(0.40000972152) + w * _F32(0.24279078841))
    t2 = z * (_F32(0.66666662693) + w * _F32(0.28498786688))
    r = t2 + t1
    hfsq = _F32(0.5) * f * f
    ef = e.astype(_F32)
    return ef * _F32(6.9313812256e-01) + ((ef * _F32(9.0580006145e-06))
                                          + (f - (hfsq - s * (hfsq + r))))


def log_f64(x: np.ndarray) -> np.ndarray:
    """``wm_log``: fdlibm's log in double, same scheme as :func:`log_f32`."""
    ix = np.asarray(x, dtype=np.float64).view(np.uint64) - np.uint64(0x3FE6A09E667F3BCD)
    e = (ix.view(np.int64) >> 52).astype(np.int32)
    m = ((ix & np.uint64(0x000FFFFFFFFFFFFF)) + np.uint64(0x3FE6A09E667F3BCD)).view(np.float64)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01
                                             + w * 1.531383769920937332e-01))
    t2 = z * (6.666666666666735130e-01 + w * (2.857142874366239149e-01 + w * (
        1.818357216161805012e-01 + w * 1.479819860511658591e-01)))
    r = t2 + t1
    hfsq = 0.5 * f * f
    ef = e.astype(np.float64)
    return ef * 6.93147180369123816490e-01 + ((ef * 1.90821492927058770002e-10)
                                              + (f - (hfsq - s * (hfsq + r))))


def _horner(x2: np.ndarray, coefs) -> np.ndarray:
    """``c0 + x2 (c1 + x2 (c2 + ...))`` evaluated innermost first, in x2's precision."""
    acc = coefs[-1]
    for c in coefs[-2::-1]:
        acc = c + x2 * acc
    return acc


def _octant(q, h, t, pi4, s_coefs, c_coefs):
    """sin and cos of the angle ``(q + (h + x / (pi/4)) / 2) pi/2`` (quadrant q, half h)."""
    x = np.where(h == 1, t.dtype.type(1.0) - t, t) * pi4
    x2 = x * x
    s = x * _horner(x2, s_coefs)
    c = _horner(x2, c_coefs)
    swap = (h ^ (q & 1)) == 1
    s, c = np.where(swap, c, s), np.where(swap, s, c)
    return np.where(q >= 2, -s, s), np.where((q == 1) | (q == 2), -c, c)


_SIN_F32 = tuple(_F32(c) for c in (1.0, -1.6666667163e-01, 8.3333337680e-03, -1.9841270114e-04,
                                   2.7557319224e-06))
_COS_F32 = tuple(_F32(c) for c in (1.0, -0.5, 4.1666667908e-02, -1.3888889225e-03,
                                   2.4801587642e-05, -2.7557319224e-07))
_SIN_F64 = (1.0, -1.0 / 6, 1.0 / 120, -1.0 / 5040, 1.0 / 362880, -1.0 / 39916800,
            1.0 / 6227020800.0, -1.0 / 1307674368000.0, 1.0 / 355687428096000.0)
_COS_F64 = (1.0, -0.5, 1.0 / 24, -1.0 / 720, 1.0 / 40320, -1.0 / 3628800, 1.0 / 479001600.0,
            -1.0 / 87178291200.0, 1.0 / 20922789888000.0)


def sincos_bits_f32(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``wm_sincos_bits_f32``: sin and cos of ``2 pi (w + 1/2) / 2**32`` in float32.

    Bits 31-30 of ``w`` are the quadrant, bit 29 the half-quadrant, bits 28-0
    the position ``t = (float32(bits) + 0.5) 2**-29`` in it; the angle within
    [0, pi/4] is ``x = t pi/4`` (or ``(1 - t) pi/4`` in the upper half), where
    Taylor polynomials of degree 9 (sin) and 10 (cos) are evaluated by Horner.
    """
    q, h = (w >> _U32(30)).astype(np.int64), ((w >> _U32(29)) & _U32(1)).astype(np.int64)
    t = ((w & _U32(0x1FFFFFFF)).astype(np.int32).astype(_F32) + _F32(0.5)) * _F32(2.0**-29)
    return _octant(q, h, t, _F32(0.785398163397448310), _SIN_F32, _COS_F32)


def sincos_bits_f64(hi: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``wm_sincos_bits_f64``: as :func:`sincos_bits_f32` for the 64 bits ``hi:lo``.

    The position is the 52 bits below the top three, ``t = 1.bits - 1 + 2**-53``,
    and the polynomials go to degree 17 (sin) and 16 (cos), in double.
    """
    q, h = (hi >> _U32(30)).astype(np.int64), ((hi >> _U32(29)) & _U32(1)).astype(np.int64)
    bits = _hilo(hi & _U32(0x1FFFFFFF), lo) >> np.uint64(9)
    t = _unit_f64(bits) + 2.0**-53
    return _octant(q, h, t, 0.785398163397448309615660845819875721, _SIN_F64, _COS_F64)


# ---- distributions ---------------------------------------------------------


def _per(dtype: np.dtype) -> int:
    return 2 if np.dtype(dtype) == np.float64 else 4


def _stream(key: int, offset: int, size: int, dist: str, dtype):
    """Lanes and Philox words (4, size) for elements offset..offset+size-1."""
    per = _per(dtype)
    index = np.uint64(offset) + np.arange(size, dtype=np.uint64)
    group, lane = locate(index, per)
    return lane, words(key, TAGS[(dist, per)], group)


def _pick(w: np.ndarray, row: np.ndarray) -> np.ndarray:
    """``w[row[j], j]`` for every column j."""
    return w[row, np.arange(w.shape[1])]


def _finish(x: np.ndarray, dtype) -> np.ndarray:
    """Round the working-precision values to the destination dtype (nearest even)."""
    return x.astype(np.dtype(dtype))


def _bounds(a: float, b: float, dtype, strict: bool) -> tuple[float, float]:
    """The least ``dtype`` value >= a and the greatest <= b (< b when ``strict``)."""
    dt = np.dtype(dtype)
    up, down = np.asarray(np.inf, dtype=dt), np.asarray(-np.inf, dtype=dt)
    lo, hi = np.asarray(a).astype(dt), np.asarray(b).astype(dt)
    lo = lo if float(lo) >= a else np.nextafter(lo, up)
    inside = float(hi) < b if strict else float(hi) <= b
    hi = hi if inside else np.nextafter(hi, down)
    return float(lo), float(hi)


def uniform_bounds(a: float, b: float, dtype) -> tuple[float, float]:
    """The clamp bounds of uniform(a, b): the least ``dtype`` value >= a, the greatest < b."""
    return _bounds(a, b, dtype, strict=True)


def uniform(key: int, offset: int, size: int, a: float, b: float, dtype) -> np.ndarray:
    """The values ``winit.uniform_(x, a, b, seed=Key(key), offset=offset)`` writes (``a < b``).

    Parameters
    ----------
    key : int
        64-bit Philox key.
    offset, size : int
        Stream index of the first element and number of elements.
    a, b : float
        Bounds of [a, b).
    dtype : dtype-like
        float16, bfloat16 (computed in float32 and rounded), float32 or float64.

    Returns
    -------
    numpy.ndarray
        ``size`` values of ``dtype``.
    """
    lane, w = _stream(key, offset, size, "uniform", dtype)
    lo, hi = uniform_bounds(a, b, dtype)
    if _per(dtype) == 2:
        x = a + (b - a) * u01_f64(_pick(w, 2 * lane), _pick(w, 2 * lane + 1))
    else:
        x = _F32(a) + _F32(b - a) * u01_f32(_pick(w, lane))
        lo, hi = _F32(lo), _F32(hi)
    return _finish(np.minimum(np.maximum(x, lo), hi), dtype)


def box_muller_f32(w: np.ndarray) -> np.ndarray:
    """Standard normals of float32 groups, shape (4, n): lanes r cos, r sin, r' cos', r' sin'.

    Words 0 and 2 give the radii ``sqrt(-2 log u)`` (:func:`u01_open_f32`,
    :func:`log_f32`), words 1 and 3 the angles (:func:`sincos_bits_f32`).
    """
    r = np.sqrt(_F32(-2.0) * log_f32(u01_open_f32(w[0::2])))
    s, c = sincos_bits_f32(w[1::2])
    return np.stack([r[0] * c[0], r[0] * s[0], r[1] * c[1], r[1] * s[1]])


def box_muller_f64(w: np.ndarray) -> np.ndarray:
    """Standard normals of float64 groups, shape (2, n): r cos, r sin.

    Words (0, 1) give the radius, words (2, 3) the angle, high word first.
    """
    r = np.sqrt(-2.0 * log_f64(u01_open_f64(w[0], w[1])))
    s, c = sincos_bits_f64(w[2], w[3])
    return np.stack([r * c, r * s])


def normal(key: int, offset: int, size: int, mean: float, std: float, dtype) -> np.ndarray:
    """The values ``winit.normal_(x, mean, std, seed=Key(key), offset=offset)`` writes.

    Parameters and Returns as in :func:`uniform`, with the normal's ``mean``
    and ``std`` (rounded to float32 first for every dtype but float64).
    """
    lane, w = _stream(key, offset, size, "normal", dtype)
    if _per(dtype) == 2:
        return mean + std * _pick(box_muller_f64(w), lane)
    return _finish(_F32(mean) + _F32(std) * _pick(box_muller_f32(w), lane), dtype)


def trunc_params(mean: float, std: float, a: float, b: float, method: str, dtype) -> dict:
    """The kernel parameters of trunc_normal(mean, std, a, b) sampled by ``method``.

    ``method`` is what ``winit.sampling`` chose for the standardized interval
    (``"normal"``, ``"uniform"`` or ``"exp"``; the choice itself is a cost model,
    not part of the stream). Returns the clamp bounds ``lo``, ``hi`` (the
    extreme ``dtype`` values inside [a, b]), the sampled standardized interval
    ``alpha``, ``beta`` (mirrored to ``[-beta, -alpha]`` for the exponential
    method below 0, with ``scale = -std``), ``m2`` (uniform: squared distance of
    the interval to 0) and ``lam`` (exponential rate, Robert 1995).
    """
    big = float(ml_dtypes.finfo(np.dtype(dtype)).max)
    lo, hi = _bounds(max(a, -big), min(b, big), dtype, strict=False)
    alpha, beta = (a - mean) / std, (b - mean) / std
    p = {"lo": lo, "hi": hi, "alpha": alpha, "beta": beta, "scale": std, "m2": 0.0, "lam": 0.0}
    if method == "uniform":
        m = 0.0 if alpha < 0 < beta else min(abs(alpha), abs(beta))
        p["m2"] = m * m
    elif method == "exp":
        if beta <= 0 and not alpha >= 0:
            p.update(alpha=-beta, beta=-alpha, scale=-std)
        p["lam"] = 0.5 * (p["alpha"] + math.sqrt(p["alpha"] * p["alpha"] + 4.0))
    return p


def _trunc_candidates(w: np.ndarray, method: str, f32: bool, p: dict) -> np.ndarray:
    """Candidates of the groups of ``w``, shape (per group, n); rejected ones are NaN."""
    if method == "normal":
        if f32:
            return _F32(0.0) + _F32(1.0) * box_muller_f32(w)
        return 0.0 + 1.0 * box_muller_f64(w)
    e = -2.0 * log_f64(u01_open_f64(w[2], w[3]))
    alpha = p["alpha"]
    if method == "uniform":
        x = alpha + (p["beta"] - alpha) * u01_f64(w[0], w[1])
        ok = e >= x * x - p["m2"]
    else:
        x = alpha - log_f64(u01_open_f64(w[0], w[1])) * (1.0 / p["lam"])
        d = x - p["lam"]
        ok = e >= d * d
    return np.where(ok, x, np.nan)[None]


def _trunc_block(key: int, block: int, method: str, f64: bool, p: dict) -> np.ndarray:
    """The first 4096 accepted standardized values of ``block``.

    Candidate group ``j`` of block ``b`` has the counter
    ``(j, b mod 2**32, 0, tag | b >> 32)``; candidates are taken in group order
    (group, then lane) and kept when they lie in [alpha, beta].
    """
    f32 = method == "normal" and not f64
    alpha, beta = (_F32(p["alpha"]), _F32(p["beta"])) if f32 else (p["alpha"], p["beta"])
    c1, c3 = block & _MASK32, TRUNC_TAGS[f64] | (block >> 32)
    kept, count, j0, chunk = [], 0, 0, 4096
    while count < BLOCK:
        j = np.arange(j0, j0 + chunk, dtype=_U32)
        w = np.stack(philox4x32_10((j, _U32(c1), _U32(0), _U32(c3)), (key & _MASK32, key >> 32)))
        v = _trunc_candidates(w, method, f32, p).T.ravel()
        kept.append(v[(v >= alpha) & (v <= beta)])
        count += kept[-1].size
        j0 += chunk
    return np.concatenate(kept)[:BLOCK]


def trunc_normal(key: int, offset: int, size: int, mean: float, std: float, a: float, b: float,
                 method: str, dtype) -> np.ndarray:
    """The values ``winit.trunc_normal_(x, mean, std, a, b, seed=Key(key), offset=offset)`` writes.

    For ``std > 0`` and an interval wider than a value of ``dtype``; ``method``
    as in :func:`trunc_params`. Each block of 4096 stream indices takes the
    first 4096 accepted candidates of its own candidate stream
    (:func:`_trunc_block`), then ``mean + scale z`` clamped to ``[lo, hi]``: in
    float32 for normal candidates in float32, else in double and rounded to
    float32 (then to the half types) or kept in double.
    """
    dt = np.dtype(dtype)
    f64 = dt == np.float64
    p = trunc_params(mean, std, a, b, method, dt)
    first, last = offset // BLOCK, (offset + size - 1) // BLOCK
    z = np.concatenate([_trunc_block(key, blk, method, f64, p) for blk in range(first, last + 1)])
    z = z[offset % BLOCK:offset % BLOCK + size]
    lo, hi, scale = p["lo"], p["hi"], p["scale"]
    if z.dtype == np.float32:
        mean, scale, lo, hi = _F32(mean), _F32(scale), _F32(lo), _F32(hi)
    x = np.minimum(np.maximum(mean + scale * z, lo), hi)
    return x if f64 else _finish(x.astype(_F32), dt)


def describe(index: int, dtype=None) -> str:
    """Where stream index ``index`` lies: block and position, and for a uniform or
    normal ``dtype`` also its Philox group and lane."""
    where = f"stream index {index} (block {index // BLOCK}, position {index % BLOCK}"
    if dtype is None:
        return where + ")"
    per = _per(dtype)
    group, lane = locate(np.array([index], dtype=np.uint64), per)
    return where + f", group {int(group[0])}, lane {int(lane[0])} of {per})"
