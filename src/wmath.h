/* Branch-free math for the kernels: log, sin/cos on an octant, bit casts,
 * and float16/bfloat16 conversions with round-to-nearest-even.
 *
 * Only correctly rounded IEEE operations (+ - * / sqrt, int<->float
 * conversions) are used, in a fixed order, and the build disables FMA
 * contraction, so the scalar and every SIMD path give identical bits.
 * Written so that gcc vectorizes loops that call these (no table look-ups,
 * selects instead of branches, no libm calls).
 */
#ifndef WINIT_WMATH_H
#define WINIT_WMATH_H

#include <stdint.h>
#include <string.h>

static inline uint32_t wm_f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float wm_u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint64_t wm_d2u(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static inline double wm_u2d(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }

/* ---- uniforms from random bits -------------------------------------- */

/* [0, 1) with 24 random bits. */
static inline float wm_u01_f32(uint32_t w) { return (float)(int32_t)(w >> 8) * 0x1p-24f; }

/* (0, 1]: 31 random bits plus 2^-32, never 0 (smallest 2^-32); the largest values round
 * to 1 in float32. For logs. */
static inline float wm_u01_open_f32(uint32_t w) {
    return (float)(int32_t)(w >> 1) * 0x1p-31f + 0x1p-32f;
}

/* [0, 1) with 52 random bits (the top bits of hi:lo). */
static inline double wm_u01_f64(uint32_t hi, uint32_t lo) {
    uint64_t m = (((uint64_t)hi << 32) | lo) >> 12;
    return wm_u2d(0x3FF0000000000000ull | m) - 1.0;
}

/* (0, 1): 52 random bits plus half an ulp, never 0 (smallest 2^-53). */
static inline double wm_u01_open_f64(uint32_t hi, uint32_t lo) {
    return wm_u01_f64(hi, lo) + 0x1p-53;
}

/* ---- natural log ---------------------------------------------------- */
/* Argument reduction to m in [sqrt(1/2), sqrt(2)), then the classic
 * log(1+f) = f - hf^2 + s(hf^2 + R(s^2)), s = f/(2+f) (fdlibm's scheme and
 * minimax coefficients). Valid for positive, normal, finite x. */
static inline float wm_logf(float x) {
    uint32_t ix = wm_f2u(x) - 0x3f3504f3u;
    int32_t e = (int32_t)ix >> 23;
    float m = wm_u2f((ix & 0x007fffffu) + 0x3f3504f3u);
    float f = m - 1.0f;
    float s = f / (2.0f + f);
    float z = s * s;
    float w = z * z;
    float t1 = w * (0.40000972152f + w * 0.24279078841f);
    float t2 = z * (0.66666662693f + w * 0.28498786688f);
    float R = t2 + t1;
    float hfsq = 0.5f * f * f;
    float ef = (float)e;
    return ef * 6.9313812256e-01f + ((ef * 9.0580006145e-06f) + (f - (hfsq - s * (hfsq + R))));
}

static inline double wm_log(double x) {
    uint64_t ix = wm_d2u(x) - 0x3FE6A09E667F3BCDull; /* bits of sqrt(1/2) */
    int64_t e64 = (int64_t)ix >> 52;
    double m = wm_u2d((ix & 0x000FFFFFFFFFFFFFull) + 0x3FE6A09E667F3BCDull);
    double f = m - 1.0;
    double s = f / (2.0 + f);
    double z = s * s;
    double w = z * z;
    double t1 = w * (3.999999999940941908e-01 +
                     w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
    double t2 = z * (6.666666666666735130e-01 +
                     w * (2.857142874366239149e-01 +
                          w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
    double R = t2 + t1;
    double hfsq = 0.5 * f * f;
    double ef = (double)(int32_t)e64;
    return ef * 6.93147180369123816490e-01 +
           ((ef * 1.90821492927058770002e-10) + (f - (hfsq - s * (hfsq + R))));
}

/* ---- sin and cos of a uniformly random angle ------------------------ */
/* The angle theta = 2*pi*u comes from the random bits directly: the top two
 * bits pick the quadrant, the next bit the half-quadrant, the rest the
 * position x in [0, pi/4], so only short Taylor polynomials on [0, pi/4]
 * are needed and there is no range reduction. */

static inline void wm_sincos_bits_f32(uint32_t w, float *s_out, float *c_out) {
    uint32_t q = w >> 30, h = (w >> 29) & 1u;
    float t = ((float)(int32_t)(w & 0x1fffffffu) + 0.5f) * 0x1p-29f;
    float x = (h ? 1.0f - t : t) * 0.785398163397448310f;
    float x2 = x * x;
    float s = x * (1.0f + x2 * (-1.6666667163e-01f + x2 * (8.3333337680e-03f +
              x2 * (-1.9841270114e-04f + x2 * 2.7557319224e-06f))));
    float c = 1.0f + x2 * (-0.5f + x2 * (4.1666667908e-02f + x2 * (-1.3888889225e-03f +
              x2 * (2.4801587642e-05f + x2 * -2.7557319224e-07f))));
    uint32_t swap = h ^ (q & 1u);
    float S = swap ? c : s;
    float C = swap ? s : c;
    uint32_t neg_s = q >> 1;                 /* quadrants 2, 3 */
    uint32_t neg_c = (q ^ (q >> 1)) & 1u;    /* quadrants 1, 2 */
    *s_out = wm_u2f(wm_f2u(S) ^ (neg_s << 31));
    *c_out = wm_u2f(wm_f2u(C) ^ (neg_c << 31));
}

static inline void wm_sincos_bits_f64(uint32_t hi, uint32_t lo, double *s_out, double *c_out) {
    uint32_t q = hi >> 30, h = (hi >> 29) & 1u;
    /* the top 52 of the 29 + 32 = 61 position bits (truncated), plus 2^-53: in (0, 1). */
    uint64_t bits = (((uint64_t)(hi & 0x1fffffffu) << 32) | lo) >> 9; /* 52 bits */
    double t = wm_u2d(0x3FF0000000000000ull | bits) - 1.0 + 0x1p-53;
    double x = (h ? 1.0 - t : t) * 0.785398163397448309615660845819875721;
    double x2 = x * x;
    double s = x * (1.0 + x2 * (-1.0 / 6 + x2 * (1.0 / 120 + x2 * (-1.0 / 5040 +
               x2 * (1.0 / 362880 + x2 * (-1.0 / 39916800 + x2 * (1.0 / 6227020800.0 +
               x2 * (-1.0 / 1307674368000.0 + x2 * (1.0 / 355687428096000.0)))))))));
    double c = 1.0 + x2 * (-0.5 + x2 * (1.0 / 24 + x2 * (-1.0 / 720 + x2 * (1.0 / 40320 +
               x2 * (-1.0 / 3628800 + x2 * (1.0 / 479001600.0 + x2 * (-1.0 / 87178291200.0 +
               x2 * (1.0 / 20922789888000.0))))))));
    uint32_t swap = h ^ (q & 1u);
    double S = swap ? c : s;
    double C = swap ? s : c;
    uint64_t neg_s = q >> 1;
    uint64_t neg_c = (q ^ (q >> 1)) & 1u;
    *s_out = wm_u2d(wm_d2u(S) ^ (neg_s << 63));
    *c_out = wm_u2d(wm_d2u(C) ^ (neg_c << 63));
}

/* ---- half-precision conversions (round to nearest even) ------------- */

static inline uint16_t wm_f32_to_f16(float f) {
    uint32_t x = wm_f2u(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    /* normal numbers: rebias the exponent (127 -> 15) and round the 13 dropped bits */
    uint32_t norm = (ax + 0xc8000fffu + ((ax >> 13) & 1u)) >> 13;
    /* subnormals: adding 0.5 puts the f16 subnormal grid on float's ulp, rounding once */
    uint32_t sub = wm_f2u(wm_u2f(ax) + 0.5f) - 0x3f000000u;
    uint32_t r = ax < 0x38800000u ? sub : norm;
    r = ax >= 0x477ff000u ? 0x7c00u : r;   /* overflow -> inf */
    r = ax > 0x7f800000u ? 0x7e00u : r;    /* NaN */
    return (uint16_t)(sign | r);
}

/* The one float16 decoder (exact, branch-free): the magnitude bits moved to a
 * float's position read as a float are the value times 2^-112 (subnormals
 * too), so one multiplication rescales them; a result >= 2^16 was Inf or NaN
 * and gets the all-ones exponent (NaN payloads kept). The statistics
 * kernel's F16C loads (vcvtph2ps) give the same numbers. */
static inline float wm_f16_to_f32(uint16_t h) {
    const float f = wm_u2f((uint32_t)(h & 0x7fffu) << 13) * 0x1p112f;
    const uint32_t special = f >= 65536.0f ? 0x7f800000u : 0u;
    return wm_u2f(wm_f2u(f) | special | ((uint32_t)(h & 0x8000u) << 16));
}

static inline uint16_t wm_f32_to_bf16(float f) {
    uint32_t x = wm_f2u(f);
    uint32_t r = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
    r = (x & 0x7fffffffu) > 0x7f800000u ? ((x >> 16) | 0x40u) : r; /* quiet NaN */
    return (uint16_t)r;
}

static inline float wm_bf16_to_f32(uint16_t b) { return wm_u2f((uint32_t)b << 16); }

#endif /* WINIT_WMATH_H */
