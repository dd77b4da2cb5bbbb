/* Arrays of any layout as a flat C-order index space: the one strided walk of
 * the sampler (which writes ranges of elements) and the statistics kernel
 * (which reads them).
 *
 * winit_layout_init normalises the dimensions once (unit dimensions dropped,
 * neighbours that are contiguous with each other merged), so a C-contiguous
 * array, whatever its shape, is a single run; winit_gather and winit_scatter
 * then copy the elements [start, start + n) between the array and a
 * contiguous buffer, one run of the innermost dimension at a time.
 */
#ifndef WINIT_LAYOUT_H
#define WINIT_LAYOUT_H

#include <string.h>

#include "core.h"

#if defined(__GNUC__) && !defined(__clang__)
#define WINIT_UNROLL4 _Pragma("GCC unroll 4")
#else
#define WINIT_UNROLL4
#endif

typedef struct {
    char *data;      /* first element */
    winit_dtype dtype;
    int64_t esz;     /* bytes per element */
    int64_t size;    /* number of elements */
    int nd;          /* dimensions left after normalising (0: at most one element) */
    int contiguous;  /* the elements are consecutive in memory, in C order */
    int64_t shape[WINIT_MAXDIM];
    int64_t strides[WINIT_MAXDIM];
} winit_layout;

/* Normalise a's dimensions into l. WINIT_EINVAL for a bad dtype, more than
 * WINIT_MAXDIM dimensions or a negative extent. */
static inline winit_status winit_layout_init(winit_layout *l, const winit_array *a) {
    if (a->ndim < 0 || a->ndim > WINIT_MAXDIM || a->dtype < WINIT_F16 || a->dtype > WINIT_F64)
        return WINIT_EINVAL;
    l->data = a->data;
    l->dtype = a->dtype;
    l->esz = winit_itemsize(a->dtype);
    l->size = 1;
    l->nd = 0;
    for (int k = 0; k < a->ndim; k++) {
        if (a->shape[k] < 0) return WINIT_EINVAL;
        l->size *= a->shape[k];
    }
    if (l->size == 0) {
        l->contiguous = 1;
        return WINIT_OK;
    }
    for (int k = 0; k < a->ndim; k++) {
        if (a->shape[k] == 1) continue;
        if (l->nd > 0 && l->strides[l->nd - 1] == a->shape[k] * a->strides[k]) {
            l->shape[l->nd - 1] *= a->shape[k];
            l->strides[l->nd - 1] = a->strides[k];
        } else {
            l->shape[l->nd] = a->shape[k];
            l->strides[l->nd] = a->strides[k];
            l->nd++;
        }
    }
    l->contiguous = l->nd == 0 || (l->nd == 1 && l->strides[0] == l->esz);
    return WINIT_OK;
}

/* n elements of esz bytes from p, p + step, p + 2 step, ... into the
 * contiguous dst: one loop per size, the buffer's step a constant, unrolled
 * (a one-element loop ran at half speed where it straddled a 32-byte
 * boundary of the code). */
static inline void winit_gather_run(char *restrict dst, const char *restrict p, int64_t step,
                                    int64_t n, int64_t esz) {
    switch (esz) {
    case 2:
        WINIT_UNROLL4
        for (int64_t t = 0; t < n; t++) memcpy(dst + 2 * t, p + t * step, 2);
        break;
    case 4:
        WINIT_UNROLL4
        for (int64_t t = 0; t < n; t++) memcpy(dst + 4 * t, p + t * step, 4);
        break;
    default:
        WINIT_UNROLL4
        for (int64_t t = 0; t < n; t++) memcpy(dst + 8 * t, p + t * step, 8);
        break;
    }
}

/* The other way: n elements of esz bytes from the contiguous src to p, p + step, ... */
static inline void winit_scatter_run(char *restrict p, int64_t step, const char *restrict src,
                                     int64_t n, int64_t esz) {
    switch (esz) {
    case 2:
        WINIT_UNROLL4
        for (int64_t t = 0; t < n; t++) memcpy(p + t * step, src + 2 * t, 2);
        break;
    case 4:
        WINIT_UNROLL4
        for (int64_t t = 0; t < n; t++) memcpy(p + t * step, src + 4 * t, 4);
        break;
    default:
        WINIT_UNROLL4
        for (int64_t t = 0; t < n; t++) memcpy(p + t * step, src + 8 * t, 8);
        break;
    }
}

/* Copy the elements [start, start + n) of l's flat C order between the array
 * and a contiguous buffer: into `out` (gather), or from `in` (scatter) when
 * `in` is not NULL. Walks runs of the innermost dimension. */
static inline void winit_layout_copy(const winit_layout *l, int64_t start, int64_t n, char *out,
                                     const char *in) {
    const int last = l->nd - 1;
    const int64_t esz = l->esz, step = l->strides[last];
    int64_t idx[WINIT_MAXDIM], rem = start;
    char *p = l->data;
    for (int k = last; k >= 0; k--) {
        idx[k] = rem % l->shape[k];
        rem /= l->shape[k];
        p += idx[k] * l->strides[k];
    }
    for (;;) {
        int64_t run = l->shape[last] - idx[last];
        if (run > n) run = n;
        if (in) {
            winit_scatter_run(p, step, in, run, esz);
            in += run * esz;
        } else {
            winit_gather_run(out, p, step, run, esz);
            out += run * esz;
        }
        n -= run;
        if (n == 0) return;
        /* the run ended its row: back to the row's start, then carry the index */
        p -= idx[last] * step;
        idx[last] = 0;
        for (int k = last - 1;; k--) {
            idx[k]++;
            p += l->strides[k];
            if (idx[k] < l->shape[k]) break;
            p -= l->shape[k] * l->strides[k];
            idx[k] = 0;
        }
    }
}

/* Elements [start, start + n) of l read into buf (room for n elements); returns
 * where they are: in the array itself when it is contiguous, else in buf. */
static inline const char *winit_gather(const winit_layout *l, int64_t start, int64_t n,
                                       char *buf) {
    if (l->contiguous) return l->data + start * l->esz;
    winit_layout_copy(l, start, n, buf, NULL);
    return buf;
}

/* Write the n elements of src to the elements [start, start + n) of l. */
static inline void winit_scatter(const winit_layout *l, int64_t start, int64_t n,
                                 const char *src) {
    if (l->contiguous) {
        memcpy(l->data + start * l->esz, src, (size_t)(n * l->esz));
        return;
    }
    winit_layout_copy(l, start, n, NULL, src);
}

#endif /* WINIT_LAYOUT_H */
