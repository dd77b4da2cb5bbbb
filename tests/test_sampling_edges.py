"""Sampling primitives at the edges: the overflow rule of the normal family and the
accepted types of float parameters (issue 15)."""

from __future__ import annotations

import math
import re

import ml_dtypes
import numpy as np
import pytest

import winit
from winit import sampling

BF16 = np.dtype(ml_dtypes.bfloat16)
F16, F32, F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)


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
