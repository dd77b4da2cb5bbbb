/* One-pass layer statistics: moments, extremes, NaN/Inf/zero counts and an
 * optional histogram, read once from an array of any layout.
 *
 * Determinism: the flat C-order index space is cut into fixed blocks of
 * WINIT_STATS_BLOCK elements. Each block gets its own partial result (count,
 * mean and central sums m2..m4 of its finite values, extremes and counts),
 * and the partials are combined in block order with winit_moments_merge.
 * Nothing depends on the thread count, the memory layout or the SIMD path:
 * the result is bit-identical for all of them.
 *
 * Accuracy: a block is summed in float64 as s_k = sum d^k (k = 1..4) over its
 * finite values x, d = x - shift, with one shift for the whole array: the
 * finite value closest to the mean of the first block that has finite values
 * (a data value, so a constant array has m2 exactly 0; |mean| >> std loses
 * nothing). With n values and e = s1 / n, the block's m2 = s2 - e s1 loses
 * more than half of s2 to cancellation when n e^2 > s2 - e s1, i.e. when the
 * block's mean lies more than one standard deviation from the shift; such a
 * block is summed again around shift + e. Block means are kept relative to
 * the shift while merging, which is added once at the end.
 */
#ifndef WINIT_STATS_H
#define WINIT_STATS_H

#include <stdint.h>

#include "core.h"

/* Elements per block (flat C-order index space). Changing it changes the
 * last bits of the moments, never the counts, extremes or histogram. */
#define WINIT_STATS_BLOCK 16384

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

/* The moments of the union of two sets of values from theirs, exactly up to
 * rounding: Chan, Golub & LeVeque (1979) for mean and m2, Pebay (2008) for m3
 * and m4. A side with count 0 is the identity. out may alias a or b. */
void winit_moments_merge(const winit_moments *a, const winit_moments *b, winit_moments *out);

/* Statistics of the array a, using the SIMD path `simd` and nthreads threads
 * (< 1: one).
 *
 * With nbins > 0, hist[0..nbins) is filled (overwritten) with counts of the
 * values v with edges[0] <= v <= edges[nbins], bin i holding
 * edges[i] <= v < edges[i+1] (the last bin also holds v == edges[nbins]).
 * `edges` must be increasing, edges[0] and edges[nbins] finite (else
 * WINIT_EINVAL); `uniform` != 0 says they are equally spaced (np.linspace),
 * which allows the O(1) bin formula.
 * With moments == 0 only the histogram is computed (out is left untouched).
 * Returns WINIT_OK, WINIT_ENOMEM or WINIT_EINVAL. */
winit_status winit_stats_run(const winit_array *a, winit_simd simd, int nthreads, int moments,
                             int64_t nbins, const double *edges, int uniform, int64_t *hist,
                             winit_stats_result *out);

#endif /* WINIT_STATS_H */
