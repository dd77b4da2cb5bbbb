"""pytest-benchmark suite for winit.stats and its numpy/scipy peers.

    pytest benchmarks/bench_stats.py --benchmark-only [--benchmark-group-by=param:n]
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import winit

SIZES = [10**6, 10**8]
DTYPES = {"float32": np.float32, "float64": np.float64, "float16": np.float16,
          "bfloat16": ml_dtypes.bfloat16}


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"n={n:.0e}")
def n(request):
    return request.param


@pytest.fixture(scope="module")
def data(n):
    return np.random.default_rng(0).standard_normal(n, dtype=np.float32)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_stats(benchmark, data, dtype, threads):
    a = data.astype(DTYPES[dtype])
    benchmark(lambda: winit.stats(a, threads=threads))


@pytest.mark.parametrize("threads", [1, 2])
def test_stats_hist256(benchmark, data, threads):
    benchmark(lambda: winit.stats(data, bins=256, range=(-5, 5), threads=threads))


@pytest.mark.parametrize("threads", [2])
def test_stats_strided(benchmark, data, threads):
    v = data[::2]
    benchmark(lambda: winit.stats(v, threads=threads))


def test_numpy_sum_f64(benchmark, data):
    benchmark(lambda: np.sum(data, dtype=np.float64))


def test_numpy_four_calls(benchmark, data):
    benchmark(lambda: (data.mean(), data.var(), data.min(), data.max()))


def test_numpy_histogram(benchmark, data):
    benchmark(lambda: np.histogram(data, 256, (-5, 5)))


def test_scipy_describe(benchmark, data):
    scipy_stats = pytest.importorskip("scipy.stats")
    x = data[: 10**7]
    benchmark(lambda: scipy_stats.describe(x))
