# cython: language_level=3
"""Low-level binding of the statistics kernel (src/stats.h).

Use :func:`winit.stats` instead: it validates the arguments. This module
only checks what the C code relies on, then calls it without the GIL.
"""

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t

from native cimport (
    WINIT_STATS_BLOCK, winit_array, winit_moments, winit_moments_merge, winit_stats_result,
    winit_stats_run, winit_status,
)
from winit._runtime cimport check, describe, simd_level

cnp.import_array()

#: Elements per block of the kernel (flat C-order index space).
BLOCK = WINIT_STATS_BLOCK


def compute(cnp.ndarray a, int nthreads, bint moments=True, edges=None, bint uniform=True):
    """Run the kernel on ``a``.

    Returns ``(count, mean, m2, m3, m4, min, max, nan_count, inf_count,
    zero_count, hist)`` with ``hist`` an int64 array of ``len(edges) - 1``
    counts, or None without ``edges``; with ``moments`` false, only ``hist``.
    ``m2``..``m4`` are central sums.
    """
    cdef winit_array arr
    describe(a, &arr)
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
    cdef winit_status status
    with nogil:
        status = winit_stats_run(&arr, simd_level(), nthreads, moments, nbins, ep, uniform, hp,
                                 &r)
    check(status)
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
