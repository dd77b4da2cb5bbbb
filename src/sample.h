/* Seeded sampling into float16 / bfloat16 / float32 / float64 arrays.
 *
 * Stream definition (frozen: golden digests in tests/test_sampling.py pin it).
 * Elements are grouped in aligned blocks of WINIT_BLOCK = 4096 by their
 * absolute index i = offset + (flat C-order index); block b = i / 4096,
 * position p = i % 4096. Philox4x32-10 is keyed by the 64-bit key (low word
 * first) and its counter is (c0, c1, c2, c3) = (g & 0xffffffff, g >> 32, 0, tag)
 * for a "group" index g:
 *   uniform/normal f32 (also f16, bf16, rounded from the f32 value):
 *     g = 1024 b + p % 1024, word p / 1024 of the group.
 *       uniform: u = (w >> 8) 2^-24, x = a + (b - a) u, kept below b.
 *       normal:  words (0, 1) and (2, 3) are Box-Muller pairs; word 0/2 gives
 *                the radius, word 1/3 the angle; p/1024 = 0..3 takes
 *                r cos, r sin, r' cos', r' sin'.
 *   uniform/normal f64: g = 2048 b + p % 2048, half p / 2048 of the group
 *       (words 0-1 and 2-3; for normal: 0-1 radius, 2-3 angle, cos then sin).
 *   trunc_normal: candidates are drawn, in group order, from counter
 *       (j & 0xffffffff, b & 0xffffffff, b >> 32 << 8... see sample.c) and
 *       accepted in order until the block's 4096 values are found; the
 *       sampling method (normal, uniform or exponential rejection) is chosen
 *       from the standardized bounds alone.
 * So the value at index i depends only on (key, i, distribution, parameters,
 * dtype), never on threads, chunking, memory layout or SIMD path.
 */
#ifndef WINIT_SAMPLE_H
#define WINIT_SAMPLE_H

#include <stdint.h>

#define WINIT_BLOCK 4096

enum { WINIT_F16 = 0, WINIT_BF16 = 1, WINIT_F32 = 2, WINIT_F64 = 3 };
enum { WINIT_UNIFORM = 0, WINIT_NORMAL = 1, WINIT_TRUNC_NORMAL = 2 };
enum { WINIT_TN_NORMAL = 0, WINIT_TN_UNIFORM = 1, WINIT_TN_EXP = 2 };

/* Errors returned by winit_fill. */
enum { WINIT_OK = 0, WINIT_ERR_REJECTION = 1, WINIT_ERR_ARGS = 2 };

typedef struct {
    char *data;            /* first element */
    int dtype;             /* WINIT_F16 ... */
    int ndim;
    const int64_t *shape;  /* ndim entries */
    const int64_t *strides;/* bytes, ndim entries */
    int contiguous;        /* C-contiguous: shape/strides unused */
    int64_t size;          /* number of elements */
} winit_dest;

typedef struct {
    int dist;              /* WINIT_UNIFORM ... */
    uint64_t key;
    uint64_t offset;       /* absolute index of the first element */
    /* uniform: p0 = a, p1 = b - a, lo/hi = clamp bounds (in the dtype)
     * normal: p0 = mean, p1 = std
     * trunc: p0 = mean, p1 = std (negated when the method samples the
     *        mirrored interval), alpha/beta = standardized bounds of the
     *        sampled interval, lo/hi = clamp bounds, method, and
     *        m2 (uniform: squared distance of the interval to 0),
     *        lam (exponential rate) */
    double p0, p1, lo, hi;
    double alpha, beta, m2, lam;
    double accept;         /* trunc: expected acceptance rate (sizes batches only) */
    int method;
} winit_job;

/* Fill d with job's distribution using nthreads OpenMP threads. GIL-free. */
int winit_fill(const winit_job *job, const winit_dest *d, int nthreads);

/* SIMD path: compiled in (bitmask of 1 << level), chosen now, forced via env ok. */
int winit_simd_compiled_mask(void);
int winit_simd_current(void);
int winit_simd_init(void);          /* returns 0 if WINIT_SIMD named an unavailable path */
int winit_simd_set(int level);      /* for tests; returns 0 if not available */
int winit_openmp_enabled(void);
int winit_omp_max_threads(void);

/* Known-answer access to the raw generator, for tests. */
void winit_philox_raw(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                      uint32_t k0, uint32_t k1, uint32_t out[4]);

#endif /* WINIT_SAMPLE_H */
