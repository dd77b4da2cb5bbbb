"""Sampling primitives at the edges: extreme trunc_normal_ intervals, the overflow rule of
the normal family, and the accepted types of float parameters (issue 15)."""

from __future__ import annotations

import math
import re
import warnings

import ml_dtypes
import numpy as np
import pytest
from scipy import stats as sps

import winit
from winit import sampling

BF16 = np.dtype(ml_dtypes.bfloat16)
F16, F32, F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
N = 100_000
A_BIG = 1098896383835328.0  # a float64 integer with no float32 value in [A_BIG, A_BIG + 1]


def _trunc(dtype, n=N, seed=8, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings on the way either
        return winit.trunc_normal_(np.empty(n, dtype), seed=seed, **kw)


def _assert_spread_inside(x: np.ndarray, a: float, b: float) -> None:
    """All values finite and in [a, b], and not all one value."""
    v = x.astype(np.float64)
    assert np.all(np.isfinite(v))
    assert v.min() >= a and v.max() <= b
    assert len(np.unique(v)) > 1


class TestTruncNormalExtremeIntervals:
    """The intervals of the issue: each raised or failed before."""

    @pytest.mark.parametrize("dtype", [BF16, F32, F64], ids=str)
    @pytest.mark.parametrize("kw", [dict(a=-1e-17, b=1e-17), dict(a=1e-17, b=2e-17),
                                    dict(std=1e20, a=-1.0, b=1.0)], ids=repr)
    def test_flat_intervals_are_uniform(self, dtype, kw):
        # the density varies by less than 1e-33 over these: exactly a uniform over [a, b]
        x = _trunc(dtype, **kw)
        _assert_spread_inside(x, kw["a"], kw["b"])
        if dtype == F64:
            ref = sps.uniform(kw["a"], kw["b"] - kw["a"])
            assert sps.kstest(x, ref.cdf).pvalue > 1e-4

    @pytest.mark.parametrize("dtype,a", [(F16, 1e4), (BF16, 1e10), (F32, 1e10), (F64, 1e10)],
                             ids=str)
    def test_far_tail_is_its_bound(self, dtype, a):
        # the tail beyond a (in std units, std 1) is 1 / a wide, far below the dtype's
        # spacing there: P(x >= a + ulp / 2) = exp(-a ulp / 2) = 0, so every value is a
        lo = sampling._round_up(a, dtype)
        assert np.all(_trunc(dtype, a=a, b=math.inf).astype(np.float64) == lo)
        assert np.all(_trunc(dtype, a=a, b=2 * a).astype(np.float64) == lo)

    def test_narrow_interval_far_out(self):
        # std=329119.17, [a, a + 1] is 3.3e9 std out: the tail is 1e-4 wide, float64's
        # spacing there 0.125, so every value is a; float32 has no value in [a, a + 1]
        x = _trunc(F64, std=329119.17, a=A_BIG, b=A_BIG + 1)
        assert np.all(x == A_BIG)
        with pytest.raises(ValueError, match=r"no float32 value lies in \[a, b\]"):
            _trunc(F32, std=329119.17, a=A_BIG, b=A_BIG + 1)

    @pytest.mark.parametrize("dtype,a,b", [
        (F16, 1e-17, 2e-17), (BF16, 1.0001, 1.0002), (F32, A_BIG, A_BIG + 1),
        (F16, 1e7, math.inf), (F32, -math.inf, -1e300), (F16, 65505.0, 65510.0)])
    def test_no_value_in_interval(self, dtype, a, b):
        with pytest.raises(ValueError, match=f"no {dtype} value lies in"):
            _trunc(dtype, a=a, b=b)


class TestTruncNormalResolution:
    """Intervals float64 cannot resolve in std units: re-centred normal, checked exactly."""

    @pytest.mark.parametrize("dtype", [F32, F64], ids=str)
    def test_tail_far_from_the_mean(self, dtype):
        # 1e10 std below the mean's far side of 0: x = Exp(rate 1e10) to 1e-20 relative
        x = _trunc(dtype, mean=-1e10, std=1.0, a=0.0, b=math.inf)
        _assert_spread_inside(x, 0.0, math.inf)
        assert sps.kstest(x.astype(np.float64), sps.expon(scale=1e-10).cdf).pvalue > 1e-4

    @pytest.mark.parametrize("dtype", [F32, F64], ids=str)
    def test_bounds_that_coincide_in_std_units(self, dtype):
        # [0, 1e-6] is the same float64 number of std units from mean=1e10: x = b - Exp(1e10)
        x = _trunc(dtype, mean=1e10, std=1.0, a=0.0, b=1e-6)
        _assert_spread_inside(x, 0.0, 1e-6)
        ref = sps.expon(scale=1e-10)
        assert sps.kstest(x.astype(np.float64), lambda v: ref.sf(1e-6 - v)).pvalue > 1e-4

    @pytest.mark.parametrize("dtype", [F32, F64], ids=str)
    def test_density_changing_e_fold_across_unresolved_interval(self, dtype):
        # [0, 1] spans 1e-7 std at 1e7 std from the mean, 54 doubles: before, 55 values;
        # the density there is exp(x) up to 1e-14
        x = _trunc(dtype, mean=1e14, std=1e7, a=0.0, b=1.0).astype(np.float64)
        _assert_spread_inside(x, 0.0, 1.0)
        assert len(np.unique(x)) > 10_000
        assert sps.kstest(x, lambda v: np.expm1(v) / math.expm1(1.0)).pvalue > 1e-4

    @pytest.mark.parametrize("dtype", [F32, F64], ids=str)
    def test_flat_interval_far_from_the_mean(self, dtype):
        x = _trunc(dtype, mean=1e10, std=1e10, a=0.0, b=1e-3).astype(np.float64)
        _assert_spread_inside(x, 0.0, 1e-3)
        assert len(np.unique(x)) > 10_000
        assert sps.kstest(x, sps.uniform(0.0, 1e-3).cdf).pvalue > 1e-4

    def test_tail_beyond_resolution_keeps_its_shape(self):
        # 2e6 std: re-centred; the spacing of the values was 1/4 of the tail's width before
        x = _trunc(F64, mean=-2e6, a=0.0, b=10.0)
        assert len(np.unique(x)) > 90_000
        assert sps.kstest(x, sps.expon(scale=0.5e-6).cdf).pvalue > 1e-4

    def test_shards_match_the_whole(self):
        # the re-centred parameters depend on the interval only: sharding stays exact
        kw = dict(mean=1e14, std=1e7, a=0.0, b=1.0, seed=5)
        whole = winit.trunc_normal_(np.empty(10_000), **kw)
        parts = [winit.trunc_normal_(np.empty(n), offset=o, **kw)
                 for o, n in ((0, 4097), (4097, 5903))]
        assert np.array_equal(np.concatenate(parts), whole)

    @pytest.mark.parametrize("dtype", [F64, F32], ids=str)
    @pytest.mark.parametrize("lo,hi", [(8.0, 8.001), (30.0, 31.0), (-40.0, -39.5), (0.0, 1e-8),
                                       (1e3, np.inf), (5.0, 5.0 + 1e-9), (-1e-3, 2e-3),
                                       (-np.inf, -200.0), (1e-5, 3.0)])
    def test_unusual_intervals_ks(self, dtype, lo, hi):
        x = _trunc(dtype, mean=0.0, std=1.0, a=lo, b=hi).astype(np.float64)
        assert x.min() >= lo and x.max() <= hi
        if dtype == F64:  # float32 rounding is coarser than some of these tails
            assert sps.kstest(x, sps.truncnorm(lo, hi).cdf).pvalue > 1e-4

    def test_bounds_beyond_the_dtype_range(self):
        # float16 with std 1e5 and no bounds: N(0, 1e10) truncated to the float16 range,
        # not half of the values piled up at +-65504
        x = _trunc(F16, std=1e5, a=-math.inf, b=math.inf).astype(np.float64)
        assert np.mean(np.abs(x) == 65504.0) < 0.002
        ref = sps.truncnorm(-0.65504, 0.65504, scale=1e5)
        assert sps.kstest(x, ref.cdf).pvalue > 1e-4

    def test_mean_outside_the_dtype_range(self):
        x = _trunc(F32, mean=1e39, std=1e39, a=-1.0, b=1.0).astype(np.float64)
        _assert_spread_inside(x, -1.0, 1.0)
        assert sps.kstest(x, sps.uniform(-1.0, 2.0).cdf).pvalue > 1e-4
        x = _trunc(F16, mean=1e5, std=1e5, a=-1.0, b=1.0).astype(np.float64)
        _assert_spread_inside(x, -1.0, 1.0)

    @pytest.mark.parametrize("dtype", [F16, F32], ids=str)
    def test_std_beyond_float32(self, dtype):
        # float32 arithmetic would give inf * z: another sampler is used instead
        x = _trunc(dtype, std=3.5e38, a=-3.4e38, b=3.4e38).astype(np.float64)
        assert np.all(np.isfinite(x))
        if dtype == F32:
            ref = sps.truncnorm(-3.4 / 3.5, 3.4 / 3.5, scale=3.5e38)
            assert sps.kstest(x, ref.cdf).pvalue > 1e-4

    def test_interval_beyond_float64_std_units(self):
        # std = 1e-310: a = 1 is 1e310 std out, its value is a itself
        assert np.all(_trunc(F64, std=1e-310, a=1.0, b=2.0) == 1.0)
        assert np.all(_trunc(F64, std=1e-310, a=-2.0, b=-1.0) == -1.0)
        # the whole float16 range lies 1e600 std above the mean: its lowest value
        assert np.all(_trunc(F16, mean=-1e300, std=1e-300, a=-math.inf, b=math.inf) == -65504)
        assert np.all(_trunc(F16, mean=1e300, std=1e-300, a=-math.inf, b=math.inf) == 65504)

    def test_overflow_errors(self):
        with pytest.raises(ValueError, match="overflows the working precision"):
            _trunc(F64, mean=-1e308, std=1e308, a=1e308, b=math.inf)
        fmax = float(np.finfo(np.float32).max)
        with pytest.raises(ValueError, match="overflow the float32 working precision"):
            _trunc(F32, mean=fmax - 3e33, std=1e33, a=-math.inf, b=math.inf)


def _exact_log_mass(lo: float, hi: float) -> float:
    """log((Phi(hi) - Phi(lo)) / phi(m)), m nearest 0, in 60-digit arithmetic.

    Central intervals by erf (exact for tiny arguments too); one-sided ones,
    mirrored to 0 <= a < b, as the integral of exp(-a s - s^2 / 2) over
    [0, b - a] by quadrature on the scale where it decays, split where it has
    decayed by e, e^4, e^16, e^64 and cut at e^-128.
    """
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(60):
        if lo < 0 < hi:
            r2 = mpmath.sqrt(2)
            mass = (mpmath.erf(mpmath.mpf(hi) / r2) - mpmath.erf(mpmath.mpf(lo) / r2)) / 2
            return float(mpmath.log(mass * mpmath.sqrt(2 * mpmath.pi)))
        a, b = (lo, hi) if lo >= 0 else (-hi, -lo)
        a, w = mpmath.mpf(a), mpmath.mpf(b) - mpmath.mpf(a)  # b - a exactly
        h = 1 / max(a, 1)  # the integrand decays by e over this length, or faster: s = h t
        cuts = [k for k in (1, 4, 16, 64) if k < w / h]
        end = min(w / h, 128)  # what lies past it is below e^-128 of the total
        total = h * mpmath.quad(lambda t: mpmath.exp(-a * h * t - (h * t) ** 2 / 2),
                                [0, *cuts, end])
        return float(mpmath.log(total))


class TestTruncMethodAcceptance:
    """The sampler choice needs exact acceptances: these were inf, 0 or a math error."""

    @pytest.mark.parametrize("lo,hi", [
        (-1e-17, 1e-17), (1e-17, 2e-17), (-2e-17, -1e-17), (-1e-300, 1e-300), (1e10, np.inf),
        (3.339e9, 3.339e9 + 3e-6), (1e300, np.inf), (-np.inf, -1e200), (7.0, 7.0 + 1e-12),
        (0.0, 5e-324), (1e7, 1e7 + 1e-7), (-3.0, 1e-12)])
    @pytest.mark.parametrize("f64", [False, True])
    def test_accept_is_exact(self, lo, hi, f64):
        got = sampling._trunc_method(lo, hi, f64=f64)
        log_rel = _exact_log_mass(lo, hi)  # log(mass / phi(m))
        m = 0.0 if lo < 0 < hi else min(abs(lo), abs(hi))
        if got["method"] == sampling._TN_NORMAL:
            exact = math.exp(log_rel - 0.5 * m * m) / math.sqrt(2 * math.pi)
        elif got["method"] == sampling._TN_UNIFORM:
            exact = math.exp(log_rel - math.log(hi - lo))
        else:  # Robert's acceptance for the rate lam the kernel gets
            lam, a1 = got["lam"], got["alpha"]
            exact = math.exp(log_rel + math.log(lam) - 0.5 * (lam - a1) ** 2)
        assert got["accept"] == pytest.approx(min(exact, 1.0), rel=1e-9)
        assert got["accept"] > 0.2  # the best of the three samplers is never slow

    def test_log_mass_random_intervals(self):
        rng = np.random.default_rng(15)
        for _ in range(300):
            lo = rng.choice([-1.0, 1.0]) * 10 ** rng.uniform(-18, 4)
            hi = lo + 10 ** rng.uniform(-15, 1) * max(abs(lo), 1.0)
            if lo < hi:
                got = sampling._log_mass(lo, hi)
                assert got == pytest.approx(_exact_log_mass(lo, hi), abs=1e-12), (lo, hi)


class TestNormalOverflowRule:
    """normal_ and the schemes built on it raise where they wrote +-inf, as constant_ does."""

    def test_zmax_is_box_muller_bound(self):
        # the radius sqrt(-2 log u) at the smallest u the kernels use: 2^-32 and 2^-53
        assert sampling._Z_MAX[False] == pytest.approx(math.sqrt(64 * math.log(2)), rel=1e-6)
        assert sampling._Z_MAX[True] == pytest.approx(math.sqrt(106 * math.log(2)), rel=1e-14)
        x = winit.normal_(np.empty(4 * 10**6, np.float32), seed=3)
        assert np.abs(x).max() <= sampling._Z_MAX[False]

    @pytest.mark.parametrize("dtype,mean", [(F32, 1e39), (F16, 1e5), (BF16, 1e39),
                                            (F16, -65505.0)], ids=str)
    def test_mean_out_of_range(self, dtype, mean):
        msg = f"normal_: mean={mean} is outside the range of {dtype}"
        with pytest.raises(ValueError, match=re.escape(msg)):
            winit.normal_(np.empty(10, dtype), mean=mean, seed=0)
        with pytest.raises(ValueError, match=re.escape(f"constant_: val={mean} is outside")):
            winit.constant_(np.empty(10, dtype), mean)

    @pytest.mark.parametrize("dtype", [F16, BF16, F32, F64], ids=str)
    def test_std_at_the_edge(self, dtype):
        # the largest std whose values mean + std * z_max all round to finite values
        big = float(ml_dtypes.finfo(dtype).max)
        ok = big / sampling._Z_MAX[dtype == F64] * (1 - 2**-20)
        x = winit.normal_(np.empty(10**5, dtype), std=ok, seed=1).astype(np.float64)
        assert np.all(np.isfinite(x))
        with pytest.raises(ValueError, match=f"normal_: std=.* puts values outside the range "
                                             f"of {dtype}"):
            winit.normal_(np.empty(10, dtype), std=ok * (1 + 2**-6), seed=1)
        with pytest.raises(ValueError, match="std=.* puts values outside"):
            winit.normal_(np.empty(10, dtype), mean=big / 2, std=ok / 1.9, seed=1)

    def test_schemes_inherit_the_rule(self):
        w = np.empty((64, 64), np.float16)
        with pytest.raises(ValueError, match="normal_: std=.* outside the range of float16"):
            winit.xavier_normal_(w, gain=1e10, seed=0)
        with pytest.raises(ValueError, match="normal_: std=.* outside the range of float16"):
            winit.variance_scaling_(w, scale=1e12, distribution="untruncated_normal", seed=0)
        with pytest.raises(ValueError, match="normal_: std=.* outside the range of float16"):
            winit.sparse_(w, 0.5, std=1e5, seed=0)
        with pytest.raises(ValueError, match="uniform_: a=.* is outside the range of float16"):
            winit.xavier_uniform_(w, gain=1e10, seed=0)
        # the truncated schemes stay inside their bounds: taken at the float16 range
        x = winit.variance_scaling_(w, scale=1e12, seed=0).astype(np.float64)
        assert np.all(np.isfinite(x))


SCALARS = {
    "float": float,
    "np.float64": np.float64,
    "np.float32": np.float32,
    "np.float16": np.float16,
    "np.int64": lambda v: np.int64(v) if v == int(v) else np.float64(v),
    "0-d float64": lambda v: np.array(v),
    "0-d float32": lambda v: np.array(v, np.float32),
}


class TestParameterTypes:
    @pytest.mark.parametrize("kind", list(SCALARS))
    @pytest.mark.parametrize("func,params", [
        (winit.normal_, {"mean": 0.5, "std": 2.0}),
        (winit.trunc_normal_, {"mean": 0.5, "std": 2.0, "a": -1.0, "b": 3.0}),
        (winit.uniform_, {"a": -1.5, "b": 2.5}),
        (winit.constant_, {"val": -1.5}),
        (winit.xavier_normal_, {"gain": 2.0}),
    ])
    def test_each_float_parameter(self, func, params, kind):
        ref = func(np.empty((8, 9), np.float32), **params, seed=1)
        for name in params:
            got = func(np.empty((8, 9), np.float32), **dict(params, **{name: SCALARS[kind](
                params[name])}), seed=1)
            assert got.tobytes() == ref.tobytes(), name

    def test_infinite_bounds_as_arrays(self):
        ref = winit.trunc_normal_(np.empty(100), a=0.0, b=math.inf, seed=2)
        got = winit.trunc_normal_(np.empty(100), a=np.array(0.0), b=np.array(np.inf), seed=2)
        assert got.tobytes() == ref.tobytes()
        got = winit.trunc_normal_(np.empty(100), a=np.float32(0.0), b=np.float16(np.inf), seed=2)
        assert got.tobytes() == ref.tobytes()

    @pytest.mark.parametrize("bad", [np.array(True), np.array([1.0]), "1.0", None,
                                     np.array("x"), np.array(1.0 + 0j)], ids=repr)
    @pytest.mark.parametrize("func,name", [(winit.normal_, "std"), (winit.trunc_normal_, "b"),
                                           (winit.uniform_, "a"), (winit.constant_, "val")])
    def test_non_real_rejected(self, func, name, bad):
        with pytest.raises(TypeError, match=f"{name} must be a real number"):
            func(np.empty(3, np.float32), **{name: bad})

    def test_nan_array_rejected(self):
        with pytest.raises(ValueError, match="b must not be NaN"):
            winit.trunc_normal_(np.empty(3), b=np.array(np.nan))
        with pytest.raises(ValueError, match="mean must be finite"):
            winit.normal_(np.empty(3), mean=np.float32(np.inf))
