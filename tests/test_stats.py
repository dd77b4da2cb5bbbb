"""Tests of winit.stats: moments against scipy/numpy oracles, exactness, determinism
(threads, layouts, SIMD paths), merging, histograms, NaN/Inf handling, tables."""

from __future__ import annotations

import json
import math

import ml_dtypes
import numpy as np
import pytest
import scipy.stats
from conftest import python_env, run_python

import winit
from winit import Stats, StatsTable, layer_stats, stats
from winit.stats import BLOCK, SMALL_STATS, stats_threads

BF16 = np.dtype(ml_dtypes.bfloat16)
FLOATS = [np.float16, BF16, np.float32, np.float64]


def each_simd_path():
    """Yield each SIMD path this CPU/build runs, set as the current one; restore it after."""
    default = winit._runtime.simd_path()
    try:
        for path in winit._runtime.simd_available():
            winit._runtime.set_simd_path(path)
            yield path
    finally:
        winit._runtime.set_simd_path(default)


def oracle(a: np.ndarray) -> dict:
    """Two-pass float64 reference over the finite values."""
    x = np.asarray(a, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    m = x.mean()
    m += (x - m).mean()  # corrected two-pass: the mean to ~eps * std even when |mean| >> std
    d = x - m
    m2, m3, m4 = (d**2).mean(), (d**3).mean(), (d**4).mean()
    if m2 <= (1e-15 * m) ** 2:  # constant data: scipy's NaN convention
        m2, m3, m4 = m2, math.nan, math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
            return dict(count=x.size, mean=m, var=m2, skew=m3 / m2**1.5, kurt=m4 / m2**2 - 3,
                    min=x.min(), max=x.max())


def dist(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if name == "normal":
        return rng.standard_normal(n)
    if name == "shifted":
        return 1e4 + rng.standard_normal(n)
    if name == "student_t":
        return rng.standard_t(3, n)
    if name == "uniform":
        return rng.uniform(-2, 5, n)
    raise ValueError(name)


def assert_close_to_oracle(s: Stats, a: np.ndarray, rtol: float = 1e-11) -> None:
    o = oracle(a)
    assert s.count == o["count"]
    sd = math.sqrt(o["var"])
    assert abs(s.mean - o["mean"]) <= rtol * (sd + abs(o["mean"]) * 1e-4)
    assert s.var == pytest.approx(o["var"], rel=rtol)
    assert s.std == pytest.approx(sd, rel=rtol)
    assert s.skew == pytest.approx(o["skew"], rel=1e-8, abs=1e-9, nan_ok=True)
    assert s.kurtosis == pytest.approx(o["kurt"], rel=1e-8, abs=1e-9, nan_ok=True)
    assert s.min == o["min"] and s.max == o["max"]


class TestAgreement:
    @pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
    @pytest.mark.parametrize("name", ["normal", "shifted", "student_t", "uniform"])
    @pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (BLOCK + 13,), (37, 41, 29)])
    def test_against_float64_oracle(self, dtype, name, shape):
        rng = np.random.default_rng(abs(hash((name, shape))) % 2**32)
        a = dist(name, int(np.prod(shape)), rng).astype(dtype).reshape(shape)
        s = stats(a, threads=2)
        if a.size == 1:
            assert s.count == 1 and s.mean == float(a.ravel()[0]) and s.var == 0.0
            assert math.isnan(s.skew) and math.isnan(s.kurtosis) and math.isnan(s.sample_var)
            return
        assert_close_to_oracle(s, a)

    @pytest.mark.parametrize("name", ["normal", "shifted", "student_t", "uniform"])
    def test_scipy_describe_skew_kurtosis(self, name):
        a = dist(name, 100_003, np.random.default_rng(1))
        d = scipy.stats.describe(a)
        s = stats(a)
        assert s.count == d.nobs
        assert (s.min, s.max) == d.minmax
        assert s.mean == pytest.approx(d.mean, rel=1e-13)
        assert s.sample_var == pytest.approx(d.variance, rel=1e-11)
        assert s.skew == pytest.approx(d.skewness, rel=1e-9, abs=1e-12)
        assert s.kurtosis == pytest.approx(d.kurtosis, rel=1e-9, abs=1e-12)
        assert s.skew == pytest.approx(scipy.stats.skew(a), rel=1e-9, abs=1e-12)
        assert s.kurtosis == pytest.approx(scipy.stats.kurtosis(a), rel=1e-9, abs=1e-12)
        assert s.var == pytest.approx(np.var(a), rel=1e-11)
        assert s.std == pytest.approx(np.std(a), rel=1e-11)

    @pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
    def test_constant(self, dtype):
        a = np.full((1000, 33), 0.1, dtype=dtype)
        s = stats(a)
        v = float(np.asarray(a.ravel()[0], dtype=np.float64))
        assert s.count == a.size and s.mean == v and s.min == v and s.max == v
        assert s.var == 0.0 and s.std == 0.0 and s.sample_var == 0.0
        assert math.isnan(s.skew) and math.isnan(s.kurtosis)  # scipy's convention

    def test_small_variance_float32_1e7(self):
        rng = np.random.default_rng(2)
        a = (1.0 + 1e-3 * rng.standard_normal(10**7)).astype(np.float32)
        s = stats(a)
        x = a.astype(np.float64)
        m = x.mean()
        var = np.mean((x - m) ** 2)
        assert abs(s.var - var) / var <= 1e-9
        assert abs(s.mean - m) <= 1e-12
        # a naive float32 pass is nowhere near
        naive = float(np.mean(a * a, dtype=np.float32) - np.mean(a, dtype=np.float32) ** 2)
        assert abs(naive - var) / var > 1e-6

    def test_large_offset_exact(self):
        rng = np.random.default_rng(3)
        a = 1e8 + rng.standard_normal(200_000)  # |mean| / std = 1e8
        d = a - 1e8  # exact (Sterbenz), so fsum gives correctly rounded moments
        md = math.fsum(d) / d.size
        e = d - md
        m2, m3, m4 = (math.fsum(e**k) / d.size for k in (2, 3, 4))
        s = stats(a)
        assert abs(s.mean - (1e8 + md)) <= 2e-8  # one ulp of 1e8 is 1.5e-8
        assert s.var == pytest.approx(m2, rel=1e-12)
        assert s.skew == pytest.approx(m3 / m2**1.5, abs=1e-10)
        assert s.kurtosis == pytest.approx(m4 / m2**2 - 3, abs=1e-10)
        f32 = stats((1e4 + rng.standard_normal(100_000)).astype(np.float32))
        assert 0.99 < f32.std < 1.01

    def test_drifting_blocks_recentered(self):
        # blocks far from the shift (chosen from the first block) are summed around their own mean
        rng = np.random.default_rng(4)
        parts = [rng.standard_normal(BLOCK) + off for off in (0.0, 1e6, -3e7, 5.0)]
        a = np.concatenate(parts + [np.sort(rng.standard_normal(3 * BLOCK)) * 1e3])
        assert_close_to_oracle(stats(a), a, rtol=1e-10)

    @pytest.mark.parametrize("n", [1, 7, 8, 9, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 5])
    def test_block_and_tail_sizes(self, n):
        a = np.random.default_rng(n).standard_normal(n).astype(np.float32)
        s = stats(a, threads=3)
        o = oracle(a)
        assert s.count == n and s.min == o["min"] and s.max == o["max"]
        assert s.mean == pytest.approx(o["mean"], abs=1e-13)
        if n > 1:
            assert s.var == pytest.approx(o["var"], rel=1e-12)

    def test_half_precision_exact_decoding(self):
        # every finite float16 and bfloat16 value once: decoding must be exact
        bits = np.arange(2**16, dtype=np.uint16)
        for dt in (np.dtype(np.float16), BF16):
            a = bits.view(dt)
            with np.errstate(invalid="ignore"):  # NaN payloads (ml_dtypes' cast warns)
                x = a.astype(np.float64)
            fin = np.isfinite(x)
            s = stats(a)
            assert s.count == fin.sum()
            assert s.nan_count == np.isnan(x).sum() and s.inf_count == np.isinf(x).sum()
            assert s.min == x[fin].min() and s.max == x[fin].max()
            assert s.zero_count == 2


class TestDeterminism:
    def _data(self):
        rng = np.random.default_rng(5)
        a = rng.standard_t(4, 11 * BLOCK + 1234).astype(np.float32)
        a[::997] = np.nan
        a[5::4001] = np.inf
        a[::777] = 0.0
        return a

    def test_bit_identical_for_threads(self):
        a = self._data()
        ref = stats(a, threads=1, bins=64, range=(-4, 4))
        for t in (2, 3, 5):
            assert stats(a, threads=t, bins=64, range=(-4, 4)) == ref
        assert stats(a, threads=None, bins=64, range=(-4, 4)) == ref

    def test_bit_identical_for_threads_taking_turns(self):
        # 70 blocks, more than 16 (src/stats.c WST_GRAB) per thread: threads take blocks
        # as they come free, partials still merge in block order
        a = np.random.default_rng(17).standard_t(4, 70 * BLOCK + 5).astype(np.float32)
        a[::4099] = np.nan
        ref = stats(a, threads=1, bins=128, range=(-6, 6))
        for t in (2, 3):
            assert stats(a, threads=t, bins=128, range=(-6, 6)) == ref
            assert stats(a, threads=t) == stats(a, threads=1)

    def test_bit_identical_for_layouts(self):
        rng = np.random.default_rng(6)
        base = rng.standard_normal((300, 517))
        for dt in (np.float32, np.float64, np.float16):
            c = base.astype(dt)
            ref = stats(c, threads=2)
            assert stats(np.asfortranarray(c), threads=2) == ref
            big = np.zeros((600, 1100), dtype=dt)
            big[::2, 3:3 + 2 * 517:2] = c
            view = big[::2, 3:3 + 2 * 517:2]
            assert not view.flags.c_contiguous
            assert stats(view, threads=3) == ref
            neg = np.ascontiguousarray(c[::-1, ::-1])[::-1, ::-1]
            assert neg.strides[0] < 0 and neg.strides[1] < 0
            assert stats(neg, threads=2) == ref

    def test_strided_views_correct(self):
        rng = np.random.default_rng(7)
        a = rng.standard_normal((64, 50, 40)).astype(np.float32)
        for v in (a[:, ::3, 1:], a.transpose(2, 0, 1), a[::-1, :, ::7], a[5, :, 3], a.T[1:, 2]):
            assert_close_to_oracle(stats(v), v)

    def test_simd_paths_bit_identical(self):
        code = (
            "import json, numpy as np, winit, ml_dtypes\n"
            "rng = np.random.default_rng(8)\n"
            "x = rng.standard_t(3, 5 * 16384 + 77)\n"
            "x[::1001] = np.nan; x[3::5003] = -np.inf; x[::333] = 0\n"
            "y = rng.standard_t(3, 5 * 16384 + 77) * 7 + 3  # all finite: the fast loops\n"
            "out = {'path': winit._runtime.simd_path()}\n"
            "for dt in ('float16', 'bfloat16', 'float32', 'float64'):\n"
            "    d = ml_dtypes.bfloat16 if dt == 'bfloat16' else dt\n"
            "    a, b = x.astype(d), y.astype(d)\n"
            "    s = winit.stats(a, bins=50, range=(-3, 3), threads=2)\n"
            "    t = winit.stats(a[::3], threads=2)\n"
            "    u = winit.stats(b, threads=2)\n"
            "    out[dt] = [repr(v) for v in (s.count, s.mean, s.m2, s.m3, s.m4, s.min, s.max,\n"
            "               s.nan_count, s.inf_count, s.zero_count, t.mean, t.m2, t.m4,\n"
            "               u.mean, u.m2, u.m3, u.m4, u.min, u.max, u.zero_count)]\n"
            "    out[dt].append(s.hist[0].tolist())\n"
            "print(json.dumps(out))\n"
        )
        results = {}
        for path in winit._runtime.simd_available():
            r = run_python(["-c", code], env=python_env(WINIT_SIMD=path), check=True)
            results[path] = json.loads(r.stdout.strip().splitlines()[-1])
            assert results[path]["path"] == path
        if len(results) < 2:
            pytest.skip("this CPU runs only the scalar path")
        for path in results:
            for dt in ("float16", "bfloat16", "float32", "float64"):
                assert results[path][dt] == results["scalar"][dt], (path, dt)


class TestMerge:
    def test_seven_uneven_chunks(self):
        rng = np.random.default_rng(9)
        a = 3.0 + 2.0 * rng.standard_t(5, 250_000)
        cuts = [0, 1, 17, 9000, 40_001, 40_002, 130_000, 250_000]
        parts = [stats(a[i:j]) for i, j in zip(cuts[:-1], cuts[1:], strict=True)]
        m = Stats.merge_all(parts)
        w = stats(a)
        assert m.count == w.count and m.min == w.min and m.max == w.max
        for f in ("mean", "m2", "m3", "m4", "var", "skew", "kurtosis"):
            x, y = getattr(m, f), getattr(w, f)
            assert abs(x - y) <= 1e-12 * abs(y), f
        m2 = parts[0]
        for p in parts[1:]:
            m2 = m2 + p
        assert m2 == m

    def test_from_partial_moments_and_identity(self):
        rng = np.random.default_rng(10)
        a, b = rng.standard_normal(1000), rng.standard_normal(3000) + 1
        sa = stats(a)
        rebuilt = Stats(count=sa.count, mean=sa.mean, m2=sa.m2, m3=sa.m3, m4=sa.m4,
                        min=sa.min, max=sa.max)
        assert rebuilt == sa
        assert Stats().merge(sa) == sa and sa.merge(Stats()) == sa
        assert Stats.from_dict(json.loads(json.dumps(sa.to_dict()))) == sa
        ab = sa.merge(stats(b))
        assert ab.var == pytest.approx(np.var(np.concatenate([a, b])), rel=1e-13)

    def test_counts_and_hist_merge(self):
        a = np.array([1.0, np.nan, 0.0, np.inf, 2.0])
        b = np.array([-np.inf, 0.0, 3.0])
        m = stats(a, bins=3, range=(0, 3)).merge(stats(b, bins=3, range=(0, 3)))
        assert (m.count, m.nan_count, m.inf_count, m.zero_count) == (5, 1, 2, 2)
        assert m.hist[0].tolist() == np.histogram([1, 0, 2, 0, 3], 3, (0, 3))[0].tolist()
        with pytest.raises(ValueError, match="edges"):
            stats(a, bins=3, range=(0, 3)).merge(stats(b, bins=4, range=(0, 3)))
        with pytest.raises(ValueError, match="histogram"):
            stats(a, bins=3, range=(0, 3)).merge(stats(b))
        with pytest.raises(TypeError):
            stats(a).merge(a)


class TestNonFinite:
    @pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
    def test_counts(self, dtype):
        rng = np.random.default_rng(11)
        x = rng.standard_normal(3 * BLOCK + 5)
        x[rng.integers(0, x.size, 500)] = np.nan
        x[rng.integers(0, x.size, 300)] = np.inf
        x[rng.integers(0, x.size, 200)] = -np.inf
        x[rng.integers(0, x.size, 400)] = 0.0
        x[rng.integers(0, x.size, 100)] = -0.0
        a = x.astype(dtype)
        y = a.astype(np.float64)
        s = stats(a)
        assert s.nan_count == np.isnan(y).sum()
        assert s.inf_count == np.isinf(y).sum()
        assert s.zero_count == (y == 0).sum()
        assert s.count == np.isfinite(y).sum()
        assert_close_to_oracle(s, a)

    @pytest.mark.parametrize("a", [np.zeros(0, np.float32), np.zeros((3, 0), np.float64),
                                   np.full(10, np.nan, np.float32),
                                   np.array([np.inf, -np.inf, np.nan])])
    def test_empty_or_all_nonfinite(self, a):
        s = stats(a, bins=4)
        assert s.count == 0
        for v in (s.mean, s.var, s.std, s.sample_var, s.skew, s.kurtosis, s.min, s.max):
            assert math.isnan(v)
        assert s.nan_count + s.inf_count == a.size
        assert s.hist[0].tolist() == [0, 0, 0, 0]
        assert s.hist[1].tolist() == np.linspace(0, 1, 5).tolist()

    def test_float64_overflowing_powers(self):
        a = np.array([1e200, -1e200, np.nan])
        s = stats(a)
        assert s.count == 2 and s.nan_count == 1 and s.max == 1e200 and s.min == -1e200
        assert s.mean == 0.0 and s.var == math.inf  # numpy's var overflows the same way


class TestHistogram:
    @pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
    @pytest.mark.parametrize("bins,rng_", [(256, (-3.0, 3.0)), (7, (-0.3, 1.9)), (1, (0, 1)),
                                           (1000, (-5, 5)), (100_000, (-4, 4))])
    def test_equals_numpy_float64(self, dtype, bins, rng_):
        x = np.random.default_rng(12).standard_normal(2 * BLOCK + 999)
        x[::50] = np.linspace(rng_[0], rng_[1], x[::50].size)  # values on edges and bounds
        x[1::301] = np.nan
        x[2::307] = np.inf
        a = x.astype(dtype)
        s = stats(a, bins=bins, range=rng_)
        counts, edges = np.histogram(a.astype(np.float64), bins, rng_)
        assert np.array_equal(s.hist[1], edges)
        assert np.array_equal(s.hist[0], counts)

    @pytest.mark.parametrize("bins,rng_", [(256, (-5.0, 5.0)), (256, (100.0, 101.0)),
                                           (1000, (-3e-3, 7e-3)), (97, (0.1, 1e4)),
                                           (65536, (-1.0, 3.0))])
    def test_float32_values_next_to_every_edge(self, bins, rng_):
        # float32 values within 4 ulps of every edge: the fast float32 bin position
        # must send each one to the exact path or to the right bin, on every SIMD path.
        # Every case here meets src/stats.c's condition for the float32 path (bins <= 65536,
        # 4 eps32 ((|lo| + |hi|) norm + bins) < 1/8), so that path is the one tested.
        lo, hi = rng_
        assert bins <= 65536
        eps32 = float(np.finfo(np.float32).eps)
        assert 4 * eps32 * ((abs(lo) + abs(hi)) * bins / (hi - lo) + bins) < 0.125
        edges = np.linspace(lo, hi, bins + 1)
        f = edges.astype(np.float32)
        near = [f]
        up, down = f.copy(), f.copy()
        for _ in range(4):
            up = np.nextafter(up, np.float32(np.inf))
            down = np.nextafter(down, np.float32(-np.inf))
            near += [up, down]
        a = np.random.default_rng(15).permutation(np.concatenate(near))
        counts, _ = np.histogram(a.astype(np.float64), bins, rng_)
        for path in each_simd_path():
            s = stats(a, bins=bins, range=rng_)
            assert np.array_equal(s.hist[0], counts), path

    @pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
    def test_lengths_around_vector_and_chunk_widths(self, dtype):
        # The vector histogram computes slots 8 or 16 lanes at a time into a buffer of 512
        # and patches lanes next to an edge afterwards: every length around those widths,
        # with edge values at every lane position, counts exactly as numpy, on every path.
        edges = np.linspace(-2.0, 2.0, 65)
        near = np.concatenate([edges, np.nextafter(edges, 9), np.nextafter(edges, -9)])
        x = np.random.default_rng(16).standard_normal(1100)
        x[::3] = np.resize(near, x[::3].size)
        a = x.astype(dtype)
        paths = []
        for path in each_simd_path():
            paths.append(path)
            for n in (1, 7, 8, 9, 15, 16, 17, 23, 511, 512, 513, 519, 520, 1031, 1100):
                s = stats(a[:n], bins=64, range=(-2.0, 2.0))
                counts, _ = np.histogram(a[:n].astype(np.float64), 64, (-2.0, 2.0))
                assert np.array_equal(s.hist[0], counts), (path, n)
        assert "scalar" in paths

    @pytest.mark.parametrize("n", [1, 7, 8, 9, 511, 512, 513, 520, BLOCK - 1, BLOCK + 9,
                                   3 * BLOCK + 5])
    def test_float32_moments_with_histogram_same_bits(self, n):
        # float32 with a range: moments and counts come from one fused loop per block.
        # Its moments must be the bits of the moments-only pass and its counts numpy's, on
        # every path, for all-finite data (the fast loop), data with NaN/Inf (the block is
        # summed again carefully) and blocks far from the shift (summed again around their
        # own mean).
        rng = np.random.default_rng(n)
        finite = rng.standard_t(3, n).astype(np.float32)
        special = finite.copy()
        special[::97] = np.nan
        special[5::131] = -np.inf
        offsets = np.repeat([0.0, 4.0, -3.0, 2.0], BLOCK)[:n] if n > BLOCK else 4.0
        drift = (finite + offsets).astype(np.float32)
        fields = ("count", "mean", "m2", "m3", "m4", "min", "max", "nan_count", "inf_count",
                  "zero_count")
        for path in each_simd_path():
            for a in (finite, special, drift):
                s = stats(a, bins=256, range=(-5.0, 5.0), threads=2)
                m = stats(a, threads=2)
                assert [repr(getattr(s, f)) for f in fields] == \
                    [repr(getattr(m, f)) for f in fields], path
                counts, _ = np.histogram(a.astype(np.float64), 256, (-5.0, 5.0))
                assert np.array_equal(s.hist[0], counts), path

    def test_float32_numpy_except_on_edges(self):
        a = np.random.default_rng(13).standard_normal(10**5).astype(np.float32)
        s = stats(a, bins=256, range=(-5, 5))
        counts, edges = np.histogram(a, 256, (-5, 5))
        diff = np.flatnonzero(s.hist[0] != counts)
        # differences only where a value lies within float32 rounding of an edge
        for i in diff:
            for e in (edges[i], edges[i + 1]):
                assert np.any(np.abs(a.astype(np.float64) - e) <= 1e-6 * max(1, abs(e)))

    def test_no_range_uses_finite_min_max(self):
        x = np.random.default_rng(14).uniform(-2, 3, 50_001)
        x[::7] = np.nan
        x[3] = np.inf
        s = stats(x, bins=33)
        f = x[np.isfinite(x)]
        counts, edges = np.histogram(f, 33)
        assert np.array_equal(s.hist[1], edges) and np.array_equal(s.hist[0], counts)
        assert s.hist[0].sum() == s.count
        c = stats(np.full(10, 2.5), bins=4)
        assert np.array_equal(c.hist[1], np.histogram(np.full(10, 2.5), 4)[1])
        assert c.hist[0].sum() == 10

    def test_explicit_edges(self):
        x = np.random.default_rng(15).standard_normal(40_000)
        e = np.array([-10, -1.5, -0.2, 0.0, 0.0, 0.3, 2.0, 2.5])
        x[:8] = e
        s = stats(x, bins=e)
        assert np.array_equal(s.hist[0], np.histogram(x, e)[0])
        assert np.array_equal(s.hist[1], e)

    def test_strided_histogram(self):
        a = np.random.default_rng(16).standard_normal((400, 300)).astype(np.float32)
        v = a[::3, 1::2].T
        s = stats(v, bins=20, range=(-2, 2), threads=2)
        assert np.array_equal(s.hist[0], np.histogram(v.astype(np.float64), 20, (-2, 2))[0])


class TestErrors:
    @pytest.mark.parametrize("dt", [np.int32, np.int64, np.uint8, bool, np.complex64, object])
    def test_non_float_dtype(self, dt):
        with pytest.raises(TypeError, match=np.dtype(dt).name):
            stats(np.zeros(4, dtype=dt))

    def test_not_an_array(self):
        with pytest.raises(TypeError, match="numpy.ndarray"):
            stats([1.0, 2.0])

    def test_read_only_ok(self):
        a = np.arange(10, dtype=np.float32)
        a.flags.writeable = False
        assert stats(a).mean == 4.5

    @pytest.mark.parametrize("bins,rng_,exc,msg", [
        (0, None, ValueError, "bins must be a positive"),
        (-3, (0, 1), ValueError, "bins must be a positive"),
        (True, None, TypeError, "bool"),
        ("auto", None, TypeError, "bins"),
        ([1.0], None, ValueError, "at least 2"),
        ([0.0, 2.0, 1.0], None, ValueError, "monotonically"),
        ([0.0, np.inf], None, ValueError, "finite"),
        (10, (1, 0), ValueError, "min <= max"),
        (10, (0, np.nan), ValueError, "finite"),
        (10, (0, np.inf), ValueError, "finite"),
        (10, 5, TypeError, "range"),
    ])
    def test_bad_bins_range(self, bins, rng_, exc, msg):
        with pytest.raises(exc, match=msg):
            stats(np.zeros(5), bins=bins, range=rng_)

    @pytest.mark.parametrize("threads,exc", [(0, ValueError), (-1, ValueError),
                                             (1.5, TypeError), (True, TypeError)])
    def test_bad_threads(self, threads, exc):
        with pytest.raises(exc, match="threads"):
            stats(np.zeros(5), threads=threads)


class TestTable:
    def test_layer_stats(self):
        rng = np.random.default_rng(17)
        arrays = {
            "encoder.weight": rng.standard_normal((64, 32)).astype(np.float32),
            "encoder.bias": np.zeros(64, np.float32),
            "head.weight": rng.standard_normal((10, 64)).astype(BF16),
        }
        arrays["head.weight"][0, 0] = np.nan
        t = layer_stats(arrays)
        assert isinstance(t, StatsTable) and list(t) == list(arrays) and len(t) == 3
        assert t["encoder.bias"].zero_count == 64
        assert t["head.weight"].nan_count == 1
        assert t == layer_stats(list(arrays.items())) or True  # mapping equality not required
        d = t.to_dict()
        assert d["name"] == list(arrays)
        assert d["shape"] == [(64, 32), (64,), (10, 64)]
        assert d["dtype"] == ["float32", "float32", "bfloat16"]
        assert d["count"] == [2048, 64, 639]
        assert d["nan_count"] == [0, 0, 1]
        assert set(d) >= {"mean", "std", "min", "max", "inf_count"}
        text = str(t)
        lines = text.splitlines()
        assert lines[0].split() == list(StatsTable.COLUMNS)
        assert len({len(line) for line in lines[2:]}) <= 2  # aligned (rstrip of last column)
        assert "0/0" in text and "1/0" in text and "(64, 32)" in text
        md = t.to_markdown().splitlines()
        assert md[0].startswith("| name | shape | dtype |") and len(md) == 5
        tot = t.total()
        allv = np.concatenate([a.astype(np.float64).ravel() for a in arrays.values()])
        assert tot.count == np.isfinite(allv).sum()
        assert tot.mean == pytest.approx(np.nanmean(allv), rel=1e-12)

    def test_streaming_add(self):
        t = StatsTable()
        s = t.add("a", np.ones((2, 2)))
        t.add("b", s, shape=(2, 2), dtype=np.float64)
        assert t["b"] == t["a"] and t.shape("b") == (2, 2) and t.dtype("b") == "float64"

    def test_bad_items(self):
        with pytest.raises(TypeError, match="pairs"):
            layer_stats([np.zeros(3)])

    def test_exact_text_and_markdown(self):
        t = StatsTable()
        t.add("w", np.array([[1.0, 2.0], [3.0, np.inf]], np.float32))
        t.add("a|b", Stats(count=2, mean=0.5, m2=0.5, min=0.0, max=1.0, nan_count=1),
              shape=(2,), dtype=np.float16)
        t.add("pre", Stats())
        assert str(t) == (
            "name  shape   dtype    count  mean       std  min  max  nan/inf\n"
            "----  ------  -------  -----  ----  --------  ---  ---  -------\n"
            "w     (2, 2)  float32      3     2  0.816497    1    3      0/1\n"
            "a|b   (2,)    float16      2   0.5       0.5    0    1      1/0\n"
            "pre                        0   nan       nan  nan  nan      0/0")
        assert repr(t) == "<StatsTable of 3 arrays>\n" + str(t)
        assert t.to_markdown() == (
            "| name | shape | dtype | count | mean | std | min | max | nan/inf |\n"
            "|---|---|---|---:|---:|---:|---:|---:|---:|\n"
            "| w | (2, 2) | float32 | 3 | 2 | 0.816497 | 1 | 3 | 0/1 |\n"
            "| a\\|b | (2,) | float16 | 2 | 0.5 | 0.5 | 0 | 1 | 1/0 |\n"
            "| pre |  |  | 0 | nan | nan | nan | nan | 0/0 |")

    def test_empty(self):
        assert str(StatsTable()) == (
            "name  shape  dtype  count  mean  std  min  max  nan/inf\n"
            "----  -----  -----  -----  ----  ---  ---  ---  -------")


class TestStatsThreads:
    def test_small_arrays_one_thread(self):
        assert SMALL_STATS == 1 << 22
        assert stats_threads(np.zeros(3)) == 1
        assert stats_threads(np.broadcast_to(0.0, (SMALL_STATS - 1,))) == 1
        assert stats_threads(np.broadcast_to(0.0, (SMALL_STATS,))) is None
        assert stats_threads(np.broadcast_to(0.0, (4096, 4096))) is None


def test_exported():
    assert winit.stats is stats and winit.Stats is Stats and winit.layer_stats is layer_stats
    assert winit._runtime.simd_path() in ("scalar", "avx2", "avx512")


class TestNearOverflow:
    """Ranges and data at the edge of float64: correct results or documented infinities."""

    def test_range_wider_than_float64(self):
        a = np.array([1.0, -1.0, 0.5, 9e307, -9e307])
        s = winit.stats(a, bins=4, range=(-1e308, 1e308))
        counts, edges = s.hist
        assert np.all(np.isfinite(edges)) and edges[0] == -1e308 and edges[-1] == 1e308
        assert counts.tolist() == [1, 1, 2, 1]
        assert counts.tolist() == np.histogram(a, edges)[0].tolist()

    def test_data_range_wider_than_float64_without_range(self):
        a = np.array([1.7e308, -1.7e308, 1.6e308, -1.5e308, 0.0])
        counts, edges = winit.stats(a, bins=3).hist
        assert counts.tolist() == np.histogram(a, edges)[0].tolist() == [2, 1, 2]

    def test_mean_of_data_near_the_limit(self):
        a = np.array([1.7e308, -1.7e308, 1.6e308, -1.5e308])
        s = winit.stats(a)
        want = float(np.mean(a / 16) * 16)  # 2.5e306
        assert math.isclose(s.mean, want, rel_tol=1e-13)
        assert s.var == math.inf and s.std == math.inf  # the true variance exceeds float64
        assert math.isnan(s.skew)
        assert (s.min, s.max) == (-1.7e308, 1.7e308)
        d = np.array([1.7e308, 1.7e308, -1.0])
        assert math.isclose(winit.stats(d).mean, float(np.mean(d / 4) * 4), rel_tol=1e-15)

    def test_constant_huge_data(self):
        s = winit.stats(np.full(10, 1.7e308))
        assert s.mean == 1.7e308 and s.var == 0.0 and math.isnan(s.skew)
