/* The vectorizable sampling loops, compiled once per SIMD path.
 *
 * sample.c includes this file several times, each time under a different
 * `#pragma GCC target` and with WSFX set to the path's suffix (scalar, avx2,
 * avx512); every function name gets that suffix, and a table of them,
 * WFN(kernels), is what the dispatcher picks from. All loops are plain C over
 * independent elements, so gcc vectorizes them for the target, and since the
 * operations are the same, correctly rounded ones, every path gives the same
 * bits.
 *
 * Buffers are structure-of-arrays: word k of group j is w_k[j], and a
 * distribution writes element k*n + j, matching the stream definition in
 * sample.h.
 */

#define WCAT2(a, b) a##_##b
#define WCAT(a, b) WCAT2(a, b)
#define WFN(name) WCAT(name, WSFX)

#define WCLAMP(v, lo, hi) ((v) < (lo) ? (lo) : ((v) > (hi) ? (hi) : (v)))

/* Philox words for groups g0 .. g0+n-1: counter (g & 0xffffffff, g >> 32, c2, c3).
 * Explicit intrinsics on the x86 paths (gcc's auto-vectorization of the
 * 32x32->64 products shuffles lanes every round); integer arithmetic, so
 * every path gives the same words. */
static void WFN(philox_scalar_tail)(uint32_t k0, uint32_t k1, uint64_t g0, uint32_t c2,
                                    uint32_t c3, int64_t j0, int64_t n, uint32_t *restrict w0,
                                    uint32_t *restrict w1, uint32_t *restrict w2,
                                    uint32_t *restrict w3) {
    for (int64_t j = j0; j < n; j++) {
        uint64_t g = g0 + (uint64_t)j;
        uint32_t x0 = (uint32_t)g, x1 = (uint32_t)(g >> 32), x2 = c2, x3 = c3;
        WINIT_PHILOX10(x0, x1, x2, x3, k0, k1);
        w0[j] = x0;
        w1[j] = x1;
        w2[j] = x2;
        w3[j] = x3;
    }
}

/* uniform_f32's parameters: a + width * u, clamped to [lo, hi]. */
typedef struct {
    float a, width, lo, hi;
} WFN(uconst);

/* Where the vector Philox loop puts the words: the scratch w (WOUT_WORDS), or,
 * as uniform_f32's values, out[k * n + j] (WOUT_UNIFORM; WOUT_UNIFORM_NT with
 * non-temporal stores, out aligned to the vector). */
typedef struct {
    uint32_t *w[4];
    float *out;
    int64_t n;
    WFN(uconst) u;
} WFN(philox_out);

/* The vector paths' float and integer vectors, WU(op): their intrinsic op, and
 * WU_LANES floats per vector (WU stays defined to the end of the file). */
#if defined(__AVX512F__)
#define WU(op) _mm512_##op
#define WU_LANES 16
typedef __m512 WFN(vf);
typedef __m512i WFN(vi);
#elif defined(__AVX2__)
#define WU(op) _mm256_##op
#define WU_LANES 8
typedef __m256 WFN(vf);
typedef __m256i WFN(vi);
#endif

#ifdef WU
/* a + width * x clamped to [lo, hi], as the scalar loops compute it: the same
 * operations, so the same bits (WCLAMP(v, lo, hi) is max(lo, v), then min(hi, .),
 * in x86 operand order). */
static inline WFN(vf) WFN(affine_vec)(WFN(vf) x, const WFN(uconst) *c) {
    const WFN(vf) v = WU(add_ps)(WU(set1_ps)(c->a), WU(mul_ps)(WU(set1_ps)(c->width), x));
    return WU(min_ps)(WU(set1_ps)(c->hi), WU(max_ps)(WU(set1_ps)(c->lo), v));
}

/* uniform_f32's values of a vector of words. */
static inline WFN(vf) WFN(uniform_vec)(WFN(vi) w, const WFN(uconst) *c) {
    return WFN(affine_vec)(
        WU(mul_ps)(WU(cvtepi32_ps)(WU(srli_epi32)(w, 8)), WU(set1_ps)(0x1p-24f)), c);
}

/* Word k of a vector of consecutive groups from j: to the scratch, or as uniform values
 * to out[k * n + j..] (plain stores, or non-temporal ones: out aligned to the vector). */
static inline __attribute__((always_inline)) void WFN(emit)(const WFN(philox_out) *o, int mode,
                                                            int k, int64_t j, WFN(vi) words) {
    if (mode == WOUT_WORDS) {
        memcpy(o->w[k] + j, &words, sizeof words);
        return;
    }
    const WFN(vf) v = WFN(uniform_vec)(words, &o->u);
    float *dst = o->out + k * o->n + j;
    if (mode == WOUT_UNIFORM_NT)
        WU(stream_ps)(dst, v);
    else
        WU(storeu_ps)(dst, v);
}
#endif

#if defined(__AVX512F__)
#define WV __m512i
#define WV_GROUPS 8 /* groups per vector: one per 64-bit lane */
#define WV_ILP 4
#define WV_SET1(x) _mm512_set1_epi32((int)(x))
#define WV_SET1_64(x) _mm512_set1_epi64((long long)(x))
#define WV_IOTA64 _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7)
#define WV_ADD64(a, b) _mm512_add_epi64(a, b)
#define WV_MUL(a, b) _mm512_mul_epu32(a, b)
#define WV_HI(p) _mm512_srli_epi64(p, 32)
#define WV_XOR3(a, b, c) _mm512_ternarylogic_epi32(a, b, c, 0x96)
/* the low words of the 64-bit lanes of a (lanes 0-7) and b (8-15) */
#define WV_PACK(a, b) \
    _mm512_permutex2var_epi32(a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, \
                                                   22, 24, 26, 28, 30), b)
/* Each vector holds WV_GROUPS counters, one per 64-bit lane, the word in the
 * lane's low half: vpmuludq reads only that half and leaves the whole product
 * in the lane, so a round is two multiplies, two shifts (the high halves) and
 * two three-way xors, with no lane shuffling; the high halves carry garbage
 * that nothing reads. WV_PACK gathers the low halves of two vectors at the
 * end. WV_ILP independent vectors per iteration hide the multiply-shift-xor
 * latency of a round.
 *
 * The loop over groups g0 .. g0+n-1 (counter words 2, 3: c2, c3) hands the words
 * to emit; it returns the groups done (the rest: a multiple of the vector width
 * short of n, or where the counter's low word would carry). */
static inline __attribute__((always_inline)) int64_t WFN(philox_loop)(
    uint32_t k0, uint32_t k1, uint64_t g0, uint32_t c2, uint32_t c3, int64_t n,
    const WFN(philox_out) *o, int mode) {
    const WV M0 = WV_SET1(WINIT_PHILOX_M0), M1 = WV_SET1(WINIT_PHILOX_M1);
    WV ka[10], kb[10];
    for (int r = 0; r < 10; r++) {
        ka[r] = WV_SET1(k0 + (uint32_t)r * WINIT_PHILOX_W0);
        kb[r] = WV_SET1(k1 + (uint32_t)r * WINIT_PHILOX_W1);
    }
    const WV iota = WV_IOTA64, vc2 = WV_SET1(c2), vc3 = WV_SET1(c3);
    int64_t j = 0;
    for (; j + WV_ILP * WV_GROUPS <= n; j += WV_ILP * WV_GROUPS) {
        uint64_t g = g0 + (uint64_t)j;
        if ((uint32_t)g > 0xffffffffu - WV_ILP * WV_GROUPS) break; /* low word would carry */
        WV x0[WV_ILP], x1[WV_ILP], x2[WV_ILP], x3[WV_ILP];
        for (int v = 0; v < WV_ILP; v++) {
            x0[v] = WV_ADD64(WV_SET1_64((uint32_t)g + (uint32_t)(v * WV_GROUPS)), iota);
            x1[v] = WV_SET1((uint32_t)(g >> 32));
            x2[v] = vc2;
            x3[v] = vc3;
        }
        for (int r = 0; r < 10; r++) {
            for (int v = 0; v < WV_ILP; v++) {
                const WV p0 = WV_MUL(x0[v], M0), p1 = WV_MUL(x2[v], M1);
                x0[v] = WV_XOR3(WV_HI(p1), x1[v], ka[r]);
                x2[v] = WV_XOR3(WV_HI(p0), x3[v], kb[r]);
                x1[v] = p1;
                x3[v] = p0;
            }
        }
        for (int v = 0; v < WV_ILP; v += 2) {
            WFN(emit)(o, mode, 0, j + v * WV_GROUPS, WV_PACK(x0[v], x0[v + 1]));
            WFN(emit)(o, mode, 1, j + v * WV_GROUPS, WV_PACK(x1[v], x1[v + 1]));
            WFN(emit)(o, mode, 2, j + v * WV_GROUPS, WV_PACK(x2[v], x2[v + 1]));
            WFN(emit)(o, mode, 3, j + v * WV_GROUPS, WV_PACK(x3[v], x3[v + 1]));
        }
    }
    return j;
}
#undef WV_ILP
#undef WV
#undef WV_GROUPS
#undef WV_SET1
#undef WV_SET1_64
#undef WV_IOTA64
#undef WV_ADD64
#undef WV_MUL
#undef WV_HI
#undef WV_XOR3
#undef WV_PACK
#elif defined(__AVX2__)
#define WV __m256i
#define WV_LANES 8
#define WV_SET1(x) _mm256_set1_epi32((int)(x))
#define WV_XOR(a, b) _mm256_xor_si256(a, b)
#define WV_ADD(a, b) _mm256_add_epi32(a, b)
#define WV_IOTA _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
#define WV_MULHILO(x, M, hi, lo)                                                   \
    do {                                                                           \
        __m256i pe_ = _mm256_mul_epu32(x, M);                                      \
        __m256i po_ = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), M);               \
        hi = _mm256_blend_epi32(_mm256_srli_epi64(pe_, 32), po_, 0xAA);            \
        lo = _mm256_blend_epi32(pe_, _mm256_slli_epi64(po_, 32), 0xAA);            \
    } while (0)
/* WV_ILP independent vectors per iteration: one Philox round is a chain of
 * about 7 cycles (multiply, shift/blend, xor), so several chains are
 * interleaved to keep the multipliers busy. (The AVX-512 path's 64-bit-lane
 * layout ran about 8% slower here: with 16 ymm registers, 2 chains are
 * latency-bound and 4 spill.) */
#define WV_ILP 3
static inline __attribute__((always_inline)) int64_t WFN(philox_loop)(
    uint32_t k0, uint32_t k1, uint64_t g0, uint32_t c2, uint32_t c3, int64_t n,
    const WFN(philox_out) *o, int mode) {
    const WV M0 = WV_SET1(WINIT_PHILOX_M0), M1 = WV_SET1(WINIT_PHILOX_M1);
    WV ka[10], kb[10];
    for (int r = 0; r < 10; r++) {
        ka[r] = WV_SET1(k0 + (uint32_t)r * WINIT_PHILOX_W0);
        kb[r] = WV_SET1(k1 + (uint32_t)r * WINIT_PHILOX_W1);
    }
    const WV iota = WV_IOTA, vc2 = WV_SET1(c2), vc3 = WV_SET1(c3);
    int64_t j = 0;
    for (; j + WV_ILP * WV_LANES <= n; j += WV_ILP * WV_LANES) {
        uint64_t g = g0 + (uint64_t)j;
        if ((uint32_t)g > 0xffffffffu - WV_ILP * WV_LANES) break; /* low word would carry */
        WV x0[WV_ILP], x1[WV_ILP], x2[WV_ILP], x3[WV_ILP];
        for (int v = 0; v < WV_ILP; v++) {
            x0[v] = WV_ADD(WV_SET1((uint32_t)g + (uint32_t)(v * WV_LANES)), iota);
            x1[v] = WV_SET1((uint32_t)(g >> 32));
            x2[v] = vc2;
            x3[v] = vc3;
        }
        for (int r = 0; r < 10; r++) {
            for (int v = 0; v < WV_ILP; v++) {
                WV hi0, lo0, hi1, lo1;
                WV_MULHILO(x0[v], M0, hi0, lo0);
                WV_MULHILO(x2[v], M1, hi1, lo1);
                x0[v] = WV_XOR(WV_XOR(hi1, x1[v]), ka[r]);
                x2[v] = WV_XOR(WV_XOR(hi0, x3[v]), kb[r]);
                x1[v] = lo1;
                x3[v] = lo0;
            }
        }
        for (int v = 0; v < WV_ILP; v++) {
            WFN(emit)(o, mode, 0, j + v * WV_LANES, x0[v]);
            WFN(emit)(o, mode, 1, j + v * WV_LANES, x1[v]);
            WFN(emit)(o, mode, 2, j + v * WV_LANES, x2[v]);
            WFN(emit)(o, mode, 3, j + v * WV_LANES, x3[v]);
        }
    }
    return j;
}
#undef WV_ILP
#undef WV
#undef WV_LANES
#undef WV_SET1
#undef WV_XOR
#undef WV_ADD
#undef WV_IOTA
#undef WV_MULHILO
#else
#define WINIT_NO_PHILOX_LOOP
#endif

static void WFN(philox_soa)(uint32_t k0, uint32_t k1, uint64_t g0, uint32_t c2, uint32_t c3,
                            int64_t n, uint32_t *restrict w0, uint32_t *restrict w1,
                            uint32_t *restrict w2, uint32_t *restrict w3) {
    int64_t j = 0;
#ifndef WINIT_NO_PHILOX_LOOP
    const WFN(philox_out) o = {{w0, w1, w2, w3}, NULL, 0, {0, 0, 0, 0}};
    j = WFN(philox_loop)(k0, k1, g0, c2, c3, n, &o, WOUT_WORDS);
#endif
    WFN(philox_scalar_tail)(k0, k1, g0, c2, c3, j, n, w0, w1, w2, w3);
}

/* The uniform float32 values a + width * u clamped to [lo, hi] of groups j0 .. n-1
 * (words w_k[j]) into out[k * n + j]. */
static void WFN(uniform_f32)(const uint32_t *restrict w0, const uint32_t *restrict w1,
                             const uint32_t *restrict w2, const uint32_t *restrict w3, int64_t j0,
                             int64_t n, float a, float width, float lo, float hi,
                             float *restrict out) {
    for (int64_t j = j0; j < n; j++) {
        float v0 = a + width * wm_u01_f32(w0[j]);
        float v1 = a + width * wm_u01_f32(w1[j]);
        float v2 = a + width * wm_u01_f32(w2[j]);
        float v3 = a + width * wm_u01_f32(w3[j]);
        out[j] = WCLAMP(v0, lo, hi);
        out[n + j] = WCLAMP(v1, lo, hi);
        out[2 * n + j] = WCLAMP(v2, lo, hi);
        out[3 * n + j] = WCLAMP(v3, lo, hi);
    }
}

/* philox_soa then uniform_f32 for the n groups from g0 (counter words 2, 3: 0, c3)
 * into out[k * n + j], in one pass where the path has a vector loop: the words
 * become values in registers and go straight to out, with non-temporal stores
 * when nt (out then aligned to 64 bytes and n a multiple of 16). w: scratch for
 * the groups the vector loop leaves. */
static void WFN(uniform_f32_gen)(uint32_t k0, uint32_t k1, uint64_t g0, uint32_t c3, int64_t n,
                                 float a, float width, float lo, float hi, int nt,
                                 uint32_t *const w[4], float *restrict out) {
    int64_t j = 0;
#ifndef WINIT_NO_PHILOX_LOOP
    const WFN(philox_out) o = {{w[0], w[1], w[2], w[3]}, out, n, {a, width, lo, hi}};
    j = nt ? WFN(philox_loop)(k0, k1, g0, 0, c3, n, &o, WOUT_UNIFORM_NT)
           : WFN(philox_loop)(k0, k1, g0, 0, c3, n, &o, WOUT_UNIFORM);
#else
    (void)nt;
#endif
    WFN(philox_scalar_tail)(k0, k1, g0, 0, c3, j, n, w[0], w[1], w[2], w[3]);
    WFN(uniform_f32)(w[0], w[1], w[2], w[3], j, n, a, width, lo, hi, out);
}

/* Box-Muller: (w0, w1) and (w2, w3) are (radius, angle) pairs. The float16
 * and bfloat16 variants compute the same float values and round each one as
 * it is stored (the same bits as normal_f32 then cvt_f16/cvt_bf16, without
 * the float block's round trip through memory). */
#define WNORMAL_F32(NAME, OUT_T, CONV)                                                       \
    static void WFN(NAME)(const uint32_t *restrict w0, const uint32_t *restrict w1,          \
                          const uint32_t *restrict w2, const uint32_t *restrict w3, int64_t n, \
                          float mean, float std, OUT_T *restrict out) {                      \
        for (int64_t j = 0; j < n; j++) {                                                    \
            float r0 = sqrtf(-2.0f * wm_logf(wm_u01_open_f32(w0[j])));                       \
            float r1 = sqrtf(-2.0f * wm_logf(wm_u01_open_f32(w2[j])));                       \
            float s0, c0, s1, c1;                                                            \
            wm_sincos_bits_f32(w1[j], &s0, &c0);                                             \
            wm_sincos_bits_f32(w3[j], &s1, &c1);                                             \
            out[j] = CONV(mean + std * (r0 * c0));                                           \
            out[n + j] = CONV(mean + std * (r0 * s0));                                       \
            out[2 * n + j] = CONV(mean + std * (r1 * c1));                                   \
            out[3 * n + j] = CONV(mean + std * (r1 * s1));                                   \
        }                                                                                    \
    }
WNORMAL_F32(normal_f32, float, )
WNORMAL_F32(normal_bf16, uint16_t, wm_f32_to_bf16)
#if !(defined(__F16C__) && defined(__AVX2__))
WNORMAL_F32(normal_f16, uint16_t, wm_f32_to_f16)
#endif
#undef WNORMAL_F32

static void WFN(uniform_f64)(const uint32_t *restrict w0, const uint32_t *restrict w1,
                             const uint32_t *restrict w2, const uint32_t *restrict w3, int64_t n,
                             double a, double width, double lo, double hi, double *restrict out) {
    for (int64_t j = 0; j < n; j++) {
        double v0 = a + width * wm_u01_f64(w0[j], w1[j]);
        double v1 = a + width * wm_u01_f64(w2[j], w3[j]);
        out[j] = WCLAMP(v0, lo, hi);
        out[n + j] = WCLAMP(v1, lo, hi);
    }
}

/* Box-Muller in double: (w0, w1) radius, (w2, w3) angle. */
static void WFN(normal_f64)(const uint32_t *restrict w0, const uint32_t *restrict w1,
                            const uint32_t *restrict w2, const uint32_t *restrict w3, int64_t n,
                            double mean, double std, double *restrict out) {
    for (int64_t j = 0; j < n; j++) {
        double r = sqrt(-2.0 * wm_log(wm_u01_open_f64(w0[j], w1[j])));
        double s, c;
        wm_sincos_bits_f64(w2[j], w3[j], &s, &c);
        out[j] = mean + std * (r * c);
        out[n + j] = mean + std * (r * s);
    }
}

/* Truncated normal candidates by uniform rejection on [alpha, alpha + width]:
 * accept x with probability exp((m2 - x^2) / 2); rejected candidates are NaN. */
static void WFN(tn_uniform_cand)(const uint32_t *restrict w0, const uint32_t *restrict w1,
                                 const uint32_t *restrict w2, const uint32_t *restrict w3,
                                 int64_t n, double alpha, double width, double m2,
                                 double *restrict out) {
    for (int64_t j = 0; j < n; j++) {
        double x = alpha + width * wm_u01_f64(w0[j], w1[j]);
        double e = -2.0 * wm_log(wm_u01_open_f64(w2[j], w3[j]));
        out[j] = (e >= x * x - m2) ? x : __builtin_nan("");
    }
}

/* Truncated normal candidates on [alpha, inf), alpha >= 0, by Robert's (1995)
 * exponential proposal with rate lambda: x = alpha + E / lambda, accepted
 * with probability exp(-(x - lambda)^2 / 2); rejected candidates are NaN. */
static void WFN(tn_exp_cand)(const uint32_t *restrict w0, const uint32_t *restrict w1,
                             const uint32_t *restrict w2, const uint32_t *restrict w3, int64_t n,
                             double alpha, double lambda, double *restrict out) {
    double inv = 1.0 / lambda;
    for (int64_t j = 0; j < n; j++) {
        double x = alpha - wm_log(wm_u01_open_f64(w0[j], w1[j])) * inv;
        double e = -2.0 * wm_log(wm_u01_open_f64(w2[j], w3[j]));
        double d = x - lambda;
        out[j] = (e >= d * d) ? x : __builtin_nan("");
    }
}

/* nt: write out with non-temporal stores where the path has vectors (plain stores up
 * to out's first 64-byte boundary and after its last). */
static void WFN(affine_clamp_f32)(const float *restrict z, int64_t n, float mean, float std,
                                  float lo, float hi, int nt, float *restrict out) {
    int64_t j = 0;
#ifdef WU
    if (nt && ((uintptr_t)out & 3) == 0) {
        int64_t head = (int64_t)(((64 - ((uintptr_t)out & 63)) & 63) / 4);
        if (head > n) head = n;
        for (; j < head; j++) {
            float v = mean + std * z[j];
            out[j] = WCLAMP(v, lo, hi);
        }
        const WFN(uconst) c = {mean, std, lo, hi};
        for (; j + WU_LANES <= n; j += WU_LANES)
            WU(stream_ps)(out + j, WFN(affine_vec)(WU(loadu_ps)(z + j), &c));
    }
#else
    (void)nt;
#endif
    for (; j < n; j++) {
        float v = mean + std * z[j];
        out[j] = WCLAMP(v, lo, hi);
    }
}

static void WFN(affine_clamp_f64)(const double *restrict z, int64_t n, double mean, double std,
                                  double lo, double hi, double *restrict out) {
    for (int64_t j = 0; j < n; j++) {
        double v = mean + std * z[j];
        out[j] = WCLAMP(v, lo, hi);
    }
}

/* Double computation, float result: lo and hi are representable in the
 * destination type, so the rounded result stays inside them. */
static void WFN(affine_clamp_d2f)(const double *restrict z, int64_t n, double mean, double std,
                                  double lo, double hi, float *restrict out) {
    for (int64_t j = 0; j < n; j++) {
        double v = mean + std * z[j];
        out[j] = (float)WCLAMP(v, lo, hi);
    }
}

/* float -> float16, round to nearest even. With F16C, vcvtps2ph (imm 0: round
 * to nearest even whatever MXCSR says) gives wm_f32_to_f16's bits for every
 * non-NaN float (checked on all 2^32 inputs); NaN lanes are set to its quiet
 * NaN. */
static void WFN(cvt_f16)(const float *restrict in, int64_t n, uint16_t *restrict out) {
    int64_t j = 0;
#if defined(__F16C__) && defined(__AVX512F__)
    const __m512 sign = _mm512_set1_ps(-0.0f);
    for (; j + 16 <= n; j += 16) {
        const __m512 x = _mm512_loadu_ps(in + j);
        __m256i h = _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT);
        const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
        if (__builtin_expect(nan != 0, 0)) {
            const __m512i sg = _mm512_srli_epi32(_mm512_castps_si512(_mm512_and_ps(x, sign)), 16);
            const __m512i q = _mm512_or_si512(sg, _mm512_set1_epi32(0x7e00));
            h = _mm256_mask_blend_epi16(nan, h, _mm512_cvtepi32_epi16(q));
        }
        _mm256_storeu_si256((__m256i *)(out + j), h);
    }
#elif defined(__F16C__) && defined(__AVX2__)
    for (; j + 8 <= n; j += 8) {
        const __m256 x = _mm256_loadu_ps(in + j);
        if (__builtin_expect(_mm256_movemask_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q)) != 0, 0))
            break; /* NaN: the scalar conversion from here */
        _mm_storeu_si128((__m128i *)(out + j), _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
    }
#endif
    for (; j < n; j++) out[j] = wm_f32_to_f16(in[j]);
}

#if defined(__F16C__) && defined(__AVX2__)
/* normal_f32's values in chunks of a few KB (in L1), rounded to float16 by
 * cvt_f16: the same bits as the scalar macro version. */
static void WFN(normal_f16)(const uint32_t *restrict w0, const uint32_t *restrict w1,
                            const uint32_t *restrict w2, const uint32_t *restrict w3, int64_t n,
                            float mean, float std, uint16_t *restrict out) {
    float buf[4 * 256];
    for (int64_t j0 = 0; j0 < n; j0 += 256) {
        const int64_t m = n - j0 < 256 ? n - j0 : 256;
        WFN(normal_f32)(w0 + j0, w1 + j0, w2 + j0, w3 + j0, m, mean, std, buf);
        for (int k = 0; k < 4; k++) WFN(cvt_f16)(buf + k * m, m, out + k * n + j0);
    }
}
#endif

static void WFN(cvt_bf16)(const float *restrict in, int64_t n, uint16_t *restrict out) {
    for (int64_t j = 0; j < n; j++) out[j] = wm_f32_to_bf16(in[j]);
}

/* Copy n bytes (a multiple of 2) from src to dst with non-temporal stores: for
 * destinations much larger than the caches, where a plain store first reads
 * the line it writes. Plain stores up to dst's first 64-byte boundary and
 * after its last one. The caller issues an sfence before the data is used. */
static void WFN(stream_copy)(char *restrict dst, const char *restrict src, int64_t n) {
#if defined(__AVX2__)
    int64_t head = (int64_t)((64 - ((uintptr_t)dst & 63)) & 63);
    if (head > n) head = n;
    memcpy(dst, src, (size_t)head);
    int64_t j = head;
    for (; j + 64 <= n; j += 64) {
#if defined(__AVX512F__)
        _mm512_stream_si512((void *)(dst + j), _mm512_loadu_si512((const void *)(src + j)));
#else
        _mm256_stream_si256((__m256i *)(dst + j), _mm256_loadu_si256((const __m256i *)(src + j)));
        _mm256_stream_si256((__m256i *)(dst + j + 32),
                            _mm256_loadu_si256((const __m256i *)(src + j + 32)));
#endif
    }
    memcpy(dst + j, src + j, (size_t)(n - j));
#else
    memcpy(dst, src, (size_t)n);
#endif
}

#if defined(__AVX512F__)
/* Candidates of groups j .. j+15 in group order: v[r] holds groups j+4r .. j+4r+3
 * (4 lanes each), from the 4 lanes' rows cand[k * ng + j..] (a 4x16 transpose). */
static inline __attribute__((always_inline)) void WFN(groups16)(const float *restrict cand,
                                                                int64_t ng, int64_t j,
                                                                __m512 v[4]) {
    const __m512 a0 = _mm512_loadu_ps(cand + j), a1 = _mm512_loadu_ps(cand + ng + j);
    const __m512 a2 = _mm512_loadu_ps(cand + 2 * ng + j);
    const __m512 a3 = _mm512_loadu_ps(cand + 3 * ng + j);
    const __m512d t0 = _mm512_castps_pd(_mm512_unpacklo_ps(a0, a1));
    const __m512d t1 = _mm512_castps_pd(_mm512_unpackhi_ps(a0, a1));
    const __m512d t2 = _mm512_castps_pd(_mm512_unpacklo_ps(a2, a3));
    const __m512d t3 = _mm512_castps_pd(_mm512_unpackhi_ps(a2, a3));
    /* u[r]'s 128-bit lane q holds group j + 4q + r */
    const __m512 u0 = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
    const __m512 u1 = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
    const __m512 u2 = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
    const __m512 u3 = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    const __m512 s01l = _mm512_shuffle_f32x4(u0, u1, 0x44);
    const __m512 s01h = _mm512_shuffle_f32x4(u0, u1, 0xEE);
    const __m512 s23l = _mm512_shuffle_f32x4(u2, u3, 0x44);
    const __m512 s23h = _mm512_shuffle_f32x4(u2, u3, 0xEE);
    v[0] = _mm512_shuffle_f32x4(s01l, s23l, 0x88); /* groups j .. j+3 */
    v[1] = _mm512_shuffle_f32x4(s01l, s23l, 0xDD);
    v[2] = _mm512_shuffle_f32x4(s01h, s23h, 0x88);
    v[3] = _mm512_shuffle_f32x4(s01h, s23h, 0xDD);
}

/* The 16-groups-at-a-time loop of keep_f32 (u NULL: the values as they are, whole
 * vectors stored, the scratch has room past need) and of keep_map_f32 (u: each value
 * mapped as affine_clamp_f32 maps it, nothing stored at or past out[need]); from
 * group *j, which it advances. vcompressps in its register form (the memory form is
 * slow on some cores). */
static inline __attribute__((always_inline)) int64_t WFN(keep16)(
    const float *restrict cand, int64_t ng, int64_t *j, float lo, float hi,
    const WFN(uconst) *u, float *restrict out, int64_t cnt, int64_t need) {
    const __m512 lo16 = _mm512_set1_ps(lo), hi16 = _mm512_set1_ps(hi);
    for (; *j + 16 <= ng && cnt < need; *j += 16) {
        __m512 v[4];
        WFN(groups16)(cand, ng, *j, v);
        for (int r = 0; r < 4; r++) {
            const __mmask16 m = _mm512_cmp_ps_mask(v[r], lo16, _CMP_GE_OQ) &
                                _mm512_cmp_ps_mask(v[r], hi16, _CMP_LE_OQ);
            const __m512 y = _mm512_maskz_compress_ps(m, u ? WFN(affine_vec)(v[r], u) : v[r]);
            const int64_t room = need - cnt;
            if (!u || room >= 16)
                _mm512_storeu_ps(out + cnt, y);
            else if (room > 0) /* the lanes past the kept ones are stored over later */
                _mm512_mask_storeu_ps(out + cnt, (__mmask16)((1u << room) - 1), y);
            cnt += __builtin_popcount((unsigned)m);
        }
    }
    return cnt;
}

/* keep_f32 and the last pass of the float32 truncated normal in one: each kept value
 * v goes to out[cnt++] as clamp(mean + std * v, lo, hi) with c's (mean, std, lo, hi),
 * the value affine_clamp_f32 gives it; nothing is stored at or past out[need]. */
static int64_t WFN(keep_map_f32)(const float *restrict cand, int64_t ng, float lo, float hi,
                                 const float c[4], float *restrict out, int64_t cnt,
                                 int64_t need) {
    int64_t j = 0;
    const WFN(uconst) u = {c[0], c[1], c[2], c[3]};
    cnt = WFN(keep16)(cand, ng, &j, lo, hi, &u, out, cnt, need);
    if (cnt >= need) return need;
    return keep_map_f32_4(cand, ng, j, lo, hi, c, out, cnt, need); /* the rest */
}
#endif

/* Truncated-normal candidates in float: append those of cand[k * ng + j]
 * (lane k of group j, 4 lanes) that lie in [lo, hi] to z[cnt..] in group order
 * (j, then k) until need are kept; returns min(count, need). z has room for
 * need + 64 values: the vector loops store whole vectors and may run past need,
 * and values past need are never used. Rejected candidates (NaN) fail both
 * tests. All versions keep the same values in the same order. */
static int64_t WFN(keep_f32)(const float *restrict cand, int64_t ng, float lo, float hi,
                             float *restrict z, int64_t cnt, int64_t need) {
    int64_t j = 0;
#if defined(__AVX512F__)
    /* 16 groups at a time: a 4x16 transpose to group order, then vcompressps */
    cnt = WFN(keep16)(cand, ng, &j, lo, hi, NULL, z, cnt, need);
    if (cnt >= need) return need;
#elif defined(__AVX2__)
    /* indices of the set bits of a 4-bit mask, for vpermilps */
    static const int32_t left[16][4] = {
        {0, 0, 0, 0}, {0, 0, 0, 0}, {1, 0, 0, 0}, {0, 1, 0, 0}, {2, 0, 0, 0}, {0, 2, 0, 0},
        {1, 2, 0, 0}, {0, 1, 2, 0}, {3, 0, 0, 0}, {0, 3, 0, 0}, {1, 3, 0, 0}, {0, 1, 3, 0},
        {2, 3, 0, 0}, {0, 2, 3, 0}, {1, 2, 3, 0}, {0, 1, 2, 3}};
    const __m256 lo8 = _mm256_set1_ps(lo), hi8 = _mm256_set1_ps(hi);
    for (; j + 8 <= ng && cnt < need; j += 8) {
        const __m256 a0 = _mm256_loadu_ps(cand + j), a1 = _mm256_loadu_ps(cand + ng + j);
        const __m256 a2 = _mm256_loadu_ps(cand + 2 * ng + j);
        const __m256 a3 = _mm256_loadu_ps(cand + 3 * ng + j);
        /* 4x8 transpose: u[r] holds group j+r in its low half, group j+r+4 in its high half */
        const __m256d t0 = _mm256_castps_pd(_mm256_unpacklo_ps(a0, a1));
        const __m256d t1 = _mm256_castps_pd(_mm256_unpackhi_ps(a0, a1));
        const __m256d t2 = _mm256_castps_pd(_mm256_unpacklo_ps(a2, a3));
        const __m256d t3 = _mm256_castps_pd(_mm256_unpackhi_ps(a2, a3));
        __m256 u[4];
        u[0] = _mm256_castpd_ps(_mm256_unpacklo_pd(t0, t2));
        u[1] = _mm256_castpd_ps(_mm256_unpackhi_pd(t0, t2));
        u[2] = _mm256_castpd_ps(_mm256_unpacklo_pd(t1, t3));
        u[3] = _mm256_castpd_ps(_mm256_unpackhi_pd(t1, t3));
        int m[4];
        for (int r = 0; r < 4; r++)
            m[r] = _mm256_movemask_ps(_mm256_and_ps(_mm256_cmp_ps(u[r], lo8, _CMP_GE_OQ),
                                                    _mm256_cmp_ps(u[r], hi8, _CMP_LE_OQ)));
        for (int half = 0; half < 2; half++) {
            for (int r = 0; r < 4; r++) {
                const __m128 g = half ? _mm256_extractf128_ps(u[r], 1) : _mm256_castps256_ps128(u[r]);
                const int mk = (m[r] >> (4 * half)) & 15;
                const __m128i idx = _mm_loadu_si128((const __m128i *)left[mk]);
                _mm_storeu_ps(z + cnt, _mm_permutevar_ps(g, idx));
                cnt += __builtin_popcount((unsigned)mk);
            }
        }
    }
    if (cnt >= need) return need;
#endif
    return keep_f32_4(cand, ng, j, lo, hi, NULL, z, cnt, need); /* the rest, group by group */
}

static const winit_kernels WFN(kernels) = {
    WFN(philox_soa),      WFN(normal_f32),       WFN(uniform_f64),
    WFN(normal_f64),      WFN(tn_uniform_cand),  WFN(tn_exp_cand),      WFN(affine_clamp_f32),
    WFN(affine_clamp_f64), WFN(affine_clamp_d2f), WFN(cvt_f16),         WFN(cvt_bf16),
    WFN(keep_f32),
#if defined(__AVX512F__)
    WFN(keep_map_f32),
#else
    NULL,
#endif
    WFN(stream_copy),      WFN(normal_f16),       WFN(normal_bf16),
    WFN(uniform_f32_gen),
#ifndef WINIT_NO_PHILOX_LOOP
    1,
#else
    0,
#endif
};

#undef WCLAMP
#undef WINIT_NO_PHILOX_LOOP
#undef WU
#undef WU_LANES
#undef WFN
#undef WCAT
#undef WCAT2
