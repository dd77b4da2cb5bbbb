/* Block orchestration, OpenMP driver and SIMD dispatch of the sampling
 * kernels (the stream itself is defined in sample.h). */
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
#include "layout.h"
#include "philox.h"
#include "runtime.h"
#include "sample.h"
#include "wmath.h"

typedef struct {
    void (*philox_soa)(uint32_t, uint32_t, uint64_t, uint32_t, uint32_t, int64_t, uint32_t *,
                       uint32_t *, uint32_t *, uint32_t *);
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
    void (*affine_clamp_f32)(const float *, int64_t, float, float, float, float, int, float *);
    void (*affine_clamp_f64)(const double *, int64_t, double, double, double, double, double *);
    void (*affine_clamp_d2f)(const double *, int64_t, double, double, double, double, float *);
    void (*cvt_f16)(const float *, int64_t, uint16_t *);
    void (*cvt_bf16)(const float *, int64_t, uint16_t *);
    int64_t (*keep_f32)(const float *, int64_t, float, float, float *, int64_t, int64_t);
    /* keep_f32 then affine_clamp_f32 in one pass (NULL: two passes) */
    int64_t (*keep_map_f32)(const float *, int64_t, float, float, const float *, float *, int64_t,
                            int64_t);
    void (*stream_copy)(char *, const char *, int64_t);
    void (*normal_f16)(const uint32_t *, const uint32_t *, const uint32_t *, const uint32_t *,
                       int64_t, float, float, uint16_t *);
    void (*normal_bf16)(const uint32_t *, const uint32_t *, const uint32_t *, const uint32_t *,
                        int64_t, float, float, uint16_t *);
    void (*uniform_f32_gen)(uint32_t, uint32_t, uint64_t, uint32_t, int64_t, float, float, float,
                            float, int, uint32_t *const[4], float *);
    int direct_nt; /* vector stores straight to a destination: uniform_f32_gen converts
                      in registers, and it and affine_clamp_f32 can store non-temporally */
} winit_kernels;

enum { WOUT_WORDS, WOUT_UNIFORM, WOUT_UNIFORM_NT }; /* see sample_impl.h's philox_out */

/* Append the candidates cand[k * ng + j] (lane k of group j, PER lanes) for
 * j >= j0 that lie in [lo, hi] to z[cnt..], in group order (j, then k),
 * stopping at need; returns the new count. While a whole group fits
 * (cnt <= need - PER) no per-value stop test is needed, so the loop is
 * branch-free: every candidate is stored and the count advances only past
 * the accepted ones. Rejected candidates (NaN) fail both tests. keep_f32_4
 * is also the tail of the per-path keep_f32 (sample_impl.h); keep_map_f32_4
 * stores each value v as clamp(c[0] + c[1] * v, c[2], c[3]) instead (the tail
 * of the AVX-512 keep_map_f32), as affine_clamp_f32 would. */
#define WINIT_KEEP(NAME, T, PER, MAP)                                                       \
    static int64_t NAME(const T *restrict cand, int64_t ng, int64_t j0, T lo, T hi,         \
                        const T *c, T *restrict z, int64_t cnt, int64_t need) {             \
        (void)c;                                                                            \
        int64_t j = j0;                                                                     \
        for (; j < ng && cnt <= need - (PER); j++) {                                        \
            for (int k = 0; k < (PER); k++) {                                               \
                const T v = cand[k * ng + j];                                               \
                z[cnt] = MAP(v);                                                            \
                cnt += (v >= lo) & (v <= hi);                                               \
            }                                                                               \
        }                                                                                   \
        for (; j < ng && cnt < need; j++) {                                                 \
            for (int k = 0; k < (PER) && cnt < need; k++) {                                 \
                const T v = cand[k * ng + j];                                               \
                z[cnt] = MAP(v);                                                            \
                cnt += (v >= lo) & (v <= hi);                                               \
            }                                                                               \
        }                                                                                   \
        return cnt;                                                                         \
    }
#define WKEEP_AS_IS(v) (v)
#define WKEEP_MAPPED(v) wkeep_map(v, c)
static inline float wkeep_map(float v, const float *c) {
    const float y = c[0] + c[1] * v;
    return y < c[2] ? c[2] : (y > c[3] ? c[3] : y);
}
WINIT_KEEP(keep_f32_4, float, 4, WKEEP_AS_IS)
WINIT_KEEP(keep_map_f32_4, float, 4, WKEEP_MAPPED)
WINIT_KEEP(keep_f64_2, double, 2, WKEEP_AS_IS)
WINIT_KEEP(keep_f64_1, double, 1, WKEEP_AS_IS)
#undef WKEEP_AS_IS
#undef WKEEP_MAPPED
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

static const winit_kernels *kernel_table(winit_simd level) {
#if WINIT_HAVE_X86_PATHS
    if (level == WINIT_SIMD_AVX512) return &kernels_avx512;
    if (level == WINIT_SIMD_AVX2) return &kernels_avx2;
#endif
    (void)level;
    return &kernels_scalar;
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
/* Destinations of at least this many bytes (the L3 cache's size) are written with
 * non-temporal stores: they would not stay in the caches anyway. */
#define STREAM_BYTES (32ll << 20)
#define TRUNC_MAX_GROUPS (1ull << 24) /* per block; beyond this the fill fails */

typedef struct {
    uint32_t w[4][GROUPS_MAX];
    double cand[WINIT_BLOCK];  /* candidates (read as float for the f32 normal method) */
    double z[WINIT_BLOCK];     /* accepted standardized values (float: room for 2x, see keep_f32) */
    double wd[WINIT_BLOCK];    /* working block, double (or float) */
    uint16_t h[WINIT_BLOCK];   /* half-precision staging */
} scratch_t;

/* One fill: the distribution, its parameters and where the stream starts. */
typedef enum { DIST_UNIFORM, DIST_NORMAL, DIST_TRUNC } dist_kind;

typedef struct {
    dist_kind dist;
    uint32_t k0, k1; /* the key's low and high words */
    uint64_t offset; /* absolute index of the first element */
    union {
        struct { double a, width, lo, hi; } uniform;
        struct { double mean, std; } normal;
        struct { double mean, std, lo, hi; winit_tn_sampler s; } trunc;
    };
} job_t;

/* ---- one block ------------------------------------------------------ */

/* Truncated normal, block b: draw candidates in group order, keep those in
 * [alpha, beta] until WINIT_BLOCK are found, then map and clamp (float32 from the
 * float normal method: as they are kept where the path can, else in a pass of its
 * own, with non-temporal stores when nt). */
static winit_status trunc_block(const winit_kernels *K, const job_t *job, uint64_t b, int f64,
                                int nt, scratch_t *s, void *out) {
    const int64_t need = WINIT_BLOCK;
    const winit_tn_sampler *tn = &job->trunc.s;
    const int normal_f32 = (tn->method == WINIT_TN_NORMAL) && !f64;
    const int per_group = tn->method == WINIT_TN_NORMAL ? (f64 ? 2 : 4) : 1;
    const uint32_t c1 = (uint32_t)b;
    const uint32_t c3 = (f64 ? TAG_TRUNC_F64 : TAG_TRUNC_F32) | (uint32_t)(b >> 32);
    const double alpha = tn->alpha, beta = tn->beta;
    const float alpha_f = (float)alpha, beta_f = (float)beta;
    const double mean = job->trunc.mean, std = job->trunc.std;
    const double lo = job->trunc.lo, hi = job->trunc.hi;
    const float c[4] = {(float)mean, (float)std, (float)lo, (float)hi};
    /* the kept values mapped as they are stored, straight into out (not streamed: the
     * separate pass stores non-temporally, and for arrays past the cache it was as fast
     * or faster) */
    const int map = normal_f32 && !nt && K->keep_map_f32 != NULL;
    int64_t cnt = 0;
    uint64_t g = 0;
    float *zf = (float *)s->z;
    double *zd = s->z;
    while (cnt < need) {
        /* groups for the remaining r values at the expected acceptance p, plus 4 standard
         * deviations of the count kept (sqrt(r (1 - p)) values): a second round is rare
         * (~3e-5) and, at p = 0.95 (+-2 sigma), 1.3% of the candidates go unused */
        const double r = (double)(need - cnt), p = tn->accept;
        const double est = (r + 4.0 * sqrt(r * (1.0 - p))) / (p * per_group);
        int64_t ng = (int64_t)est + 2;
        if (ng > GROUPS_MAX) ng = GROUPS_MAX;
        if (g + (uint64_t)ng > TRUNC_MAX_GROUPS) return WINIT_EREJECT;
        K->philox_soa(job->k0, job->k1, ((uint64_t)c1 << 32) | g, 0, c3, ng, s->w[0], s->w[1],
                      s->w[2], s->w[3]);
        g += (uint64_t)ng;
        if (normal_f32) {
            float *cf = (float *)s->cand;
            K->normal_f32(s->w[0], s->w[1], s->w[2], s->w[3], ng, 0.0f, 1.0f, cf);
            cnt = map ? K->keep_map_f32(cf, ng, alpha_f, beta_f, c, (float *)out, cnt, need)
                      : K->keep_f32(cf, ng, alpha_f, beta_f, zf, cnt, need);
        } else {
            double *cd = s->cand;
            if (tn->method == WINIT_TN_NORMAL)
                K->normal_f64(s->w[0], s->w[1], s->w[2], s->w[3], ng, 0.0, 1.0, cd);
            else if (tn->method == WINIT_TN_UNIFORM)
                K->tn_uniform_cand(s->w[0], s->w[1], s->w[2], s->w[3], ng, alpha, beta - alpha,
                                   tn->m2, cd);
            else
                K->tn_exp_cand(s->w[0], s->w[1], s->w[2], s->w[3], ng, alpha, tn->lam, cd);
            cnt = per_group == 2 ? keep_f64_2(cd, ng, 0, alpha, beta, NULL, zd, cnt, need)
                                 : keep_f64_1(cd, ng, 0, alpha, beta, NULL, zd, cnt, need);
        }
    }
    if (normal_f32) {
        if (!map)
            K->affine_clamp_f32(zf, need, c[0], c[1], c[2], c[3], nt, (float *)out);
    } else if (f64)
        K->affine_clamp_f64(zd, need, mean, std, lo, hi, (double *)out);
    else
        K->affine_clamp_d2f(zd, need, mean, std, lo, hi, (float *)out);
    return WINIT_OK;
}

/* The Philox words of normal block b in the float types (float32, float16,
 * bfloat16): WINIT_BLOCK / 4 groups of (radius, angle) pairs, into s->w. */
static void normal_f32_words(const winit_kernels *K, const job_t *job, uint64_t b, scratch_t *s) {
    K->philox_soa(job->k0, job->k1, b * (WINIT_BLOCK / 4), 0, TAG_NORMAL_F32, WINIT_BLOCK / 4,
                  s->w[0], s->w[1], s->w[2], s->w[3]);
}

/* Uniform float32 block b into out (non-temporal stores when nt and out is 64-byte
 * aligned). */
static void uniform_f32_block(const winit_kernels *K, const job_t *job, uint64_t b, int nt,
                              scratch_t *s, float *out) {
    uint32_t *const w[4] = {s->w[0], s->w[1], s->w[2], s->w[3]};
    nt = nt && ((uintptr_t)out & 63) == 0;
    K->uniform_f32_gen(job->k0, job->k1, b * (WINIT_BLOCK / 4), TAG_UNIFORM_F32, WINIT_BLOCK / 4,
                       (float)job->uniform.a, (float)job->uniform.width, (float)job->uniform.lo,
                       (float)job->uniform.hi, nt, w, out);
}

/* Generate the whole block b (WINIT_BLOCK values) into out (float or double); nt: a
 * streamed destination, written non-temporally where the kernel can (see nt_direct). */
static winit_status gen_block(const winit_kernels *K, const job_t *job, uint64_t b, int f64,
                              int nt, scratch_t *s, void *out) {
    uint32_t *w0 = s->w[0], *w1 = s->w[1], *w2 = s->w[2], *w3 = s->w[3];
    const uint32_t k0 = job->k0, k1 = job->k1;
    switch (job->dist) {
    case DIST_UNIFORM:
        if (f64) {
            K->philox_soa(k0, k1, b * (WINIT_BLOCK / 2), 0, TAG_UNIFORM_F64, WINIT_BLOCK / 2, w0,
                          w1, w2, w3);
            K->uniform_f64(w0, w1, w2, w3, WINIT_BLOCK / 2, job->uniform.a, job->uniform.width,
                           job->uniform.lo, job->uniform.hi, (double *)out);
        } else {
            uniform_f32_block(K, job, b, nt, s, (float *)out);
        }
        return WINIT_OK;
    case DIST_NORMAL:
        if (f64) {
            K->philox_soa(k0, k1, b * (WINIT_BLOCK / 2), 0, TAG_NORMAL_F64, WINIT_BLOCK / 2, w0,
                          w1, w2, w3);
            K->normal_f64(w0, w1, w2, w3, WINIT_BLOCK / 2, job->normal.mean, job->normal.std,
                          (double *)out);
        } else {
            normal_f32_words(K, job, b, s);
            K->normal_f32(w0, w1, w2, w3, WINIT_BLOCK / 4, (float)job->normal.mean,
                          (float)job->normal.std, (float *)out);
        }
        return WINIT_OK;
    case DIST_TRUNC:
        return trunc_block(K, job, b, f64, nt, s, out);
    }
    return WINIT_EINVAL;
}

/* Normal block b as float16/bfloat16, rounded as each value is stored: the
 * whole block straight into a contiguous destination, else through s->h. */
static winit_status normal_half_block(const winit_kernels *K, const job_t *job,
                                      const winit_layout *d, uint64_t b, int stream,
                                      scratch_t *s, int64_t e0, int64_t cnt, int64_t p0) {
    const int direct = cnt == WINIT_BLOCK && d->contiguous && !stream;
    uint16_t *h = direct ? (uint16_t *)(d->data + e0 * 2) : s->h;
    normal_f32_words(K, job, b, s);
    (d->dtype == WINIT_F16 ? K->normal_f16 : K->normal_bf16)(
        s->w[0], s->w[1], s->w[2], s->w[3], WINIT_BLOCK / 4, (float)job->normal.mean, (float)job->normal.std, h);
    if (direct) return WINIT_OK;
    const char *src = (const char *)(h + p0);
    if (stream)
        K->stream_copy(d->data + e0 * 2, src, cnt * 2);
    else if (d->contiguous)
        memcpy(d->data + e0 * 2, src, (size_t)cnt * 2);
    else
        winit_scatter(d, e0, cnt, src);
    return WINIT_OK;
}

/* Whether the kernels store block values non-temporally straight into a streamed
 * destination: float32 uniform (values made in registers; non-temporal where a block
 * starts 64-byte aligned, plain stores elsewhere, both cheaper than a scratch copy) and
 * the float32 truncated normal's normal method (its last pass). */
static int nt_direct(const winit_kernels *K, const job_t *job, int f64) {
    return K->direct_nt && !f64 &&
           (job->dist == DIST_UNIFORM ||
            (job->dist == DIST_TRUNC && job->trunc.s.method == WINIT_TN_NORMAL));
}

/* Generate block b and store the part of it that lies in the destination. */
static winit_status fill_block(const winit_kernels *K, const job_t *job, const winit_layout *d,
                               uint64_t b, int stream, scratch_t *s) {
    /* inclusive ends: offset + size may be exactly 2^64 */
    const uint64_t first = job->offset, last = job->offset + (uint64_t)(d->size - 1);
    const uint64_t bs = b * WINIT_BLOCK, be = bs + (WINIT_BLOCK - 1);
    const uint64_t i0 = bs > first ? bs : first;
    const uint64_t i1 = be < last ? be : last;
    const int64_t e0 = (int64_t)(i0 - first), cnt = (int64_t)(i1 - i0) + 1, p0 = (int64_t)(i0 - bs);
    const int f64 = d->dtype == WINIT_F64, half = d->dtype == WINIT_F16 || d->dtype == WINIT_BF16;
    /* Whole block straight into a contiguous destination of the working type; when
     * streamed, only where the kernel writes it non-temporally itself (else below, through
     * the scratch and stream_copy). */
    if (cnt == WINIT_BLOCK && d->contiguous && !half && (!stream || nt_direct(K, job, f64)))
        return gen_block(K, job, b, f64, stream, s, d->data + e0 * d->esz);
    if (half && job->dist == DIST_NORMAL)
        return normal_half_block(K, job, d, b, stream, s, e0, cnt, p0);
    winit_status st = gen_block(K, job, b, f64, 0, s, s->wd);
    if (st != WINIT_OK) return st;
    if (!half) {
        const char *src = (const char *)s->wd + p0 * d->esz;
        if (stream)
            K->stream_copy(d->data + e0 * d->esz, src, cnt * d->esz);
        else
            winit_scatter(d, e0, cnt, src);
        return WINIT_OK;
    }
    const float *src = (const float *)s->wd + p0;
    uint16_t *h = d->contiguous && !stream ? (uint16_t *)(d->data + e0 * 2) : s->h;
    if (d->dtype == WINIT_F16)
        K->cvt_f16(src, cnt, h);
    else
        K->cvt_bf16(src, cnt, h);
    if (stream)
        K->stream_copy(d->data + e0 * 2, (const char *)h, cnt * 2);
    else if (!d->contiguous)
        winit_scatter(d, e0, cnt, (const char *)h);
    return WINIT_OK;
}

/* At most 32 blocks (128K values) a grab (runtime.h winit_grab). With 2 threads and one
 * core shared with a busy process, uniform_ went from 2.1 to 3.4 G/s against a static
 * schedule. Any thread may fill any block: the values do not depend on it. */
#define FILL_GRAB 32

/* Run `job` over dst, one block per OpenMP iteration. */
static winit_status fill(const job_t *job, const winit_array *dst, winit_simd simd,
                         int nthreads) {
    winit_layout d;
    winit_status status = winit_layout_init(&d, dst);
    if (status != WINIT_OK || d.size == 0) return status;
    const winit_kernels *K = kernel_table(simd);
    const uint64_t b0 = job->offset / WINIT_BLOCK;
    const uint64_t b1 = (job->offset + (uint64_t)d.size - 1) / WINIT_BLOCK;
    const int64_t nb = (int64_t)(b1 - b0 + 1);
    if (nthreads < 1) nthreads = 1;
    if ((int64_t)nthreads > nb) nthreads = (int)nb;
    const int stream = d.contiguous && d.size * d.esz >= STREAM_BYTES;
    const int grab = winit_grab(nb, nthreads, FILL_GRAB);
    (void)grab;
#ifdef WINIT_OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
        scratch_t *s = (scratch_t *)aligned_alloc(64, sizeof(scratch_t));
        winit_status local = s ? WINIT_OK : WINIT_ENOMEM;
#ifdef WINIT_OPENMP
#pragma omp for schedule(dynamic, grab)
#endif
        for (int64_t ib = 0; ib < nb; ib++) {
            if (local == WINIT_OK) local = fill_block(K, job, &d, b0 + (uint64_t)ib, stream, s);
        }
#if defined(__GNUC__) && defined(__x86_64__)
        if (stream) _mm_sfence(); /* the non-temporal stores are globally visible */
#endif
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

static job_t new_job(dist_kind dist, uint64_t key, uint64_t offset) {
    job_t job;
    memset(&job, 0, sizeof job);
    job.dist = dist;
    job.k0 = (uint32_t)key;
    job.k1 = (uint32_t)(key >> 32);
    job.offset = offset;
    return job;
}

winit_status winit_fill_uniform(const winit_array *dst, uint64_t key, uint64_t offset, double a,
                                double width, double lo, double hi, winit_simd simd,
                                int nthreads) {
    job_t job = new_job(DIST_UNIFORM, key, offset);
    job.uniform.a = a;
    job.uniform.width = width;
    job.uniform.lo = lo;
    job.uniform.hi = hi;
    return fill(&job, dst, simd, nthreads);
}

winit_status winit_fill_normal(const winit_array *dst, uint64_t key, uint64_t offset,
                               double mean, double std, winit_simd simd, int nthreads) {
    job_t job = new_job(DIST_NORMAL, key, offset);
    job.normal.mean = mean;
    job.normal.std = std;
    return fill(&job, dst, simd, nthreads);
}

winit_status winit_fill_trunc_normal(const winit_array *dst, uint64_t key, uint64_t offset,
                                     double mean, double std, double lo, double hi,
                                     const winit_tn_sampler *sampler, winit_simd simd,
                                     int nthreads) {
    if (!(sampler->accept > 0.0 && sampler->accept <= 1.0) || sampler->method < WINIT_TN_NORMAL ||
        sampler->method > WINIT_TN_EXP)
        return WINIT_EINVAL;
    job_t job = new_job(DIST_TRUNC, key, offset);
    job.trunc.mean = mean;
    job.trunc.std = std;
    job.trunc.lo = lo;
    job.trunc.hi = hi;
    job.trunc.s = *sampler;
    return fill(&job, dst, simd, nthreads);
}
