/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
 * SC'11): a counter-based generator. One call maps a 128-bit counter and a
 * 64-bit key to 128 random bits; there is no state to carry between calls, so
 * any element of the stream can be computed on its own, by any thread.
 *
 * The round is written with plain 64-bit products so that gcc vectorizes loops
 * over independent counters (vpmuludq) on every SIMD path.
 */
#ifndef WINIT_PHILOX_H
#define WINIT_PHILOX_H

#include <stdint.h>

#define WINIT_PHILOX_M0 0xD2511F53u
#define WINIT_PHILOX_M1 0xCD9E8D57u
#define WINIT_PHILOX_W0 0x9E3779B9u
#define WINIT_PHILOX_W1 0xBB67AE85u

/* One round on the counter words x0..x3 with key words k0, k1. */
#define WINIT_PHILOX_ROUND(x0, x1, x2, x3, k0, k1)                         \
    do {                                                                   \
        uint64_t p0_ = (uint64_t)WINIT_PHILOX_M0 * (uint64_t)(x0);         \
        uint64_t p1_ = (uint64_t)WINIT_PHILOX_M1 * (uint64_t)(x2);         \
        uint32_t n0_ = (uint32_t)(p1_ >> 32) ^ (x1) ^ (k0);                \
        uint32_t n2_ = (uint32_t)(p0_ >> 32) ^ (x3) ^ (k1);                \
        (x1) = (uint32_t)p1_;                                              \
        (x3) = (uint32_t)p0_;                                              \
        (x0) = n0_;                                                        \
        (x2) = n2_;                                                        \
    } while (0)

#define WINIT_PHILOX_BUMP(k0, k1)  \
    do {                           \
        (k0) += WINIT_PHILOX_W0;   \
        (k1) += WINIT_PHILOX_W1;   \
    } while (0)

/* Ten rounds, in place on x0..x3; k0, k1 are copied. */
#define WINIT_PHILOX10(x0, x1, x2, x3, key0, key1)                            \
    do {                                                                      \
        uint32_t a_ = (key0), b_ = (key1);                                    \
        WINIT_PHILOX_ROUND(x0, x1, x2, x3, a_, b_); WINIT_PHILOX_BUMP(a_, b_); \
        WINIT_PHILOX_ROUND(x0, x1, x2, x3, a_, b_); WINIT_PHILOX_BUMP(a_, b_); \
        WINIT_PHILOX_ROUND(x0, x1, x2, x3, a_, b_); WINIT_PHILOX_BUMP(a_, b_); \
        WINIT_PHILOX_ROUND(x0, x1, x2, x3, a_, b_); WINIT_PHILOX_BUMP(a_, b_); \
        WINIT_PHILOX_ROUND(x0, x1, x2, x3, a_, b_); WINIT_PHILOX_BUMP(a_, b_); \
        WINIT_PHILOX_ROUND(x0, x1, x2, x3, a_, b_); WINIT_PHILOX_BUMP(a_, b_); \
        WINIT_PHILOX_ROUND(x0, x1, x2, x3, a_, b_); WINIT_PHILOX_BUMP(a_, b_); \
        WINIT_PHILOX_ROUND(x0, x1, x2, x3, a_, b_); WINIT_PHILOX_BUMP(a_, b_); \
        WINIT_PHILOX_ROUND(x0, x1, x2, x3, a_, b_); WINIT_PHILOX_BUMP(a_, b_); \
        WINIT_PHILOX_ROUND(x0, x1, x2, x3, a_, b_);                           \
    } while (0)

/* Scalar reference: out = Philox4x32-10(ctr, key). Used by the known-answer test. */
static inline void winit_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2],
                                       uint32_t out[4]) {
    uint32_t x0 = ctr[0], x1 = ctr[1], x2 = ctr[2], x3 = ctr[3];
    WINIT_PHILOX10(x0, x1, x2, x3, key[0], key[1]);
    out[0] = x0; out[1] = x1; out[2] = x2; out[3] = x3;
}

#endif /* WINIT_PHILOX_H */
