/* What the kernels run with: the SIMD path, OpenMP, the default thread count.
 *
 * One copy of this state lives in the winit._runtime extension; the sampler
 * and the statistics kernel take the path as an argument, so both always use
 * the same one. The path is chosen once, when winit._runtime is imported:
 * the one the environment variable WINIT_SIMD=scalar|avx2|avx512 names, or the
 * best one this CPU runs.
 */
#ifndef WINIT_RUNTIME_H
#define WINIT_RUNTIME_H

#include "core.h"

/* Choose the path (WINIT_SIMD or the CPU's best). Returns 0 when WINIT_SIMD
 * names an unknown path or one this CPU cannot run; the best one is used then. */
int winit_runtime_init(void);

/* The path in use. */
winit_simd winit_simd_level(void);
/* Use `level` from now on; returns 0 (and changes nothing) when it cannot run here. */
int winit_simd_set(winit_simd level);
/* Is `level` compiled into this build? Can it run on this CPU (compiled too)? */
int winit_simd_compiled(winit_simd level);
int winit_simd_runs(winit_simd level);
/* "scalar", "avx2", "avx512"; and back (-1 for an unknown name). */
const char *winit_simd_name(winit_simd level);
int winit_simd_parse(const char *name);

/* 1 when built with OpenMP. */
int winit_openmp(void);
/* Threads an OpenMP region gets by default now (OMP_NUM_THREADS, threadpoolctl
 * limits); 1 without OpenMP. */
int winit_default_threads(void);

/* Blocks an OpenMP thread takes at a time in a dynamic schedule (the sampler's and the
 * statistics kernel's loops): `most`, or fewer so that each of the nthreads threads gets
 * at least 4 grabs of the nblocks. Threads take the next grab when they finish theirs,
 * so a thread whose core another process holds (a shared machine) keeps the others
 * waiting for one grab at most, not for its whole static share. */
static inline int winit_grab(int64_t nblocks, int nthreads, int most) {
    const int64_t g = nblocks / (4 * (int64_t)(nthreads > 0 ? nthreads : 1));
    return g < 1 ? 1 : (g > most ? most : (int)g);
}

#endif /* WINIT_RUNTIME_H */
