# cython: language_level=3
"""Low-level binding of the statistics kernel (src/stats.h).

Use :func:`winit.stats` instead: it validates the arguments. This module
only checks what the C code relies on, then calls it without the GIL.
"""

import warnings

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t

cnp.import_array()

cdef extern from "stats.h" nogil:
    ctypedef struct winit_moments:
        int64_t count
        double mean, m2, m3, m4

    ctypedef struct winit_stats_result:
        winit_moments mom
        double min, max
        int64_t nan_count, inf_count, zero_count

    int WINIT_STATS_BLOCK
    int WINIT_STATS_OK, WINIT_STATS_ENOMEM, WINIT_STATS_EARG
    int winit_stats_init()
    int winit_stats_simd_level()
    int winit_stats_simd_set(int level)
    int winit_stats_openmp()
    void winit_moments_merge(const winit_moments *a, const winit_moments *b, winit_moments *out)
    int winit_stats_run(const char *data, int dtype, int ndim, const int64_t *shape,
                        const int64_t *strides, int nthreads, int moments, int64_t nbins,
                        const double *edges, int uniform, int64_t *hist,
                        winit_stats_result *out)

cdef extern from "dispatch.h" nogil:
    const char *winit_simd_name(int level)

BLOCK = WINIT_STATS_BLOCK
_SIMD_NAMES = {"scalar": 0, "avx2": 1, "avx512": 2}

if not winit_stats_init():
    warnings.warn("WINIT_SIMD names an unknown or unavailable SIMD path; using the best one "
                  "this CPU runs", RuntimeWarning, stacklevel=2)

# numpy dtype -> code shared with stats.h (DTYPE_* of winit._common)
cdef dict _CODES = {
    np.dtype(np.float16): 0,
    np.dtype(np.float32): 2,
    np.dtype(np.float64): 3,
}
try:
    import ml_dtypes
    _CODES[np.dtype(ml_dtypes.bfloat16)] = 1
except ImportError:  # pragma: no cover
    pass


def simd_path():
    """Name of the SIMD path the kernel uses ("scalar", "avx2", "avx512")."""
    return winit_simd_name(winit_stats_simd_level()).decode()


def set_simd_path(str name):
    """Force a SIMD path for this process (testing); ValueError if it cannot run here."""
    if name not in _SIMD_NAMES or not winit_stats_simd_set(_SIMD_NAMES[name]):
        raise ValueError(f"SIMD path {name!r} is not available on this CPU/build")


def openmp():
    """True when the kernel was built with OpenMP."""
    return bool(winit_stats_openmp())


def compute(cnp.ndarray a, int nthreads, bint moments=True, edges=None, bint uniform=True):
    """Run the kernel on ``a``.

    Returns ``(count, mean, m2, m3, m4, min, max, nan_count, inf_count,
    zero_count, hist)`` with ``hist`` an int64 array of ``len(edges) - 1``
    counts, or None without ``edges``. ``m2``..``m4`` are central sums.
    """
    cdef int code
    try:
        code = _CODES[a.dtype]
    except KeyError:
        raise TypeError(f"unsupported dtype {a.dtype}: expected float16, bfloat16, float32 "
                        "or float64") from None
    cdef int ndim = a.ndim
    if ndim > 64:
        raise ValueError(f"at most 64 dimensions, got {ndim}")
    cdef int64_t shape[64]
    cdef int64_t strides[64]
    cdef int k
    for k in range(ndim):
        shape[k] = a.shape[k]
        strides[k] = a.strides[k]

    cdef int64_t nbins = 0
    cdef cnp.ndarray[double, ndim=1, mode="c"] e
    cdef cnp.ndarray[int64_t, ndim=1, mode="c"] hist
    cdef const double *ep = NULL
    cdef int64_t *hp = NULL
    if edges is not None:
        e = np.ascontiguousarray(edges, dtype=np.float64)
        if e.shape[0] < 2:
            raise ValueError("edges needs at least 2 values")
        nbins = e.shape[0] - 1
        hist = np.zeros(nbins, dtype=np.int64)
        ep = &e[0]
        hp = &hist[0]

    cdef winit_stats_result r
    r.mom.count = 0
    cdef const char *data = <const char *>cnp.PyArray_DATA(a)
    cdef int rc
    with nogil:
        rc = winit_stats_run(data, code, ndim, shape, strides, nthreads, moments, nbins,
                             ep, uniform, hp, &r)
    if rc == WINIT_STATS_ENOMEM:
        raise MemoryError("winit.stats: out of memory for the block buffers")
    if rc != WINIT_STATS_OK:
        raise ValueError("winit.stats: invalid arguments to the kernel")
    h = hist if edges is not None else None
    if not moments:
        return h
    return (r.mom.count, r.mom.mean, r.mom.m2, r.mom.m3, r.mom.m4, r.min, r.max,
            r.nan_count, r.inf_count, r.zero_count, h)


def merge_moments(tuple a, tuple b):
    """Merge two ``(count, mean, m2, m3, m4)`` tuples exactly (Chan et al., Pebay)."""
    cdef winit_moments x, y, o
    x.count, x.mean, x.m2, x.m3, x.m4 = a
    y.count, y.mean, y.m2, y.m3, y.m4 = b
    winit_moments_merge(&x, &y, &o)
    return (o.count, o.mean, o.m2, o.m3, o.m4)
