/* Compile-time side of the SIMD paths (the run-time choice is runtime.c's).
 *
 * Kernels are compiled once per path (an *_impl.h header included under
 * `#pragma GCC target(...)` with a name suffix), and each kernel file keeps a
 * table of function pointers per path; the caller passes the path to use
 * (a winit_simd of core.h). Every path computes the same bits: the build uses
 * -ffp-contract=off and the kernels use only correctly rounded operations.
 */
#ifndef WINIT_DISPATCH_H
#define WINIT_DISPATCH_H

#include "core.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define WINIT_HAVE_X86_PATHS 1
/* Bracket an *_impl.h inclusion (macros can't be expanded inside #pragma,
 * hence _Pragma):  WINIT_BEGIN_AVX2  #include "x_impl.h"  WINIT_END_TARGET */
#define WINIT_BEGIN_AVX2 \
    _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,fma,bmi,bmi2,popcnt,f16c\")")
#define WINIT_BEGIN_AVX512                                                            \
    _Pragma("GCC push_options")                                                       \
    _Pragma("GCC target(\"avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi,bmi2,popcnt,f16c\")")
#define WINIT_END_TARGET _Pragma("GCC pop_options")
#else
#define WINIT_HAVE_X86_PATHS 0
#endif

#endif /* WINIT_DISPATCH_H */
