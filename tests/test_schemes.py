"""Initialization schemes: distributions (KS tests), structure, errors, reproducibility."""

import math
import warnings

import ml_dtypes
import numpy as np
import pytest
from scipy import stats

import winit
from winit._common import resolve_key
from winit.schemes import TRUNCATED_NORMAL_STD

P_MIN = 1e-4  # KS p-value threshold (fixed seeds: deterministic)
TN = TRUNCATED_NORMAL_STD


def _random_shape(rng, dims):
    if dims == 2:
        return tuple(int(s) for s in rng.integers(20, 51, size=2))
    # (out, in, kh, kw) / (kh, kw, in, out): channels 20-50, kernels 2-5
    ch = rng.integers(20, 51, size=2)
    k = rng.integers(2, 6, size=2)
    return (int(ch[0]), int(ch[1]), int(k[0]), int(k[1]))


def _keras_shape(torch_shape):
    """The same layer's kernel in Keras layout."""
    if len(torch_shape) == 2:
        return (torch_shape[1], torch_shape[0])
    out, inp, *k = torch_shape
    return (*k, inp, out)


def _ref_fans(shape, layout):
    # independent oracle of the fan definitions
    if layout == "torch":
        rf = math.prod(shape[2:])
        return shape[1] * rf, shape[0] * rf
    rf = math.prod(shape[:-2])
    return shape[-2] * rf, shape[-1] * rf


def _ks(x, dist):
    return stats.kstest(np.asarray(x, dtype=np.float64).ravel(), dist.cdf).pvalue


CASES = [(dims, layout, i) for dims in (2, 4) for layout in ("torch", "keras") for i in range(3)]


def _setup(dims, layout, i, salt):
    rng = np.random.default_rng([salt, dims, i, layout == "keras"])
    shape = _random_shape(rng, dims)
    if layout == "keras":
        shape = _keras_shape(shape)
    return rng, shape, np.empty(shape, dtype=np.float64)


class TestDistributions:
    @pytest.mark.parametrize("dims,layout,i", CASES)
    def test_xavier_uniform(self, dims, layout, i):
        rng, shape, w = _setup(dims, layout, i, 1)
        gain = rng.uniform(0.1, 2)
        winit.xavier_uniform_(w, gain=gain, layout=layout, seed=i)
        fi, fo = _ref_fans(shape, layout)
        bound = gain * math.sqrt(6.0 / (fi + fo))
        assert _ks(w, stats.uniform(-bound, 2 * bound)) > P_MIN

    @pytest.mark.parametrize("dims,layout,i", CASES)
    def test_xavier_normal(self, dims, layout, i):
        rng, shape, w = _setup(dims, layout, i, 2)
        gain = rng.uniform(0.1, 2)
        winit.xavier_normal_(w, gain=gain, layout=layout, seed=i)
        fi, fo = _ref_fans(shape, layout)
        assert _ks(w, stats.norm(0, gain * math.sqrt(2.0 / (fi + fo)))) > P_MIN

    @pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
    @pytest.mark.parametrize("dims,layout,i", CASES)
    def test_kaiming_uniform(self, dims, layout, i, mode):
        rng, shape, w = _setup(dims, layout, i, 3)
        a = rng.uniform(0, 1)
        winit.kaiming_uniform_(w, a=a, mode=mode, layout=layout, seed=i)
        fi, fo = _ref_fans(shape, layout)
        fan = fi if mode == "fan_in" else fo
        bound = math.sqrt(2.0 / (1 + a * a)) * math.sqrt(3.0 / fan)
        assert _ks(w, stats.uniform(-bound, 2 * bound)) > P_MIN

    @pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
    @pytest.mark.parametrize("dims,layout,i", CASES)
    def test_kaiming_normal(self, dims, layout, i, mode):
        rng, shape, w = _setup(dims, layout, i, 4)
        a = rng.uniform(0, 1)
        winit.kaiming_normal_(w, a=a, mode=mode, layout=layout, seed=i)
        fi, fo = _ref_fans(shape, layout)
        fan = fi if mode == "fan_in" else fo
        std = math.sqrt(2.0 / (1 + a * a)) / math.sqrt(fan)
        assert _ks(w, stats.norm(0, std)) > P_MIN

    @pytest.mark.parametrize("nonlinearity", ["relu", "tanh", "selu", "gelu", "linear"])
    def test_kaiming_nonlinearities(self, nonlinearity):
        w = np.empty((40, 30, 3, 3))
        winit.kaiming_normal_(w, nonlinearity=nonlinearity, seed=7)
        std = winit.calculate_gain(nonlinearity) / math.sqrt(30 * 9)
        assert _ks(w, stats.norm(0, std)) > P_MIN

    @pytest.mark.parametrize("distribution", ["truncated_normal", "normal", "uniform"])
    @pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg", "fan_geo_avg"])
    @pytest.mark.parametrize("dims,layout", [(2, "torch"), (4, "keras"), (4, "torch")])
    def test_variance_scaling(self, dims, layout, mode, distribution):
        rng, shape, w = _setup(dims, layout, 0, 5)
        scale = rng.uniform(0.1, 3)
        winit.variance_scaling_(w, scale, mode, distribution, layout=layout, seed=3)
        fi, fo = _ref_fans(shape, layout)
        fan = {"fan_in": fi, "fan_out": fo, "fan_avg": (fi + fo) / 2,
               "fan_geo_avg": math.sqrt(fi * fo)}[mode]
        std = math.sqrt(scale / fan)
        if distribution == "truncated_normal":
            s = std / TN
            dist = stats.truncnorm(-2, 2, scale=s)
            assert np.abs(w).max() <= 2 * s
            assert abs(dist.std() - std) < 1e-12 * std  # the result has variance scale/fan
        elif distribution == "normal":
            dist = stats.norm(0, std)
        else:
            dist = stats.uniform(-math.sqrt(3) * std, 2 * math.sqrt(3) * std)
        assert _ks(w, dist) > P_MIN

    @pytest.mark.parametrize("dims,layout,i", CASES[::2])
    def test_lecun(self, dims, layout, i):
        rng, shape, w = _setup(dims, layout, i, 6)
        fi, _ = _ref_fans(shape, layout)
        winit.lecun_normal_(w, layout=layout, seed=i)
        s = math.sqrt(1.0 / fi) / TN
        assert _ks(w, stats.truncnorm(-2, 2, scale=s)) > P_MIN
        winit.lecun_uniform_(w, layout=layout, seed=i)
        lim = math.sqrt(3.0 / fi)
        assert _ks(w, stats.uniform(-lim, 2 * lim)) > P_MIN

    def test_float32_and_reduced_precision(self):
        for dt in (np.float32, np.float16, ml_dtypes.bfloat16):
            w = winit.kaiming_normal_(np.empty((50, 40), dtype=dt), nonlinearity="relu", seed=1)
            assert w.dtype == dt
            x = w.astype(np.float64)
            assert abs(x.std() * math.sqrt(40 / 2) - 1) < 0.05


class TestSeedNumbers:
    """The numbers from the seed articles, on a (300, 500) weight (fan_in=500, fan_out=300)."""

    def _var(self, fn, **kw):
        return fn(np.empty((300, 500)), seed=2024, **kw).var()

    def test_xavier(self):
        # 2 / (fan_in + fan_out) = 2 / 800
        assert abs(self._var(winit.xavier_uniform_) / 0.0025 - 1) < 0.02
        assert abs(self._var(winit.xavier_normal_) / 0.0025 - 1) < 0.02

    def test_kaiming_relu(self):
        v = self._var(winit.kaiming_uniform_, mode="fan_in", nonlinearity="relu")
        assert abs(v / 0.0040 - 1) < 0.02

    def test_kaiming_leaky(self):
        expected = 2 / (1.09 * 500)
        assert abs(self._var(winit.kaiming_normal_, a=0.3) / expected - 1) < 0.02
        assert abs(self._var(winit.kaiming_uniform_, a=0.3) / expected - 1) < 0.02


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


FAN_SCHEMES = [winit.xavier_uniform_, winit.xavier_normal_, winit.kaiming_uniform_,
               winit.kaiming_normal_, winit.lecun_uniform_, winit.lecun_normal_,
               winit.variance_scaling_]
ALL = FAN_SCHEMES + [winit.orthogonal_]


class TestCommon:
    @pytest.mark.parametrize("fn", ALL + [winit.sparse_, winit.eye_, winit.dirac_,
                                          winit.delta_orthogonal_])
    def test_zero_size_warns(self, fn):
        shape = {winit.dirac_: (0, 3, 3), winit.delta_orthogonal_: (0, 0, 3)}.get(fn, (0, 5))
        w = np.empty(shape, np.float32)
        args = (0.5,) if fn is winit.sparse_ else ()
        with pytest.warns(UserWarning, match="zero-element"):
            assert fn(w, *args) is w

    @pytest.mark.parametrize("fn", FAN_SCHEMES)
    def test_fewer_than_2_dims(self, fn):
        msg = "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        with pytest.raises(ValueError, match=msg):
            fn(np.empty(5))

    @pytest.mark.parametrize("fn", [winit.kaiming_uniform_, winit.kaiming_normal_])
    def test_kaiming_errors(self, fn):
        with pytest.raises(ValueError, match=r"Mode fan_mid not supported, please use one of"):
            fn(np.empty((3, 4)), mode="fan_mid")
        with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
            fn(np.empty((3, 4)), nonlinearity="foo")
        with pytest.raises(ValueError, match="negative_slope .* not a valid number"):
            fn(np.empty((3, 4)), a=True)

    def test_variance_scaling_errors(self):
        w = np.empty((3, 4))
        with pytest.raises(ValueError, match="scale must be a positive float"):
            winit.variance_scaling_(w, 0.0)
        with pytest.raises(ValueError, match="Mode fan_max not supported"):
            winit.variance_scaling_(w, 1.0, "fan_max")
        with pytest.raises(ValueError, match="distribution 'gamma' not supported"):
            winit.variance_scaling_(w, 1.0, "fan_in", "gamma")
        with pytest.raises(ValueError, match="scale must not be NaN"):
            winit.variance_scaling_(w, float("nan"))

    def test_xavier_errors(self):
        with pytest.raises(ValueError, match="gain must be >= 0"):
            winit.xavier_uniform_(np.empty((3, 4)), gain=-1.0)
        with pytest.raises(ValueError, match="layout 'nhwc' not supported"):
            winit.xavier_normal_(np.empty((3, 4)), layout="nhwc")

    @pytest.mark.parametrize("fn", ALL)
    def test_dtype_and_readonly(self, fn):
        with pytest.raises(TypeError, match="int64"):
            fn(np.zeros((3, 4), dtype=np.int64))
        w = np.empty((3, 4))
        w.flags.writeable = False
        with pytest.raises(ValueError, match="read-only"):
            fn(w)

    @pytest.mark.parametrize("fn", ALL + [winit.sparse_])
    def test_same_seed_same_bits(self, fn):
        args = (0.3,) if fn is winit.sparse_ else ()
        a = fn(np.empty((30, 20), np.float32), *args, seed=42)
        b = fn(np.empty((30, 20), np.float32), *args, seed=42)
        c = fn(np.empty((30, 20), np.float32), *args, seed=43)
        assert a.tobytes() == b.tobytes() and a.tobytes() != c.tobytes()
        f = fn(np.empty((30, 20), np.float32, order="F"), *args, seed=42)
        assert np.array_equal(a, f)

    @pytest.mark.parametrize("fn", FAN_SCHEMES + [winit.sparse_])
    def test_threads_invariant(self, fn):
        args = (0.3,) if fn is winit.sparse_ else ()
        a = fn(np.empty((300, 200), np.float32), *args, seed=1, threads=1)
        b = fn(np.empty((300, 200), np.float32), *args, seed=1, threads=2)
        assert a.tobytes() == b.tobytes()

    @pytest.mark.parametrize("fn", [winit.kaiming_uniform_, winit.kaiming_normal_,
                                    winit.lecun_uniform_, winit.lecun_normal_])
    def test_offset_shards(self, fn):
        # fan_in-based: a row block has the same fan_in, so filling it at the
        # matching offset reproduces that block of the whole tensor bit for bit
        whole = fn(np.empty((40, 30)), seed=5)
        top = fn(np.empty((25, 30)), seed=5)
        bottom = fn(np.empty((15, 30)), seed=5, offset=25 * 30)
        assert np.array_equal(np.concatenate([top, bottom]), whole)

    def test_no_warnings_on_normal_use(self):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for fn in ALL:
                fn(np.empty((5, 4)), seed=0)
