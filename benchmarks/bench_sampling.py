"""pytest-benchmark suite for the sampling kernels and their numpy peers.

    pytest benchmarks/bench_sampling.py --benchmark-only [--benchmark-group-by=param:n]
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


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("func", ["normal_", "uniform_", "trunc_normal_"])
def test_winit(benchmark, func, dtype, threads, n):
    a = np.empty(n, DTYPES[dtype])
    f = getattr(winit, func)
    benchmark(lambda: f(a, seed=0, threads=threads))


@pytest.mark.parametrize("bitgen", ["PCG64", "Philox"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("func", ["standard_normal", "random"])
def test_numpy(benchmark, func, dtype, bitgen, n):
    a = np.empty(n, DTYPES[dtype])
    g = np.random.Generator(getattr(np.random, bitgen)(0))
    f = getattr(g, func)
    benchmark(lambda: f(out=a, dtype=DTYPES[dtype]))


def test_fill(benchmark, n):
    a = np.empty(n, np.float32)
    benchmark(lambda: a.fill(1.0))


@pytest.mark.parametrize("func", ["normal_", "uniform_"])
def test_torch(benchmark, func, n):
    torch = pytest.importorskip("torch")
    x = torch.empty(n)
    benchmark(getattr(x, func))
