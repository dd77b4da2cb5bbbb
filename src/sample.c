/* Block orchestration, OpenMP driver, layouts and SIMD dispatch for the
 * sampling kernels (the stream itself is defined in sample.h). */
#include <math.h>
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#ifdef WINIT_OPENMP
#include <omp.h>
#endif

#include "dispatch.h"
#include "philox.h"
#include "sample.h"
#include "wmath.h"

typedef struct {
    void (*philox_soa)(uint32_t, uint32_t, uint64_t, uint32_t, uint32_t, int64_t, uint32_t *,
                       uint32_t *, uint32_t *, uint32_t *);
    void (*uniform_f32)(const uint32_t *, const uint32_t *, const uint32_t *, const uint32_t *,
                        int64_t, float, float, float, float, float *);
    void (*normal_f32)(const uint32_t *, const uint32_t *, const uint32_t *, const uint32_t *,
                       int64_t, float, float, float *);
    void (*uniform_f64)(const uint32_t *, const uint32_t *, const uint32_t *, const uint32_t *,
                        int64_t, double, double, double, double, double *);
    void (*normal_f64)(const uint32_t *, const uint32_t *, const uint32_t *, const uint32_t *,
                       int64_t, double, double, double *);
    void (*tn_uniform_cand)(const uint32_t *, const uint32_t *, const uint32_t *,
                            const uint32_t *, int64_t, double, double, double, double *);
    void (*tn_exp_cand)(const uint32_t *, const uint32_t *, const uint32_t *, const uint32_t *,
                        int64_t, double, double, double *);
    void (*affine_clamp_f32)(const float *, int64_t, float, float, float, float, float *);
    void (*affine_clamp_f64)(const double *, int64_t, double, double, double, double, double *);
    void (*affine_clamp_d2f)(const double *, int64_t, double, double, double, double, float *);
    void (*cvt_f16)(const float *, int64_t, uint16_t *);
    void (*cvt_bf16)(const float *, int64_t, uint16_t *);
    int64_t (*keep_f32)(const float *, int64_t, float, float, float *, int64_t, int64_t);
} winit_kernels;

/* Append the candidates cand[k * ng + j] (lane k of group j, PER lanes) for
 * j >= j0 that lie in [lo, hi] to z[cnt..], in group order (j, then k),
 * stopping at need; returns the new count. While a whole group fits
 * (cnt <= need - PER) no per-value stop test is needed, so the loop is
 * branch-free: every candidate is stored and the count advances only past
 * the accepted ones. Rejected candidates (NaN) fail both tests. keep_f32_4
 * is also the tail of the per-path keep_f32 (sample_impl.h). */
#define WINIT_KEEP(NAME, T, PER)                                                            \
    static int64_t NAME(const T *restrict cand, int64_t ng, int64_t j0, T lo, T hi,         \
                        T *restrict z, int64_t cnt, int64_t need) {                         \
        int64_t j = j0;                                                                     \
        for (; j < ng && cnt <= need - (PER); j++) {                                        \
            for (int k = 0; k < (PER); k++) {                                               \
                const T v = cand[k * ng + j];                                               \
                z[cnt] = v;                                                                 \
                cnt += (v >= lo) & (v <= hi);                                               \
            }                                                                               \
        }                                                                                   \
        for (; j < ng && cnt < need; j++) {                                                 \
            for (int k = 0; k < (PER) && cnt < need; k++) {                                 \
                const T v = cand[k * ng + j];                                               \
                z[cnt] = v;                                                                 \
                cnt += (v >= lo) & (v <= hi);                                               \
            }                                                                               \
        }                                                                                   \
        return cnt;                                                                         \
    }
WINIT_KEEP(keep_f32_4, float, 4)
WINIT_KEEP(keep_f64_2, double, 2)
WINIT_KEEP(keep_f64_1, double, 1)
#undef WINIT_KEEP

#define WSFX scalar
#include "sample_impl.h"
#undef WSFX

#if WINIT_HAVE_X86_PATHS
WINIT_BEGIN_AVX2
#define WSFX avx2
#include "sample_impl.h"
#undef WSFX
WINIT_END_TARGET

WINIT_BEGIN_AVX512
#define WSFX avx512
#include "sample_impl.h"
#undef WSFX
WINIT_END_TARGET
#endif

static const winit_kernels *kernel_table(int level) {
#if WINIT_HAVE_X86_PATHS
    if (level == WINIT_SIMD_AVX512) return &kernels_avx512;
    if (level == WINIT_SIMD_AVX2) return &kernels_avx2;
#endif
    (void)level;
    return &kernels_scalar;
}

static int simd_level = WINIT_SIMD_SCALAR;

int winit_simd_init(void) {
    int ok;
    simd_level = winit_simd_choose(&ok);
    return ok;
}

int winit_simd_set(int level) {
    if (!winit_simd_available(level)) return 0;
    simd_level = level;
    return 1;
}

int winit_simd_current(void) { return simd_level; }

int winit_simd_compiled_mask(void) {
#if WINIT_HAVE_X86_PATHS
    return (1 << WINIT_SIMD_SCALAR) | (1 << WINIT_SIMD_AVX2) | (1 << WINIT_SIMD_AVX512);
#else
    return 1 << WINIT_SIMD_SCALAR;
#endif
}

int winit_openmp_enabled(void) {
#ifdef WINIT_OPENMP
    return 1;
#else
    return 0;
#endif
}

int winit_omp_max_threads(void) {
#ifdef WINIT_OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void winit_philox_raw(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                      uint32_t k1, uint32_t out[4]) {
    const uint32_t ctr[4] = {c0, c1, c2, c3};
    const uint32_t key[2] = {k0, k1};
    winit_philox4x32_10(ctr, key, out);
}

/* ---- stream tags (counter word c3) ---------------------------------- */
enum {
    TAG_UNIFORM_F32 = 0x55463332u, /* "UF32" */
    TAG_UNIFORM_F64 = 0x55463634u,
    TAG_NORMAL_F32 = 0x4e463332u,
    TAG_NORMAL_F64 = 0x4e463634u,
    TAG_TRUNC_F32 = 0x54000000u, /* | (block >> 32): the top 8 bits are the tag */
    TAG_TRUNC_F64 = 0x74000000u,
};

#define GROUPS_MAX (WINIT_BLOCK / 2) /* scratch capacity in groups */
#define TRUNC_MAX_GROUPS (1ull << 24) /* per block; beyond this the fill fails */

typedef struct {
    uint32_t w[4][GROUPS_MAX];
    double cand[WINIT_BLOCK];  /* candidates (read as float for the f32 normal method) */
    double z[WINIT_BLOCK];     /* accepted standardized values (float: room for 2x, see keep_f32) */
    double wd[WINIT_BLOCK];    /* working block, double (or float) */
    uint16_t h[WINIT_BLOCK];   /* half-precision staging */
} scratch_t;

/* ---- strided stores ------------------------------------------------- */

/* Copy cnt elements of esz bytes from contiguous src to destination elements
 * [e0, e0 + cnt) in C order. */
static void store_range(const winit_dest *d, int64_t e0, int64_t cnt, const char *src, int esz) {
    if (d->contiguous) {
        memcpy(d->data + e0 * esz, src, (size_t)(cnt * esz));
        return;
    }
    int nd = d->ndim;
    int64_t idx[64];
    int64_t rem = e0;
    char *p = d->data;
    for (int k = nd - 1; k >= 0; k--) {
        idx[k] = rem % d->shape[k];
        rem /= d->shape[k];
        p += idx[k] * d->strides[k];
    }
    const int64_t inner = d->shape[nd - 1], istr = d->strides[nd - 1];
    while (cnt > 0) {
        int64_t run = inner - idx[nd - 1];
        if (run > cnt) run = cnt;
        switch (esz) {
        case 2:
            for (int64_t t = 0; t < run; t++) memcpy(p + t * istr, src + 2 * t, 2);
            break;
        case 4:
            for (int64_t t = 0; t < run; t++) memcpy(p + t * istr, src + 4 * t, 4);
            break;
        default:
            for (int64_t t = 0; t < run; t++) memcpy(p + t * istr, src + 8 * t, 8);
            break;
        }
        src += run * esz;
        cnt -= run;
        idx[nd - 1] += run;
        p += run * istr;
        if (idx[nd - 1] == inner && cnt > 0) {
            idx[nd - 1] = 0;
            p -= inner * istr;
            for (int k = nd - 2; k >= 0; k--) {
                idx[k]++;
                p += d->strides[k];
                if (idx[k] < d->shape[k]) break;
                p -= d->shape[k] * d->strides[k];
                idx[k] = 0;
            }
        }
    }
}

/* ---- one block ------------------------------------------------------ */

static inline uint32_t key_lo(const winit_job *j) { return (uint32_t)j->key; }
static inline uint32_t key_hi(const winit_job *j) { return (uint32_t)(j->key >> 32); }


/* Truncated normal, block b: draw candidates in group order, keep those in
 * [alpha, beta] until WINIT_BLOCK are found, then map and clamp. */
static int trunc_block(const winit_kernels *K, const winit_job *job, uint64_t b, int f64,
                       scratch_t *s, void *out) {
    const int64_t need = WINIT_BLOCK;
    const int normal_f32 = (job->method == WINIT_TN_NORMAL) && !f64;
    const int per_group = job->method == WINIT_TN_NORMAL ? (f64 ? 2 : 4) : 1;
    const uint32_t c1 = (uint32_t)b;
    const uint32_t c3 = (f64 ? TAG_TRUNC_F64 : TAG_TRUNC_F32) | (uint32_t)(b >> 32);
    const double alpha = job->alpha, beta = job->beta;
    const float alpha_f = (float)alpha, beta_f = (float)beta;
    int64_t cnt = 0;
    uint64_t g = 0;
    float *zf = (float *)s->z;
    double *zd = s->z;
    while (cnt < need) {
        /* groups for the remaining values at the expected acceptance, plus slack */
        double est = (double)(need - cnt) / (job->accept * per_group);
        int64_t ng = (int64_t)(est * 1.03) + 4;
        if (ng > GROUPS_MAX) ng = GROUPS_MAX;
        if (g + (uint64_t)ng > TRUNC_MAX_GROUPS) return WINIT_ERR_REJECTION;
        K->philox_soa(key_lo(job), key_hi(job), ((uint64_t)c1 << 32) | g, 0, c3, ng, s->w[0], s->w[1], s->w[2], s->w[3]);
        g += (uint64_t)ng;
        if (normal_f32) {
            float *cf = (float *)s->cand;
            K->normal_f32(s->w[0], s->w[1], s->w[2], s->w[3], ng, 0.0f, 1.0f, cf);
            cnt = K->keep_f32(cf, ng, alpha_f, beta_f, zf, cnt, need);
        } else {
            double *cd = s->cand;
            if (job->method == WINIT_TN_NORMAL)
                K->normal_f64(s->w[0], s->w[1], s->w[2], s->w[3], ng, 0.0, 1.0, cd);
            else if (job->method == WINIT_TN_UNIFORM)
                K->tn_uniform_cand(s->w[0], s->w[1], s->w[2], s->w[3], ng, alpha, beta - alpha,
                                   job->m2, cd);
            else
                K->tn_exp_cand(s->w[0], s->w[1], s->w[2], s->w[3], ng, alpha, job->lam, cd);
            cnt = per_group == 2 ? keep_f64_2(cd, ng, 0, alpha, beta, zd, cnt, need)
                                 : keep_f64_1(cd, ng, 0, alpha, beta, zd, cnt, need);
        }
    }
    if (normal_f32)
        K->affine_clamp_f32(zf, need, (float)job->p0, (float)job->p1, (float)job->lo,
                            (float)job->hi, (float *)out);
    else if (f64)
        K->affine_clamp_f64(zd, need, job->p0, job->p1, job->lo, job->hi, (double *)out);
    else
        K->affine_clamp_d2f(zd, need, job->p0, job->p1, job->lo, job->hi, (float *)out);
    return WINIT_OK;
}

/* Generate the whole block b (WINIT_BLOCK values) into out (float or double). */
static int gen_block(const winit_kernels *K, const winit_job *job, uint64_t b, int f64,
                     scratch_t *s, void *out) {
    uint32_t *w0 = s->w[0], *w1 = s->w[1], *w2 = s->w[2], *w3 = s->w[3];
    const uint32_t k0 = key_lo(job), k1 = key_hi(job);
    switch (job->dist) {
    case WINIT_UNIFORM:
        if (f64) {
            K->philox_soa(k0, k1, b * (WINIT_BLOCK / 2), 0, TAG_UNIFORM_F64, WINIT_BLOCK / 2, w0,
                          w1, w2, w3);
            K->uniform_f64(w0, w1, w2, w3, WINIT_BLOCK / 2, job->p0, job->p1, job->lo, job->hi,
                           (double *)out);
        } else {
            K->philox_soa(k0, k1, b * (WINIT_BLOCK / 4), 0, TAG_UNIFORM_F32, WINIT_BLOCK / 4, w0,
                          w1, w2, w3);
            K->uniform_f32(w0, w1, w2, w3, WINIT_BLOCK / 4, (float)job->p0, (float)job->p1,
                           (float)job->lo, (float)job->hi, (float *)out);
        }
        return WINIT_OK;
    case WINIT_NORMAL:
        if (f64) {
            K->philox_soa(k0, k1, b * (WINIT_BLOCK / 2), 0, TAG_NORMAL_F64, WINIT_BLOCK / 2, w0,
                          w1, w2, w3);
            K->normal_f64(w0, w1, w2, w3, WINIT_BLOCK / 2, job->p0, job->p1, (double *)out);
        } else {
            K->philox_soa(k0, k1, b * (WINIT_BLOCK / 4), 0, TAG_NORMAL_F32, WINIT_BLOCK / 4, w0,
                          w1, w2, w3);
            K->normal_f32(w0, w1, w2, w3, WINIT_BLOCK / 4, (float)job->p0, (float)job->p1,
                          (float *)out);
        }
        return WINIT_OK;
    case WINIT_TRUNC_NORMAL:
        return trunc_block(K, job, b, f64, s, out);
    default:
        return WINIT_ERR_ARGS;
    }
}

/* Generate block b and store the part of it that lies in the destination. */
static int fill_block(const winit_kernels *K, const winit_job *job, const winit_dest *d,
                      uint64_t b, scratch_t *s) {
    /* inclusive ends: offset + size may be exactly 2^64 */
    const uint64_t first = job->offset, last = job->offset + (uint64_t)(d->size - 1);
    const uint64_t bs = b * WINIT_BLOCK, be = bs + (WINIT_BLOCK - 1);
    const uint64_t i0 = bs > first ? bs : first;
    const uint64_t i1 = be < last ? be : last;
    const int64_t e0 = (int64_t)(i0 - first), cnt = (int64_t)(i1 - i0) + 1, p0 = (int64_t)(i0 - bs);
    const int f64 = d->dtype == WINIT_F64;
    const int esz = f64 ? 8 : (d->dtype == WINIT_F32 ? 4 : 2);
    /* Whole block straight into a contiguous destination of the working type. */
    if (cnt == WINIT_BLOCK && d->contiguous && (d->dtype == WINIT_F32 || f64))
        return gen_block(K, job, b, f64, s, d->data + e0 * esz);
    int st = gen_block(K, job, b, f64, s, s->wd);
    if (st != WINIT_OK) return st;
    if (d->dtype == WINIT_F32 || f64) {
        store_range(d, e0, cnt, (const char *)s->wd + p0 * esz, esz);
        return WINIT_OK;
    }
    const float *src = (const float *)s->wd + p0;
    uint16_t *h = d->contiguous ? (uint16_t *)(d->data + e0 * 2) : s->h;
    if (d->dtype == WINIT_F16)
        K->cvt_f16(src, cnt, h);
    else
        K->cvt_bf16(src, cnt, h);
    if (!d->contiguous) store_range(d, e0, cnt, (const char *)h, 2);
    return WINIT_OK;
}

int winit_fill(const winit_job *job, const winit_dest *d, int nthreads) {
    if (d->size <= 0) return WINIT_OK;
    if (d->dtype < WINIT_F16 || d->dtype > WINIT_F64 || d->ndim > 64) return WINIT_ERR_ARGS;
    const winit_kernels *K = kernel_table(simd_level);
    const uint64_t b0 = job->offset / WINIT_BLOCK;
    const uint64_t b1 = (job->offset + (uint64_t)d->size - 1) / WINIT_BLOCK;
    const int64_t nb = (int64_t)(b1 - b0 + 1);
    int status = WINIT_OK;
    if (nthreads < 1) nthreads = 1;
    if ((int64_t)nthreads > nb) nthreads = (int)nb;
#ifdef WINIT_OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        scratch_t *s = (scratch_t *)aligned_alloc(64, sizeof(scratch_t));
        int local = s ? WINIT_OK : WINIT_ERR_ARGS;
#ifdef WINIT_OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t ib = 0; ib < nb; ib++) {
            if (local == WINIT_OK) local = fill_block(K, job, d, b0 + (uint64_t)ib, s);
        }
        if (local != WINIT_OK) {
#ifdef WINIT_OPENMP
#pragma omp atomic write
#endif
            status = local;
        }
        free(s);
    }
    return status;
}
