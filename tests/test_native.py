"""The seam between Python and the C kernels: the runtime, array descriptors, status codes,
the shared strided walk and the one moment-merge formula."""

from __future__ import annotations

import math
import sys

import ml_dtypes
import numpy as np
import pytest
from conftest import python_env, run_python

import winit
from winit import Stats, _random, _runtime, _stats


class TestRuntime:
    def test_paths(self):
        compiled, available = _runtime.simd_compiled(), _runtime.simd_available()
        assert "scalar" in available and set(available) <= set(compiled)
        assert set(compiled) <= {"scalar", "avx2", "avx512"}
        assert _runtime.simd_path() in available

    def test_set_path_is_global(self):
        default = _runtime.simd_path()
        try:
            for path in _runtime.simd_available():
                _runtime.set_simd_path(path)
                assert _runtime.simd_path() == path
        finally:
            _runtime.set_simd_path(default)
        assert _runtime.simd_path() == default

    @pytest.mark.parametrize("name", ["bogus", "", "AVX2"])
    def test_set_unknown_path(self, name):
        before = _runtime.simd_path()
        with pytest.raises(ValueError, match="not available"):
            _runtime.set_simd_path(name)
        assert _runtime.simd_path() == before

    def test_threads(self):
        assert _runtime.default_threads() >= 1
        assert isinstance(_runtime.openmp(), bool)
        if not _runtime.openmp():
            assert _runtime.default_threads() == 1

    def test_env_read_once_and_shown_once(self):
        # One warning for a bad WINIT_SIMD, however many kernel modules are imported.
        code = ("import warnings; warnings.simplefilter('always');"
                "import winit, winit._random, winit._stats; winit.show_config()")
        r = run_python(["-c", code], env=python_env(WINIT_SIMD="bogus"), check=True)
        assert r.stderr.count("WINIT_SIMD='bogus'") == 1
        assert r.stdout.count("simd") == 2  # simd_compiled, simd_chosen


class TestDescribe:
    @pytest.mark.parametrize("dtype", [np.int32, np.complex64, np.float128, ">f4", ">f8"])
    def test_unsupported_dtypes(self, dtype):
        a = np.zeros(5, dtype)
        with pytest.raises(TypeError, match="unsupported dtype"):
            _stats.compute(a, 1)
        with pytest.raises(TypeError, match="unsupported dtype"):
            _random.fill_normal(a, 0.0, 1.0, 1, 0, 1)
        assert not a.any()


class TestStatus:
    def test_einval_is_value_error(self):
        a = np.zeros(10, np.float32)
        with pytest.raises(ValueError, match="invalid arguments"):
            _stats.compute(a, 1, True, np.array([0.0, np.inf]))
        with pytest.raises(ValueError, match="invalid arguments"):
            _random.fill_trunc_normal(a, 0.0, 1.0, -2.0, 2.0, 1, 0, 1, method="normal",
                                      alpha=-2.0, beta=2.0, accept=0.0)
        with pytest.raises(ValueError, match="unknown truncated-normal method"):
            _random.fill_trunc_normal(a, 0.0, 1.0, -2.0, 2.0, 1, 0, 1, method="gamma",
                                      alpha=-2.0, beta=2.0)

    def test_ereject_is_runtime_error(self):
        # uniform candidates that are never accepted: -2 log u' < 75 < x^2 + 1000
        a = np.zeros(10, np.float64)
        with pytest.raises(RuntimeError, match="rejection sampling did not finish"):
            _random.fill_trunc_normal(a, 0.0, 1.0, 0.0, 1.0, 1, 0, 1, method="uniform",
                                      alpha=0.0, beta=1.0, m2=-1000.0, accept=1.0)

    @pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS, /proc")
    def test_enomem_is_memory_error(self):
        # A 4e6-bin histogram (32 MB of counts, allocated by the binding) and the kernel's
        # per-thread counts (32 MB a thread, with or without OpenMP) under an address-space
        # limit of 48 MB more than the process has mapped.
        code = (
            "import resource, numpy as np\n"
            "from winit import _stats\n"
            "a = np.zeros(64 * _stats.BLOCK, np.float32)\n"
            "edges = np.linspace(0.0, 1.0, 4_000_001)\n"
            "vm = [int(l.split()[1]) for l in open('/proc/self/status')"
            " if l.startswith('VmSize')][0] * 1024\n"
            "resource.setrlimit(resource.RLIMIT_AS, (vm + 48 * 2**20, resource.RLIM_INFINITY))\n"
            "try:\n"
            "    _stats.compute(a, 64, True, edges, False)\n"
            "except MemoryError as e:\n"
            "    print('MemoryError', e)\n"
        )
        r = run_python(["-c", code], check=True)
        assert r.stdout.startswith("MemoryError winit: the native kernel could not allocate")


class TestStreamDefinition:
    """src/sample.h's definition of the stream, recomputed from the raw generator.

    Exact for the uniforms; the normals go through the kernels' own log and sin/cos
    polynomials (wmath.h), so they are compared to numpy's to a few ulps.
    """

    KEY = 0x0123456789ABCDEF

    def words(self, g: int, tag: int) -> tuple[int, int, int, int]:
        return _random.philox4x32_10((g & 0xFFFFFFFF, g >> 32, 0, tag),
                                     (self.KEY & 0xFFFFFFFF, self.KEY >> 32))

    @staticmethod
    def u52(v: int, w: int) -> float:
        return (((v << 32) | w) >> 12) * 2.0**-52

    INDICES = [0, 1, 1023, 1024, 2047, 2048, 3071, 4095, 4096, 3 * 4096 + 1500]

    def test_uniform_float32(self):
        a, width = np.float32(-1.5), np.float32(4.0)
        x = _random.fill_uniform(np.empty(4 * 4096, np.float32), -1.5, 4.0, -1.5, 2.4999998,
                                 self.KEY, 0, 1)
        for i in self.INDICES:
            b, p = divmod(i, 4096)
            w = self.words(1024 * b + p % 1024, 0x55463332)[p // 1024]
            u = np.float32(w >> 8) * np.float32(2.0**-24)
            assert x[i] == a + width * u, i

    def test_uniform_float64(self):
        x = _random.fill_uniform(np.empty(4 * 4096), 2.0, 0.5, 2.0, 2.4999, self.KEY, 0, 1)
        for i in self.INDICES:
            b, p = divmod(i, 4096)
            w = self.words(2048 * b + p % 2048, 0x55463634)
            u = self.u52(w[0], w[1]) if p < 2048 else self.u52(w[2], w[3])
            assert x[i] == min(2.0 + 0.5 * u, 2.4999), i

    def test_normal_float32(self):
        x = _random.fill_normal(np.empty(4 * 4096, np.float32), 0.0, 1.0, self.KEY, 0, 1)
        for i in self.INDICES:
            b, p = divmod(i, 4096)
            w = self.words(1024 * b + p % 1024, 0x4E463332)
            k = p // 1024
            radius, angle = (w[0], w[1]) if k < 2 else (w[2], w[3])
            r = math.sqrt(-2.0 * math.log((radius >> 1) * 2.0**-31 + 2.0**-32))
            t = 2.0 * math.pi * (angle + 0.5) * 2.0**-32
            want = r * (math.cos(t) if k % 2 == 0 else math.sin(t))
            assert x[i] == pytest.approx(want, rel=1e-5, abs=1e-6), i

    def test_normal_float64(self):
        x = _random.fill_normal(np.empty(4 * 4096), 1.0, 2.0, self.KEY, 0, 1)
        for i in self.INDICES:
            b, p = divmod(i, 4096)
            w = self.words(2048 * b + p % 2048, 0x4E463634)
            r = math.sqrt(-2.0 * math.log(self.u52(w[0], w[1]) + 2.0**-53))
            t = 2.0 * math.pi * ((((w[2] << 32) | w[3]) >> 9) + 0.5) * 2.0**-55
            want = 1.0 + 2.0 * r * (math.cos(t) if p < 2048 else math.sin(t))
            assert x[i] == pytest.approx(want, rel=1e-13), i

    def test_trunc_normal_uniform_method(self):
        # candidate group j of block b: counter (j, b, 0, 0x74000000 | b >> 32) in float64
        alpha, beta, m2 = 0.5, 1.5, 0.25
        x = _random.fill_trunc_normal(np.empty(2 * 4096), 3.0, 2.0, -10.0, 10.0, self.KEY, 0, 1,
                                      method="uniform", alpha=alpha, beta=beta, m2=m2)
        for b in (0, 1):
            kept, j = [], 0
            while len(kept) < 40:
                w = self.words((b << 32) | j, 0x74000000)
                z = alpha + (beta - alpha) * self.u52(w[0], w[1])
                if -2.0 * math.log(self.u52(w[2], w[3]) + 2.0**-53) >= z * z - m2:
                    kept.append(3.0 + 2.0 * z)
                j += 1
            np.testing.assert_allclose(x[4096 * b: 4096 * b + 40], kept, rtol=1e-14)

    def test_trunc_normal_normal_method_float32(self):
        # four candidates a group (r cos t, r sin t, r' cos t', r' sin t'), tag 0x54000000
        x = _random.fill_trunc_normal(np.empty(4096, np.float32), 0.0, 1.0, -1.0, 1.0,
                                      self.KEY, 0, 1, method="normal", alpha=-1.0, beta=1.0)
        kept, j = [], 0
        while len(kept) < 40:
            w = self.words(j, 0x54000000)
            for radius, angle in ((w[0], w[1]), (w[2], w[3])):
                r = math.sqrt(-2.0 * math.log((radius >> 1) * 2.0**-31 + 2.0**-32))
                t = 2.0 * math.pi * (angle + 0.5) * 2.0**-32
                kept += [z for z in (r * math.cos(t), r * math.sin(t)) if -1.0 <= z <= 1.0]
            j += 1
        np.testing.assert_allclose(x[:40], kept[:40], rtol=1e-5, atol=1e-6)

    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    @pytest.mark.parametrize("method,alpha,beta,true_accept", [
        ("normal", -2.0, 2.0, 0.9544997361036416), ("normal", -0.3, 0.5, 0.3094),
        ("uniform", 0.5, 1.5, 0.6)])
    def test_trunc_batch_sizes_change_nothing(self, dtype, method, alpha, beta, true_accept):
        # accept only sizes each round of candidates (4 standard deviations of slack):
        # stated far too high (many short rounds), too low (one long round, most of it
        # unused) or right (one round, rarely two), the kept values are the same bits,
        # on every SIMD path
        default = _runtime.simd_path()
        try:
            for path in _runtime.simd_available():
                _runtime.set_simd_path(path)
                out = [_random.fill_trunc_normal(np.empty(3 * 4096 + 5, dtype), 0.5, 2.0,
                                                 -10.0, 10.0, self.KEY, 7, 2, method=method,
                                                 alpha=alpha, beta=beta, m2=0.25,
                                                 accept=acc).tobytes()
                       for acc in (true_accept, 1.0, 0.05)]
                assert out[1] == out[0] and out[2] == out[0], path
        finally:
            _runtime.set_simd_path(default)


def _strided_view(dtype) -> tuple[np.ndarray, np.ndarray]:
    """A 17-dimensional view with reversed, stepped and unit dimensions, and its base."""
    base = np.zeros((2,) * 8 + (1, 3) + (2,) * 6 + (9,), dtype)
    view = base[(slice(None, None, -1),) * 4 + (slice(None),) * 12 + (slice(1, None, 3),)]
    assert view.ndim == 17 and not view.flags.c_contiguous and not view.flags.f_contiguous
    return base, view


class TestLayout:
    """The one strided walk (src/layout.h), as the sampler and the statistics kernel use it."""

    @pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
    def test_sampler_scatter(self, dtype):
        base, view = _strided_view(dtype)
        winit.normal_(view, seed=4, offset=7)
        assert np.ascontiguousarray(view).tobytes() == winit.normal_(
            np.empty(view.shape, dtype), seed=4, offset=7).tobytes()
        untouched = np.ones(base.shape, bool)
        untouched[(slice(None, None, -1),) * 4 + (slice(None),) * 12 + (slice(1, None, 3),)] = 0
        assert not base[untouched].any()

    @pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
    def test_stats_gather(self, dtype):
        _, view = _strided_view(dtype)
        winit.normal_(view, seed=5)
        assert winit.stats(view, bins=7, range=(-2, 2)) == winit.stats(
            np.ascontiguousarray(view), bins=7, range=(-2, 2))

    def test_unit_dimensions_are_one_run(self):
        a = np.empty((1,) * 62 + (5, 1), np.float32)
        b = np.empty(5, np.float32)
        assert winit.uniform_(a, seed=1).tobytes() == winit.uniform_(b, seed=1).tobytes()
        assert winit.stats(a) == winit.stats(b)

    @pytest.mark.parametrize("func, dtype, shift", [
        ("uniform_", np.float32, 4), ("uniform_", np.float32, 44), ("normal_", np.float32, 0),
        ("trunc_normal_", np.float64, 8), ("trunc_normal_", np.float32, 44),
        ("trunc_normal_", np.float32, 4),
        ("normal_", np.float16, 2), ("normal_", ml_dtypes.bfloat16, 6)])
    def test_large_destination_streamed(self, func, dtype, shift):
        """Destinations of 32 MiB and more take the non-temporal store path (uniform float32:
        straight from registers where a block starts 64-byte aligned, as at shift 44 with
        offset 123, plain stores elsewhere; truncated normal float32: its last pass straight
        to the destination at any alignment): the same bits as two fills below that size, at
        any alignment and with partial end blocks."""
        n = (33 << 20) // np.dtype(dtype).itemsize + 1001
        buf = np.empty(n * np.dtype(dtype).itemsize + 128, np.uint8)
        start = (-buf.ctypes.data) % 64 + shift
        a = buf[start:start + n * np.dtype(dtype).itemsize].view(dtype)
        f = getattr(winit, func)
        f(a, seed=9, offset=123, threads=2)
        k = n // 2 + 77
        half = np.empty(n, dtype)
        f(half[:k], seed=9, offset=123)
        f(half[k:], seed=9, offset=123 + k)
        assert a.tobytes() == half.tobytes()


def _merge_oracle(a: tuple, b: tuple) -> tuple:
    """Chan et al. / Pebay pairwise merge of (count, mean, m2, m3, m4), in this order of
    float64 operations (the C kernel's)."""
    if b[0] == 0:
        return a
    if a[0] == 0:
        return b
    na, nb = float(a[0]), float(b[0])
    n = na + nb
    d = b[1] - a[1]
    dn = d / n
    dn2 = dn * dn
    nab = na * nb
    mean = a[1] + dn * nb
    m2 = a[2] + b[2] + d * dn * nab
    m3 = a[3] + b[3] + d * dn2 * nab * (na - nb) + 3.0 * dn * (na * b[2] - nb * a[2])
    m4 = (a[4] + b[4] + d * dn2 * dn * nab * (na * na - nab + nb * nb)
          + 6.0 * dn2 * (na * na * b[2] + nb * nb * a[2])
          + 4.0 * dn * (na * b[3] - nb * a[3]))
    return (a[0] + b[0], mean, m2, m3, m4)


def _same_bits(x: tuple, y: tuple) -> bool:
    return all(u == v or (math.isnan(u) and math.isnan(v)) for u, v in zip(x, y, strict=True))


class TestMerge:
    def test_c_merge_is_the_formula(self):
        rng = np.random.default_rng(17)
        for _ in range(2000):
            parts = []
            for _ in range(2):
                count = int(rng.choice([0, 1, 2, int(rng.integers(3, 10**6)), 2**53 + 1]))
                scale = 10.0 ** rng.integers(-8, 9)
                mean = float(rng.normal(0, scale))
                m2 = float(abs(rng.normal(0, scale**2))) * count
                m3 = float(rng.normal(0, scale**3)) * count
                m4 = float(abs(rng.normal(0, scale**4))) * count
                parts.append((count, mean, m2, m3, m4))
            got = _stats.merge_moments(parts[0], parts[1])
            assert _same_bits(got, _merge_oracle(parts[0], parts[1])), parts

    def test_stats_merge_uses_it(self):
        rng = np.random.default_rng(18)
        x = 5.0 + rng.standard_t(4, 70_001)
        a, b = winit.stats(x[:12_345]), winit.stats(x[12_345:])
        m = a.merge(b)
        want = _merge_oracle((a.count, a.mean, a.m2, a.m3, a.m4),
                             (b.count, b.mean, b.m2, b.m3, b.m4))
        assert _same_bits((m.count, m.mean, m.m2, m.m3, m.m4), want)
        e = Stats().merge(Stats())  # an empty side is the identity, NaN mean and all
        assert e.count == 0 and math.isnan(e.mean) and (e.m2, e.m3, e.m4) == (0.0, 0.0, 0.0)
