# cython: language_level=3
"""Cython binding of the sampling kernels (src/sample.h): validates nothing
beyond what C needs; winit/sampling.py does the argument checking."""

import warnings

cimport numpy as cnp
from libc.stdint cimport int64_t, uint32_t, uint64_t

cnp.import_array()

cdef extern from "sample.h" nogil:
    ctypedef struct winit_dest:
        char *data
        int dtype
        int ndim
        const int64_t *shape
        const int64_t *strides
        int contiguous
        int64_t size
    ctypedef struct winit_job:
        int dist
        uint64_t key
        uint64_t offset
        double p0, p1, lo, hi
        double alpha, beta, m2, lam
        double accept
        int method
    int WINIT_OK, WINIT_ERR_REJECTION, WINIT_BLOCK
    int winit_fill(const winit_job *job, const winit_dest *d, int nthreads)
    int winit_simd_compiled_mask()
    int winit_simd_current()
    int winit_simd_init()
    int winit_simd_set(int level)
    int winit_openmp_enabled()
    int winit_omp_max_threads()
    void winit_philox_raw(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                          uint32_t k0, uint32_t k1, uint32_t out[4])

SIMD_NAMES = ("scalar", "avx2", "avx512")
BLOCK = WINIT_BLOCK

if not winit_simd_init():
    import os
    warnings.warn(
        f"WINIT_SIMD={os.environ.get('WINIT_SIMD')!r} is unknown or not supported by this CPU; "
        f"using {SIMD_NAMES[winit_simd_current()]}",
        RuntimeWarning,
    )


def fill(cnp.ndarray a, int dtype_code, int dist, double p0, double p1, double lo, double hi,
         uint64_t key, uint64_t offset, int threads, double alpha=0.0, double beta=0.0,
         double m2=0.0, double lam=0.0, double accept=1.0, int method=0):
    """Fill ``a`` in place (any layout) with the stream for (key, offset)."""
    cdef winit_dest d
    cdef winit_job job
    cdef int status
    d.data = <char *> cnp.PyArray_DATA(a)
    d.dtype = dtype_code
    d.ndim = cnp.PyArray_NDIM(a)
    d.shape = <const int64_t *> cnp.PyArray_DIMS(a)
    d.strides = <const int64_t *> cnp.PyArray_STRIDES(a)
    d.contiguous = 1 if cnp.PyArray_IS_C_CONTIGUOUS(a) else 0
    d.size = cnp.PyArray_SIZE(a)
    job.dist = dist
    job.key = key
    job.offset = offset
    job.p0 = p0
    job.p1 = p1
    job.lo = lo
    job.hi = hi
    job.alpha = alpha
    job.beta = beta
    job.m2 = m2
    job.lam = lam
    job.accept = accept
    job.method = method
    with nogil:
        status = winit_fill(&job, &d, threads)
    if status == WINIT_ERR_REJECTION:
        raise RuntimeError("trunc_normal_: rejection sampling did not finish (acceptance too low)")
    if status != WINIT_OK:
        raise MemoryError("winit: kernel could not allocate its scratch buffers")
    return a


def philox4x32_10(ctr, key):
    """Raw Philox4x32-10 block: 4 counter words, 2 key words -> 4 words (for tests)."""
    cdef uint32_t out[4]
    winit_philox_raw(ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1], out)
    return (out[0], out[1], out[2], out[3])


def simd_compiled():
    """Names of the SIMD paths compiled into this build."""
    cdef int mask = winit_simd_compiled_mask()
    return [SIMD_NAMES[i] for i in range(3) if mask & (1 << i)]


def simd_current():
    return SIMD_NAMES[winit_simd_current()]


def simd_set(str name):
    """Switch the SIMD path (for tests); False if this CPU can't run it."""
    return bool(winit_simd_set(SIMD_NAMES.index(name)))


def openmp_enabled():
    return bool(winit_openmp_enabled())


def omp_max_threads():
    return winit_omp_max_threads()
