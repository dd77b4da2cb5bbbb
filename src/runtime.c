/* The runtime state (runtime.h): the SIMD path in use, chosen once. */
#include <stdlib.h>
#include <string.h>

#ifdef WINIT_OPENMP
#include <omp.h>
#endif

#include "dispatch.h"
#include "runtime.h"

static winit_simd simd_level = WINIT_SIMD_SCALAR;

static const char *const simd_names[WINIT_SIMD_COUNT] = {"scalar", "avx2", "avx512"};

const char *winit_simd_name(winit_simd level) {
    return level >= 0 && level < WINIT_SIMD_COUNT ? simd_names[level] : "scalar";
}

int winit_simd_parse(const char *name) {
    for (int k = 0; k < WINIT_SIMD_COUNT; k++)
        if (strcmp(name, simd_names[k]) == 0) return k;
    return -1;
}

int winit_simd_compiled(winit_simd level) {
    return level == WINIT_SIMD_SCALAR || (WINIT_HAVE_X86_PATHS && level > 0 &&
                                          level < WINIT_SIMD_COUNT);
}

/* The best path this CPU runs. */
static winit_simd cpu_best(void) {
#if WINIT_HAVE_X86_PATHS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return WINIT_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("f16c"))
        return WINIT_SIMD_AVX2;
#endif
    return WINIT_SIMD_SCALAR;
}

int winit_simd_runs(winit_simd level) {
    return winit_simd_compiled(level) && level <= cpu_best();
}

int winit_runtime_init(void) {
    const char *env = getenv("WINIT_SIMD");
    simd_level = cpu_best();
    if (env == NULL || env[0] == '\0') return 1;
    const int want = winit_simd_parse(env);
    return want >= 0 && winit_simd_set((winit_simd)want);
}

winit_simd winit_simd_level(void) { return simd_level; }

int winit_simd_set(winit_simd level) {
    if (!winit_simd_runs(level)) return 0;
    simd_level = level;
    return 1;
}

int winit_openmp(void) {
#ifdef WINIT_OPENMP
    return 1;
#else
    return 0;
#endif
}

int winit_default_threads(void) {
#ifdef WINIT_OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
