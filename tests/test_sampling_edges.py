"""Sampling primitives at the edges: the overflow rule of the normal family (issue 15)."""

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
