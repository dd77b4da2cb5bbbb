"""pytest-benchmark suite for the schemes and their torch/numpy peers.

    pytest benchmarks/bench_schemes.py --benchmark-only [--benchmark-group-by=func]
"""

from __future__ import annotations

import numpy as np
import pytest

import winit

KAIMING_SHAPES = [(1024, 1024), (8192, 4096)]
ORTHO_SHAPES = [(512, 512), (2048, 2048), (8192, 4096)]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", KAIMING_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("func", ["kaiming_normal_", "kaiming_uniform_", "xavier_uniform_",
                                  "lecun_normal_"])
def test_fan_scheme(benchmark, func, shape, threads):
    a = np.empty(shape, np.float32)
    f = getattr(winit, func)
    benchmark(lambda: f(a, seed=0, threads=threads))


@pytest.mark.parametrize("shape", KAIMING_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_kaiming_normal_torch(benchmark, shape):
    torch = pytest.importorskip("torch")
    x = torch.empty(shape)
    benchmark(lambda: torch.nn.init.kaiming_normal_(x))


@pytest.mark.parametrize("shape", KAIMING_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_kaiming_normal_numpy(benchmark, shape):
    a = np.empty(shape, np.float32)
    rng = np.random.default_rng(0)
    std = np.float32(np.sqrt(2.0 / shape[1]))

    def run():
        rng.standard_normal(out=a, dtype=np.float32)
        np.multiply(a, std, out=a)

    benchmark(run)


@pytest.mark.parametrize("shape", ORTHO_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_orthogonal(benchmark, shape):
    a = np.empty(shape, np.float32)
    benchmark.pedantic(lambda: winit.orthogonal_(a, seed=0), rounds=3, iterations=1)


@pytest.mark.parametrize("shape", ORTHO_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_orthogonal_torch(benchmark, shape):
    torch = pytest.importorskip("torch")
    x = torch.empty(shape)
    benchmark.pedantic(lambda: torch.nn.init.orthogonal_(x), rounds=3, iterations=1)


@pytest.mark.parametrize("shape", ORTHO_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_orthogonal_numpy_qr(benchmark, shape):
    rng = np.random.default_rng(0)

    def run():
        a = rng.standard_normal(shape, dtype=np.float32)
        tall = a if shape[0] >= shape[1] else a.T
        q, r = np.linalg.qr(tall)
        q *= np.sign(np.diag(r))

    benchmark.pedantic(run, rounds=3, iterations=1)


@pytest.mark.parametrize("sparsity", [0.1, 0.9])
def test_sparse(benchmark, sparsity):
    a = np.empty((2048, 2048), np.float32)
    benchmark(lambda: winit.sparse_(a, sparsity, seed=0))


def test_dirac(benchmark):
    a = np.empty((512, 512, 3, 3), np.float32)
    benchmark(lambda: winit.dirac_(a))


def test_registry_overhead(benchmark):
    init = winit.get("he_normal")
    benchmark(lambda: init((64, 64), seed=0))
