"""Shared validation: dtypes, seeds, thread counts, stream keys.

Every public entry point goes through these helpers, so the rules of the API
contract (../shared/API.md, "Common conventions") live in one place.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import os
import sys
import warnings

import ml_dtypes
import numpy as np

from . import _runtime

__all__ = [
    "BFLOAT16",
    "FLOAT_DTYPES",
    "Key",
    "SeedLike",
    "check_float_array",
    "check_finite_param",
    "derive_key",
    "resolve_dtype",
    "resolve_key",
    "resolve_offset",
    "resolve_threads",
    "warn_empty",
]

BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
# The element types the native kernels handle (each extension maps them to its C type).
FLOAT_DTYPES = (np.dtype(np.float16), BFLOAT16, np.dtype(np.float32), np.dtype(np.float64))
_DTYPE_NAMES = "float16, bfloat16, float32 or float64"


class Key(int):
    """A raw 64-bit generator key, used as is (no SeedSequence hashing).

    ``seed=winit.Key(k)`` is how derived streams (one per tensor of a model,
    see :func:`derive_key`) are passed to the public functions. An int subclass:
    ``int(Key(k)) == k``, and it compares and hashes as that int.

    Parameters
    ----------
    value : int
        The key, ``0 <= value < 2**64`` (anything ``int()`` accepts).

    Raises
    ------
    ValueError
        ``value`` is outside ``[0, 2**64)``.

    Examples
    --------
    >>> winit.Key(2**32 + 1)
    Key(0x0000000100000001)
    """

    def __new__(cls, value: int):
        v = int(value)
        if not 0 <= v < 2**64:
            raise ValueError(f"Key must be in [0, 2**64), got {v}")
        return super().__new__(cls, v)

    def __repr__(self) -> str:
        return f"Key(0x{int(self):016x})"


SeedLike = int | np.integer | np.random.SeedSequence | np.random.Generator | Key | None


def resolve_dtype(dtype) -> np.dtype:
    """Turn a dtype-like (including the string ``"bfloat16"``) into a supported float dtype."""
    if isinstance(dtype, str) and dtype.lower() in ("bfloat16", "bf16"):
        return BFLOAT16
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"unsupported dtype {dtype!r}: expected {_DTYPE_NAMES}") from exc
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"unsupported dtype {dt}: expected {_DTYPE_NAMES}")
    return dt


def check_float_array(tensor, name: str = "tensor", *, writable: bool = True) -> np.ndarray:
    """Validate an array argument: a numpy array of a supported float dtype.

    Raises TypeError for non-arrays and unsupported dtypes (naming the dtype),
    ValueError for read-only arrays when ``writable``.
    """
    if not isinstance(tensor, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy.ndarray, got {type(tensor).__name__}"
            " (for a torch tensor pass tensor.numpy())"
        )
    if tensor.dtype not in FLOAT_DTYPES:
        if tensor.dtype.kind == "f" and tensor.dtype.newbyteorder("=") in FLOAT_DTYPES:
            raise TypeError(
                f"{name} has non-native byte order ({tensor.dtype.str}): byte-swap first, "
                f"e.g. a.astype(a.dtype.newbyteorder('='))"
            )
        raise TypeError(f"{name} has unsupported dtype {tensor.dtype}: expected {_DTYPE_NAMES}")
    if writable and not tensor.flags.writeable:
        raise ValueError(f"{name} is read-only: winit fills arrays in place")
    if writable and _self_overlapping(tensor):
        raise ValueError(
            f"{name} has strides {tensor.strides} under which elements share memory (e.g. "
            "np.lib.stride_tricks.as_strided): filling it would not be deterministic; "
            "fill a copy (np.ascontiguousarray) instead"
        )
    return tensor


def _self_overlapping(a: np.ndarray) -> bool:
    """Whether two elements of ``a`` may share memory (conservative, exact for slicings).

    The axes, sorted by |stride|, must nest: each stride at least the span of the
    smaller ones plus an element. Every view made by slicing, transposing or reshaping
    passes; zero strides (broadcasting) and overlapping ``as_strided`` views do not.
    """
    if a.size <= 1 or a.flags.c_contiguous or a.flags.f_contiguous:
        return False
    dims = sorted((abs(st), n) for n, st in zip(a.shape, a.strides, strict=True) if n > 1)
    span = a.itemsize
    for stride, n in dims:
        if stride < span:
            return True
        span = stride * (n - 1) + span
    return False


def warn_empty(tensor: np.ndarray, func: str) -> bool:
    """Warn as torch does and return True when ``tensor`` has no elements.

    The message is torch's own, ``Initializing zero-element tensors is a no-op``, so a
    ``warnings`` filter written for torch matches it (``func``, the public function
    called, is not part of it). The warning points at the first caller outside the
    winit package, i.e. the user's line, however deep inside winit the check runs.
    """
    if tensor.size != 0:
        return False
    package = __name__.partition(".")[0]
    frame, level = sys._getframe(1), 2  # stacklevel 2 is warn_empty's caller
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] == package:
        frame, level = frame.f_back, level + 1
    warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=level)
    return True


def check_finite_param(value, name: str, *, nonneg: bool = False) -> float:
    """A real, finite parameter (optionally >= 0) as a Python float.

    Python numbers, numpy scalars (bfloat16 included) and 0-d arrays of a real dtype
    (numpy's, or anything ``numpy.asarray`` turns into one, as JAX accepts them) are
    taken; bools are not. Only the value counts, never its dtype: a float32 array sets
    the same parameter as the Python float it equals. TypeError for any other type,
    ValueError naming the parameter for NaN, infinities and, with ``nonneg``, negatives.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not isinstance(value, numbers.Real):
        if not isinstance(value, (np.ndarray, np.generic)) and not hasattr(value, "__array__"):
            raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
        arr = np.asarray(value)
        if arr.ndim != 0 or not (arr.dtype.kind in "fiu" or arr.dtype in FLOAT_DTYPES):
            raise TypeError(
                f"{name} must be a real number (a Python or numpy scalar or a 0-d array), "
                f"got {type(value).__name__} of dtype {arr.dtype} and shape {arr.shape}"
            )
        value = arr[()]
    try:
        v = float(value)
    except OverflowError:  # an int (or Fraction) beyond float64's range
        raise ValueError(f"{name} must be finite, got a number beyond float64's range") from None
    if math.isnan(v):
        raise ValueError(f"{name} must not be NaN")
    if math.isinf(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if nonneg and v < 0:
        raise ValueError(f"{name} must be >= 0, got {v}")
    return v


_U64 = 2**64


def resolve_key(seed: SeedLike) -> int:
    """Map a seed to the 64-bit key of the counter-based generator.

    int (>= 0) and SeedSequence go through ``SeedSequence.generate_state`` so
    nearby seeds give unrelated keys; a Generator contributes one 64-bit draw
    (advancing it); None draws fresh OS entropy.
    """
    if isinstance(seed, Key):
        return int(seed)
    if seed is None:
        ss = np.random.SeedSequence()
    elif isinstance(seed, np.random.SeedSequence):
        ss = seed
    elif isinstance(seed, np.random.Generator):
        return int(seed.integers(0, _U64, dtype=np.uint64))
    elif isinstance(seed, (bool, np.bool_)):
        raise TypeError("seed must be an int, SeedSequence, Generator or None, not bool")
    elif isinstance(seed, (numbers.Integral, np.integer)):
        if int(seed) < 0:
            raise ValueError(f"seed must be a non-negative integer, got {int(seed)}")
        ss = np.random.SeedSequence(int(seed))
    else:
        raise TypeError(
            f"seed must be an int, numpy SeedSequence, numpy Generator or None, "
            f"got {type(seed).__name__}"
        )
    return int(ss.generate_state(1, np.uint64)[0])


def derive_key(key: int, *labels: str | int) -> int:
    """A 64-bit key for a named sub-stream of ``key`` (e.g. one tensor of a model).

    blake2b over the parent key and the labels: sub-streams with different
    labels are independent, and a label's stream never depends on the others.
    The digest (8 bytes, personalization ``b"winit-derive"``) is taken over
    ``key`` as 8 little-endian bytes, then, for each label, the length of its
    UTF-8 text (8 little-endian bytes) and the text itself, so the labels
    ``("ab", "c")`` and ``("a", "bc")`` name different streams.

    Parameters
    ----------
    key : int
        The parent key, ``0 <= key < 2**64`` (an int or a :class:`Key`).
    *labels : str or int
        The path of the sub-stream below ``key``, in order; each is taken as
        ``str(label)``, so ``3`` and ``"3"`` are the same label.

    Returns
    -------
    int
        The derived key, in ``[0, 2**64)``; pass it on as ``seed=Key(...)``.

    Raises
    ------
    OverflowError
        ``key`` is negative or not below ``2**64``.

    Examples
    --------
    >>> w = winit.normal_(np.empty(4), seed=winit.Key(winit.derive_key(0, "layer1.weight")))
    """
    h = hashlib.blake2b(int(key).to_bytes(8, "little"), digest_size=8, person=b"winit-derive")
    for label in labels:
        data = str(label).encode("utf-8")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return int.from_bytes(h.digest(), "little")


def resolve_offset(offset) -> int:
    if isinstance(offset, bool) or not isinstance(offset, (numbers.Integral, np.integer)):
        raise TypeError(f"offset must be an int, got {type(offset).__name__}")
    off = int(offset)
    if off < 0 or off >= _U64:
        raise ValueError(f"offset must be in [0, 2**64), got {off}")
    return off


def resolve_threads(threads) -> int:
    """Effective thread count: ``None`` = the OpenMP default (honours OMP_NUM_THREADS
    and threadpoolctl limits), else a positive int below 2**31, capped at
    ``max(64, MAX_THREADS_PER_CPU * CPUs, OpenMP default)`` (results never depend on it)."""
    if threads is None:
        return max(1, _runtime.default_threads())
    if isinstance(threads, bool) or not isinstance(threads, (numbers.Integral, np.integer)):
        raise TypeError(f"threads must be a positive int or None, got {type(threads).__name__}")
    t = int(threads)
    if t < 1:
        raise ValueError(f"threads must be >= 1 or None, got {t}")
    if t > _INT32_MAX:
        raise ValueError(f"threads must be at most {_INT32_MAX} (an OpenMP int), got {t}")
    # far more threads than the machine runs at once only adds start-up cost and never
    # changes a bit (results are thread-invariant): cap at MAX_THREADS_PER_CPU per CPU
    # (at least 64, and at least the OpenMP default)
    if t <= 64:
        return t
    return min(t, max(64, MAX_THREADS_PER_CPU * _machine_threads(), resolve_threads(None)))


_INT32_MAX = 2**31 - 1
#: ``threads=`` above this many per CPU (and above 64) is capped (see resolve_threads).
MAX_THREADS_PER_CPU = 4


def _machine_threads() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1
