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

/* Philox words for groups g0 .. g0+n-1: counter (g & 0xffffffff, g >> 32, c2, c3). */
static void WFN(philox_soa)(uint32_t k0, uint32_t k1, uint64_t g0, uint32_t c2, uint32_t c3,
                            int64_t n, uint32_t *restrict w0, uint32_t *restrict w1,
                            uint32_t *restrict w2, uint32_t *restrict w3) {
    for (int64_t j = 0; j < n; j++) {
        uint64_t g = g0 + (uint64_t)j;
        uint32_t x0 = (uint32_t)g, x1 = (uint32_t)(g >> 32), x2 = c2, x3 = c3;
        WINIT_PHILOX10(x0, x1, x2, x3, k0, k1);
        w0[j] = x0;
        w1[j] = x1;
        w2[j] = x2;
        w3[j] = x3;
    }
}

static void WFN(uniform_f32)(const uint32_t *restrict w0, const uint32_t *restrict w1,
                             const uint32_t *restrict w2, const uint32_t *restrict w3, int64_t n,
                             float a, float width, float lo, float hi, float *restrict out) {
    for (int64_t j = 0; j < n; j++) {
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

/* Box-Muller: (w0, w1) and (w2, w3) are (radius, angle) pairs. */
static void WFN(normal_f32)(const uint32_t *restrict w0, const uint32_t *restrict w1,
                            const uint32_t *restrict w2, const uint32_t *restrict w3, int64_t n,
                            float mean, float std, float *restrict out) {
    for (int64_t j = 0; j < n; j++) {
        float r0 = sqrtf(-2.0f * wm_logf(wm_u01_open_f32(w0[j])));
        float r1 = sqrtf(-2.0f * wm_logf(wm_u01_open_f32(w2[j])));
        float s0, c0, s1, c1;
        wm_sincos_bits_f32(w1[j], &s0, &c0);
        wm_sincos_bits_f32(w3[j], &s1, &c1);
        out[j] = mean + std * (r0 * c0);
        out[n + j] = mean + std * (r0 * s0);
        out[2 * n + j] = mean + std * (r1 * c1);
        out[3 * n + j] = mean + std * (r1 * s1);
    }
}

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

static void WFN(affine_clamp_f32)(const float *restrict z, int64_t n, float mean, float std,
                                  float lo, float hi, float *restrict out) {
    for (int64_t j = 0; j < n; j++) {
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

static void WFN(cvt_f16)(const float *restrict in, int64_t n, uint16_t *restrict out) {
    for (int64_t j = 0; j < n; j++) out[j] = wm_f32_to_f16(in[j]);
}

static void WFN(cvt_bf16)(const float *restrict in, int64_t n, uint16_t *restrict out) {
    for (int64_t j = 0; j < n; j++) out[j] = wm_f32_to_bf16(in[j]);
}

static const winit_kernels WFN(kernels) = {
    WFN(philox_soa),      WFN(uniform_f32),      WFN(normal_f32),       WFN(uniform_f64),
    WFN(normal_f64),      WFN(tn_uniform_cand),  WFN(tn_exp_cand),      WFN(affine_clamp_f32),
    WFN(affine_clamp_f64), WFN(affine_clamp_d2f), WFN(cvt_f16),         WFN(cvt_bf16),
};

#undef WCLAMP
#undef WFN
#undef WCAT
#undef WCAT2
