/* One-pass layer statistics: moments, extremes, NaN/Inf/zero counts and an
 * optional histogram, read once from an array of any layout.
 *
 * Determinism: the flat C-order index space is cut into fixed blocks of
 * WINIT_STATS_BLOCK elements. Each block gets its own partial result
 * (count, mean and central power sums M2..M4 of its finite values, plus
 * extremes and counts), and the partials are combined in block order with
 * the pairwise formulas of Chan et al. (M2) and Pebay (M3, M4). Nothing
 * depends on the thread count, the memory layout or the SIMD path: the
 * result is bit-identical for all of them.
 *
 * Accuracy: inside a block, float64 sums of d, d^2, d^3, d^4 with
 * d = x - shift, where shift is a data value close to the mean of the
 * first block (so |mean| >> std stays exact). A block whose mean lies far
 * from the shift (cancellation > 4 bits) is re-summed around its own mean.
 */
#ifndef WINIT_STATS_H
#define WINIT_STATS_H

#include <stdint.h>

/* Elements per block (flat C-order index space). Changing it changes the
 * last bits of the moments, never the counts, extremes or histogram. */
#define WINIT_STATS_BLOCK 16384

/* dtype codes, shared with winit/_common.py */
enum { WINIT_STATS_F16 = 0, WINIT_STATS_BF16 = 1, WINIT_STATS_F32 = 2, WINIT_STATS_F64 = 3 };

/* Error codes of winit_stats_run. */
enum { WINIT_STATS_OK = 0, WINIT_STATS_ENOMEM = -1, WINIT_STATS_EARG = -2 };

/* Moments of the finite values: count, mean and central sums
 * m2 = sum (x - mean)^2, m3 = sum (x - mean)^3, m4 = sum (x - mean)^4. */
typedef struct {
    int64_t count;
    double mean, m2, m3, m4;
} winit_moments;

typedef struct {
    winit_moments mom;
    double min, max;             /* over finite values; +inf/-inf when there are none */
    int64_t nan_count, inf_count, zero_count;
} winit_stats_result;

/* Choose the SIMD path (WINIT_SIMD environment variable or CPU features).
 * Returns 0 when WINIT_SIMD names an unknown or unavailable path. */
int winit_stats_init(void);
/* The path in use (WINIT_SIMD_* of dispatch.h). */
int winit_stats_simd_level(void);
/* Force a path; returns 0 (and changes nothing) when it cannot run here. */
int winit_stats_simd_set(int level);
/* 1 when built with OpenMP. */
int winit_stats_openmp(void);

/* Combine two partial results exactly (Chan et al., Pebay): out may alias a or b. */
void winit_moments_merge(const winit_moments *a, const winit_moments *b, winit_moments *out);

/* Statistics of the array at `data` (pointer to its first element) with
 * `ndim` dims of `shape` and byte `strides` (any sign), dtype `dtype`.
 *
 * With nbins > 0, hist[0..nbins) is filled (overwritten) with counts of the
 * values v with edges[0] <= v <= edges[nbins], bin i holding
 * edges[i] <= v < edges[i+1] (the last bin also holds v == edges[nbins]).
 * `edges` must be increasing; `uniform` != 0 says they are equally spaced
 * (np.linspace), which allows the O(1) bin formula.
 * With moments == 0 only the histogram is computed (out is left untouched).
 * nthreads <= 0 means the OpenMP default.
 * Returns WINIT_STATS_OK, or a negative error code. */
int winit_stats_run(const char *data, int dtype, int ndim, const int64_t *shape,
                    const int64_t *strides, int nthreads, int moments, int64_t nbins,
                    const double *edges, int uniform, int64_t *hist, winit_stats_result *out);

#endif /* WINIT_STATS_H */
