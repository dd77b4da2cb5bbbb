"""Inputs that used to be accepted silently or answered badly: a clear error, or a cap."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

import winit
from winit._common import MAX_THREADS_PER_CPU, resolve_threads


class TestThreads:
    def test_huge_thread_counts_are_capped(self):
        cap = resolve_threads(10**6)
        assert 64 <= cap <= max(64, MAX_THREADS_PER_CPU * 4096)
        assert resolve_threads(3) == 3 and resolve_threads(7) == 7  # tests use these
        a = winit.normal_(np.empty(10_000, np.float32), seed=1, threads=20_000)
        assert np.array_equal(a, winit.normal_(np.empty(10_000, np.float32), seed=1, threads=1))

    @pytest.mark.parametrize("bad", [2**31, 2**64])
    def test_threads_beyond_int32_name_threads(self, bad):
        with pytest.raises(ValueError, match="threads must be at most"):
            winit.normal_(np.empty(4, np.float32), seed=0, threads=bad)


class TestArrays:
    def test_self_overlapping_view_is_rejected(self):
        base = np.zeros(100, np.float32)
        view = as_strided(base, shape=(10, 10), strides=(4, 4))  # rows overlap
        with pytest.raises(ValueError, match="share memory"):
            winit.normal_(view, seed=0, threads=2)
        assert not base.any()  # nothing written
        with pytest.raises(ValueError, match="share memory"):
            winit.uniform_(as_strided(base, shape=(5,), strides=(0,)), seed=0)

    @pytest.mark.parametrize("make", [
        lambda a: a[::2, 1::3], lambda a: a.T, lambda a: a[::-1, ::-2],
        lambda a: a.reshape(4, 5, 6)[:, ::2].transpose(2, 0, 1),
        lambda a: as_strided(a, shape=(10, 3), strides=(a.strides[0] * 2, a.strides[1] * 2)),
    ])
    def test_non_overlapping_views_are_filled(self, make):
        a = np.zeros((20, 6), np.float32)
        v = make(a)
        winit.normal_(v, seed=4)
        assert np.array_equal(v, winit.normal_(np.empty(v.shape, np.float32), seed=4))

    @pytest.mark.parametrize("dt", [">f4", ">f8", ">f2"])
    def test_big_endian_says_byte_swap(self, dt):
        with pytest.raises(TypeError, match="byte-swap first"):
            winit.normal_(np.zeros(4, dt), seed=0)
