# cython: language_level=3
"""Cython binding of the sampling kernels (src/sample.h).

winit/sampling.py checks the arguments; this module only describes the array
to C, takes the SIMD path from winit._runtime and fills without the GIL. Each
fill writes ``a`` in place (any layout) with the stream of ``key`` from the
absolute index ``offset``, and returns it.
"""

cimport numpy as cnp
from libc.stdint cimport uint32_t, uint64_t

from native cimport (
    WINIT_BLOCK, WINIT_TN_EXP, WINIT_TN_NORMAL, WINIT_TN_UNIFORM, winit_array,
    winit_fill_normal, winit_fill_trunc_normal, winit_fill_uniform, winit_philox_raw,
    winit_status, winit_tn_sampler,
)
from winit._runtime cimport check, describe, simd_level

cnp.import_array()

#: Elements per block of the stream.
BLOCK = WINIT_BLOCK

cdef dict _TN_METHODS = {
    "normal": WINIT_TN_NORMAL,
    "uniform": WINIT_TN_UNIFORM,
    "exponential": WINIT_TN_EXP,
}


def fill_uniform(cnp.ndarray a, double low, double width, double lo, double hi, uint64_t key,
                 uint64_t offset, int threads):
    """``low + width * u``, u uniform in [0, 1), clamped to ``[lo, hi]``."""
    cdef winit_array dst
    cdef winit_status status
    describe(a, &dst)
    with nogil:
        status = winit_fill_uniform(&dst, key, offset, low, width, lo, hi, simd_level(),
                                    threads)
    check(status)
    return a


def fill_normal(cnp.ndarray a, double mean, double std, uint64_t key, uint64_t offset,
                int threads):
    """``mean + std * z``, z standard normal (Box-Muller)."""
    cdef winit_array dst
    cdef winit_status status
    describe(a, &dst)
    with nogil:
        status = winit_fill_normal(&dst, key, offset, mean, std, simd_level(), threads)
    check(status)
    return a


def fill_trunc_normal(cnp.ndarray a, double mean, double std, double lo, double hi,
                      uint64_t key, uint64_t offset, int threads, *, str method, double alpha,
                      double beta, double m2=0.0, double lam=0.0, double accept=1.0):
    """``mean + std * z``, z standard normal truncated to ``[alpha, beta]``, clamped to
    ``[lo, hi]``; rejection sampling by ``method`` ("normal", "uniform" or
    "exponential", with ``m2`` and ``lam`` as src/sample.h describes them);
    ``accept``, the expected acceptance rate, only sizes the batches."""
    cdef winit_tn_sampler sampler
    try:
        sampler.method = _TN_METHODS[method]
    except KeyError:
        raise ValueError(f"unknown truncated-normal method {method!r}") from None
    sampler.alpha = alpha
    sampler.beta = beta
    sampler.m2 = m2
    sampler.lam = lam
    sampler.accept = accept
    cdef winit_array dst
    cdef winit_status status
    describe(a, &dst)
    with nogil:
        status = winit_fill_trunc_normal(&dst, key, offset, mean, std, lo, hi, &sampler,
                                         simd_level(), threads)
    check(status)
    return a


def philox4x32_10(ctr, key):
    """Raw Philox4x32-10 block: 4 counter words, 2 key words -> 4 words (for tests)."""
    cdef uint32_t out[4]
    winit_philox_raw(ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1], out)
    return (out[0], out[1], out[2], out[3])
