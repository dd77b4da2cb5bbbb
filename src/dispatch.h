/* Run-time choice of the SIMD path.
 *
 * Kernels are compiled once per path (an *_impl.h header included under
 * `#pragma GCC target(...)` with a name suffix), and a function-pointer table
 * is chosen at run time from the CPU's features, or forced with the
 * environment variable WINIT_SIMD=scalar|avx2|avx512 (read when the module is
 * imported). Every path computes the same bits: the build uses
 * -ffp-contract=off and the kernels use only correctly rounded operations.
 */
#ifndef WINIT_DISPATCH_H
#define WINIT_DISPATCH_H

#include <stdlib.h>
#include <string.h>

enum { WINIT_SIMD_SCALAR = 0, WINIT_SIMD_AVX2 = 1, WINIT_SIMD_AVX512 = 2, WINIT_SIMD_COUNT = 3 };

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define WINIT_HAVE_X86_PATHS 1
/* Bracket an *_impl.h inclusion (macros can't be expanded inside #pragma,
 * hence _Pragma):  WINIT_BEGIN_AVX2  #include "x_impl.h"  WINIT_END_TARGET */
#define WINIT_BEGIN_AVX2 \
    _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,bmi,bmi2,popcnt,f16c\")")
#define WINIT_BEGIN_AVX512                                                            \
    _Pragma("GCC push_options")                                                       \
    _Pragma("GCC target(\"avx512f,avx512bw,avx512dq,avx512vl,avx2,bmi,bmi2,popcnt,f16c\")")
#define WINIT_END_TARGET _Pragma("GCC pop_options")
#else
#define WINIT_HAVE_X86_PATHS 0
#endif

static inline const char *winit_simd_name(int level) {
    switch (level) {
    case WINIT_SIMD_AVX2: return "avx2";
    case WINIT_SIMD_AVX512: return "avx512";
    default: return "scalar";
    }
}

/* The best path this CPU runs. */
static inline int winit_simd_cpu_best(void) {
#if WINIT_HAVE_X86_PATHS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return WINIT_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") &&
        __builtin_cpu_supports("f16c"))
        return WINIT_SIMD_AVX2;
#endif
    return WINIT_SIMD_SCALAR;
}

/* Is `level` compiled in and runnable on this CPU? */
static inline int winit_simd_available(int level) {
    return level >= 0 && level <= winit_simd_cpu_best();
}

/* The path to use: WINIT_SIMD if set (and runnable), else the best one.
 * *forced_ok is set to 0 when WINIT_SIMD names an unknown or unavailable path
 * (the caller warns); the best runnable path is then used. */
static inline int winit_simd_choose(int *forced_ok) {
    const char *env = getenv("WINIT_SIMD");
    int best = winit_simd_cpu_best();
    *forced_ok = 1;
    if (env == NULL || env[0] == '\0') return best;
    int want = -1;
    if (strcmp(env, "scalar") == 0) want = WINIT_SIMD_SCALAR;
    else if (strcmp(env, "avx2") == 0) want = WINIT_SIMD_AVX2;
    else if (strcmp(env, "avx512") == 0) want = WINIT_SIMD_AVX512;
    if (want < 0 || want > best) {
        *forced_ok = 0;
        return best;
    }
    return want;
}

#endif /* WINIT_DISPATCH_H */
