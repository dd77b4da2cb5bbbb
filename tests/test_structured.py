"""Structured schemes (winit.structured): orthogonality, Haar measure, kernels, sparsity, errors.

Their share of the common contract (empty tensors, dtypes, seeds, threads) is in
tests/test_schemes.py::TestCommon.
"""

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.linalg
from scipy import stats
from threadpoolctl import threadpool_info, threadpool_limits

import winit
from winit._common import resolve_key

P_MIN = 1e-4  # KS p-value threshold (fixed seeds: deterministic)


def _ks(x, dist):
    return stats.kstest(np.asarray(x, dtype=np.float64).ravel(), dist.cdf).pvalue


def _gram(w, layout="torch"):
    m = w.reshape(w.shape[0], -1) if layout == "torch" else w.reshape(-1, w.shape[-1])
    return m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T


class TestOrthogonal:
    @pytest.mark.parametrize("shape", [(3, 4), (4, 3), (20, 2, 3, 4), (2, 3, 4, 5)])
    @pytest.mark.parametrize("layout", ["torch", "keras"])
    def test_orthogonality(self, shape, layout):
        rng = np.random.default_rng(len(shape))
        for gain in [1.0, rng.uniform(0.1, 2)]:
            w = winit.orthogonal_(np.empty(shape), gain=gain, layout=layout, seed=5)
            g = _gram(w, layout)
            np.testing.assert_allclose(g, gain**2 * np.eye(len(g)), atol=1e-6, rtol=0)

    @pytest.mark.parametrize("shape", [(3, 4), (4, 3), (6, 2, 5)])
    def test_orthogonality_float32_and_strided(self, shape):
        w = winit.orthogonal_(np.empty(shape, np.float32), seed=1).astype(np.float64)
        np.testing.assert_allclose(_gram(w), np.eye(len(_gram(w))), atol=1e-5)
        big = np.zeros((2 * shape[0],) + shape[1:])
        view = big[::2]
        winit.orthogonal_(view, seed=1)
        np.testing.assert_allclose(_gram(view), np.eye(len(_gram(view))), atol=1e-6)
        assert np.all(big[1::2] == 0)
        h = winit.orthogonal_(np.empty(shape, np.float16), seed=1).astype(np.float64)
        np.testing.assert_allclose(_gram(h), np.eye(len(_gram(h))), atol=1e-2)

    def test_layout_independent_bits(self):
        # the same seed gives the same matrix for C- and F-ordered destinations
        a = winit.orthogonal_(np.empty((6, 9)), seed=3)
        b = winit.orthogonal_(np.empty((6, 9), order="F"), seed=3)
        c = winit.orthogonal_(np.empty((9, 6)), seed=3)
        d = winit.orthogonal_(np.empty((9, 6), order="F"), seed=3)
        assert np.array_equal(a, b) and np.array_equal(c, d)
        assert np.array_equal(a, winit.orthogonal_(np.empty((6, 9)), seed=3))

    @pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
    def test_haar_first_entry(self, shape):
        # For a Haar matrix, w[0, 0] is one coordinate of a uniform unit vector:
        # (w00 + 1) / 2 ~ Beta((n-1)/2, (n-1)/2), n the length of the orthonormal vectors.
        # Without the sign correction LAPACK's Householder QR makes w[0, 0] <= 0 always.
        n = max(shape)
        x = np.array([winit.orthogonal_(np.empty(shape), seed=s)[0, 0] for s in range(1500)])
        assert 0.45 < np.mean(x > 0) < 0.55
        beta = stats.beta((n - 1) / 2, (n - 1) / 2, loc=-1, scale=2)
        assert stats.kstest(x, beta.cdf).pvalue > P_MIN

    def test_haar_eigenvalue_phases(self):
        # eigenvalue angles of Haar O(n) matrices are symmetric around 0 with a known
        # density; compare the mean |angle| with a numpy-QR-with-correction reference
        rng = np.random.default_rng(0)
        n, k = 5, 600
        ours = np.concatenate([np.abs(np.angle(np.linalg.eigvals(
            winit.orthogonal_(np.empty((n, n)), seed=s)))) for s in range(k)])
        ref = []
        for _ in range(k):
            q, r = np.linalg.qr(rng.standard_normal((n, n)))
            ref.append(np.abs(np.angle(np.linalg.eigvals(q * np.sign(np.diag(r))))))
        assert stats.ks_2samp(ours, np.concatenate(ref)).pvalue > P_MIN

    def test_errors(self):
        with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions"):
            winit.orthogonal_(np.empty(5))
        with pytest.raises(ValueError, match="layout"):
            winit.orthogonal_(np.empty((3, 3)), layout="nchw")
        with pytest.raises(ValueError, match="gain must not be NaN"):
            winit.orthogonal_(np.empty((3, 3)), gain=float("nan"))


# Shapes whose LAPACK QR differs between 1 and 2 or more BLAS threads with scipy's OpenBLAS
# (float64 between every count from 1 to 4): orthogonal_ factors on one BLAS thread.
THREAD_SENSITIVE = [((300, 300), np.float64), ((513, 257), np.float32), ((257, 513), np.float64)]


def _blas_threads() -> list[int]:
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


class TestOrthogonalBlasThreads:
    @pytest.mark.parametrize("shape, dtype", THREAD_SENSITIVE)
    def test_bits_ignore_blas_and_fill_threads(self, shape, dtype):
        want = winit.orthogonal_(np.empty(shape, dtype), seed=4, threads=1)
        for blas in (1, 2, 3):
            with threadpool_limits(blas, user_api="blas"):
                for threads in (None, 2, 3):
                    got = winit.orthogonal_(np.empty(shape, dtype), seed=4, threads=threads)
                    assert got.tobytes() == want.tobytes(), (blas, threads)

    def test_factorization_on_one_blas_thread_limits_restored(self, monkeypatch):
        seen = []
        get = scipy.linalg.get_lapack_funcs

        def spy(names, arrays):
            funcs = get(names, arrays)
            return [lambda *a, f=f, **k: (seen.append(_blas_threads()), f(*a, **k))[1]
                    for f in funcs]

        monkeypatch.setattr(scipy.linalg, "get_lapack_funcs", spy)
        with threadpool_limits(2, user_api="blas"):
            winit.orthogonal_(np.empty((40, 30)), seed=0, threads=2)
            assert set(_blas_threads()) == {2}
        assert len(seen) == 4  # geqrf and orgqr, each a workspace query and the call
        assert all(set(s) == {1} for s in seen)

    def test_concurrent_calls_same_bits_limits_restored(self):
        # Python threads factoring at once (dask's threaded scheduler): each runs on one BLAS
        # thread and the limits come back (meaningful where the BLAS default is >= 2 threads)
        shape, dtype = THREAD_SENSITIVE[0]
        before = _blas_threads()
        want = [winit.orthogonal_(np.empty(shape, dtype), seed=s) for s in range(12)]
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(
                lambda s: winit.orthogonal_(np.empty(shape, dtype), seed=s), range(12)))
        assert _blas_threads() == before
        for s, (a, b) in enumerate(zip(want, got, strict=True)):
            assert a.tobytes() == b.tobytes(), s


class TestDeltaOrthogonal:
    @pytest.mark.parametrize("shape", [(6, 4, 3), (5, 5, 3, 3), (8, 3, 3, 3, 3), (4, 2, 4, 2)])
    def test_structure(self, shape):
        w = winit.delta_orthogonal_(np.empty(shape), gain=1.5, seed=2)
        centre = (slice(None), slice(None)) + tuple((k - 1) // 2 for k in shape[2:])
        c = w[centre]
        np.testing.assert_allclose(c.T @ c, 2.25 * np.eye(shape[1]), atol=1e-6)
        rest = w.copy()
        rest[centre] = 0
        assert np.all(rest == 0)

    def test_keras_layout(self):
        w = winit.delta_orthogonal_(np.empty((3, 3, 4, 6)), layout="keras", seed=0)
        c = w[1, 1]  # (in, out)
        np.testing.assert_allclose(c @ c.T, np.eye(4), atol=1e-6)
        assert np.count_nonzero(w) == np.count_nonzero(c)

    def test_errors(self):
        with pytest.raises(ValueError, match=r"fan_in \(5 input channels\) must be less than"):
            winit.delta_orthogonal_(np.empty((4, 5, 3, 3)))
        with pytest.raises(ValueError, match="requires a 3-, 4- or 5-dimensional tensor"):
            winit.delta_orthogonal_(np.empty((4, 4)))


class TestEye:
    @pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4)])
    def test_values(self, shape):
        w = winit.eye_(np.full(shape, 7.0, dtype=np.float32))
        assert np.array_equal(w, np.eye(*shape, dtype=np.float32))

    def test_errors(self):
        with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
            winit.eye_(np.empty((2, 2, 2)))


def _conv_valid(x, w):
    """Cross-correlation, 'valid', of x (C_in, *S) with a dense w (C_out, C_in, *K)."""
    k = w.shape[2:]
    win = np.lib.stride_tricks.sliding_window_view(x, k, axis=tuple(range(1, x.ndim)))
    spatial = "xyz"[: len(k)]
    kern = "abc"[: len(k)]
    return np.einsum(f"i{spatial}{kern},oi{kern}->o{spatial}", win, w)


def _dense_from_groups(w, groups):
    """Expand a grouped weight (out, in/groups, *k) to a dense (out, in, *k) one."""
    out, ipg = w.shape[:2]
    opg = out // groups
    dense = np.zeros((out, ipg * groups) + w.shape[2:])
    for g in range(groups):
        dense[g * opg:(g + 1) * opg, g * ipg:(g + 1) * ipg] = w[g * opg:(g + 1) * opg]
    return dense


class TestDirac:
    @pytest.mark.parametrize(
        "shape,groups",
        [((4, 4, 3), 1), ((6, 3, 5), 2), ((4, 6, 3, 3), 1), ((6, 2, 3, 4), 3),
         ((8, 4, 3, 3), 2), ((4, 4, 3, 3, 3), 1), ((6, 2, 3, 3, 2), 2)],
    )
    def test_convolution_is_identity(self, shape, groups):
        w = winit.dirac_(np.empty(shape), groups=groups)
        out, ipg, *k = shape
        opg = out // groups
        rng = np.random.default_rng(0)
        x = rng.standard_normal((ipg * groups,) + tuple(s + 4 for s in k))
        y = _conv_valid(x, _dense_from_groups(w, groups))
        crop = (slice(None),) + tuple(slice(s // 2, s // 2 + y.shape[1 + j])
                                      for j, s in enumerate(k))
        xc = x[crop]
        for g in range(groups):
            for d in range(opg):
                o = g * opg + d
                if d < min(opg, ipg):
                    np.testing.assert_allclose(y[o], xc[g * ipg + d], atol=1e-12)
                else:
                    assert np.all(y[o] == 0)

    def test_matches_torch(self):
        torch = pytest.importorskip("torch")
        for shape, groups in [((6, 2, 3, 4), 3), ((4, 6, 3), 1), ((6, 2, 3, 3, 2), 2)]:
            t = torch.empty(shape)
            torch.nn.init.dirac_(t, groups=groups)
            assert np.array_equal(winit.dirac_(np.empty(shape, np.float32), groups), t.numpy())

    def test_keras_layout(self):
        w = winit.dirac_(np.empty((3, 3, 4, 4)), layout="keras")
        assert np.array_equal(w[1, 1], np.eye(4)) and np.count_nonzero(w) == 4

    def test_errors(self):
        with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions"):
            winit.dirac_(np.empty((3, 3)))
        with pytest.raises(ValueError, match="dim 0 must be divisible by groups"):
            winit.dirac_(np.empty((5, 2, 3)), groups=2)
        with pytest.raises(ValueError, match="groups must be >= 1"):
            winit.dirac_(np.empty((4, 2, 3)), groups=0)


class TestSparse:
    @pytest.mark.parametrize("rows,cols,sparsity", [(40, 30, 0.1), (25, 50, 0.5), (33, 21, 0.3)])
    def test_zeros_and_values(self, rows, cols, sparsity):
        std = 0.05
        w = winit.sparse_(np.empty((rows, cols)), sparsity, std=std, seed=11)
        zeros = (w == 0).sum(axis=0)
        assert np.all(zeros == math.ceil(sparsity * rows))
        assert _ks(w[w != 0], stats.norm(0, std)) > P_MIN

    def test_zero_rows_are_uniform(self):
        # every row is equally likely to be zeroed
        w = winit.sparse_(np.empty((10, 4000)), 0.3, seed=1)
        counts = (w == 0).sum(axis=1)
        assert stats.chisquare(counts).pvalue > P_MIN

    def test_edges(self):
        assert np.count_nonzero(winit.sparse_(np.empty((5, 4)), 0.0, seed=0)) == 20
        assert np.count_nonzero(winit.sparse_(np.empty((5, 4)), 1.0, seed=0)) == 0

    def test_generator_drawn_once(self):
        g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
        a = winit.sparse_(np.empty((8, 6)), 0.5, seed=g1)
        b = winit.sparse_(np.empty((8, 6)), 0.5, seed=g2)
        assert np.array_equal(a, b)
        g3 = np.random.default_rng(9)
        resolve_key(g3)  # exactly one draw
        assert g1.integers(1 << 62) == g3.integers(1 << 62)

    def test_errors(self):
        with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
            winit.sparse_(np.empty((3, 3, 3)), 0.1)
        with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\]"):
            winit.sparse_(np.empty((3, 3)), 1.5)
        with pytest.raises(ValueError, match="std must be >= 0"):
            winit.sparse_(np.empty((3, 3)), 0.1, std=-1.0)
