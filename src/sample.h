/* Seeded sampling into float16 / bfloat16 / float32 / float64 arrays.
 *
 * Stream definition (frozen: golden digests in tests/test_sampling.py pin it).
 *
 * The value written to an element depends only on (key, i, distribution,
 * parameters, dtype), where i = offset + the element's flat C-order index:
 * never on threads, chunking, memory layout or SIMD path. Elements are made
 * in blocks of WINIT_BLOCK = 4096: block b = i / 4096, position p = i % 4096.
 *
 * Random words: Philox4x32-10 keyed by (key & 0xffffffff, key >> 32). "Group
 * g under tag T" is the output w0..w3 of the counter
 * (g & 0xffffffff, g >> 32, 0, T). From a word w (wmath.h):
 *   u24(w)  = (w >> 8) 2^-24                       in [0, 1)
 *   uo32(w) = (w >> 1) 2^-31 + 2^-32               in (0, 1]
 *   sc32(w) = sin, cos of 2 pi (w + 1/2) 2^-32     (wm_sincos_bits_f32)
 * and from a pair (v, w), v the high word:
 *   u52(v, w)  = ((v:w) >> 12) 2^-52               in [0, 1)
 *   uo52(v, w) = u52(v, w) + 2^-53                 in (0, 1)
 *   sc64(v, w) = sin, cos of 2 pi (((v:w) >> 9) + 1/2) 2^-55 (wm_sincos_bits_f64)
 *
 * Working precision: float64 for float64 arrays, float32 otherwise; float16
 * and bfloat16 values are the float32 values rounded to nearest even.
 *
 * uniform (a, width, lo, hi): x = a + width u in the working precision (the
 *   parameters rounded to it), clamped to [lo, hi] (the binding passes
 *   width = b - a and the smallest and largest values of the dtype in [a, b)).
 *     float32: tag 0x55463332, g = 1024 b + p % 1024, u = u24(w_{p / 1024}).
 *     float64: tag 0x55463634, g = 2048 b + p % 2048, u = u52(w0, w1) for
 *              p < 2048, u52(w2, w3) after.
 * normal (mean, std): Box-Muller, x = mean + std (r cos t) or (r sin t), in the
 *   working precision.
 *     float32: tag 0x4e463332, g = 1024 b + p % 1024; r = sqrt(-2 log uo32(w0)),
 *              t from sc32(w1), r' = sqrt(-2 log uo32(w2)), t' from sc32(w3);
 *              p / 1024 = 0, 1, 2, 3 takes r cos t, r sin t, r' cos t', r' sin t'.
 *     float64: tag 0x4e463634, g = 2048 b + p % 2048; r = sqrt(-2 log uo52(w0, w1)),
 *              t from sc64(w2, w3); p < 2048 takes r cos t, after r sin t.
 * truncated normal (mean, std, lo, hi, sampler): rejection sampling of
 *   standardized candidates z in [alpha, beta] (the binding chooses the
 *   method from the standardized bounds and the precision alone; for the
 *   exponential method it mirrors an interval below 0, negating std).
 *   Candidate group j = 0, 1, 2, ... of block b is the Philox output of the
 *   counter (j, b & 0xffffffff, 0, T | (b >> 32)), T = 0x54000000 in float32,
 *   0x74000000 in float64. Its candidates, by method:
 *     normal:      float32: the four values r cos t, r sin t, r' cos t', r' sin t'
 *                  of the float32 normal with mean 0, std 1 (in that order);
 *                  float64: the two values r cos t, r sin t of the float64 one.
 *     uniform:     one, x = alpha + (beta - alpha) u52(w0, w1), rejected unless
 *                  -2 log uo52(w2, w3) >= x^2 - m2 (m2: the squared distance of
 *                  [alpha, beta] to 0).
 *     exponential: one, x = alpha - log(uo52(w0, w1)) (1 / lam), rejected unless
 *                  -2 log uo52(w2, w3) >= (x - lam)^2 (Robert 1995).
 *   The block's values are the first 4096 candidates, in order, that are not
 *   rejected and lie in [alpha, beta] (compared in float32 for the float32
 *   normal method, else in float64): value p = mean + std z_p clamped to
 *   [lo, hi], computed in float32 (the parameters rounded to it) for the
 *   float32 normal method, else in float64 and rounded to the working
 *   precision. A block that needs more
 *   than 2^24 groups fails the fill (WINIT_EREJECT). How many candidates are
 *   drawn at a time (sized by the expected acceptance) changes nothing.
 */
#ifndef WINIT_SAMPLE_H
#define WINIT_SAMPLE_H

#include <stdint.h>

#include "core.h"

#define WINIT_BLOCK 4096

/* Rejection samplers of the truncated normal. */
typedef enum { WINIT_TN_NORMAL = 0, WINIT_TN_UNIFORM = 1, WINIT_TN_EXP = 2 } winit_tn_method;

/* A truncated-normal sampler: the method and the standardized interval it samples. */
typedef struct {
    winit_tn_method method;
    double alpha, beta; /* standardized bounds of the sampled interval */
    double m2;          /* uniform method: squared distance of [alpha, beta] to 0 */
    double lam;         /* exponential method: rate of the proposal */
    double accept;      /* expected acceptance rate, in (0, 1]: sizes the batches only */
} winit_tn_sampler;

/* Fill dst with the stream of `key` from absolute index `offset` (offset +
 * size <= 2^64), using the SIMD path `simd` and nthreads threads (< 1: one).
 * GIL-free. Returns WINIT_OK, WINIT_ENOMEM, WINIT_EINVAL or (truncated normal
 * only) WINIT_EREJECT; the array is then partly written. */
winit_status winit_fill_uniform(const winit_array *dst, uint64_t key, uint64_t offset, double a,
                                double width, double lo, double hi, winit_simd simd,
                                int nthreads);
winit_status winit_fill_normal(const winit_array *dst, uint64_t key, uint64_t offset,
                               double mean, double std, winit_simd simd, int nthreads);
winit_status winit_fill_trunc_normal(const winit_array *dst, uint64_t key, uint64_t offset,
                                     double mean, double std, double lo, double hi,
                                     const winit_tn_sampler *sampler, winit_simd simd,
                                     int nthreads);

/* Known-answer access to the raw generator, for tests. */
void winit_philox_raw(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                      uint32_t k0, uint32_t k1, uint32_t out[4]);

#endif /* WINIT_SAMPLE_H */
