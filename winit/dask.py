"""Lazy, chunked initialization with dask (optional extra: ``pip install winit[dask]``).

Every chunk is generated independently through the kernels' ``offset`` (the value at
flat C-order index ``i`` depends only on the key, ``i``, the distribution and the
dtype), so the assembled array is bit-identical to the in-memory one for any
chunking, any scheduler and any number of workers.

A chunk that is not one contiguous run of the whole tensor (e.g. a column block) is
filled run by run (one kernel call per contiguous row run), or, when those runs are
many and short, from the covering block of whole rows, which is then sliced.

Fan-based schemes (``xavier_*``, ``kaiming_*``, ``lecun_*``, ``variance_scaling`` and
aliases such as ``he_normal``) are chunked like the primitives: on the array's full
shape each is one sampling primitive with fixed parameters
(``Initializer.elementwise_for``). Schemes whose values depend on the whole tensor
(``orthogonal``, ``delta_orthogonal``, ``sparse``, ``dirac``, ``eye``) are computed in
a single task and then split into the requested chunks.
"""

from __future__ import annotations

import math

import numpy as np

try:
    import dask
    import dask.array as da
    from dask.base import tokenize
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "winit.dask needs dask: pip install 'winit[dask]' (or dask[array])"
    ) from exc

from . import sampling
from ._common import Key, resolve_dtype, resolve_key
from .registry import Initializer, get

__all__ = ["init", "normal", "trunc_normal", "uniform"]

# A kernel call costs about as much as generating this many elements (Python overhead).
_CALL_COST = 4096
# Never materialize a covering block larger than this many elements.
_MAX_COVER = 1 << 26


class _Primitive:
    """Picklable filler for a sampling primitive: ``fill(out_1d, offset)``."""

    def __init__(self, func: str, params: dict, key: int, threads):
        self.func, self.params, self.key, self.threads = func, params, key, threads

    def __call__(self, out: np.ndarray, offset: int) -> None:
        getattr(sampling, self.func)(out, **self.params, seed=Key(self.key), offset=offset,
                                     threads=self.threads)


class _Scheme:
    """Picklable filler for an elementwise registry initializer."""

    def __init__(self, initializer, key: int, threads):
        self.initializer, self.key, self.threads = initializer, key, threads

    def __call__(self, out: np.ndarray, offset: int) -> None:
        self.initializer.fill_(out, seed=Key(self.key), offset=offset, threads=self.threads)


def _c_strides(shape: tuple[int, ...]) -> list[int]:
    st, acc = [], 1
    for d in reversed(shape):
        st.append(acc)
        acc *= d
    return st[::-1]


def fill_block(filler, shape: tuple[int, ...], dtype: np.dtype,
               loc: list[tuple[int, int]]) -> np.ndarray:
    """The block ``[s0:e0, s1:e1, ...]`` of the whole tensor, generated through offsets.

    Parameters
    ----------
    filler : callable
        ``filler(out_1d, offset)`` fills elements ``[offset, offset + out_1d.size)``.
    shape : tuple of int
        Shape of the whole tensor.
    dtype : numpy.dtype
        Element type.
    loc : list of (start, stop)
        The block, one pair per dimension.
    """
    bshape = tuple(e - s for s, e in loc)
    out = np.empty(bshape, dtype)
    if out.size == 0:
        return out
    nd = len(shape)
    if nd == 0:
        filler(out.reshape(1), 0)
        return out
    strides = _c_strides(shape)
    # k: the innermost dimension the block does not cover fully (or 0).
    k = nd - 1
    while k > 0 and tuple(loc[k]) == (0, shape[k]):
        k -= 1
    base = sum(s * st for (s, _), st in zip(loc, strides, strict=True))
    run = bshape[k] * strides[k]
    outer = bshape[:k]
    n_runs = math.prod(outer)
    if n_runs == 1:
        filler(out.reshape(-1), base)
        return out
    cover = bshape[0] * strides[0]
    if cover - out.size < n_runs * _CALL_COST and cover <= _MAX_COVER:
        tmp = np.empty((bshape[0],) + tuple(shape[1:]), dtype)
        filler(tmp.reshape(-1), loc[0][0] * strides[0])
        out[...] = tmp[(slice(None),) + tuple(slice(s, e) for s, e in loc[1:])]
        return out
    flat = out.reshape(n_runs, run)
    for j, idx in enumerate(np.ndindex(*outer)):
        off = base + sum(i * st for i, st in zip(idx, strides[:k], strict=True))
        filler(flat[j], off)
    return out


def _block(filler=None, full_shape=None, dt=None, block_info=None):
    return fill_block(filler, full_shape, dt, block_info[None]["array-location"])


def _from_filler(filler, shape, chunks, dtype, label: str, token) -> da.Array:
    shape = tuple(int(d) for d in shape)
    chunks = da.core.normalize_chunks(chunks, shape, dtype=dtype)
    name = f"winit-{label}-{tokenize(token, shape, str(dtype), chunks)}"
    return da.map_blocks(_block, chunks=chunks, dtype=dtype,
                         meta=np.empty((0,) * len(shape), dtype), name=name,
                         filler=filler, full_shape=shape, dt=dtype)


def _whole(initializer, shape, dtype, key, threads):
    return initializer(shape, dtype, seed=Key(key), threads=threads)


def _primitive(func, params, shape, chunks, seed, dtype, threads):
    dt = resolve_dtype(dtype)
    shape = _check_shape(shape)
    key = resolve_key(seed)
    if func != "constant_":
        # validate the parameters now, not inside a worker
        getattr(sampling, func)(np.empty(1, dt), **params, seed=Key(key), threads=1)
    filler = _Primitive(func, params, key, threads)
    return _from_filler(filler, shape, chunks, dt, func.rstrip("_"), (func, params, key))


def _check_shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = tuple(int(d) for d in shape)
    if any(d < 0 for d in shape):
        raise ValueError(f"shape must have non-negative dimensions, got {shape}")
    return shape


def normal(shape, mean: float = 0.0, std: float = 1.0, *, chunks="auto", seed=None,
           dtype=np.float32, threads: int | None = 1) -> da.Array:
    """A lazy N(mean, std²) array, bit-identical to ``winit.normal_`` on the whole array.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the array.
    mean, std : float
        Distribution parameters.
    chunks : dask chunks, default "auto"
        Any chunking (``dask.array.core.normalize_chunks``); the values do not depend on it.
    seed : int, SeedSequence, Generator, Key or None
        Resolved once, when the graph is built.
    dtype : dtype-like, default float32
        float16, bfloat16, float32 or float64.
    threads : int or None, default 1
        Kernel threads per task (dask already runs tasks in parallel).

    Returns
    -------
    dask.array.Array

    Examples
    --------
    >>> x = winit.dask.normal((100_000, 4096), std=0.02, chunks=(10_000, 4096), seed=0)
    >>> x.std().compute()  # doctest: +SKIP
    """
    return _primitive("normal_", {"mean": mean, "std": std}, shape, chunks, seed, dtype, threads)


def uniform(shape, a: float = 0.0, b: float = 1.0, *, chunks="auto", seed=None,
            dtype=np.float32, threads: int | None = 1) -> da.Array:
    """A lazy U[a, b) array, bit-identical to ``winit.uniform_``.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the array.
    a, b : float
        Bounds of the uniform distribution, ``a <= b``.
    chunks, seed, dtype, threads
        As in :func:`normal`.

    Returns
    -------
    dask.array.Array
        Lazy; each chunk is filled from its element offsets, so any chunking gives the
        bits of ``winit.uniform_`` on the whole array.
    """
    return _primitive("uniform_", {"a": a, "b": b}, shape, chunks, seed, dtype, threads)


def trunc_normal(shape, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                 *, chunks="auto", seed=None, dtype=np.float32,
                 threads: int | None = 1) -> da.Array:
    """A lazy truncated normal (absolute bounds [a, b], as torch), bit-identical to
    ``winit.trunc_normal_``.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the array.
    mean, std : float
        Mean and standard deviation of the normal before truncation.
    a, b : float
        Absolute truncation bounds, ``a <= b``.
    chunks, seed, dtype, threads
        As in :func:`normal`.

    Returns
    -------
    dask.array.Array
        Lazy; each chunk is filled from its element offsets, so any chunking gives the
        bits of ``winit.trunc_normal_`` on the whole array.
    """
    return _primitive("trunc_normal_", {"mean": mean, "std": std, "a": a, "b": b}, shape,
                      chunks, seed, dtype, threads)


def init(name_or_initializer, shape, *, chunks="auto", seed=None, dtype=np.float32,
         threads: int | None = 1, **params) -> da.Array:
    """A lazy array initialized by a registry scheme, bit-identical to ``Initializer.init``.

    Parameters
    ----------
    name_or_initializer : str or Initializer
        A name for ``winit.get(name, **params)``, or an initializer (then no ``params``).
    shape : int or tuple of int
        Shape of the array.
    chunks, seed, dtype, threads
        As in :func:`normal`.
    **params
        Scheme parameters.

    Returns
    -------
    dask.array.Array
        Elementwise schemes (normal, uniform, trunc_normal, truncated_normal, zeros,
        ones, constant) and fan-based ones (xavier, kaiming, lecun, variance_scaling and
        their aliases, through their primitive for ``shape``) are generated chunk by
        chunk; the others (orthogonal, delta_orthogonal, sparse, eye, dirac: their
        values depend on the whole tensor) are computed in one task and split into
        ``chunks``, so they must fit in one worker's memory.
    """
    if isinstance(name_or_initializer, str):
        initializer = get(name_or_initializer, **params)
    else:
        if params:
            raise TypeError("pass parameters to the initializer itself, not to winit.dask.init")
        initializer = name_or_initializer
        if not isinstance(initializer, Initializer):
            raise TypeError(
                f"expected a scheme name or a winit Initializer, got {type(initializer).__name__}"
            )
    dt = resolve_dtype(dtype)
    shape = _check_shape(shape)
    key = resolve_key(seed)
    label = initializer.name
    token = (label, repr(initializer.params), key)
    # fan-based schemes read their fans and check their parameters here, not in a worker
    ew = initializer.elementwise_for(shape)
    if ew is not None:
        return _from_filler(_Scheme(ew, key, threads), shape, chunks, dt, label, token)
    whole = dask.delayed(_whole, pure=True)(initializer, shape, dt, key, threads)
    arr = da.from_delayed(whole, shape, dtype=dt, name=f"winit-{label}-{tokenize(token, shape)}")
    return arr.rechunk(da.core.normalize_chunks(chunks, shape, dtype=dt))
