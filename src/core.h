/* The vocabulary every native kernel shares with its Cython binding (src/native.pxd
 * declares it once for Cython): element types, status codes, SIMD paths, and the
 * descriptor of an array of any layout.
 */
#ifndef WINIT_CORE_H
#define WINIT_CORE_H

#include <stdint.h>

/* Element types of the arrays the kernels read and write. */
typedef enum { WINIT_F16 = 0, WINIT_BF16 = 1, WINIT_F32 = 2, WINIT_F64 = 3 } winit_dtype;

static inline int64_t winit_itemsize(winit_dtype dtype) {
    return dtype == WINIT_F64 ? 8 : (dtype == WINIT_F32 ? 4 : 2);
}

/* What a kernel returns. The binding turns them into exceptions: ENOMEM into
 * MemoryError, EINVAL into ValueError, EREJECT into RuntimeError. */
typedef enum {
    WINIT_OK = 0,
    WINIT_ENOMEM = 1,  /* a buffer could not be allocated */
    WINIT_EINVAL = 2,  /* bad arguments (dtype, dimensions, histogram edges) */
    WINIT_EREJECT = 3, /* rejection sampling accepted too few candidates to finish */
} winit_status;

/* Code paths compiled per instruction set (dispatch.h); every one gives the same bits. */
typedef enum {
    WINIT_SIMD_SCALAR = 0,
    WINIT_SIMD_AVX2 = 1,
    WINIT_SIMD_AVX512 = 2,
    WINIT_SIMD_COUNT = 3,
} winit_simd;

/* numpy's limit (NPY_MAXDIMS) and the kernels' */
#define WINIT_MAXDIM 64

/* An array as the kernels see it: its first element, element type, and the
 * extent and byte stride (any sign) of each dimension, in C order. */
typedef struct {
    char *data;
    winit_dtype dtype;
    int ndim;
    int64_t shape[WINIT_MAXDIM];
    int64_t strides[WINIT_MAXDIM];
} winit_array;

#endif /* WINIT_CORE_H */
