# The C side of the seam, declared once for every extension module: the
# vocabulary of core.h and the entry points of runtime.h, sample.h and stats.h.
# Only extern declarations: cimporting this file imports nothing at run time.

from libc.stdint cimport int64_t, uint32_t, uint64_t


cdef extern from "core.h" nogil:
    ctypedef enum winit_dtype:
        WINIT_F16
        WINIT_BF16
        WINIT_F32
        WINIT_F64

    ctypedef enum winit_status:
        WINIT_OK
        WINIT_ENOMEM
        WINIT_EINVAL
        WINIT_EREJECT

    ctypedef enum winit_simd:
        WINIT_SIMD_SCALAR
        WINIT_SIMD_AVX2
        WINIT_SIMD_AVX512
        WINIT_SIMD_COUNT

    enum: WINIT_MAXDIM

    ctypedef struct winit_array:
        char *data
        winit_dtype dtype
        int ndim
        int64_t shape[WINIT_MAXDIM]
        int64_t strides[WINIT_MAXDIM]


cdef extern from "runtime.h" nogil:
    int winit_runtime_init()
    winit_simd winit_simd_level()
    int winit_simd_set(winit_simd level)
    int winit_simd_compiled(winit_simd level)
    int winit_simd_runs(winit_simd level)
    const char *winit_simd_name(winit_simd level)
    int winit_simd_parse(const char *name)
    int winit_openmp()
    int winit_default_threads()


cdef extern from "sample.h" nogil:
    enum: WINIT_BLOCK

    ctypedef enum winit_tn_method:
        WINIT_TN_NORMAL
        WINIT_TN_UNIFORM
        WINIT_TN_EXP

    ctypedef struct winit_tn_sampler:
        winit_tn_method method
        double alpha, beta
        double m2
        double lam
        double accept

    winit_status winit_fill_uniform(const winit_array *dst, uint64_t key, uint64_t offset,
                                    double a, double width, double lo, double hi,
                                    winit_simd simd, int nthreads)
    winit_status winit_fill_normal(const winit_array *dst, uint64_t key, uint64_t offset,
                                   double mean, double std, winit_simd simd, int nthreads)
    winit_status winit_fill_trunc_normal(const winit_array *dst, uint64_t key, uint64_t offset,
                                         double mean, double std, double lo, double hi,
                                         const winit_tn_sampler *sampler, winit_simd simd,
                                         int nthreads)
    void winit_philox_raw(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                          uint32_t k0, uint32_t k1, uint32_t out[4])


cdef extern from "stats.h" nogil:
    enum: WINIT_STATS_BLOCK

    ctypedef struct winit_moments:
        int64_t count
        double mean, m2, m3, m4

    ctypedef struct winit_stats_result:
        winit_moments mom
        double min, max
        int64_t nan_count, inf_count, zero_count

    void winit_moments_merge(const winit_moments *a, const winit_moments *b,
                             winit_moments *out)
    winit_status winit_stats_run(const winit_array *a, winit_simd simd, int nthreads,
                                 int moments, int64_t nbins, const double *edges, int uniform,
                                 int64_t *hist, winit_stats_result *out)
