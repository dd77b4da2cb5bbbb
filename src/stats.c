/* OpenMP driver of the one-pass statistics kernel: fixed blocks, the shift,
 * block-order merging and the histogram reduction. Contract in stats.h; hot
 * loops in stats_impl.h (one copy per SIMD path); layouts in layout.h. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef WINIT_OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "dispatch.h"
#include "layout.h"
#include "runtime.h"
#include "stats.h"
#include "wmath.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi" /* vectors only pass between inlined helpers of one path */
#endif

#define WST_INLINE inline __attribute__((always_inline))

/* GCC/clang vector types shared by every path of stats_impl.h. */
typedef float wv8f __attribute__((vector_size(32)));
typedef float wv4f __attribute__((vector_size(16)));
typedef double wv4d __attribute__((vector_size(32)));
typedef int32_t wv8i __attribute__((vector_size(32)));
typedef int32_t wv4i __attribute__((vector_size(16)));
typedef int64_t wv4l __attribute__((vector_size(32)));
typedef uint32_t wv8u __attribute__((vector_size(32)));
typedef uint16_t wv8h __attribute__((vector_size(16)));

/* Lane sums of the powers d, d^2, d^3, d^4 of d = x - shift. */
typedef struct {
    wv4d s1, s2, s3, s4;
} wst_sums;

/* The accumulator of a block read as groups of 8 floats: sums, extremes,
 * and (negated) counts of zeros, NaN and finite values per lane. */
typedef struct {
    wst_sums s;
    wv8f mn, mx;
    wv8i zero, nan, fin;
} wst_acc8;

/* The same for float64 blocks (4 lanes). */
typedef struct {
    wst_sums s;
    wv4d mn, mx;
    wv4l zero, nan, fin;
} wst_acc4d;

/* Raw sums of one block around a shift: s_k = sum (x - shift)^k over finite x. */
typedef struct {
    int64_t count, nan, inf, zero;
    double s1, s2, s3, s4, mn, mx;
} wst_blk;

/* Histogram parameters: nbins bins between edges[0] = lo and edges[nbins] = hi. */
typedef struct {
    int64_t nbins;
    double lo, hi, norm, tol;
    const double *edges;
    int uniform; /* equally spaced edges: the bin formula may be tried first */
    int vec;     /* the per-path vector kernel applies (uniform, few enough bins) */
    /* float32 variant for float sources: lo/hi rounded inward, error bound in bins */
    int f32_ok;
    float lo_f, hi_f, norm_f, tol_f;
} wst_hist;

typedef void (*wst_blk_fn)(const char *, int64_t, double, int, wst_blk *);
typedef void (*wst_hist_fn)(const char *, int64_t, const wst_hist *, int64_t *);
/* Slots per pass of the vector histogram: computed into a buffer, then counted. */
#define WST_HCHUNK 512
typedef void (*wst_blk_hist_fn)(const char *, int64_t, double, const wst_hist *, int64_t *,
                                wst_blk *);
typedef struct {
    wst_blk_fn blk[4];
    wst_hist_fn hist[4];
    wst_blk_hist_fn blk_hist_f32; /* blk[F32] (fast pass) and hist[F32] in one loop */
} wst_kernels;

/* The bin of lo <= v <= hi from the edges alone: the largest i < nbins with
 * edges[i] <= v (numpy's searchsorted(edges, v, "right") - 1, last bin closed). */
static inline int64_t wst_bin_exact(double v, const wst_hist *h) {
    const double *e = h->edges;
    int64_t a = 0, len = h->nbins; /* invariant: e[a] <= v, answer in [a, a + len) */
    while (len > 1) {
        const int64_t half = len / 2;
        a = e[a + half] <= v ? a + half : a;
        len -= half;
    }
    return a;
}

#define WSTATS_SFX scalar
#include "stats_impl.h"
#undef WSTATS_SFX

#if WINIT_HAVE_X86_PATHS
WINIT_BEGIN_AVX2
#define WSTATS_SFX avx2
#include "stats_impl.h"
#undef WSTATS_SFX
WINIT_END_TARGET

WINIT_BEGIN_AVX512
#define WSTATS_SFX avx512
#include "stats_impl.h"
#undef WSTATS_SFX
WINIT_END_TARGET
#endif

static const wst_kernels *kernels(winit_simd level) {
#if WINIT_HAVE_X86_PATHS
    if (level == WINIT_SIMD_AVX512) return &wst_kernels_avx512;
    if (level == WINIT_SIMD_AVX2) return &wst_kernels_avx2;
#endif
    (void)level;
    return &wst_kernels_scalar;
}

/* ---- scalar decoding (exact) ------------------------------------------- */
static inline double wst_get(const char *p, winit_dtype dtype) {
    uint16_t h;
    float f;
    double d;
    switch (dtype) {
    case WINIT_F16:
        memcpy(&h, p, 2);
        return wm_f16_to_f32(h);
    case WINIT_BF16:
        memcpy(&h, p, 2);
        return wm_bf16_to_f32(h);
    case WINIT_F32:
        memcpy(&f, p, 4);
        return f;
    default:
        memcpy(&d, p, 8);
        return d;
    }
}

/* ---- moments ---------------------------------------------------------------- */
void winit_moments_merge(const winit_moments *a, const winit_moments *b, winit_moments *out) {
    if (b->count == 0) {
        *out = *a;
        return;
    }
    if (a->count == 0) {
        *out = *b;
        return;
    }
    const double na = (double)a->count, nb = (double)b->count, n = na + nb;
    const double d = b->mean - a->mean, dn = d / n, dn2 = dn * dn, nab = na * nb;
    winit_moments o;
    o.count = a->count + b->count;
    o.mean = a->mean + dn * nb;
    o.m2 = a->m2 + b->m2 + d * dn * nab;
    o.m3 = a->m3 + b->m3 + d * dn2 * nab * (na - nb) + 3.0 * dn * (na * b->m2 - nb * a->m2);
    o.m4 = a->m4 + b->m4 + d * dn2 * dn * nab * (na * na - nab + nb * nb) +
           6.0 * dn2 * (na * na * b->m2 + nb * nb * a->m2) + 4.0 * dn * (na * b->m3 - nb * a->m3);
    *out = o;
}

/* Central moments of a block from its sums around `shift`. */
static void wst_central(const wst_blk *s, double shift, winit_moments *m) {
    m->count = s->count;
    if (s->count == 0) {
        m->mean = m->m2 = m->m3 = m->m4 = 0.0;
        return;
    }
    const double n = (double)s->count, d = s->s1 / n;
    if (isinf(s->s2)) { /* float64 data whose squares overflow: var = inf, as numpy */
        m->mean = shift + d;
        m->m2 = INFINITY;
        m->m3 = NAN;
        m->m4 = INFINITY;
        return;
    }
    double m2 = s->s2 - d * s->s1;
    if (m2 < 0.0) m2 = 0.0;
    m->mean = shift + d;
    m->m2 = m2;
    m->m3 = s->s3 - 3.0 * d * s->s2 + 2.0 * d * d * s->s1;
    m->m4 = s->s4 - 4.0 * d * s->s3 + 6.0 * d * d * s->s2 - 3.0 * d * d * d * s->s1;
    if (m->m4 < 0.0) m->m4 = 0.0;
}

typedef struct {
    winit_moments mom;
    double mn, mx;
    int64_t nan, inf, zero;
} wst_part;

static void wst_part_merge(wst_part *acc, const wst_part *p) {
    winit_moments_merge(&acc->mom, &p->mom, &acc->mom);
    acc->mn = p->mn < acc->mn ? p->mn : acc->mn;
    acc->mx = p->mx > acc->mx ? p->mx : acc->mx;
    acc->nan += p->nan;
    acc->inf += p->inf;
    acc->zero += p->zero;
}

/* Moments of one block: fast pass (all finite assumed); a careful pass when
 * that produced a non-finite sum; a re-summation around the block's own mean
 * when it lies more than one standard deviation from the shift. */
static void wst_block_moments(const wst_kernels *k, winit_dtype dtype, const char *p, int64_t n,
                              const double shift0, const wst_blk *fast, wst_part *out) {
    double shift = shift0;
    wst_blk s;
    int careful = 0;
    if (fast) s = *fast; /* the fast pass, already run (with the histogram) */
    else k->blk[dtype](p, n, shift, 0, &s);
    if (!(isfinite(s.s2) && isfinite(s.s4))) {
        careful = 1;
        k->blk[dtype](p, n, shift, 1, &s);
    }
    if (s.count > 0 && isfinite(s.s2) && isfinite(s.s4)) {
        const double d = s.s1 / (double)s.count;
        if (d * d * (double)s.count > s.s2 - d * s.s1) {
            shift += d;
            k->blk[dtype](p, n, shift, careful, &s);
        }
    }
    /* block means are kept relative to the global shift while merging (one rounding
     * at the end instead of one per merge at the magnitude of the mean) */
    wst_central(&s, shift - shift0, &out->mom);
    out->mn = s.mn;
    out->mx = s.mx;
    out->nan = s.nan;
    out->inf = s.inf;
    out->zero = s.zero;
}

/* The shift: the finite value closest to the mean of the first block that
 * holds finite values (a data value, so a constant array has var exactly 0). */
static double wst_choose_shift(const winit_layout *a, const wst_kernels *k, char *buf) {
    for (int64_t start = 0; start < a->size; start += WINIT_STATS_BLOCK) {
        const int64_t n = a->size - start < WINIT_STATS_BLOCK ? a->size - start : WINIT_STATS_BLOCK;
        const char *p = winit_gather(a, start, n, buf);
        wst_blk s;
        k->blk[a->dtype](p, n, 0.0, 1, &s);
        if (s.count == 0) continue;
        const double m = s.s1 / (double)s.count;
        double best = NAN, bestd = INFINITY, first = NAN;
        for (int64_t j = 0; j < n; j++) {
            const double v = wst_get(p + j * a->esz, a->dtype);
            if (!isfinite(v)) continue;
            if (isnan(first)) first = v;
            const double dd = fabs(v - m);
            if (dd < bestd) {
                bestd = dd;
                best = v;
            }
        }
        return isnan(best) ? first : best;
    }
    return 0.0;
}

/* ---- histogram ---------------------------------------------------------------- */
#define WST_VEC_MAXBINS 65536

/* The histogram's parameters from its edges; WINIT_EINVAL unless
 * edges[0] <= edges[nbins], both finite. */
static winit_status wst_hist_setup(wst_hist *h, int64_t nbins, const double *edges, int uniform) {
    memset(h, 0, sizeof *h);
    h->nbins = nbins;
    h->edges = edges;
    h->uniform = uniform;
    h->lo = edges[0];
    h->hi = edges[nbins];
    if (!(h->lo <= h->hi) || !isfinite(h->lo) || !isfinite(h->hi)) return WINIT_EINVAL;
    h->norm = h->hi > h->lo ? (double)nbins / (h->hi - h->lo) : 0.0;
    h->tol = 16.0 * DBL_EPSILON * ((fabs(h->lo) + fabs(h->hi)) * h->norm + (double)nbins);
    h->vec = uniform && isfinite(h->norm) && h->norm > 0.0 && h->tol < 0.125 &&
             nbins <= WST_VEC_MAXBINS;
    if (h->vec && fabs(h->lo) < 1e38 && fabs(h->hi) < 1e38) {
        float lf = (float)h->lo, hf = (float)h->hi;
        if ((double)lf < h->lo) lf = nextafterf(lf, INFINITY);
        if ((double)hf > h->hi) hf = nextafterf(hf, -INFINITY);
        /* Error of fl(fl(x - lo_f) * norm_f) in bins: |lo_f - lo| * norm <= eps |lo| norm,
         * and three roundings of at most eps/2 relative on values <= nbins:
         * <= eps (|lo| norm + 1.5 nbins). 4x that bound, at least 2.6x more than
         * needed; a tighter tol sends fewer values down the exact (slow) path. */
        const double tf =
            4.0 * FLT_EPSILON * ((fabs(h->lo) + fabs(h->hi)) * h->norm + (double)nbins);
        h->lo_f = lf;
        h->hi_f = hf;
        h->norm_f = (float)h->norm;
        h->tol_f = (float)tf;
        h->f32_ok = tf < 0.125 && lf <= hf && isfinite(h->norm_f);
    }
    return WINIT_OK;
}

/* Any bins (also non-uniform or very many): per element, exact. */
static void wst_hist_generic(const char *p, winit_dtype dtype, int64_t n, const wst_hist *h,
                             int64_t *counts) {
    const int64_t esz = winit_itemsize(dtype);
    const double *e = h->edges;
    for (int64_t j = 0; j < n; j++) {
        const double v = wst_get(p + j * esz, dtype);
        if (!(v >= h->lo && v <= h->hi)) continue;
        int64_t b = -1;
        if (h->uniform) {
            const double f = (v - h->lo) * h->norm;
            b = f < (double)h->nbins ? (int64_t)f : h->nbins - 1;
            if (b < 0) b = 0;
            if (!(e[b] <= v && (b == h->nbins - 1 || v < e[b + 1]))) b = -1;
        }
        if (b < 0) b = wst_bin_exact(v, h);
        counts[b]++;
    }
}

/* ---- driver ---------------------------------------------------------------- */
#define WST_ROUND 1024 /* blocks per parallel round (partials buffer) */
/* At most 16 blocks (256K values) a grab (runtime.h winit_grab). Each block's partial
 * result lands in its own slot and partials merge in block order, histogram counts are
 * sums: the results do not depend on which thread took which block. */
#define WST_GRAB 16

winit_status winit_stats_run(const winit_array *arr, winit_simd simd, int nthreads, int moments,
                             int64_t nbins, const double *edges, int uniform, int64_t *hist,
                             winit_stats_result *out) {
    winit_layout a;
    winit_status rc = winit_layout_init(&a, arr);
    if (rc != WINIT_OK) return rc;
    if (nbins < 0 || (nbins > 0 && (edges == NULL || hist == NULL))) return WINIT_EINVAL;
    wst_hist h = {0};
    if (nbins > 0 && (rc = wst_hist_setup(&h, nbins, edges, uniform)) != WINIT_OK) return rc;

    const wst_kernels *k = kernels(simd);
    const int64_t nblocks = (a.size + WINIT_STATS_BLOCK - 1) / WINIT_STATS_BLOCK;
    int nt = nthreads < 1 ? 1 : nthreads;
#ifndef WINIT_OPENMP
    nt = 1;
#endif
    if ((int64_t)nt > nblocks) nt = nblocks > 0 ? (int)nblocks : 1;
    /* per thread: nsub sub-histograms of nbins + 1 slots (the last one a dump) */
    const int64_t hstride = nbins + 1, nsub = nbins > 0 && h.vec ? 4 : 1;

    wst_part total = {{0, 0.0, 0.0, 0.0, 0.0}, INFINITY, -INFINITY, 0, 0, 0};
    double shift = 0.0;
    wst_part *parts = NULL;
    char *bufs = NULL;
    int64_t *tcounts = NULL;
    const int64_t bufsz = a.contiguous ? 0 : WINIT_STATS_BLOCK * a.esz;
    if (nblocks == 0) goto finish;

    parts = (wst_part *)malloc(sizeof(wst_part) * WST_ROUND);
    bufs = (char *)malloc((size_t)(bufsz * nt + 64));
    if (nbins > 0) tcounts = (int64_t *)calloc((size_t)(nt * nsub * hstride), sizeof(int64_t));
    if (!parts || !bufs || (nbins > 0 && !tcounts)) {
        rc = WINIT_ENOMEM;
        goto finish;
    }

    if (moments) shift = wst_choose_shift(&a, k, bufs);

    for (int64_t r0 = 0; r0 < nblocks; r0 += WST_ROUND) {
        const int64_t nb = nblocks - r0 < WST_ROUND ? nblocks - r0 : WST_ROUND;
        const int grab = winit_grab(nb, nt, WST_GRAB);
        (void)grab;
#ifdef WINIT_OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, grab)
#endif
        for (int64_t b = 0; b < nb; b++) {
            int tid = 0;
#ifdef WINIT_OPENMP
            tid = omp_get_thread_num();
#endif
            const int64_t start = (r0 + b) * WINIT_STATS_BLOCK;
            const int64_t n =
                a.size - start < WINIT_STATS_BLOCK ? a.size - start : WINIT_STATS_BLOCK;
            const char *p = winit_gather(&a, start, n, bufs + tid * bufsz);
            int64_t *c = nbins > 0 ? tcounts + (int64_t)tid * nsub * hstride : NULL;
            if (moments && nbins > 0 && h.f32_ok && a.dtype == WINIT_F32) {
                wst_blk fast;
                k->blk_hist_f32(p, n, shift, &h, c, &fast);
                wst_block_moments(k, a.dtype, p, n, shift, &fast, &parts[b]);
                continue;
            }
            if (moments) wst_block_moments(k, a.dtype, p, n, shift, NULL, &parts[b]);
            if (nbins > 0) {
                if (h.vec) k->hist[a.dtype](p, n, &h, c);
                else wst_hist_generic(p, a.dtype, n, &h, c);
            }
        }
        if (moments)
            for (int64_t b = 0; b < nb; b++) wst_part_merge(&total, &parts[b]);
    }

    if (nbins > 0) {
        for (int64_t i = 0; i < nbins; i++) {
            int64_t c = 0;
            for (int64_t t = 0; t < (int64_t)nt * nsub; t++) c += tcounts[t * hstride + i];
            hist[i] = c;
        }
    }

finish:
    if (nbins > 0 && nblocks == 0)
        for (int64_t i = 0; i < nbins; i++) hist[i] = 0;
    if (rc == WINIT_OK && moments) {
        out->mom = total.mom;
        out->mom.mean = total.mom.count > 0 ? shift + total.mom.mean : 0.0;
        out->min = total.mn;
        out->max = total.mx;
        out->nan_count = total.nan;
        out->inf_count = total.inf;
        out->zero_count = total.zero;
    }
    free(parts);
    free(bufs);
    free(tcounts);
    return rc;
}
