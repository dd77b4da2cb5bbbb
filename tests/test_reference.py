"""The sampling kernels against the pure-numpy reference of their stream (reference.py).

Every comparison is bit for bit, normals included: the kernels' log and sin/cos
approximations use only correctly rounded operations in a fixed order, and the
reference repeats them. When a golden digest in test_sampling.py changes,
these tests say which part of the stream moved (Philox words, key derivation,
uniform, normal or truncated-normal mapping) and at which element, block,
group and lane it first differs.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest
import reference as ref

import winit
from winit import _random, _runtime
from winit._common import resolve_key

DTYPES = [np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16),
          np.dtype(ml_dtypes.bfloat16)]
# A raw key with distinct words tells a swapped key order apart.
SEEDS = [0, 12345, winit.Key(0x0123456789ABCDEF)]
OFFSETS = [
    0,
    4095,  # starts at the last position of block 0
    2**32 - 3,  # stream index crosses 2**32
    2**34 - 2000,  # group index crosses 2**32 (float32) or 2**33 (float64): counter word 1 moves
    2**40 + 17,
    2**64 - 4096,  # the last whole block
]
N = 4096


def _runnable_simd_paths() -> list[str]:
    """The compiled SIMD paths this CPU runs (the current path is kept)."""
    return list(_runtime.simd_available())


SIMD_PATHS = _runnable_simd_paths()


def key_of(seed) -> int:
    return int(seed) if isinstance(seed, winit.Key) else ref.seed_key(seed)


def first_difference(got: np.ndarray, want: np.ndarray, offset: int, dtype=None) -> str | None:
    """None if the bits agree, else where they first differ (element, block, group, lane)."""
    assert got.dtype == want.dtype and got.shape == want.shape
    bits = {2: np.uint16, 4: np.uint32, 8: np.uint64}[got.dtype.itemsize]
    g, w = got.view(bits), want.view(bits)
    bad = np.flatnonzero(g != w)
    if bad.size == 0:
        return None
    k = int(bad[0])
    return (f"{bad.size} of {got.size} values differ; first at element {k}, "
            f"{ref.describe(offset + k, dtype)}: kernel {got[k]!r} (0x{int(g[k]):x}) "
            f"!= reference {want[k]!r} (0x{int(w[k]):x})")


def check_every_path(fill, want: np.ndarray, offset: int, dtype=None) -> None:
    """fill() on every SIMD path gives want, bit for bit."""
    current = _runtime.simd_path()
    try:
        for path in SIMD_PATHS:
            _runtime.set_simd_path(path)
            diff = first_difference(fill(), want, offset, dtype)
            if diff is not None:
                pytest.fail(f"SIMD path {path}: {diff}")
    finally:
        _runtime.set_simd_path(current)


class TestGenerator:
    def test_reference_philox_known_answers(self):
        for ctr, key, out in ref.PHILOX_KNOWN_ANSWERS:
            got = tuple(int(x) for x in ref.philox4x32_10(ctr, key))
            assert got == out, f"counter {ctr}, key {key}"

    def test_kernel_philox_matches_reference(self):
        rng = np.random.default_rng(5)
        ctr = rng.integers(0, 2**32, (4, 64), dtype=np.uint64).astype(np.uint32)
        key = rng.integers(0, 2**32, (2, 64), dtype=np.uint64).astype(np.uint32)
        want = np.stack([np.stack(ref.philox4x32_10(ctr[:, j], key[:, j])) for j in range(64)])
        got = np.array([_random.philox4x32_10(tuple(map(int, ctr[:, j])),
                                              tuple(map(int, key[:, j]))) for j in range(64)])
        assert np.array_equal(got, want)

    @pytest.mark.parametrize("seed", [0, 1, 12345, 2**64 - 1, 2**80 + 3])
    def test_seed_key(self, seed):
        assert ref.seed_key(seed) == resolve_key(seed)

    @pytest.mark.parametrize("per,groups,lanes", [
        (4, [7165, 7168, 7169, 2**62 - 1], [3, 0, 1, 3]),
        (2, [14333, 14336, 14337, 2**63 - 1], [1, 0, 1, 1]),
    ])
    def test_locate(self, per, groups, lanes):
        # the last position of block 6, the first of block 7, a second-lane one, the last index
        i = np.array([4096 * 7 - 3, 4096 * 7, 4096 * 7 + 4096 // per + 1, 2**64 - 1], np.uint64)
        group, lane = ref.locate(i, per)
        assert group.tolist() == groups and lane.tolist() == lanes


class TestMath:
    """The reference's transcendental pieces are log, sin and cos, to within an ulp or so."""

    rng = np.random.default_rng(11)
    HI = rng.integers(0, 2**32, 100_000, dtype=np.uint64).astype(np.uint32)
    LO = rng.integers(0, 2**32, 100_000, dtype=np.uint64).astype(np.uint32)

    def test_log_f32(self):
        x = ref.u01_open_f32(self.HI)
        exact = np.log(x.astype(np.float64))
        ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
        assert np.max(np.abs(ref.log_f32(x) - exact) / ulp) <= 1.0

    def test_log_f64(self):
        x = ref.u01_open_f64(self.HI, self.LO)
        assert np.max(np.abs(ref.log_f64(x) - np.log(x)) / np.spacing(np.abs(np.log(x)))) <= 1.0

    def test_sincos_f32(self):
        theta = 2 * np.pi * (self.HI.astype(np.float64) + 0.5) / 2**32
        s, c = ref.sincos_bits_f32(self.HI)
        assert s.dtype == c.dtype == np.float32
        assert np.max(np.abs(s - np.sin(theta))) < 2e-7
        assert np.max(np.abs(c - np.cos(theta))) < 2e-7

    def test_sincos_f64(self):
        theta = 2 * np.pi * (self.HI.astype(np.float64) + self.LO / 2**32) / 2**32
        s, c = ref.sincos_bits_f64(self.HI, self.LO)
        assert np.max(np.abs(s - np.sin(theta))) < 4e-15
        assert np.max(np.abs(c - np.cos(theta))) < 4e-15


@pytest.mark.parametrize("offset", OFFSETS)
@pytest.mark.parametrize("seed", SEEDS, ids=["seed0", "seed12345", "key"])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
class TestStream:
    def test_uniform(self, dtype, seed, offset):
        a, b = -0.3, 0.45
        want = ref.uniform(key_of(seed), offset, N, a, b, dtype)
        check_every_path(lambda: winit.uniform_(np.empty(N, dtype), a, b, seed=seed,
                                                offset=offset), want, offset, dtype)

    def test_normal(self, dtype, seed, offset):
        mean, std = -0.1, 0.02
        want = ref.normal(key_of(seed), offset, N, mean, std, dtype)
        check_every_path(lambda: winit.normal_(np.empty(N, dtype), mean, std, seed=seed,
                                               offset=offset), want, offset, dtype)


# (mean, std, a, b) and the sampler winit chooses for float32 and float64 destinations.
TRUNC_CASES = [
    ((0.0, 1.0, -2.0, 2.0), "normal", "normal"),
    ((0.0, 1.0, -1.0, 1.0), "normal", "uniform"),
    ((0.0, 1.0, -0.3, 0.3), "uniform", "uniform"),
    ((0.0, 1.0, 5.0, 6.0), "exp", "exp"),
    ((0.25, 1.5, 0.25 - 1.5 * 6, 0.25 - 1.5 * 5), "exp", "exp"),  # mirrored below 0
    ((0.25, 1.5, 1.0, math.inf), "normal", "exp"),
    ((0.0, 2.0, 0.0, math.inf), "normal", "normal"),
]


@pytest.mark.parametrize("offset", [0, 4095, 2**40 + 17])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("params,m32,m64", TRUNC_CASES, ids=[str(c[0]) for c in TRUNC_CASES])
def test_trunc_normal(params, m32, m64, dtype, offset):
    from winit.sampling import _trunc_method

    mean, std, a, b = params
    method = m64 if dtype == np.float64 else m32
    chosen = _trunc_method((a - mean) / std, (b - mean) / std, f64=dtype == np.float64)
    names = {"normal": "normal", "uniform": "uniform", "exponential": "exp"}
    assert names[chosen["method"]] == method, "the sampler choice changed, not the stream"
    want = ref.trunc_normal(ref.seed_key(7), offset, N, mean, std, a, b, method, dtype)
    check_every_path(lambda: winit.trunc_normal_(np.empty(N, dtype), mean, std, a, b, seed=7,
                                                 offset=offset), want, offset)
