/* Hot loops of the statistics kernel, compiled once per SIMD path.
 *
 * Included by stats.c with WSTATS_SFX set to the path's name suffix (and,
 * for x86 paths, under `#pragma GCC target`). Written with GCC/clang
 * vector extensions: every path performs the same IEEE operations on the
 * same lanes in the same order, so every path gives the same bits (the
 * build uses -ffp-contract=off). Element j of a block always goes to
 * accumulator lane j % 8; lanes are reduced in a fixed order.
 *
 * Expects from stats.c: the vector typedefs (wv8f, wv4f, wv4d, wv8i,
 * wv4l, wv8u, wv8h, wv4i), wst_blk, wst_hist, wst_bin_exact().
 */

#define WST_CAT2(a, b) a##_##b
#define WST_CAT(a, b) WST_CAT2(a, b)
#define WF(name) WST_CAT(name, WSTATS_SFX)

static inline wv8f WF(splat8)(float v) { return (wv8f){v, v, v, v, v, v, v, v}; }
static inline wv4d WF(splat4)(double v) { return (wv4d){v, v, v, v}; }

/* min/max exactly as x86 minps/maxps: (a < b) ? a : b, so a NaN in `a` keeps `b`. */
static inline wv8f WF(vmin8)(wv8f a, wv8f b) {
#if defined(__AVX__)
    return (wv8f)_mm256_min_ps((__m256)a, (__m256)b);
#else
    wv8i m = (wv8i)(a < b);
    return (wv8f)((m & (wv8i)a) | (~m & (wv8i)b));
#endif
}
static inline wv8f WF(vmax8)(wv8f a, wv8f b) {
#if defined(__AVX__)
    return (wv8f)_mm256_max_ps((__m256)a, (__m256)b);
#else
    wv8i m = (wv8i)(a > b);
    return (wv8f)((m & (wv8i)a) | (~m & (wv8i)b));
#endif
}
static inline wv4d WF(vmin4)(wv4d a, wv4d b) {
#if defined(__AVX__)
    return (wv4d)_mm256_min_pd((__m256d)a, (__m256d)b);
#else
    wv4l m = (wv4l)(a < b);
    return (wv4d)((m & (wv4l)a) | (~m & (wv4l)b));
#endif
}
static inline wv4d WF(vmax4)(wv4d a, wv4d b) {
#if defined(__AVX__)
    return (wv4d)_mm256_max_pd((__m256d)a, (__m256d)b);
#else
    wv4l m = (wv4l)(a > b);
    return (wv4d)((m & (wv4l)a) | (~m & (wv4l)b));
#endif
}

/* ---- loaders: 8 consecutive elements as 8 floats (exact conversions) ---- */
static inline wv8f WF(load_f32)(const char *p) {
    wv8f x;
    memcpy(&x, p, sizeof x);
    return x;
}
static inline wv8f WF(load_bf16)(const char *p) {
    wv8h h;
    memcpy(&h, p, sizeof h);
    return (wv8f)(__builtin_convertvector(h, wv8u) << 16);
}
static inline wv8f WF(load_f16)(const char *p) {
#if defined(__F16C__) && defined(__AVX__)
    return (wv8f)_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
#else
    /* exact: (h & 0x7fff) << 13 read as float, times 2^112; Inf/NaN get the top exponent */
    wv8h h;
    memcpy(&h, p, sizeof h);
    wv8u u = __builtin_convertvector(h, wv8u);
    wv8f f = (wv8f)((u & 0x7fffu) << 13) * WF(splat8)(0x1p112f);
    wv8u big = (wv8u)(f >= WF(splat8)(65536.0f));
    return (wv8f)((wv8u)f | (big & 0x7f800000u) | ((u & 0x8000u) << 16));
#endif
}
static inline wv4d WF(lo4d)(wv8f x) {
#if defined(__AVX__)
    return (wv4d)_mm256_cvtps_pd(_mm256_castps256_ps128((__m256)x));
#else
    wv4f h = __builtin_shufflevector(x, x, 0, 1, 2, 3);
    return __builtin_convertvector(h, wv4d);
#endif
}
static inline wv4d WF(hi4d)(wv8f x) {
#if defined(__AVX__)
    return (wv4d)_mm256_cvtps_pd(_mm256_extractf128_ps((__m256)x, 1));
#else
    wv4f h = __builtin_shufflevector(x, x, 4, 5, 6, 7);
    return __builtin_convertvector(h, wv4d);
#endif
}

/* Add d, d^2, d^3, d^4 of a group of 8 (two 4-lane halves a, b) to the
 * sums: lane j gets (a_j^k + b_j^k), one accumulator per power (the loop is
 * throughput-bound, so four dependency chains are enough). */
#define WST_POWERS(a, b)                                                                      \
    do {                                                                                      \
        wv4d a2_ = (a) * (a), b2_ = (b) * (b);                                                \
        s1 += (a) + (b);                                                                      \
        s2 += a2_ + b2_;                                                                      \
        s3 += a2_ * (a) + b2_ * (b);                                                          \
        s4 += a2_ * a2_ + b2_ * b2_;                                                          \
    } while (0)

/* Fixed-order reduction of the lanes and the block's outputs. */
#define WST_FINISH(NCAREFUL, PAD)                                                             \
    do {                                                                                      \
        const double r1 = WF(hsum)(s1), r2 = WF(hsum)(s2);                                    \
        const double r3 = WF(hsum)(s3), r4 = WF(hsum)(s4);                                    \
        int64_t nz = 0, nn = 0, nf = 0;                                                       \
        for (int j_ = 0; j_ < 8; j_++) {                                                      \
            nz -= zc[j_];                                                                     \
            nn -= nanc[j_];                                                                   \
            nf -= finc[j_];                                                                   \
        }                                                                                     \
        o->s1 = r1;                                                                           \
        o->s2 = r2;                                                                           \
        o->s3 = r3;                                                                           \
        o->s4 = r4;                                                                           \
        o->zero = nz;                                                                         \
        o->count = (n - (NCAREFUL)) + nf;                                                     \
        o->nan = nn - (PAD);                                                                  \
        o->inf = (NCAREFUL) + (PAD) - nf - nn;                                                \
    } while (0)

static inline double WF(hsum)(wv4d a) { return (a[0] + a[1]) + (a[2] + a[3]); }

/* One group of 8 float lanes. Fast: every element known finite. Careful:
 * NaN/Inf are counted and contribute nothing (lanes masked to +0). */
#define WST_GROUP8_FAST(x)                                                                    \
    do {                                                                                      \
        mn = WF(vmin8)((x), mn);                                                              \
        mx = WF(vmax8)((x), mx);                                                              \
        zc += (wv8i)((x) == zero8);                                                           \
        wv4d a_ = WF(lo4d)(x) - sh, b_ = WF(hi4d)(x) - sh;                                    \
        WST_POWERS(a_, b_);                                                                   \
    } while (0)

#define WST_GROUP8_CAREFUL(x)                                                                 \
    do {                                                                                      \
        wv8f t_ = (x) * zero8; /* 0 when finite, NaN for NaN/Inf */                           \
        wv8f y_ = (x) + t_;    /* x when finite, else NaN */                                  \
        finc += (wv8i)(t_ == zero8);                                                          \
        nanc += (wv8i)((x) != (x));                                                           \
        zc += (wv8i)((x) == zero8);                                                           \
        mn = WF(vmin8)(y_, mn);                                                               \
        mx = WF(vmax8)(y_, mx);                                                               \
        wv4d a_ = WF(lo4d)(y_) - sh, b_ = WF(hi4d)(y_) - sh;                                  \
        a_ = (wv4d)((wv4l)(a_ == a_) & (wv4l)a_);                                             \
        b_ = (wv4d)((wv4l)(b_ == b_) & (wv4l)b_);                                             \
        WST_POWERS(a_, b_);                                                                   \
    } while (0)

/* Block kernel for sources read as 8 floats (float32, float16, bfloat16). */
#define WST_KERNEL8(NAME, LOAD, ESZ, NANBITS)                                                 \
    static void WF(NAME)(const char *p, int64_t n, double shift, int careful, wst_blk *o) {  \
        const wv8f zero8 = WF(splat8)(0.0f);                                                  \
        const wv4d sh = WF(splat4)(shift);                                                    \
        wv4d s1 = {0}, s2 = {0}, s3 = {0}, s4 = {0};                                          \
        wv8f mn = WF(splat8)(INFINITY), mx = WF(splat8)(-INFINITY);                           \
        wv8i zc = {0}, nanc = {0}, finc = {0};                                                \
        const int64_t nfull = n & ~(int64_t)7;                                                \
        int64_t i = 0, ncareful = 0, pad = 0;                                                 \
        if (!careful) {                                                                       \
            for (; i < nfull; i += 8) {                                                       \
                wv8f x = LOAD(p + i * (ESZ));                                                 \
                WST_GROUP8_FAST(x);                                                           \
            }                                                                                 \
        } else {                                                                              \
            ncareful = nfull;                                                                 \
            for (; i < nfull; i += 8) {                                                       \
                wv8f x = LOAD(p + i * (ESZ));                                                 \
                WST_GROUP8_CAREFUL(x);                                                        \
            }                                                                                 \
        }                                                                                     \
        if (i < n) { /* tail: pad with NaN, which the careful group ignores */                \
            char tmp[8 * (ESZ)];                                                              \
            const int64_t r = n - i;                                                          \
            for (int k = 0; k < 8; k++) {                                                     \
                const NANBITS;                                                                \
                memcpy(tmp + k * (ESZ), &nanv_, (ESZ));                                       \
            }                                                                                 \
            memcpy(tmp, p + i * (ESZ), (size_t)(r * (ESZ)));                                  \
            wv8f x = LOAD(tmp);                                                               \
            WST_GROUP8_CAREFUL(x);                                                            \
            ncareful += r;                                                                    \
            pad = 8 - r;                                                                      \
        }                                                                                     \
        float mnv = mn[0], mxv = mx[0];                                                       \
        for (int j = 1; j < 8; j++) {                                                         \
            mnv = mn[j] < mnv ? mn[j] : mnv;                                                  \
            mxv = mx[j] > mxv ? mx[j] : mxv;                                                  \
        }                                                                                     \
        o->mn = mnv;                                                                          \
        o->mx = mxv;                                                                          \
        WST_FINISH(ncareful, pad);                                                            \
    }

WST_KERNEL8(blk_f32, WF(load_f32), 4, float nanv_ = NAN)
WST_KERNEL8(blk_f16, WF(load_f16), 2, uint16_t nanv_ = 0x7e00u)
WST_KERNEL8(blk_bf16, WF(load_bf16), 2, uint16_t nanv_ = 0x7fc0u)

/* Block kernel for float64 (two 4-lane halves per group of 8). */
static void WF(blk_f64)(const char *p, int64_t n, double shift, int careful, wst_blk *o) {
    const wv4d zero4 = WF(splat4)(0.0);
    const wv4d sh = WF(splat4)(shift);
    wv4d s1 = {0}, s2 = {0}, s3 = {0}, s4 = {0};
    wv4d mn = WF(splat4)(INFINITY), mx = WF(splat4)(-INFINITY);
    wv4l zc4 = {0}, nan4 = {0}, fin4 = {0};
    const int64_t nfull = n & ~(int64_t)7;
    int64_t i = 0, ncareful = 0, pad = 0;
    if (!careful) {
        for (; i < nfull; i += 8) {
            wv4d xa, xb;
            memcpy(&xa, p + i * 8, sizeof xa);
            memcpy(&xb, p + i * 8 + 32, sizeof xb);
            mn = WF(vmin4)(xa, WF(vmin4)(xb, mn));
            mx = WF(vmax4)(xa, WF(vmax4)(xb, mx));
            zc4 += (wv4l)(xa == zero4) + (wv4l)(xb == zero4);
            wv4d a_ = xa - sh, b_ = xb - sh;
            WST_POWERS(a_, b_);
        }
    }
    for (; i < n; i += 8) {
        double tmp[8];
        const int64_t r = n - i < 8 ? n - i : 8;
        for (int k = 0; k < 8; k++) tmp[k] = NAN;
        memcpy(tmp, p + i * 8, (size_t)(r * 8));
        wv4d xa, xb;
        memcpy(&xa, tmp, sizeof xa);
        memcpy(&xb, tmp + 4, sizeof xb);
        wv4d ta = xa * zero4, tb = xb * zero4;
        wv4d ya = xa + ta, yb = xb + tb;
        fin4 += (wv4l)(ta == zero4) + (wv4l)(tb == zero4);
        nan4 += (wv4l)(xa != xa) + (wv4l)(xb != xb);
        zc4 += (wv4l)(xa == zero4) + (wv4l)(xb == zero4);
        mn = WF(vmin4)(ya, WF(vmin4)(yb, mn));
        mx = WF(vmax4)(ya, WF(vmax4)(yb, mx));
        wv4d a_ = ya - sh, b_ = yb - sh;
        a_ = (wv4d)((wv4l)(a_ == a_) & (wv4l)a_);
        b_ = (wv4d)((wv4l)(b_ == b_) & (wv4l)b_);
        WST_POWERS(a_, b_);
        ncareful += r;
        pad += 8 - r;
    }
    double mnv = mn[0], mxv = mx[0];
    for (int j = 1; j < 4; j++) {
        mnv = mn[j] < mnv ? mn[j] : mnv;
        mxv = mx[j] > mxv ? mx[j] : mxv;
    }
    o->mn = mnv;
    o->mx = mxv;
    wv8i zc = {0}, nanc = {0}, finc = {0};
    for (int j = 0; j < 4; j++) {
        zc[j] = (int32_t)zc4[j];
        nanc[j] = (int32_t)nan4[j];
        finc[j] = (int32_t)fin4[j];
    }
    WST_FINISH(ncareful, pad);
}

/* ---- histogram of one contiguous block ------------------------------------
 * counts: 4 sub-histograms of (nbins + 1) slots (slot nbins is a dump for
 * out-of-range values); element j goes to sub-histogram j % 4, which breaks
 * the store-to-load dependency of runs of equal bins. The bin is computed
 * in float64 from (v - lo) * nbins / (hi - lo); when that lands within
 * rounding distance (h->tol) of an edge, wst_bin_exact places the value by
 * the edges themselves, so the counts are exactly those the edges define. */
static inline void WF(hist_half)(wv4d v, const wst_hist *h, wv4i *idx, int *bad) {
    const wv4d lo4 = WF(splat4)(h->lo), hi4 = WF(splat4)(h->hi);
    const wv4d norm4 = WF(splat4)(h->norm), top4 = WF(splat4)((double)(h->nbins - 1));
    const wv4d tol4 = WF(splat4)(h->tol), one_tol4 = WF(splat4)(1.0 - h->tol);
    wv4l in = (wv4l)(v >= lo4) & (wv4l)(v <= hi4); /* false for NaN */
    wv4d f = (v - lo4) * norm4;
    f = (wv4d)(in & (wv4l)f);
    f = WF(vmin4)(f, top4); /* 0 <= f <= nbins - 1: the conversion is defined */
    wv4i ii = __builtin_convertvector(f, wv4i);
    wv4d fr = f - __builtin_convertvector(ii, wv4d);
    wv4l amb = in & ((wv4l)(fr < tol4) | (wv4l)(fr > one_tol4));
    wv4i in32 = __builtin_convertvector(in, wv4i);
    wv4i nb4 = {(int32_t)h->nbins, (int32_t)h->nbins, (int32_t)h->nbins, (int32_t)h->nbins};
    *idx = (ii & in32) | (nb4 & ~in32);
#if defined(__AVX__)
    *bad = _mm256_movemask_pd((__m256d)amb);
#else
    *bad = (int)((amb[0] & 1) | ((amb[1] & 1) << 1) | ((amb[2] & 1) << 2) | ((amb[3] & 1) << 3));
#endif
}

static inline void WF(hist_group)(wv4d v0, wv4d v1, const wst_hist *h, int64_t *c0, int64_t *c1,
                                  int64_t *c2, int64_t *c3) {
    wv4i i0, i1;
    int b0, b1;
    WF(hist_half)(v0, h, &i0, &b0);
    WF(hist_half)(v1, h, &i1, &b1);
    int32_t idx[8];
    memcpy(idx, &i0, 16);
    memcpy(idx + 4, &i1, 16);
    if (__builtin_expect((b0 | b1) != 0, 0)) {
        for (int k = 0; k < 4; k++) {
            if (b0 & (1 << k)) idx[k] = (int32_t)wst_bin_exact(v0[k], h);
            if (b1 & (1 << k)) idx[k + 4] = (int32_t)wst_bin_exact(v1[k], h);
        }
    }
    c0[idx[0]]++;
    c1[idx[1]]++;
    c2[idx[2]]++;
    c3[idx[3]]++;
    c0[idx[4]]++;
    c1[idx[5]]++;
    c2[idx[6]]++;
    c3[idx[7]]++;
}

/* The same in float32 for 8 float lanes, when h->f32_ok: the range test is
 * exact (lo/hi rounded inward to float), the bin position is within h->tol_f
 * (rounding of float32 arithmetic) of the exact one, and ambiguous lanes are
 * placed exactly in float64. */
static inline void WF(hist_group8f)(wv8f x, const wst_hist *h, int64_t *c0, int64_t *c1,
                                    int64_t *c2, int64_t *c3) {
    const wv8f lo8 = WF(splat8)(h->lo_f), hi8 = WF(splat8)(h->hi_f);
    const wv8f norm8 = WF(splat8)(h->norm_f), top8 = WF(splat8)((float)(h->nbins - 1));
    const wv8f tol8 = WF(splat8)(h->tol_f), one_tol8 = WF(splat8)(1.0f - h->tol_f);
    const int32_t nb = (int32_t)h->nbins;
    const wv8i nb8 = {nb, nb, nb, nb, nb, nb, nb, nb};
    wv8i in = (wv8i)(x >= lo8) & (wv8i)(x <= hi8);
    wv8f f = (x - lo8) * norm8;
    f = (wv8f)(in & (wv8i)f);
    f = WF(vmin8)(f, top8);
    wv8i ii = __builtin_convertvector(f, wv8i);
    wv8f fr = f - __builtin_convertvector(ii, wv8f);
    wv8i amb = in & ((wv8i)(fr < tol8) | (wv8i)(fr > one_tol8));
    int32_t idx[8];
    const wv4l sel = (wv4l)((ii & in) | (nb8 & ~in));
    for (int k = 0; k < 4; k++) { /* lane extraction (a store + reloads stalls forwarding) */
        const uint64_t q = (uint64_t)sel[k];
        idx[2 * k] = (int32_t)(uint32_t)q;
        idx[2 * k + 1] = (int32_t)(uint32_t)(q >> 32);
    }
#if defined(__AVX__)
    const int bad = _mm256_movemask_ps((__m256)amb);
#else
    int bad = 0;
    for (int k = 0; k < 8; k++) bad |= (amb[k] & 1) << k;
#endif
    if (__builtin_expect(bad != 0, 0)) {
        for (int k = 0; k < 8; k++)
            if (bad & (1 << k)) idx[k] = (int32_t)wst_bin_exact((double)x[k], h);
    }
    c0[idx[0]]++;
    c1[idx[1]]++;
    c2[idx[2]]++;
    c3[idx[3]]++;
    c0[idx[4]]++;
    c1[idx[5]]++;
    c2[idx[6]]++;
    c3[idx[7]]++;
}

#define WST_HIST8(NAME, LOAD, ESZ)                                                            \
    static void WF(NAME)(const char *p, int64_t n, const wst_hist *hp, int64_t *counts) {     \
        const wst_hist hl = *hp, *h = &hl; /* a local copy: no aliasing with counts */        \
        const int64_t stride = h->nbins + 1;                                                  \
        int64_t *c0 = counts, *c1 = c0 + stride, *c2 = c1 + stride, *c3 = c2 + stride;        \
        int64_t i = 0;                                                                        \
        if (h->f32_ok) {                                                                      \
            for (; i + 8 <= n; i += 8) {                                                      \
                wv8f x = LOAD(p + i * (ESZ));                                                 \
                WF(hist_group8f)(x, h, c0, c1, c2, c3);                                       \
            }                                                                                 \
        }                                                                                     \
        for (; i + 8 <= n; i += 8) {                                                          \
            wv8f x = LOAD(p + i * (ESZ));                                                     \
            WF(hist_group)(WF(lo4d)(x), WF(hi4d)(x), h, c0, c1, c2, c3);                      \
        }                                                                                     \
        if (i < n) { /* tail: pad with NaN (never counted; lands in the dump slot) */         \
            char tmp[8 * (ESZ)];                                                              \
            memset(tmp, 0xff, sizeof tmp); /* all-ones: NaN in every float format */         \
            memcpy(tmp, p + i * (ESZ), (size_t)((n - i) * (ESZ)));                            \
            wv8f x = LOAD(tmp);                                                               \
            WF(hist_group)(WF(lo4d)(x), WF(hi4d)(x), h, c0, c1, c2, c3);                      \
        }                                                                                     \
    }

WST_HIST8(hist_f32, WF(load_f32), 4)
WST_HIST8(hist_f16, WF(load_f16), 2)
WST_HIST8(hist_bf16, WF(load_bf16), 2)

static void WF(hist_f64)(const char *p, int64_t n, const wst_hist *hp, int64_t *counts) {
    const wst_hist hl = *hp, *h = &hl; /* a local copy: no aliasing with counts */
    const int64_t stride = h->nbins + 1;
    int64_t *c0 = counts, *c1 = c0 + stride, *c2 = c1 + stride, *c3 = c2 + stride;
    for (int64_t i = 0; i < n; i += 8) {
        double tmp[8];
        const char *q = p + i * 8;
        if (i + 8 > n) {
            memset(tmp, 0xff, sizeof tmp);
            memcpy(tmp, q, (size_t)((n - i) * 8));
            q = (const char *)tmp;
        }
        wv4d v0, v1;
        memcpy(&v0, q, 32);
        memcpy(&v1, q + 32, 32);
        WF(hist_group)(v0, v1, h, c0, c1, c2, c3);
    }
}

static const wst_kernels WF(wst_kernels) = {
    {WF(blk_f16), WF(blk_bf16), WF(blk_f32), WF(blk_f64)},
    {WF(hist_f16), WF(hist_bf16), WF(hist_f32), WF(hist_f64)},
};

#undef WST_POWERS
#undef WST_FINISH
#undef WST_GROUP8_FAST
#undef WST_GROUP8_CAREFUL
#undef WST_KERNEL8
#undef WST_HIST8
#undef WF
